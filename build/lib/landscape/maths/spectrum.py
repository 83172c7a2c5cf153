"""The exact high-dimensional Hessian spectrum at a critical point, and its classification.

In input dimension d the Hessian of L on R^{K d} has the K n eigenvalues of the
block inside the reduced coordinates plus the K eigenvalues of the orthogonal
block A, each repeated d - n times (infinitely often when d is infinite).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .kernels import evaluate

# |eigenvalue| <= ZERO_TOL counts as flat; below -ZERO_TOL as negative. Polished
# points have |grad| < 1e-10 and exact flat directions come out near 1e-12,
# while the softest curvatures of genuine minima here are >= 1e-4.
ZERO_TOL = 1e-7
# Eigenvalues closer than this are one distinct eigenvalue with multiplicity.
GROUP_TOL = 1e-7
GLOBAL_LOSS = 1e-10


@dataclass
class HessianSpectrum:
    """Distinct eigenvalues with multiplicities.

    Attributes
    ----------
    span_eigenvalues : ndarray, shape (p,)
    span_multiplicities : ndarray of int, shape (p,)
        Summing to K n.
    orthogonal_eigenvalues : ndarray, shape (q,)
        Eigenvalues of the K x K block A (empty when d <= n).
    orthogonal_multiplicity : int or math.inf
        d - n (0 when there is no orthogonal block).
    """

    span_eigenvalues: np.ndarray
    span_multiplicities: np.ndarray
    orthogonal_eigenvalues: np.ndarray
    orthogonal_multiplicities: np.ndarray
    orthogonal_multiplicity: float

    def _count(self, mask_span, mask_orth):
        count = int(self.span_multiplicities[mask_span].sum())
        k = int(self.orthogonal_multiplicities[mask_orth].sum())
        if k and self.orthogonal_multiplicity:
            return math.inf if self.orthogonal_multiplicity == math.inf else count + k * int(
                self.orthogonal_multiplicity)
        return count

    @property
    def index(self):
        """Negative eigenvalues counted with multiplicity (may be inf)."""
        return self._count(self.span_eigenvalues < -ZERO_TOL,
                           self.orthogonal_eigenvalues < -ZERO_TOL)

    @property
    def flat(self):
        """Zero eigenvalues counted with multiplicity (may be inf)."""
        return self._count(np.abs(self.span_eigenvalues) <= ZERO_TOL,
                           np.abs(self.orthogonal_eigenvalues) <= ZERO_TOL)

    @property
    def min_eigenvalue(self):
        values = [self.span_eigenvalues.min()]
        if self.orthogonal_multiplicity and self.orthogonal_eigenvalues.size:
            values.append(self.orthogonal_eigenvalues.min())
        return float(min(values))

    def to_json(self):
        mult = self.orthogonal_multiplicity
        has_orth = bool(mult)
        return {
            "span": {"eigenvalues": self.span_eigenvalues.tolist(),
                     "multiplicities": self.span_multiplicities.tolist()},
            "orthogonal": {
                "eigenvalues": self.orthogonal_eigenvalues.tolist() if has_orth else [],
                "multiplicities": self.orthogonal_multiplicities.tolist() if has_orth else [],
                "multiplicity": ("inf" if mult == math.inf else int(mult)) if has_orth else 0,
            },
        }

    @classmethod
    def from_json(cls, data):
        orth = data["orthogonal"]
        mult = orth["multiplicity"]
        return cls(np.array(data["span"]["eigenvalues"], dtype=float),
                   np.array(data["span"]["multiplicities"], dtype=int),
                   np.array(orth["eigenvalues"], dtype=float),
                   np.array(orth["multiplicities"], dtype=int),
                   math.inf if mult == "inf" else int(mult))


def group_eigenvalues(values, tol=GROUP_TOL):
    """Distinct values (means of runs closer than tol) and their multiplicities."""
    values = np.sort(np.asarray(values, dtype=float))
    if not values.size:
        return np.zeros(0), np.zeros(0, dtype=int)
    breaks = np.nonzero(np.diff(values) > tol * np.maximum(1.0, np.abs(values[1:])))[0] + 1
    groups = np.split(values, breaks)
    return (np.array([g.mean() for g in groups]),
            np.array([g.size for g in groups], dtype=int))


def hessian_spectrum(students, teachers, dim):
    """Spectrum of the full Hessian at one point.

    Parameters
    ----------
    students : ndarray, shape (K, n)
    teachers : ndarray, shape (M, n)
    dim : int or math.inf
        Input dimension d (>= n).

    Returns
    -------
    HessianSpectrum
    """
    K, n = students.shape
    ev = evaluate(students, teachers, 2)
    H = ev.hessian[0].reshape(K * n, K * n)
    span = np.linalg.eigvalsh(0.5 * (H + H.T))
    A = ev.orthogonal[0]
    orth = np.linalg.eigvalsh(0.5 * (A + A.T))
    multiplicity = dim - n if dim != math.inf else math.inf
    span_values, span_mult = group_eigenvalues(span)
    orth_values, orth_mult = group_eigenvalues(orth)
    if not multiplicity:
        orth_values, orth_mult = np.zeros(0), np.zeros(0, dtype=int)
    return HessianSpectrum(span_values, span_mult, orth_values, orth_mult, multiplicity)


def kind_of(loss, index):
    """``global_minimum`` (loss < 1e-10), ``local_minimum`` (index 0) or ``saddle``."""
    if loss < GLOBAL_LOSS:
        return "global_minimum"
    return "local_minimum" if index == 0 else "saddle"


def classify(loss, spectrum):
    """The kind of a critical point of this loss and Hessian spectrum (``kind_of``)."""
    return kind_of(loss, spectrum.index)
