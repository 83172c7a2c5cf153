"""Connections of the K = M = 8, d = 8, 200-start catalog (issue 13; goal: under 10 s).

Run: python benchmarks/bench_paths.py [--images N]
     python benchmarks/bench_paths.py --compare REV [--repeats R]

Times, in one run: the catalog itself (the baseline the ratio refers to), all
connections of its minima (NEB, string cross-check, saddle confirmation, descent off
both sides, intermediate basins split), and a cached read of the service result.
Prints one line per connection and the disconnectivity tree.

With ``--compare REV``: the engine of git revision REV (``git archive`` into a temporary
directory) and this working copy, alternately, R times each, each run in a fresh
process timing its own catalog (the baseline) and all connections.
"""
import argparse
import json
import subprocess
import sys
import tempfile
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


ROOT = Path(__file__).resolve().parents[1]
ONE_RUN = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
from landscape.config import make_paths_config
from landscape.methods.catalog import find_fixed_points
from landscape.methods.paths import find_connections
config = make_paths_config(8, 8, dim=8, starts=200, seed=0, images=int(sys.argv[2]))
began = time.perf_counter()
catalog = find_fixed_points(config.catalog)
middle = time.perf_counter()
result = find_connections(config, catalog)
end = time.perf_counter()
print(json.dumps({"catalog": middle - began, "paths": end - middle,
                  "connections": [[c.source, c.target, c.barrier, c.saddle.grad_norm,
                                   c.saddle.index, c.method_agreement, c.confirmed]
                                  for c in result.connections]}))
"""


def compare(revision, repeats, images):
    """Before (``revision``) and after (this copy), alternately, in fresh processes."""
    old = tempfile.mkdtemp()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision, "landscape"],
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", old], input=archive, check=True)
    print("| run | code | catalog (s) | all connections (s) | connections / catalog |")
    print("| --- | --- | --- | --- | --- |")
    for run in range(repeats):
        for name, path in ((revision, old), ("this copy", str(ROOT))):
            out = subprocess.run([sys.executable, "-c", ONE_RUN, path, str(images)],
                                 capture_output=True, text=True, check=True).stdout
            row = json.loads(out.strip().splitlines()[-1])
            print(f"| {run + 1} | {name} | {row['catalog']:.2f} | {row['paths']:.2f} | "
                  f"{row['paths'] / row['catalog']:.2f}x |", flush=True)
            for c in row["connections"]:
                agreement = "-" if c[5] is None else f"{c[5]:.1e}"
                print(f"|  |  #{c[0]} -> #{c[1]}: barrier {c[2]:.6g}, |grad| {c[3]:.0e}, "
                      f"index {c[4]}, NEB-string {agreement}, confirmed {c[6]} | | | |")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", default=24, type=int)
    parser.add_argument("--compare", metavar="REV")
    parser.add_argument("--repeats", default=3, type=int)
    args = parser.parse_args()
    if args.compare:
        compare(args.compare, args.repeats, args.images)
        return
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
