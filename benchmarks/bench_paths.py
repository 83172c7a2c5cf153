"""Connections of the K = M = 8, d = 8, 200-start catalog (issue 13; goal: under 10 s).

Run: python benchmarks/bench_paths.py [--images N]

Times, in one run: the catalog itself (the baseline the ratio refers to), all
connections of its minima (NEB, string cross-check, saddle confirmation, descent off
both sides, intermediate basins split), and a cached read of the service result.
Prints one line per connection and the disconnectivity tree.
"""
import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from landscape.methods.catalog import find_fixed_points  # noqa: E402
from landscape.config import make_paths_config  # noqa: E402
from landscape.methods.paths import find_connections  # noqa: E402
from landscape.running.service import paths_result  # noqa: E402


class DictCache(dict):
    def set(self, key, value):
        self[key] = value


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", default=24, type=int)
    args = parser.parse_args()
    config = make_paths_config(8, 8, dim=8, starts=200, seed=0, images=args.images)
    t = time.perf_counter()
    catalog = find_fixed_points(config.catalog)
    t_catalog = time.perf_counter() - t
    t = time.perf_counter()
    result = find_connections(config, catalog)
    t_paths = time.perf_counter() - t
    print(f"catalog K=M=8 d=8 200 starts (one process): {t_catalog:.2f} s, "
          f"{len(result.minima)} minima")
    print(f"all connections: {t_paths:.2f} s ({t_paths / t_catalog:.1f}x the catalog), "
          f"{len(result.connections)} connections")
    for c in result.connections:
        status = "confirmed" if c.confirmed else "flat" if c.flat else f"unconfirmed {c.ends}"
        agreement = "-" if c.method_agreement is None else f"{c.method_agreement:.1e}"
        print(f"  #{c.source} -> #{c.target}: barrier {c.barrier:.6g}, saddle loss "
              f"{c.saddle.loss:.8g}, index {c.saddle.index}, |grad| {c.saddle.grad_norm:.1e}, "
              f"NEB-string {agreement}, {status}, iterations {c.iterations}")
    for merge in result.tree["merges"]:
        print(f"  merge at {merge['loss']:.6g}: {merge['joins']}")
    cache = DictCache()
    paths_result(config, cache=cache)
    t = time.perf_counter()
    paths_result(config, cache=cache)
    print(f"cached service read: {1e3 * (time.perf_counter() - t):.2f} ms")


if __name__ == "__main__":
    main()
