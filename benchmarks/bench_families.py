"""Families at large width: the reduced equations cost the same for any K.

Run: python benchmarks/bench_families.py

Times `families` for K = M = 1000 (k1 = 0..3: seed at width 20, continuation to 1000,
loss by block sums, classification by the Hessian's orbit algebra) and, as the baseline in
the same run, one evaluation of the full (Q, M) gradient-flow drift at the expanded
K = 1000 point with the catalog engine.
"""
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from landscape.methods import families as F  # noqa: E402
from landscape.methods.flows import drift  # noqa: E402


def main():
    K = 1000
    P = np.eye(K)
    t = time.perf_counter()
    members = F.families(K, P, np.inf, range(4))
    t_families = time.perf_counter() - t
    values = F.family_at(K, 1, P)
    Q, M = F.expand(values, K, 1, (1.0, 0.0))
    t = time.perf_counter()
    dQ, dM = drift(Q, M, P, 0.0)
    t_drift = time.perf_counter() - t
    print(f"families K=M={K}, k1=0..3: {t_families:.2f} s "
          f"(losses {', '.join(f'{m.loss:.4g}' for m in members)}; kinds "
          f"{', '.join(m.kind for m in members)}; smallest eigenvalues "
          f"{', '.join(f'{m.min_eigenvalue:.4g}' for m in members)})")
    print(f"one full-engine drift evaluation at K={K}: {t_drift:.2f} s "
          f"(max |drift| {max(np.abs(dQ).max(), np.abs(dM).max()):.1e}) "
          f"-> ratio {t_drift / t_families:.1f}x")


if __name__ == "__main__":
    main()
