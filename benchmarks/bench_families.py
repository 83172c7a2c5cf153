"""Families at large width: the reduced equations cost the same for any K.

Run: python benchmarks/bench_families.py

Times `families` for K = M = 1000 (k1 = 0..3: seed at width 20, continuation to 1000,
loss by block sums, classification by the Hessian's orbit algebra) and, as the baseline in
the same run, one evaluation of the full (Q, M) gradient-flow drift at the expanded
K = 1000 point with the catalog engine.

Then the Families view's own computation, widths K = M = 2..25 at d = inf for k1 = 0..3
(`families_over_widths`: one continuation for all widths, the structured spectrum
deciding the index beyond K = 14), against the same members computed width by width with
dense Hessians (`families` per width, DENSE_CHEAP_MAX raised), for an orthonormal and a
correlated teacher; the members must be the same.
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


def across_widths():
    widths, k1s = list(range(2, 26)), [0, 1, 2, 3]
    for pattern in ((1.0, 0.0), (1.0, 0.3)):
        t = time.perf_counter()
        over = F.families_over_widths(widths, pattern, np.inf, k1s)
        t_over = time.perf_counter() - t
        cheap, F.DENSE_CHEAP_MAX = F.DENSE_CHEAP_MAX, 10 ** 9
        t = time.perf_counter()
        alone = [(K, m) for K in widths
                 for m in F.families(K, F.pattern_matrix(pattern, K), np.inf,
                                     [k for k in k1s if k < K])]
        t_alone = time.perf_counter() - t
        F.DENSE_CHEAP_MAX = cheap
        same = [(K, m.k1, m.kind, m.index) for K, m in over] == \
            [(K, m.k1, m.kind, m.index) for K, m in alone]
        print(f"widths 2..25, k1 = 0..3, (p, p') = {pattern}: {len(over)} members, "
              f"across widths {t_over:.2f} s, width by width (dense) {t_alone:.2f} s "
              f"-> {t_alone / t_over:.1f}x; same members: {same}")


if __name__ == "__main__":
    main()
    across_widths()
