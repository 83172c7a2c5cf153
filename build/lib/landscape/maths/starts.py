"""Random starts w_k ~ N(0, I_D / D) drawn directly in reduced coordinates.

Teachers span the first M coordinates (see ``teachers.teacher_vectors``). A start's
components inside that span are drawn as they are; its components outside are a
K x (D - M) Gaussian matrix, which matters only through its Gram matrix and so
is replaced by the lower-trapezoidal factor of its LQ decomposition (the Bartlett
decomposition: chi-distributed diagonal, Gaussian below). This is exact in
distribution and costs O(K^2) per start instead of O(K D).

Start ``i`` depends only on ``(seed, i)``, so any split of the starts into chunks
draws the same starts.
"""
from __future__ import annotations

import numpy as np


def draw_start(seed, index, students, teachers, dim, n):
    """One start in reduced coordinates.

    Parameters
    ----------
    seed, index : int
    students, teachers : int
        K and M.
    dim : int
        D, the dimension the start is drawn in (at least M).
    n : int
        Reduced dimension (columns of the result), at least min(D, K + M).

    Returns
    -------
    W : ndarray, shape (K, n)
    """
    K, M = students, teachers
    rng = np.random.default_rng([seed, index])
    W = np.zeros((K, n))
    W[:, :M] = rng.standard_normal((K, M))
    outside = min(K, dim - M)          # rank of the part outside the teacher span
    if outside > 0:
        T = np.tril(rng.standard_normal((K, outside)), -1)
        degrees = dim - M - np.arange(outside)
        T[np.arange(outside), np.arange(outside)] = np.sqrt(rng.chisquare(degrees))
        W[:, M:M + outside] = T
    return W / np.sqrt(dim)


def draw_starts(seed, indices, students, teachers, dim, n):
    """Starts for the given indices, shape (len(indices), K, n)."""
    return np.stack([draw_start(seed, i, students, teachers, dim, n) for i in indices])
