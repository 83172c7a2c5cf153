"""The orbit algebra gives exactly the eigenvalues of a permutation-invariant operator."""
from itertools import product

import numpy as np
import pytest

from landscape.maths.symmetric import invariant_eigenvalues, orbit_label, orbit_labels


@pytest.mark.parametrize("sizes, r", [((3, 2), 2), ((4, 1), 2), ((5, 4), 2), ((2, 3), 1),
                                      ((6,), 2), ((1, 1), 2), ((3, 0), 2), ((2, 2, 1), 1)])
def test_eigenvalues_equal_the_dense_operator(sizes, r):
    rng = np.random.default_rng(sum(sizes) + r)
    h = {label: rng.normal() for label in orbit_labels(2 * r, sizes)}

    def entry(indices):           # a random symmetric operator commuting with G
        x, y = indices[:r], indices[r:]
        return h[orbit_label(x + y)] + h[orbit_label(y + x)]

    pool = [(c, s) for c, n in enumerate(sizes) for s in range(n)]
    X = list(product(pool, repeat=r))
    dense = np.linalg.eigvalsh(np.array([[entry(list(x) + list(y)) for y in X] for x in X]))
    algebra = invariant_eigenvalues(entry, r, sizes)
    # the same set of eigenvalues (the algebra does not give multiplicities)
    assert max(np.min(np.abs(dense - a)) for a in algebra) < 1e-10
    assert max(np.min(np.abs(algebra - d)) for d in dense) < 1e-10


def test_orbit_count_does_not_grow_with_the_classes():
    assert len(orbit_labels(4, (4, 4))) == len(orbit_labels(4, (1000, 1000))) == 94
    assert len(orbit_labels(2, (1000, 1000))) == 6
