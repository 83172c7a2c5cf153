"""Seconds until a dashboard view is drawn in Chromium, this copy against an earlier revision.

Run: python benchmarks/bench_page.py --compare REV [--preset NAME ...] [--tab TAB ...]
     [--repeats 3] [--hierarchy] [--cold]

Both codes run as deployed (gunicorn with gunicorn.conf.py, 2 workers), in the same run, and
each view is timed as the presets test times it (``gallery.wait_until_drawn``: from opening
the URL until the view is shown, idle, and its figures drawn and unchanged), in headless
Chromium at 1280 x 720 in lecture mode.

* Precomputed (default): each code on a cache its own ``precompute`` filled (the hierarchy
  only with ``--hierarchy``). Each repeat opens a fresh browser per code and loads every
  chosen preset x tab in order, alternating the codes; the first view of each browser is
  its first page, with no script cached yet.
* ``--cold``: each view on an empty cache and a fresh server (the catalog job, then the
  view), one browser per code for the whole run.
"""
import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from landscape import gallery  # noqa: E402
from landscape.ui import state  # noqa: E402

DEFAULT_PRESETS = ["first spurious minimum (K = M = 6, d = 6)", "K = M = 8, d = 8"]
DEFAULT_TABS = ["fixed-points", "flows-3d", "flows-2d"]


def checkout(revision):
    """The files the app runs from at ``revision``, in a temporary directory."""
    where = tempfile.mkdtemp(prefix="bench-page-")
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision, "app.py",
                              "gunicorn.conf.py", "landscape", "assets"],
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", where], input=archive, check=True)
    return where


def serve(code, presets=(), hierarchy=False):
    """gunicorn running the app in directory ``code`` on a fresh cache, which its own
    ``precompute`` fills for ``presets``."""
    cache = tempfile.mkdtemp(prefix="bench-page-cache-")
    env = dict(os.environ, LANDSCAPE_CACHE_DIR=cache, PYTHONPATH=code)
    env.pop("REDIS_URL", None)
    for name in presets:
        subprocess.run([sys.executable, "-m", "landscape", "precompute", "--preset", name]
                       + ([] if hierarchy else ["--no-hierarchy"]),
                       cwd=code, env=env, check=True, stdout=subprocess.DEVNULL)
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    env |= {"LANDSCAPE_BIND": f"127.0.0.1:{port}", "LANDSCAPE_WEB_WORKERS": "2"}
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py",
                             "app:server"], cwd=code, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if urllib.request.urlopen(url + "/health", timeout=1).status == 200:
                return proc, url
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"gunicorn did not start in {code}")


def stop(proc):
    proc.terminate()
    proc.wait(30)


def draw(driver, url, query, tab, timeout=180):
    driver.get(url + "/" + query)
    seconds = gallery.wait_until_drawn(driver, timeout, tab)
    return float("nan") if seconds is None else seconds


def precomputed(codes, views, presets, repeats, hierarchy):
    """{code: [[seconds of each repeat] for each view]}, from precomputed caches."""
    servers = {name: serve(code, presets, hierarchy) for name, code in codes.items()}
    times = {name: [[] for _ in views] for name in codes}
    try:
        for run in range(repeats):
            for name, (_, url) in servers.items():
                driver = gallery.browser(1280, 720)
                try:
                    for i, (_, tab, _, query) in enumerate(views):
                        times[name][i].append(draw(driver, url, query, tab))
                finally:
                    driver.quit()
                print(f"run {run + 1}, {name}: "
                      + ", ".join(f"{x[-1]:.2f}" for x in times[name]), flush=True)
    finally:
        for proc, _ in servers.values():
            stop(proc)
    return times


def cold(codes, views, repeats):
    """{code: [[seconds of each repeat] for each view]}, each view on an empty cache."""
    drivers = {name: gallery.browser(1280, 720) for name in codes}
    times = {name: [[] for _ in views] for name in codes}
    try:
        for run in range(repeats):
            for i, (preset, tab, _, query) in enumerate(views):
                for name, code in codes.items():
                    proc, url = serve(code)
                    try:
                        times[name][i].append(draw(drivers[name], url, query, tab))
                    finally:
                        stop(proc)
                print(f"run {run + 1}, {preset} / {tab}: "
                      + ", ".join(f"{name} {times[name][i][-1]:.2f}" for name in codes),
                      flush=True)
    finally:
        for driver in drivers.values():
            driver.quit()
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare", required=True, help="git revision of the baseline")
    parser.add_argument("--preset", action="append", choices=list(state.LIGHT_PRESETS))
    parser.add_argument("--tab", action="append", choices=[t for t, _ in state.TABS])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--hierarchy", action="store_true",
                        help="precompute the presets' hierarchies too")
    parser.add_argument("--cold", action="store_true",
                        help="each view on an empty cache and a fresh server")
    args = parser.parse_args()
    presets, tabs = args.preset or DEFAULT_PRESETS, args.tab or DEFAULT_TABS
    views = gallery.views(presets=presets, tabs=tabs, lecture=True)
    codes = {args.compare: checkout(args.compare), "this copy": str(ROOT)}
    times = (cold(codes, views, args.repeats) if args.cold
             else precomputed(codes, views, presets, args.repeats, args.hierarchy))

    print(f"\n| view | {args.compare} | this copy | ratio |")
    print("| --- | --- | --- | --- |")
    for i, (name, _, label, _) in enumerate(views):
        before = statistics.median(times[args.compare][i])
        after = statistics.median(times["this copy"][i])
        first = " (first page)" if i == 0 and not args.cold else ""
        print(f"| {name} / {label}{first} | {before:.2f} s | {after:.2f} s | "
              f"{before / after:.2f}x |")


if __name__ == "__main__":
    main()
