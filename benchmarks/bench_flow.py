"""The (Q, M) ODE of one-pass SGD against simulating the same trajectory in weight space.

Run: python benchmarks/bench_flow.py

For each case both sides run in this process, one after the other: the ODE from a
catalog-like start (N + 1 = 101 reported times) and one weight-space SGD run
at d = 4000 reporting at the same times. The ratio is simulation time / ODE time.
"""
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from landscape.config import make_flow_config
from landscape.methods.flows import integrate, simulate_sgd, start_overlaps

# (K = M, T, lr); lr = 0.5 diverges at K = M = 10 (both in theory and in simulation).
CASES = [(3, 20.0, 0.5), (10, 100.0, 0.1)]
SIM_DIM = 4000


def main():
    rows = []
    for K, T, lr in CASES:
        config = make_flow_config(K, K, lr=lr, time=T, points=100, dim="inf", seed=0)
        Q0, M0 = start_overlaps(config)
        P = config.teacher.P
        times = np.linspace(0, T, 101)
        t = time.perf_counter()
        ode = integrate(Q0, M0, P, lr, times)
        t_ode = time.perf_counter() - t
        t = time.perf_counter()
        sim = simulate_sgd(Q0, M0, P, lr, SIM_DIM, 1, times, seed=1)
        t_sim = time.perf_counter() - t
        gap = np.abs(sim.loss[0] - ode.loss).max()
        rows.append((K, T, t_ode, t_sim, gap))
        print(f"K=M={K:<3} T={T:<6g} lr={lr:<4g} ODE {t_ode:7.2f} s   simulation d={SIM_DIM} {t_sim:7.2f} s"
              f"   ratio {t_sim / t_ode:6.1f}x   max |loss gap| {gap:.3g}")


if __name__ == "__main__":
    main()
