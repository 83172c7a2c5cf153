"""The Flows 3D trajectories: integrators against a tight reference, and the whole
computation in process against the local process pool.

Run: python benchmarks/bench_trajectories.py [--students 6 --dim 6 --starts 1000]
         [--first 500 --count 200]

Part 1 integrates starts first .. first + count - 1 of the catalog config (same draws)
with scipy's solve_ivp: RK45 at rtol 1e-8 in systems of 50 (the reference), and each
candidate (method, rtol, starts per system), and reports seconds, gradient evaluations
and the largest difference to the reference in each drawn coordinate of the default view
(mean diag Q, max M, log10 loss floored as the figure floors it), as a fraction of that
axis's range. Part 2 times ``catalog_trajectories`` (RK23 at rtol 1e-4 with the ends
labelled) for all starts in this process and on ``executors.get("local")``, in one run.
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy.integrate import solve_ivp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from landscape.config import make_catalog_config  # noqa: E402
from landscape.figures import loss_floor  # noqa: E402
from landscape.maths.kernels import evaluate, flow_gradient  # noqa: E402
from landscape.maths.starts import draw_starts  # noqa: E402
from landscape.maths.teachers import teacher_vectors  # noqa: E402
from landscape.methods.catalog import find_fixed_points  # noqa: E402
from landscape.methods.trajectories import catalog_trajectories, log_times  # noqa: E402
from landscape.running import executors  # noqa: E402

CANDIDATES = [("RK45", 1e-6, 1e-9, 50), ("RK45", 1e-3, 1e-6, 50), ("RK23", 1e-3, 1e-6, 50),
              ("RK23", 1e-4, 1e-7, 50), ("RK23", 1e-4, 1e-7, 100), ("RK23", 1e-4, 1e-7, 250)]


def integrate(W0, V, times, method, rtol, atol, size):
    parts, evaluations = [], 0
    for first in range(0, len(W0), size):
        chunk = W0[first:first + size]
        S, K, n = chunk.shape
        solution = solve_ivp(lambda _, y: -flow_gradient(y.reshape(S, K, n), V).ravel(),
                             (0.0, times[-1]), chunk.ravel(), method=method, t_eval=times,
                             rtol=rtol, atol=atol)
        parts.append(solution.y.T.reshape(times.size, S, K, n).transpose(1, 0, 2, 3))
        evaluations += solution.nfev
    return np.concatenate(parts), evaluations


def drawn(W, V, floor):
    Q, M = W @ W.transpose(0, 1, 3, 2), W @ V.T
    loss = evaluate(W.reshape(-1, *W.shape[2:]), V, 0).loss.reshape(W.shape[:2])
    return np.stack([np.einsum("stkk->st", Q) / W.shape[2], M.max(axis=(2, 3)),
                     np.log10(np.maximum(loss, floor))])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--students", type=int, default=6)
    parser.add_argument("--dim", default="6")
    parser.add_argument("--starts", type=int, default=1000)
    parser.add_argument("--first", type=int, default=500)
    parser.add_argument("--count", type=int, default=200)
    args = parser.parse_args()
    config = make_catalog_config(args.students, args.students, dim=args.dim, starts=args.starts)
    catalog = find_fixed_points(config, executor=executors.get("local"))
    n = config.reduced_dim
    V = teacher_vectors(config.teacher.P, n)
    W0 = draw_starts(config.seed, range(args.first, args.first + args.count), config.students,
                     config.teachers, config.start_dim, n)
    times = log_times(1000.0, 60)
    began = time.perf_counter()
    reference, evaluations = integrate(W0, V, times, "RK45", 1e-8, 1e-11, 50)
    print(f"K = M = {args.students}, d = {args.dim}, starts {args.first}..."
          f"{args.first + args.count - 1}; reference RK45 rtol 1e-8 in systems of 50: "
          f"{time.perf_counter() - began:.2f} s, {evaluations} gradient evaluations")
    points = [p.to_json(catalog.config.starts) for p in catalog.fixed_points]
    loss = evaluate(reference.reshape(-1, *reference.shape[2:]), V, 0).loss
    floor = loss_floor(np.maximum(loss, 0).reshape(reference.shape[:2]), points)
    ref = drawn(reference, V, floor)
    span = ref.reshape(3, -1).max(1) - ref.reshape(3, -1).min(1)
    print("| method | rtol | starts per system | seconds | gradient evaluations | "
          "largest difference / axis range (mean diag Q, max M, log10 loss) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for method, rtol, atol, size in CANDIDATES:
        began = time.perf_counter()
        W, evaluations = integrate(W0, V, times, method, rtol, atol, size)
        seconds = time.perf_counter() - began
        worst = np.abs(drawn(W, V, floor) - ref).reshape(3, -1).max(1) / span
        print(f"| {method} | {rtol:g} | {size} | {seconds:.2f} | {evaluations} | "
              + ", ".join(f"{w:.1e}" for w in worst) + " |", flush=True)
    for name in ("in process", "local processes"):
        executor = None if name == "in process" else executors.get("local")
        began = time.perf_counter()
        traj = catalog_trajectories(catalog, executor=executor)
        print(f"catalog_trajectories, all {args.starts} starts, {name}: "
              f"{time.perf_counter() - began:.2f} s (labels: "
              f"{np.unique(traj.label, return_counts=True)[1].tolist()})", flush=True)


if __name__ == "__main__":
    main()
