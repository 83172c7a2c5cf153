"""The seed paper's experiment at its own scale: M = 17 orthonormal teachers, student widths
17, 18, 19, d = inf, 10^4 random starts each, on the local process pool.

Run: python benchmarks/bench_paper.py [--starts 10000] [--widths 17 18 19] [--teachers 17]
         [--seed 0] [--workers N]

Per width: wall time, global share with a 95 % Wilson interval, the spurious minima with their
shares, unconverged starts (with reasons) and padded ends.
"""
import argparse
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from landscape.config import make_catalog_config  # noqa: E402
from landscape.methods.catalog import find_fixed_points  # noqa: E402
from landscape.running import executors  # noqa: E402


def wilson(hits, n, z=1.96):
    """95 % Wilson score interval of a binomial share."""
    if n == 0:
        return 0.0, 1.0
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--teachers", type=int, default=17)
    parser.add_argument("--widths", type=int, nargs="+", default=[17, 18, 19])
    parser.add_argument("--starts", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()
    run = executors.local(args.workers)
    total = 0.0
    for K in args.widths:
        config = make_catalog_config(K, args.teachers, dim="inf", starts=args.starts,
                                     seed=args.seed)
        began = time.perf_counter()
        catalog = find_fixed_points(config, executor=run)
        seconds = time.perf_counter() - began
        total += seconds
        hits = round(catalog.global_fraction * args.starts)
        low, high = wilson(hits, args.starts)
        print(f"K = {K}, M = {args.teachers}, d = inf, {args.starts} starts: {seconds:.1f} s")
        print(f"  global share {catalog.global_fraction:.4f} (95 % interval {low:.4f}-{high:.4f})")
        for p in catalog.fixed_points:
            if p.kind == "local_minimum":
                print(f"  spurious minimum loss {p.loss:.6f}: {p.hits} hits "
                      f"({p.hits / args.starts:.4f})")
        saddles = sum(p.hits for p in catalog.fixed_points if p.kind == "saddle")
        padded = sum(p.hits for p in catalog.dead_points)
        print(f"  ends at saddles {saddles}; padded ends above zero loss {padded} "
              f"({len(catalog.dead_points)} classes: "
              f"{sorted({p.kind for p in catalog.dead_points})}); padded ends at zero loss "
              f"{catalog.padded_global}; unconverged {catalog.unconverged} "
              f"{catalog.unconverged_reasons}", flush=True)
    print(f"all widths: {total:.1f} s")


if __name__ == "__main__":
    main()
