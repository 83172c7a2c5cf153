"""Padded points: configurations with zero (dead) students, and what kind of point they are.

Adding a student s u (|u| = 1, s >= 0) to students W changes the loss by exactly

    s g(u) + s^2 / 4,   g(u) = sum_j kappa(w_j, u) - sum_r kappa(v_r, u)

(kappa is bilinear in the norms, and kappa(u, u) = 1/2). So at a point whose living
students W are critical, a zero student is a first-order descent direction wherever
g(u) < 0. Since dL/dw_k . w_k/|w_k| = g(w_k/|w_k|), g vanishes at every living
student's direction (moving norm from w_k into a zero student along w_k is the split
of w_k, a flat direction), so min g <= 0 at every padded critical point; the second
order there is the curvature of g on the sphere at w_k/|w_k|, the curvature of
opening that split.

Directions u = cos(p) a + sin(p) e with a in the coordinate space and e orthogonal
to it (input dimension d > n) all give the same g for every e, so one extra
coordinate represents all of them: g is minimised over the unit sphere of R^(n+1)
when d > n, else of R^n. For u orthogonal to everything, kappa(a, u) = |a| / (2 pi)
and g(u) = (sum_j |w_j| - sum_r |v_r|) / (2 pi).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .kernels import TWO_PI, evaluate, teacher_constant
from .spectrum import GLOBAL_LOSS, HessianSpectrum, hessian_spectrum

# |g| below this (times the smallest teacher norm) is zero: living students are
# polished to |grad L| < 1e-10, so g at their directions is ~1e-10.
PADDING_TOL = 1e-7
# Search ends closer in angle than this to a living student's direction are that
# direction (where g = 0 by criticality).
LIVING_ANGLE = 0.05
RANDOM_STARTS = 64
ITERATIONS = 500


def _vectors(W, V, extra):
    """Students and teachers as rows, with ``extra`` zero columns; their signs."""
    A = np.vstack([W, V])
    if extra:
        A = np.hstack([A, np.zeros((A.shape[0], extra))])
    signs = np.concatenate([np.ones(W.shape[0]), -np.ones(V.shape[0])])
    return A, signs


def _value_and_gradient(U, A, signs):
    """g at unit rows U (P, m) and its gradient on the sphere, shape (P, m)."""
    norms = np.linalg.norm(A, axis=1)
    units = A / np.where(norms > 0, norms, 1.0)[:, None]
    cos = np.clip(U @ units.T, -1.0, 1.0)                    # (P, N)
    angle = np.arccos(cos)
    sin = np.sqrt(1.0 - cos * cos)
    weights = signs * norms
    value = ((sin + (np.pi - angle) * cos) @ weights) / TWO_PI
    # grad_x kappa(a, x) at |x| = 1: (|a| sin t x + (pi - t) a) / (2 pi); the x term
    # is radial and drops out on the sphere.
    gradient = ((np.pi - angle) * signs) @ A / TWO_PI
    gradient -= np.einsum("pm,pm->p", gradient, U)[:, None] * U
    return value, gradient


def padding_values(W, V, U):
    """g(u) for living students W (K, n), teachers V (M, n) and unit rows U (P, m),
    m = n or n + 1 (the last coordinate orthogonal to the coordinate space)."""
    A, signs = _vectors(W, V, U.shape[1] - W.shape[1])
    return _value_and_gradient(np.asarray(U, dtype=float), A, signs)[0]


def _normalise(U):
    return U / np.linalg.norm(U, axis=-1, keepdims=True)


def _search_starts(A, K, m, rng, random_starts):
    """Starting directions: every student and teacher direction and its opposite, the
    living directions slightly perturbed (g is stationary there) and random ones."""
    units = _normalise(A[np.linalg.norm(A, axis=1) > 0])
    starts = [units, -units]
    if K:
        students = units[:K]
        for size in (1e-2, 1e-1):
            starts.append(_normalise(students + size * _normalise(
                rng.standard_normal((K, m)))))
    starts.append(_normalise(rng.standard_normal((random_starts, m))))
    return np.vstack(starts)


def minimise_padding(W, V, orthogonal, rng=None, random_starts=RANDOM_STARTS,
                     iterations=ITERATIONS):
    """Local minima of g over the unit sphere from many starts.

    Parameters
    ----------
    W : ndarray, shape (K, n)
        Living students.
    V : ndarray, shape (M, n)
    orthogonal : bool
        Include directions orthogonal to the coordinate space (input dimension d > n).

    Returns
    -------
    values : ndarray, shape (P,)
        g at the end of each local search, ascending.
    directions : ndarray, shape (P, m)
        Where they ended (m = n + 1 if ``orthogonal``, else n).
    """
    rng = np.random.default_rng(0) if rng is None else rng
    extra = 1 if orthogonal else 0
    A, signs = _vectors(W, V, extra)
    K, m = W.shape[0], A.shape[1]
    U = _search_starts(A, K, m, rng, random_starts)
    if orthogonal:
        e = np.zeros(m)
        e[-1] = 1.0
        tilted = _normalise(A[K:] / np.linalg.norm(A[K:], axis=1, keepdims=True) + e)
        U = np.vstack([U, e, tilted])
    # Riemannian gradient descent with an Armijo step per start: g is C^1 with a
    # bounded Hessian on the sphere, cheap, and there are only a few hundred starts.
    step = np.full(U.shape[0], TWO_PI / max(np.abs(A).sum(), 1e-300))
    value, gradient = _value_and_gradient(U, A, signs)
    for _ in range(iterations):
        squared = np.einsum("pm,pm->p", gradient, gradient)
        moving = (squared > 1e-28) & (step > 1e-14)
        if not moving.any():
            break
        trial = _normalise(U - step[:, None] * gradient)
        trial_value, trial_gradient = _value_and_gradient(trial, A, signs)
        better = moving & (trial_value <= value - 1e-4 * step * squared)
        U[better], value[better], gradient[better] = (trial[better], trial_value[better],
                                                      trial_gradient[better])
        step = np.where(better, 2.0 * step, np.where(moving, 0.5 * step, step))
    order = np.argsort(value)
    return value[order], U[order]


def split_curvatures(W, V, orthogonal):
    """Smallest curvature of g on the sphere at each living student's direction.

    There g = 0 and its gradient vanishes (W critical), so this second derivative
    decides whether g dips below 0 next to it: it is the curvature of opening the
    split of w_k into a zero student. The Hessian of u -> kappa(a, u) at |u| = 1 is
    |a| sin t / (2 pi) (I - u u^T + n n^T), n the unit part of a/|a| orthogonal to u.

    Returns
    -------
    ndarray, shape (K,)
    """
    extra = 1 if orthogonal else 0
    A, signs = _vectors(W, V, extra)
    norms = np.linalg.norm(A, axis=1)
    units = A / norms[:, None]
    K, m = W.shape[0], A.shape[1]
    out = np.zeros(K)
    for k in range(K):
        u = units[k]
        cos = np.clip(units @ u, -1.0, 1.0)
        sin = np.sqrt(1.0 - cos * cos)
        E = units - cos[:, None] * u                          # length sin t
        projector = np.eye(m) - np.outer(u, u)
        weights = signs * norms / TWO_PI
        safe = np.where(sin > 1e-12, sin, np.inf)
        H = (weights @ sin) * projector + (E.T * (weights / safe)) @ E
        basis = np.linalg.svd(projector)[0][:, :m - 1]        # tangent space at u
        out[k] = np.linalg.eigvalsh(basis.T @ H @ basis).min()
    return out


@dataclass
class PaddedClass:
    """What kind of point a padded point is.

    Attributes
    ----------
    dead : int
        Number of zero students.
    loss : float
    kind : str
        ``global_minimum`` (loss < 1e-10), ``saddle`` (the living students are at a
        saddle, or g < 0 somewhere, or g dips below 0 next to a living direction),
        ``flat`` (g vanishes somewhere else or to second order: undecided at this
        order) or ``local_minimum``.
    index : int or math.inf
        Index of the living students' Hessian (in input dimension d).
    padding_min : float
        min of g over unit u (<= 0 up to round-off, since g vanishes at the living
        directions).
    padding_direction : ndarray, shape (m,)
        Where it is attained (m = n + 1 when d > n: last coordinate orthogonal).
    split_curvature : float
        Smallest curvature of g at the living directions (inf with no living student).
    gap : float
        Smallest local minimum of g found away from the living directions (inf if none).
    living_spectrum : HessianSpectrum or None
    """

    dead: int
    loss: float
    kind: str
    index: float
    padding_min: float
    padding_direction: np.ndarray
    split_curvature: float
    gap: float
    living_spectrum: HessianSpectrum | None


def classify_padded(W, V, dim, rng=None):
    """Classify a point whose zero rows are dead students and whose living students
    are a polished critical point.

    Parameters
    ----------
    W : ndarray, shape (K, n)
    V : ndarray, shape (M, n)
    dim : int or math.inf
        Input dimension d (>= n).

    Returns
    -------
    PaddedClass
    """
    W = np.asarray(W, dtype=float)
    alive = np.einsum("kn,kn->k", W, W) > 0
    living = W[alive]
    n = W.shape[1]
    orthogonal = dim > n
    scale = float(np.sqrt(np.min(np.einsum("mn,mn->m", V, V))))
    tol = PADDING_TOL * scale
    if living.shape[0]:
        loss = max(float(evaluate(living, V, 0).loss[0]), 0.0)
        spectrum = hessian_spectrum(living, V, dim)
        index = spectrum.index
    else:
        loss = float(teacher_constant(V @ V.T))
        spectrum, index = None, 0
    values, directions = minimise_padding(living, V, orthogonal, rng)
    curvatures = split_curvatures(living, V, orthogonal) if living.shape[0] else np.zeros(0)
    split_curvature = float(curvatures.min()) if curvatures.size else math.inf
    if living.shape[0]:
        units = living / np.linalg.norm(living, axis=1, keepdims=True)
        units = np.hstack([units, np.zeros((units.shape[0], directions.shape[1] - n))])
        near = (directions @ units.T).max(axis=1) > np.cos(LIVING_ANGLE)
    else:
        near = np.zeros(values.size, dtype=bool)
    gap = float(values[~near].min()) if (~near).any() else math.inf
    padding_min = float(values[0])
    if loss < GLOBAL_LOSS:
        kind = "global_minimum"
    elif index != 0 or padding_min < -tol or split_curvature < -tol:
        kind = "saddle"
    elif gap <= tol or split_curvature <= tol:
        kind = "flat"
    else:
        kind = "local_minimum"
    return PaddedClass(dead=int((~alive).sum()), loss=loss, kind=kind, index=index,
                       padding_min=padding_min, padding_direction=directions[0],
                       split_curvature=split_curvature, gap=gap, living_spectrum=spectrum)
