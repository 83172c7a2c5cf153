"""Time the whole `fixed-points` command against per-start scipy L-BFGS baselines.

Run: python benchmarks/bench_catalog.py [--repeats 3]

Both sides in one run (this machine is noisy; compare ratios):
  * ours: `python -m landscape fixed-points --students 8 --teachers 8 --dim inf
    --starts 200` in a fresh interpreter (imports, flow, Newton, Hessians, JSON);
  * baseline A: one scipy L-BFGS-B run per start in weight space (K = M = 8,
    d = 16, the same number of starts), closed-form loss *and* gradient;
  * baseline B: the same with the loss only (scipy's finite-difference gradient),
    the version most often written first. Timed on a subset and scaled.
Note the two solve different problems: we follow gradient flow (its basins),
L-BFGS is a different optimiser with different basins.
"""
import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

ROOT = Path(__file__).resolve().parents[1]
K = M = 8
D = 16
STARTS = 200


def loss_and_gradient(x, V):
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


def baseline(starts, with_gradient):
    V = np.eye(D)[:M]
    rng = np.random.default_rng(0)
    losses = []
    for _ in range(starts):
        x0 = rng.standard_normal(K * D) / np.sqrt(D)
        if with_gradient:
            r = minimize(loss_and_gradient, x0, args=(V,), jac=True, method="L-BFGS-B",
                         options=dict(maxiter=20000, gtol=1e-10, ftol=0))
        else:
            r = minimize(lambda x: loss_and_gradient(x, V)[0], x0, method="L-BFGS-B",
                         options=dict(maxiter=20000, gtol=1e-8, ftol=0))
        losses.append(r.fun)
    return np.array(losses)


def ours():
    cmd = [sys.executable, "-m", "landscape", "fixed-points", "--students", str(K),
           "--teachers", str(M), "--dim", "inf", "--starts", str(STARTS), "--format", "json"]
    subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)


def timed(fn, *args):
    t = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t, out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--fd-starts", type=int, default=10)
    args = parser.parse_args()
    t_ours, t_a = [], []
    for _ in range(args.repeats):
        t_ours.append(timed(ours)[0])
        t, losses = timed(baseline, STARTS, True)
        t_a.append(t)
    t_b, _ = timed(baseline, args.fd_starts, False)
    t_b *= STARTS / args.fd_starts
    best = min(t_ours)
    print(f"fixed-points K=M=8 d=inf 200 starts (whole command): {best:.2f} s (best of {args.repeats})")
    print(f"baseline A, L-BFGS + closed-form gradient, d=16:      {min(t_a):.2f} s "
          f"-> ratio {min(t_a) / best:.2f}x; spurious share {np.mean(losses > 1e-6):.3f}")
    print(f"baseline B, L-BFGS + finite-difference gradient:      {t_b:.1f} s "
          f"(scaled from {args.fd_starts} starts) -> ratio {t_b / best:.1f}x")


if __name__ == "__main__":
    main()
