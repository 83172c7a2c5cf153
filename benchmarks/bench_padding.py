"""The over-parameterised regime: per-start cost and accounting at K = M, M + 1, M + 2,
and the width hierarchy against the K = M catalog, all in one run.

Run: python benchmarks/bench_padding.py [--teachers 8] [--starts 200] [--dims inf K]
         [--tree PATH] [--hierarchy] [--widths 8 9 10] [--hierarchy-dim 8]

Every figure is a whole command in a fresh interpreter (`python -m landscape
fixed-points ... --format json`, local process pool, as a user runs it), so ratios
taken within one run compare like with like on this noisy machine. ``--tree`` runs
the commands from another source tree (e.g. an export of an older commit) for a
before/after in the same run.
"""
import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(tree, *args):
    began = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "landscape", *args, "--format", "json"],
                          cwd=tree, capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(tree)))
    seconds = time.perf_counter() - began
    if proc.returncode:
        raise SystemExit(proc.stderr)
    return seconds, json.loads(proc.stdout)


def summary(data):
    padded = data["nondifferentiable"]
    kinds = {}
    for p in data["fixed_points"]:
        kinds[p["kind"]] = kinds.get(p["kind"], 0) + 1
    return {
        "global_fraction": round(data["global_fraction"], 4),
        "unconverged": data["unconverged"],
        "entries": len(data["fixed_points"]),
        "kinds": kinds,
        "padded_listed": padded["count"],
        "padded_entries": len(padded["points"]),
        "padded_in_global": padded.get("in_global_minimum"),
        "padded_kinds": sorted({p.get("kind", "?") for p in padded["points"]}),
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--teachers", type=int, default=8)
    parser.add_argument("--starts", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dims", nargs="+", default=["inf", "K"])
    parser.add_argument("--extra", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--tree", default=str(ROOT))
    parser.add_argument("--hierarchy", action="store_true")
    parser.add_argument("--widths", nargs="+", default=["8", "9", "10"])
    parser.add_argument("--hierarchy-dim", default="8")
    args = parser.parse_args()
    tree = Path(args.tree)
    M = args.teachers
    print(f"tree {tree}, M = {M}, {args.starts} starts, seed {args.seed}")
    for dim in args.dims:
        base = None
        for extra in args.extra:
            K = M + extra
            d = str(K) if dim == "K" else dim
            seconds, data = run(tree, "fixed-points", "--students", str(K), "--teachers",
                                str(M), "--dim", d, "--starts", str(args.starts),
                                "--seed", str(args.seed))
            base = base or seconds
            print(f"K={K} d={d}: {seconds:.1f} s ({seconds / base:.2f}x K=M) "
                  f"{json.dumps(summary(data))}", flush=True)
    if args.hierarchy:
        d = args.hierarchy_dim
        cat_seconds, _ = run(tree, "fixed-points", "--students", str(M), "--teachers", str(M),
                             "--dim", d, "--starts", str(args.starts), "--seed", str(args.seed))
        seconds, data = run(tree, "hierarchy", "--teachers", str(M), "--widths", *args.widths,
                            "--dim", d, "--starts", str(args.starts), "--seed", str(args.seed))
        print(f"catalog K=M={M} d={d}: {cat_seconds:.1f} s; hierarchy widths "
              f"{' '.join(args.widths)}: {seconds:.1f} s = {seconds / cat_seconds:.1f}x")
        for level in data["levels"]:
            globals_ = [p for p in level["fixed_points"] if p["kind"] == "global_minimum"]
            print(f"  K={level['students']}: global fraction {level['global_fraction']:.3f}, "
                  f"{len(level['fixed_points'])} entries ({len(globals_)} global), "
                  f"{len(level['nondifferentiable']['points'])} padded entries, "
                  f"unconverged {level['unconverged']}")


if __name__ == "__main__":
    main()
