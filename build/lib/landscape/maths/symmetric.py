"""Eigenvalues of operators that commute with permuting the members of classes.

Let a pool of indices be split into classes of sizes n_1..n_C, and G = S_{n_1} x ... x
S_{n_C} permute the members of each class. An operator H on R^X, X the r-tuples of
pool indices, that commutes with G (``H(gx, gy) = H(x, y)``) is constant on the orbits
of G on pairs (x, y): it is ``sum_a h_a E_a`` over the orbit matrices E_a, which span
the commutant algebra. Left multiplication by H on that algebra is a D x D matrix L
whose eigenvalues are exactly those of H (without their multiplicities), because the
algebra is a direct sum of m x m matrix blocks, one per irreducible representation,
on which H acts as its m x m multiplicity block. D, the number of orbits on pairs,
does not depend on the class sizes once they are at least 2r, so the spectrum of an
operator of any size costs the same (for r = 2 and two classes, D = 94).

An orbit is labelled by the classes of the 2r positions of (x, y) and by which
positions hold the same index.
"""
from __future__ import annotations

from itertools import product

import numpy as np


def orbit_label(indices):
    """Orbit of a tuple of (class, slot) pairs: classes plus the equality pattern."""
    first = {}
    return (tuple(c for c, _ in indices),
            tuple(first.setdefault(index, p) for p, index in enumerate(indices)))


def representative(label):
    """A tuple of (class, slot) pairs in the orbit ``label`` (slots numbered from 0)."""
    classes, pattern = label
    slots, used = {}, {}
    out = []
    for p, (c, q) in enumerate(zip(classes, pattern)):
        if q == p:
            slots[p] = used.get(c, 0)
            used[c] = slots[p] + 1
        out.append((c, slots[q]))
    return out


def orbit_labels(length, sizes):
    """All orbits of G on tuples of ``length`` pool indices, in a fixed order."""
    labels = {}
    for classes in product(range(len(sizes)), repeat=length):
        for slots in product(range(length), repeat=length):
            indices = list(zip(classes, slots))
            label = orbit_label(indices)
            # keep feasible orbits: no class holds more distinct indices than members
            if all(len({s for c, s in indices if c == k}) <= n for k, n in enumerate(sizes)):
                labels.setdefault(label, None)
    return sorted(labels)


def _completions(fixed, r, sizes):
    """Tuples y of r pool indices, as (y, how many y of that kind), given the
    indices ``fixed`` already placed (y is described up to the unplaced members)."""
    def extend(y, count):
        if len(y) == r:
            yield y, count
            return
        used = fixed + y
        for c, n in enumerate(sizes):
            taken = sorted({s for k, s in used if k == c})
            for s in taken:                                  # an index already there
                yield from extend(y + [(c, s)], count)
            if n > len(taken):                               # any other member
                yield from extend(y + [(c, len(taken))], count * (n - len(taken)))

    yield from extend([], 1)


def orbit_algebra_matrix(entry, r, sizes):
    """The D x D matrix of left multiplication by H on its commutant algebra.

    Parameters
    ----------
    entry : callable(list of (class, slot)) -> float
        H(x, y) for the 2r pool indices of (x, y).
    r : int
        Length of the tuples X is made of.
    sizes : sequence of int
        Class sizes.

    Returns
    -------
    L : ndarray, shape (D, D)
        Its eigenvalues are the eigenvalues of H.
    """
    labels = orbit_labels(2 * r, sizes)
    where = {label: i for i, label in enumerate(labels)}
    values = np.array([entry(representative(label)) for label in labels])
    L = np.zeros((len(labels), len(labels)))
    for c, label in enumerate(labels):
        xz = representative(label)
        x, z = xz[:r], xz[r:]
        for y, count in _completions(xz, r, sizes):
            a = where[orbit_label(x + y)]
            b = where[orbit_label(y + z)]
            L[c, b] += count * values[a]
    return L


def invariant_eigenvalues(entry, r, sizes):
    """Distinct eigenvalues (ascending, with repeats possible) of a G-invariant
    symmetric operator given by ``entry`` (see ``orbit_algebra_matrix``)."""
    values = np.linalg.eigvals(orbit_algebra_matrix(entry, r, sizes))
    return np.sort(values.real)
