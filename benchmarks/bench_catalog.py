"""Time the whole `fixed-points` command against per-start scipy L-BFGS baselines.

Run: python benchmarks/bench_catalog.py [--repeats 2] [--students 10 --dim 10 --starts 2000]

Default: the configuration of issue 12 item 7, K = M = 10, d = 10, 2000 starts
(orthonormal teacher). Both sides in one run (this machine is noisy; compare ratios):
  * ours: `python -m landscape fixed-points --students K --teachers K --dim D
    --starts S --format json` in a fresh interpreter (imports, local pool, flow,
    Newton, Hessians, classification, JSON);
  * baseline A: one scipy L-BFGS-B run per start, one process, one BLAS thread, in weight space (d = D; for
    `--dim inf`, d = 2K), closed-form loss *and* gradient, from the same starts
    as ours where d is finite (ours work in reduced coordinates n = min(d, 2K),
    which is d itself when d <= 2K);
  * baseline B: the same with the loss only (scipy's finite-difference gradient),
    the version most often written first. Timed on a subset and scaled.
Note the two solve different problems: we follow gradient flow (its basins),
L-BFGS is a different optimiser with different basins.
"""
import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from scipy.optimize import minimize
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from landscape.config import make_catalog_config  # noqa: E402
from landscape.maths.starts import draw_starts  # noqa: E402


def loss_and_gradient(x, V, K):
    M, D = V.shape
    W = x.reshape(K, D)
    U = np.vstack([W, V])
    s = np.r_[np.ones(K), -np.ones(M)]
    r = np.linalg.norm(U, axis=1)
    Uh = U / r[:, None]
    c = np.clip(Uh @ Uh.T, -1, 1)
    t = np.arccos(c)
    np.fill_diagonal(t, 0)
    kappa = np.outer(r, r) * (np.sin(t) + (np.pi - t) * c) / (2 * np.pi)
    loss = 0.5 * s @ kappa @ s
    st = np.sin(t[:K])
    g = ((st * (s * r)).sum(1)[:, None] * Uh[:K] + (s * (np.pi - t[:K])) @ U) / (2 * np.pi)
    return loss, g.ravel()


def baseline_starts(K, dim, starts):
    """The starts of ours (finite d <= 2K: weight space is the reduced space), else
    Gaussian starts in d = 2K."""
    config = make_catalog_config(K, K, dim=dim, starts=starts)
    if dim != "inf" and config.reduced_dim == int(dim):
        return draw_starts(config.seed, range(starts), K, K, config.start_dim,
                           config.reduced_dim).reshape(starts, -1), int(dim)
    D = 2 * K
    rng = np.random.default_rng(0)
    return rng.standard_normal((starts, K * D)) / np.sqrt(D), D


def baseline(K, dim, starts, with_gradient):
    # One BLAS thread: on 10 x 10 products more threads only add contention (on a
    # loaded machine, several times the time).
    with threadpool_limits(1):
        return _baseline(K, dim, starts, with_gradient)


def _baseline(K, dim, starts, with_gradient):
    x0s, D = baseline_starts(K, dim, starts)
    V = np.eye(D)[:K]
    losses = []
    for x0 in x0s:
        if with_gradient:
            r = minimize(loss_and_gradient, x0, args=(V, K), jac=True, method="L-BFGS-B",
                         options=dict(maxiter=20000, gtol=1e-10, ftol=0))
        else:
            r = minimize(lambda x: loss_and_gradient(x, V, K)[0], x0, method="L-BFGS-B",
                         options=dict(maxiter=20000, gtol=1e-8, ftol=0))
        losses.append(r.fun)
    return np.array(losses)


def ours(K, dim, starts, tree):
    cmd = [sys.executable, "-m", "landscape", "fixed-points", "--students", str(K),
           "--teachers", str(K), "--dim", str(dim), "--starts", str(starts),
           "--format", "json"]
    env = dict(os.environ, PYTHONPATH=str(tree))
    subprocess.run(cmd, cwd=tree, check=True, capture_output=True, env=env)


def timed(fn, *args):
    t = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t, out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--students", type=int, default=10)
    parser.add_argument("--dim", default="10")
    parser.add_argument("--starts", type=int, default=2000)
    parser.add_argument("--fd-starts", type=int, default=10)
    parser.add_argument("--tree", action="append", default=[],
                        help="also time the command from this source tree (e.g. an "
                             "export of an earlier commit), in the same run")
    args = parser.parse_args()
    K, dim, S = args.students, args.dim, args.starts
    trees = [ROOT] + [Path(t).resolve() for t in args.tree]
    t_ours = {tree: [] for tree in trees}
    t_a = []
    for _ in range(args.repeats):
        for tree in trees:
            t_ours[tree].append(timed(ours, K, dim, S, tree)[0])
        t, losses = timed(baseline, K, dim, S, True)
        t_a.append(t)
    t_b, _ = timed(baseline, K, dim, args.fd_starts, False)
    t_b *= S / args.fd_starts
    print(f"load average at the end: {os.getloadavg()}")
    a = min(t_a)
    print(f"baseline A, L-BFGS + closed-form gradient:  {a:.2f} s (best of {args.repeats}); "
          f"spurious share {np.mean(losses > 1e-6):.3f}")
    print(f"baseline B, L-BFGS + finite differences:    {t_b:.1f} s (scaled from "
          f"{args.fd_starts} starts)")
    for tree in trees:
        best = min(t_ours[tree])
        print(f"fixed-points K=M={K} d={dim} {S} starts, whole command, {tree}: "
              f"{best:.2f} s (best of {args.repeats}; all {np.round(t_ours[tree], 2)}) "
              f"-> vs A {a / best:.2f}x, vs B {t_b / best:.1f}x")


if __name__ == "__main__":
    main()
