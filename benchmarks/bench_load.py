"""50 concurrent simulated users against the app under gunicorn (gunicorn.conf.py defaults:
2 workers x 8 threads, no Redis). No errors allowed.

Run: python benchmarks/bench_load.py [--users 50]

Each user does what opening a shared link does: the page, the layout and dependencies,
the validation of the URL, then the Families and Flows 2D views (sync callbacks). Two
phases:
  * cached: every user opens the same, already computed view;
  * uncached: every user opens a view of their own (a different correlated teacher and
    seed), so the families and the flow are computed under load.
Prints p50/p95/max latency per phase and per request kind, and the error count.
"""
import argparse
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from servers import post_callback, start_gunicorn, stop, validate_request, view_requests  # noqa


def user_session(url, search, record):
    def timed(kind, call):
        began = time.perf_counter()
        try:
            ok = call()
        except Exception as exc:           # noqa: BLE001 (an error of any kind counts)
            ok = f"{type(exc).__name__}: {exc}"
        record(kind, time.perf_counter() - began, ok)

    def get(path):
        with urllib.request.urlopen(url + path, timeout=300) as r:
            r.read()
            return r.status == 200 or r.status

    timed("page", lambda: get("/" + search))
    timed("layout", lambda: get("/_dash-layout"))
    timed("dependencies", lambda: get("/_dash-dependencies"))
    timed("validate", lambda: post_callback(url, validate_request(search), 300)[1] is not None)
    families, flow = view_requests(url, search)
    timed("families", lambda: "families-graph" in post_callback(url, families, 300)[1]["response"])
    timed("flow", lambda: "flow-graph" in post_callback(url, flow, 300)[1]["response"])


def phase(url, searches):
    records, lock = [], threading.Lock()

    def record(kind, seconds, ok):
        with lock:
            records.append((kind, seconds, ok))

    threads = [threading.Thread(target=user_session, args=(url, s, record)) for s in searches]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return records, time.perf_counter() - began


def quantiles(values):
    values = sorted(values)
    q = statistics.quantiles(values, n=20, method="inclusive")
    return statistics.median(values), q[18], values[-1]


def report(name, records, wall):
    errors = [(k, ok) for k, _, ok in records if ok is not True]
    p50, p95, worst = quantiles([s for _, s, _ in records])
    print(f"{name}: {len(records)} requests in {wall:.1f} s, errors {len(errors)}; "
          f"latency p50 {1000 * p50:.0f} ms, p95 {1000 * p95:.0f} ms, max {1000 * worst:.0f} ms")
    for kind in dict.fromkeys(k for k, _, _ in records):
        p50, p95, worst = quantiles([s for k, s, _ in records if k == kind])
        print(f"  {kind:12s} p50 {1000 * p50:7.0f} ms  p95 {1000 * p95:7.0f} ms  "
              f"max {1000 * worst:7.0f} ms")
    for kind, ok in errors[:5]:
        print("  error:", kind, ok)
    return len(errors)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=50)
    args = parser.parse_args()
    server = start_gunicorn(Path(tempfile.mkdtemp(prefix="bench-load-")))
    try:
        shared = "?students=6&teachers=6&dim=6&seed=1"
        user_session(server.url, shared, lambda *a: None)          # warm the cache
        errors = report("cached", *phase(server.url, [shared] * args.users))
        own = [f"?students=6&teachers=6&dim=6&teacher=correlated:{0.01 * (i + 1):.2f}"
               f"&seed={100 + i}" for i in range(args.users)]
        errors += report("uncached", *phase(server.url, own))
    finally:
        stop(server)
    print(f"gunicorn: 2 workers x 8 threads; {args.users} concurrent users; errors {errors}")
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
