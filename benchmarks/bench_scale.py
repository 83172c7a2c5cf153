"""A 10^4-start search on one Celery worker against two (goal: >= 1.7x on two cores).

Run: python benchmarks/bench_scale.py [--starts 10000]

Starts a private redis-server and solo-pool workers (one process each, one BLAS thread),
runs `find_fixed_points` with the Celery executor on 1 and then 2 workers, checks that
both catalogs are the same, and prints the times and their ratio. The local process
pool on the same machine is timed too, for reference.
"""
import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from landscape.running import executors  # noqa: E402
from landscape.methods.catalog import chunks, find_fixed_points  # noqa: E402
from landscape.config import make_catalog_config  # noqa: E402
from servers import start_redis, start_workers, stop  # noqa: E402


def timed(config, executor):
    began = time.perf_counter()
    catalog = find_fixed_points(config, executor=executor)
    return time.perf_counter() - began, [(p.hits, p.kind) for p in catalog.fixed_points]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--starts", type=int, default=10000)
    args = parser.parse_args()
    config = make_catalog_config(6, 6, dim=6, starts=args.starts, seed=0)
    workdir = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    redis = start_redis(workdir)
    results = {}
    try:
        for n in (1, 2):
            workers = start_workers(redis.url, [f"bench{i}" for i in range(n)], workdir,
                                    pool="solo", LANDSCAPE_WORKERS="1",
                                    OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
            try:
                results[n] = timed(config, executors.celery(url=redis.url))
            finally:
                stop(*workers)
            print(f"{n} worker(s): {results[n][0]:.1f} s", flush=True)
    finally:
        stop(redis)
    local = timed(config, executors.processes())
    assert results[1][1] == results[2][1] == local[1], "catalogs differ"
    parts = chunks(args.starts)         # the Celery executor does not know its workers
    print(f"K = M = 6, d = 6, {args.starts} starts ({len(parts)} chunks of {len(parts[0])})")
    print(f"1 worker  {results[1][0]:7.1f} s")
    print(f"2 workers {results[2][0]:7.1f} s   speed-up {results[1][0] / results[2][0]:.2f}x")
    print(f"local pool (2 processes) {local[0]:7.1f} s, for reference")
    print("same catalog on 1 worker, 2 workers and locally: yes")


if __name__ == "__main__":
    main()
