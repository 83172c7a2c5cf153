"""Seconds until a dashboard view is drawn in Chromium, this copy against an earlier revision.

Run: python benchmarks/bench_page.py --compare REV [--preset NAME ...] [--tab TAB ...]
     [--repeats 3]

Both codes run as deployed (gunicorn with gunicorn.conf.py, 2 workers), each on a cache that
its own ``precompute`` filled (the hierarchy left out), in the same run. Each repeat opens a
fresh headless Chromium (1280 x 720, lecture mode) per code and loads every chosen preset x
tab in order, alternating the codes, and times it as the presets test does
(``gallery.wait_until_drawn``: until the view is shown, idle, and its figures drawn and
unchanged). The first view of each browser is its first page: no script is cached yet.
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


def serve(code, presets):
    """gunicorn running the app in directory ``code`` on a cache it precomputed."""
    cache = tempfile.mkdtemp(prefix="bench-page-cache-")
    env = dict(os.environ, LANDSCAPE_CACHE_DIR=cache, PYTHONPATH=code)
    env.pop("REDIS_URL", None)
    for name in presets:
        subprocess.run([sys.executable, "-m", "landscape", "precompute", "--preset", name,
                        "--no-hierarchy"], cwd=code, env=env, check=True,
                       stdout=subprocess.DEVNULL)
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


def load_views(url, views):
    """Seconds to draw each view, in a fresh browser."""
    driver = gallery.browser(1280, 720)
    try:
        out = []
        for _, tab, _, query in views:
            driver.get(url + "/" + query)
            out.append(gallery.wait_until_drawn(driver, 60, tab))
        return out
    finally:
        driver.quit()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare", required=True, help="git revision of the baseline")
    parser.add_argument("--preset", action="append", choices=list(state.LIGHT_PRESETS))
    parser.add_argument("--tab", action="append", choices=[t for t, _ in state.TABS])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    presets, tabs = args.preset or DEFAULT_PRESETS, args.tab or DEFAULT_TABS
    views = gallery.views(presets=presets, tabs=tabs, lecture=True)
    codes = {args.compare: checkout(args.compare), "this copy": str(ROOT)}
    servers = {name: serve(code, presets) for name, code in codes.items()}
    times = {name: [[] for _ in views] for name in codes}
    try:
        for run in range(args.repeats):
            for name, (_, url) in servers.items():
                for i, seconds in enumerate(load_views(url, views)):
                    times[name][i].append(float("nan") if seconds is None else seconds)
                print(f"run {run + 1}, {name}: "
                      + ", ".join(f"{x[-1]:.2f}" for x in times[name]), flush=True)
    finally:
        for proc, _ in servers.values():
            proc.terminate()
            proc.wait(30)

    print(f"\n| view | {args.compare} | this copy | ratio |")
    print("| --- | --- | --- | --- |")
    for i, (name, tab, label, _) in enumerate(views):
        before = statistics.median(times[args.compare][i])
        after = statistics.median(times["this copy"][i])
        first = " (first page)" if i == 0 else ""
        print(f"| {name} / {label}{first} | {before:.2f} s | {after:.2f} s | "
              f"{before / after:.2f}x |")


if __name__ == "__main__":
    main()
