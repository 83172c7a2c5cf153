"""Connections between minima: aligned endpoints, minimum-energy paths, saddles,
the barrier graph and the disconnectivity tree.

Paths live in the reduced coordinates of the students, ``W`` of shape (K, n) (see
``../shared/SCIENCE.md``, "Connectivity"); they are never interpolated in (Q, M).

* ``align``: the copy of one endpoint, over the problem's symmetries, closest to the
  other (student permutations, teacher permutations that keep P, rotations of the
  part outside the teacher span), by alternating exact minimisations.
* ``neb``: climbing-image nudged elastic band (Henkelman, Uberuaga & Jonsson 2000),
  improved tangent (Henkelman & Jonsson 2000), one FIRE optimiser (Bitzek et al.
  2006) for the whole band, stopped on the largest force perpendicular to the path.
* ``string_method``: the simplified string method (E, Ren & Vanden-Eijnden 2007),
  the cross-check, with a climbing image (polished by Newton's method when given a
  ``refine``); its barrier is the climbing image's loss.
  Both take any ``energy_gradient(X) -> (E, G)`` over a batch of points, so a
  textbook surface runs through the same code as the network.
* ``confirm_saddle``: Newton polishing with the exact Hessian, the full
  d-dimensional index, and descent off both sides of the negative mode.
* ``connect_minima``: connections of a catalog's minima, the barrier graph, its
  minimum spanning tree and the disconnectivity tree (Becker & Karplus 1997).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace

import numpy as np
from scipy.linalg import solve_banded
from scipy.optimize import linear_sum_assignment, minimize_scalar

from ..config import inf_or_int
from ..maths.kernels import TWO_PI, evaluate, kernel_rows, teacher_constant
from ..maths.kernels import _geometry  # the angles once for loss and gradient together
from ..maths.spectrum import ZERO_TOL, classify, hessian_spectrum
from ..maths.teachers import teacher_vectors
from ..version import ENGINE_VERSION
from .catalog import find_fixed_points, signature, snap_parallel, summary
from .descent import CONVERGED, PADDED, descend

MINIMUM_KINDS = ("global_minimum", "local_minimum")
SAME_TOL = 1e-6


# ----------------------------------------------------------------------------- alignment
@dataclass
class Alignment:
    """The copy of ``W`` closest to a reference over the symmetries.

    Attributes
    ----------
    students : ndarray, shape (K, n)
        ``transform(W[order], teacher_order, rotation)``.
    order : ndarray of int, shape (K,)
        Student k of the copy is student ``order[k]`` of W.
    teacher_order : ndarray of int, shape (M,)
        A student on teacher i moves onto teacher ``teacher_order[i]``.
    rotation : ndarray, shape (n - M, n - M)
        Orthogonal, acting on the coordinates outside the teacher span.
    distance : float
        |reference - students| (Frobenius).
    """

    students: np.ndarray
    order: np.ndarray
    teacher_order: np.ndarray
    rotation: np.ndarray
    distance: float


def _teacher_colours(P, tol=1e-9):
    """allowed[i, j]: teacher i may move onto teacher j (same norm, same overlaps up to order)."""
    M = P.shape[0]
    rows = np.sort(P, axis=1)
    scale = max(np.abs(P).max(), 1e-300)
    allowed = np.ones((M, M), dtype=bool)
    for i in range(M):
        allowed[i] = (np.abs(np.diag(P) - P[i, i]) <= tol * scale) & np.all(
            np.abs(rows - rows[i]) <= tol * scale, axis=1)
    return allowed


def transform(W, V, teacher_order, rotation):
    """Apply a teacher permutation (keeping P) and a rotation outside the span to W.

    Teachers are ``V = [L, 0]`` (``teachers.teacher_vectors``); a student
    ``w = c L + (0, u)`` maps to ``c Pi L + (0, u R)``, an orthogonal map of R^n
    that permutes the teacher vectors, so the loss is unchanged when Pi keeps P.
    """
    M = V.shape[0]
    L = V[:, :M]
    C = np.linalg.solve(L.T, W[:, :M].T).T
    permuted = np.empty_like(C)
    permuted[:, teacher_order] = C
    out = np.empty_like(W)
    out[:, :M] = permuted @ L
    out[:, M:] = W[:, M:] @ rotation
    return out


def align(reference, W, V, max_iter=50):
    """The symmetric copy of W closest to ``reference``.

    Alternates three exact minimisations of |reference - copy|: the student
    assignment (``linear_sum_assignment`` on squared distances), the teacher
    permutation (linear in the permutation because it keeps P: an assignment
    restricted to teachers of equal norm and overlaps, kept only if it keeps P),
    and the orthogonal Procrustes rotation of the coordinates outside the teacher
    span. Two starts (identity; students matched by invariant features) and the
    better end.

    Parameters
    ----------
    reference, W : ndarray, shape (K, n)
    V : ndarray, shape (M, n)

    Returns
    -------
    Alignment
    """
    reference = np.asarray(reference, float)
    W = np.asarray(W, float)
    K, n = W.shape
    M = V.shape[0]
    P = V @ V.T
    L = V[:, :M]
    allowed = _teacher_colours(P)
    forbidden = -1e6 * (1.0 + np.abs(P).max())
    C_ref = np.linalg.solve(L.T, reference[:, :M].T).T

    def students_step(teacher_order, rotation):
        image = transform(W, V, teacher_order, rotation)
        cost = np.sum((reference[:, None, :] - image[None, :, :]) ** 2, axis=-1)
        return linear_sum_assignment(cost)[1]

    def teacher_step(order, current):
        C = np.linalg.solve(L.T, W[order, :M].T).T
        profit = np.where(allowed, C.T @ C_ref @ P, forbidden)
        proposal = linear_sum_assignment(profit, maximize=True)[1]
        if np.allclose(P[np.ix_(proposal, proposal)], P, atol=1e-9 * np.abs(P).max()):
            return proposal
        return current

    def rotation_step(order):
        if n == M:
            return np.eye(0)
        U, _, Vt = np.linalg.svd(W[order, M:].T @ reference[:, M:])
        return U @ Vt

    def run(order, teacher_order, rotation):
        best = None
        for _ in range(max_iter):
            teacher_order = teacher_step(order, teacher_order)
            rotation = rotation_step(order)
            image = transform(W[order], V, teacher_order, rotation)
            distance = float(np.linalg.norm(reference - image))
            if best is not None and distance >= best.distance - 1e-13:
                break
            best = Alignment(image, order.copy(), teacher_order.copy(), rotation, distance)
            order = students_step(teacher_order, rotation)
        return best

    identity = (np.arange(M), np.eye(n - M))
    first = run(students_step(*identity), *identity)
    # Invariant features of a student: its norm and its sorted overlaps with the teachers.
    def features(X):
        return np.hstack([np.linalg.norm(X, axis=1)[:, None], np.sort(X @ V.T, axis=1)])
    cost = np.sum((features(reference)[:, None] - features(W)[None]) ** 2, axis=-1)
    second = run(linear_sum_assignment(cost)[1], *identity)
    return first if first.distance <= second.distance else second


# ----------------------------------------------------------------------------- bands
@dataclass(frozen=True)
class BandOptions:
    """Settings of NEB and of the string method (distances in the units of the points).

    ``max_step`` caps the move of one image per iteration; ``dt``/``dt_max`` are
    FIRE's time steps (stable for ``dt_max`` below about 2 / sqrt(largest curvature)).
    The top image starts climbing only once the band is nearly relaxed: climbing
    along a poor tangent can run uphill without end.
    """

    spring: float = 1.0
    force_tol: float = 1e-7
    max_iter: int = 3000
    dt: float = 0.05
    dt_max: float = 0.2
    max_step: float = 0.05
    climb: bool = True
    climb_force: float = 1e-3         # the top image climbs once the band's force is below this
    string_dt: float = 0.5            # the string's descent step (stable below 2 / largest curvature)
    string_tol: float = 1e-10         # the string stops when no image moves further in a step
    string_refine: float = 1e-4       # climbing image's gradient at which ``refine`` is tried
    string_max_iter: int = 1000
    relax_force: float = 1e-3         # band force before intermediate basins are looked for
    jitter: float = 1e-3              # random offset of the first band (breaks symmetric bands)
    patience: int = 300               # stop a band whose force has not halved in this many steps
    blow_up: float = 10.0             # stop a band whose energies rise this far above its start


@dataclass
class Band:
    """A converged chain of images.

    Attributes
    ----------
    images : ndarray, shape (N, ...)
    energy : ndarray, shape (N,)
    top : int
        The highest interior image (the climbing image for NEB).
    barrier_energy : float
        NEB: the climbing image's energy; string: the highest energy on a cubic
        spline through the images.
    max_force : float
        Largest force perpendicular to the path (the climbing image's full force).
    iterations : int
    converged : bool
    """

    images: np.ndarray
    energy: np.ndarray
    top: int
    barrier_energy: float
    max_force: float
    iterations: int
    converged: bool

    @property
    def arc_length(self):
        steps = np.linalg.norm(np.diff(self.images.reshape(len(self.images), -1), axis=0), axis=1)
        return np.concatenate([[0.0], np.cumsum(steps)])


def _interpolate(start, end, images):
    t = np.linspace(0.0, 1.0, images)[:, None]
    return (1 - t) * start.ravel()[None] + t * end.ravel()[None]


def initial_band(start, end, images, jitter=1e-3, seed=0):
    """The straight band with a small fixed random offset of its interior images,
    shape (images, D). Between symmetric endpoints the straight band (and every
    band a symmetric force field makes of it) keeps their symmetry and can settle
    on a ridge; the offset breaks it."""
    X = _interpolate(np.asarray(start, float), np.asarray(end, float), images)
    X[1:-1] += jitter * np.random.default_rng(seed).standard_normal(X[1:-1].shape)
    return X


def improved_tangents(X, E):
    """Unit tangents of the interior images, Henkelman & Jonsson (2000), shape (N - 2, D)."""
    forward = X[2:] - X[1:-1]
    backward = X[1:-1] - X[:-2]
    up, mid, down = E[2:], E[1:-1], E[:-2]
    dmax = np.maximum(np.abs(up - mid), np.abs(down - mid))[:, None]
    dmin = np.minimum(np.abs(up - mid), np.abs(down - mid))[:, None]
    mixed = np.where((up > down)[:, None], forward * dmax + backward * dmin,
                     forward * dmin + backward * dmax)
    tangent = np.where(((up > mid) & (mid > down))[:, None], forward,
                       np.where(((up < mid) & (mid < down))[:, None], backward, mixed))
    norms = np.linalg.norm(tangent, axis=1, keepdims=True)
    return tangent / np.where(norms > 0, norms, 1.0)


class _Fire:
    """FIRE (Bitzek et al. 2006) on one vector, with a cap on each image's move."""

    def __init__(self, shape, options):
        self.v = np.zeros(shape)
        self.dt = options.dt
        self.dt_max = options.dt_max
        self.max_step = options.max_step
        self.alpha = 0.1
        self.positive = 0

    def step(self, F):
        power = np.sum(F * self.v)
        if power > 0:
            fnorm = np.linalg.norm(F)
            self.v = (1 - self.alpha) * self.v + self.alpha * np.linalg.norm(self.v) * F / fnorm
            self.positive += 1
            if self.positive > 5:
                self.dt = min(self.dt * 1.1, self.dt_max)
                self.alpha *= 0.99
        else:
            self.v[:] = 0.0
            self.dt *= 0.5
            self.alpha = 0.1
            self.positive = 0
        self.v += self.dt * F
        move = self.dt * self.v
        lengths = np.linalg.norm(move, axis=1, keepdims=True)
        return move * np.minimum(1.0, self.max_step / np.where(lengths > 0, lengths, 1.0))


def neb(energy_gradient, start, end, images=24, options=BandOptions(), initial=None,
        stop_below=-np.inf):
    """Climbing-image nudged elastic band between two fixed endpoints.

    Parameters
    ----------
    energy_gradient : callable
        ``(X of shape (B, ...)) -> (E of shape (B,), G of shape (B, ...))``.
    start, end : ndarray, shape (...)
    images : int
        Images including both endpoints.
    initial : ndarray, shape (images, ...), optional
        Default: linear interpolation.
    stop_below : float
        Stop (unconverged) as soon as an image's energy falls below this: the band
        has found a lower basin between the endpoints, and relaxing on would drag
        the band through it.

    Returns
    -------
    Band
    """
    shape = np.shape(start)
    X = (_interpolate(np.asarray(start, float), np.asarray(end, float), images)
         if initial is None else np.asarray(initial, float).reshape(images, -1).copy())
    E = np.empty(images)
    E[[0, -1]] = energy_gradient(X[[0, -1]].reshape((2,) + shape))[0]
    fire = _Fire((images - 2, X.shape[1]), options)
    max_force, converged, top, climbing = np.inf, False, 1, False
    ceiling, best = None, (np.inf, 0)
    for iteration in range(options.max_iter):
        e, g = energy_gradient(X[1:-1].reshape((images - 2,) + shape))
        E[1:-1] = e
        if ceiling is None:
            ceiling = E.max() + options.blow_up * (E.max() - E.min() + 1e-12)
        if not np.all(np.isfinite(e)) or e.max() > ceiling or e.min() < stop_below:
            break
        g = g.reshape(images - 2, -1)
        tau = improved_tangents(X, E)
        along = np.einsum("id,id->i", g, tau)
        perpendicular = -g + along[:, None] * tau
        lengths = np.linalg.norm(np.diff(X, axis=0), axis=1)
        spring = options.spring * (lengths[1:] - lengths[:-1])
        force = perpendicular + spring[:, None] * tau
        measure = np.linalg.norm(perpendicular, axis=1)
        top = int(np.argmax(e)) + 1
        climbing = climbing or (options.climb and measure.max() < options.climb_force)
        if climbing:
            j = top - 1
            force[j] = -g[j] + 2 * along[j] * tau[j]
            measure[j] = np.linalg.norm(g[j])
        max_force = float(measure.max())
        if max_force < options.force_tol and (climbing or not options.climb):
            converged = True
            break
        if max_force < 0.5 * best[0]:
            best = (max_force, iteration)
        elif iteration - best[1] > options.patience:
            break       # stalled (a kink of the loss near the top): polishing decides
        X[1:-1] += fire.step(force)
    images_out = X.reshape((images,) + shape)
    return Band(images_out, E.copy(), top, float(E[top]), max_force, iteration + 1, converged)


def _reparametrise(X):
    """Points at equal arc length along a cubic spline through the chain, with unit
    tangents there: (X, tangents), shapes (N, D). A spline rather than straight
    segments: chords cut corners by O(h^2), which the descent step would have to
    undo every iteration, leaving a perpendicular force of that size."""
    spline, length = spline_path(X)
    if length <= 0:
        return X, np.zeros_like(X)
    target = np.linspace(0.0, length, len(X))
    points = spline(target)
    points[[0, -1]] = X[[0, -1]]
    tangents = spline(target, 1)
    return points, tangents / np.linalg.norm(tangents, axis=1, keepdims=True)


def _equal_arc(X, top):
    """Images at equal arc length on each side of image ``top`` (kept in place), and the
    unit tangent of the whole chain at every image: (X, tangents), shapes (N, D)."""
    if top is None:
        return _reparametrise(X)
    left, _ = _reparametrise(X[:top + 1])
    right, _ = _reparametrise(X[top:])
    X = np.concatenate([left, right[1:]])
    spline, length = spline_path(X)
    steps = np.linalg.norm(np.diff(X, axis=0), axis=1)
    tangents = spline(np.concatenate([[0.0], np.cumsum(steps)]), 1)
    norms = np.linalg.norm(tangents, axis=1, keepdims=True)
    return X, tangents / np.where(norms > 0, norms, 1.0)


def string_method(energy_gradient, start, end, images=24, options=BandOptions(), initial=None,
                  refine=None):
    """The simplified string method with a climbing image (E, Ren & Vanden-Eijnden 2007).

    Each iteration is a descent step ``X -= string_dt * grad E`` on every interior
    image, then a redistribution to equal arc length along a cubic spline through
    the images. Endpoints stay fixed (they are minima). Once the largest force
    perpendicular to the string is below ``climb_force``, or its moves have stopped
    shrinking for ``patience`` iterations (at once when the string starts from a band,
    ``initial``), the highest image climbs: its step reverses the
    gradient's part along the string's tangent, and the images are redistributed on
    each side of it separately, so that it converges to the saddle and the two halves
    to the steepest-descent paths down from it. Without the climbing image the top of
    a string is resolved only to its spacing: a saddle close to one end (a shallow
    spurious minimum) falls between two images and the string slides off it.

    ``refine(point) -> point`` (optional) is the late-stage Newton step of the climbing
    string (Ren & Vanden-Eijnden 2013): applied to the climbing image once its whole
    gradient is below ``string_refine``, and kept if it does not raise the gradient nor
    leave the image's neighbourhood, else tried again once the gradient has halved
    (the climbing dynamics alone converge at the rate
    of the smallest curvature there, slowly at a shallow saddle).

    The string converges when no image moves by more than ``string_tol`` in an
    iteration and the climbing image's gradient is below ``force_tol``; it stops
    unconverged when its moves have not halved in ``patience`` iterations after its
    climbing image was polished, or without climbing (images sliding through basins
    between the ends).

    Returns
    -------
    Band
        ``top``: the climbing image; ``barrier_energy``: its energy (the highest energy
        on a spline through the images when the string never climbed);
        ``max_force``: the largest perpendicular force left (the climbing image's
        whole gradient).
    """
    shape = np.shape(start)
    X = (_interpolate(np.asarray(start, float), np.asarray(end, float), images)
         if initial is None else np.asarray(initial, float).reshape(images, -1).copy())
    E = np.empty(images)
    E[[0, -1]] = energy_gradient(X[[0, -1]].reshape((2,) + shape))[0]
    converged, top, refined, best = False, None, False, (np.inf, 0)
    refine_below = options.string_refine

    def forces(X):
        e, g = energy_gradient(X[1:-1].reshape((images - 2,) + shape))
        return e, g.reshape(images - 2, -1)

    if initial is not None and options.climb:
        e, _ = forces(X)
        top = int(np.argmax(e)) + 1
    X, tangents = _equal_arc(X, top)
    for iteration in range(options.string_max_iter):
        e, g = forces(X)
        E[1:-1] = e
        if not np.all(np.isfinite(e)):
            break
        tau = tangents[1:-1]
        along = np.einsum("id,id->i", g, tau)
        perpendicular = np.linalg.norm(g - along[:, None] * tau, axis=1)
        if top is None and options.climb and perpendicular.max() < options.climb_force:
            top = int(np.argmax(e)) + 1
        step = g.copy()
        if top is not None:
            j = top - 1
            climb_gradient = float(np.linalg.norm(g[j]))
            if refine is not None and not refined and climb_gradient < refine_below:
                refine_below = 0.5 * climb_gradient     # a rejected try waits for a halving
                point = np.asarray(refine(X[top].reshape(shape)), float).ravel()
                spacing = min(np.linalg.norm(X[top] - X[top - 1]),
                              np.linalg.norm(X[top + 1] - X[top]))
                e1, g1 = energy_gradient(point.reshape((1,) + shape))
                if (np.linalg.norm(point - X[top]) < spacing
                        and np.linalg.norm(g1) <= climb_gradient):
                    X[top], refined = point, True
                    continue
            step[j] = g[j] - 2 * along[j] * tau[j]
        moved = X.copy()
        moved[1:-1] -= options.string_dt * step
        moved, tangents = _equal_arc(moved, top)
        change = float(np.abs(moved - X).max())
        X = moved
        if change < options.string_tol and (
                top is not None and climb_gradient < options.force_tol or not options.climb):
            converged = True
            break
        if change < 0.5 * best[0]:
            best = (change, iteration)
        elif iteration - best[1] > options.patience:
            if top is None and options.climb:
                # Settled as far as the spacing allows (the redistribution leaves a
                # perpendicular force of the size of the spline's error): climb.
                top, best = int(np.argmax(E[1:-1])) + 1, (np.inf, iteration)
            elif top is None or refined:
                # Not settling (e.g. images sliding into a basin between the ends); a
                # climbing image still on its way to the saddle goes on.
                break
    e, g = forces(X)
    E[1:-1] = e
    tau = tangents[1:-1]
    residual = np.linalg.norm(g - np.einsum("id,id->i", g, tau)[:, None] * tau, axis=1)
    images_out = X.reshape((images,) + shape)
    if top is not None:
        residual[top - 1] = np.linalg.norm(g[top - 1])
        barrier = float(E[top])
    else:
        top = int(np.argmax(E[1:-1])) + 1
        barrier = spline_maximum(energy_gradient, images_out)
    return Band(images_out, E.copy(), top, barrier, float(residual.max()), iteration + 1,
                converged)


class NaturalSpline:
    """A natural cubic spline through points Y (N, D) at knots s (N,), evaluated with
    ``spline(t, nu=0)`` (values, nu = 0, or first derivatives, nu = 1).

    One tridiagonal solve for all D coordinates (``solve_banded``): a tenth of the
    cost of ``scipy.interpolate.CubicSpline`` for the bands here (24 x 128), which
    the string method pays at every step.
    """

    def __init__(self, s, Y):
        self.s, self.Y = s, Y
        h = np.diff(s)
        N = len(s)
        self.h = h
        second = np.zeros_like(Y)
        if N > 2:
            slopes = np.diff(Y, axis=0) / h[:, None]
            rhs = 6.0 * (slopes[1:] - slopes[:-1])
            bands = np.zeros((3, N - 2))
            bands[0, 1:] = h[1:-1]
            bands[1] = 2.0 * (h[:-1] + h[1:])
            bands[2, :-1] = h[1:-1]
            second[1:-1] = solve_banded((1, 1), bands, rhs)
        self.second = second

    def __call__(self, t, nu=0):
        t = np.atleast_1d(np.asarray(t, float))
        i = np.clip(np.searchsorted(self.s, t, side="right") - 1, 0, len(self.s) - 2)
        h = self.h[i][:, None]
        a = ((self.s[i + 1] - t) / self.h[i])[:, None]
        b = 1.0 - a
        M0, M1 = self.second[i], self.second[i + 1]
        Y0, Y1 = self.Y[i], self.Y[i + 1]
        if nu == 0:
            return a * Y0 + b * Y1 + ((a ** 3 - a) * M0 + (b ** 3 - b) * M1) * h * h / 6.0
        return ((Y1 - Y0) / h + ((1 - 3 * a * a) * M0 + (3 * b * b - 1) * M1) * h / 6.0)


def spline_path(images):
    """A cubic spline through the images in arc length: (spline, total length)."""
    X = images.reshape(len(images), -1)
    steps = np.linalg.norm(np.diff(X, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(steps)])
    keep = np.concatenate([[True], steps > 0])
    return NaturalSpline(s[keep], X[keep]), s[-1]


def dense_scan(energy_gradient, images, per_segment=20):
    """Energies on a cubic spline through the images, ``per_segment`` points per
    interval: (arc length (P,), energy (P,), points (P, ...))."""
    spline, length = spline_path(images)
    s = np.linspace(0.0, length, (len(images) - 1) * per_segment + 1)
    points = spline(s).reshape((len(s),) + images.shape[1:])
    return s, energy_gradient(points)[0], points


def spline_maximum(energy_gradient, images, per_segment=8):
    """Highest energy on a cubic spline through the images (dense scan, then a
    bounded scalar maximisation around the best sample)."""
    spline, length = spline_path(images)
    s, E, _ = dense_scan(energy_gradient, images, per_segment)
    i = int(np.argmax(E[1:-1])) + 1
    shape = (1,) + images.shape[1:]
    result = minimize_scalar(lambda t: -energy_gradient(spline([t]).reshape(shape))[0][0],
                             bounds=(s[i - 1], s[i + 1]), method="bounded",
                             options={"xatol": 1e-10 * max(length, 1e-300)})
    return float(max(-result.fun, E[i]))


# ----------------------------------------------------------------------------- the network
def network_energy(V):
    """``energy_gradient`` of the population loss for teachers V (students (B, K, n)).

    The loss and gradient of ``kernels.evaluate`` from one computation of the angles
    (``evaluate`` gives the loss with order 0 or 2 and the gradient with 1 or 2; the
    bands need both at every step, and the Hessian would cost more than both).
    """
    V = np.asarray(V, float)
    constant = teacher_constant(V @ V.T)

    def energy_gradient(X):
        X = np.asarray(X, float)
        K = X.shape[1]
        vectors, norms, units, cosines, angles, sines, signs = _geometry(X, V, True)
        kappa = kernel_rows(norms, cosines, angles, sines)
        loss = np.einsum("bkj,j->b", kappa, np.where(signs > 0, 0.5, -1.0)) + constant
        radial = np.einsum("bkj,bj->bk", sines, signs * norms)
        gradient = (radial[..., None] * units[:, :K]
                    + (signs * (np.pi - angles)) @ vectors) / TWO_PI
        return loss, gradient

    return energy_gradient


@dataclass
class Saddle:
    """The polished top of a path.

    Attributes
    ----------
    loss : float
    index : int or math.inf
        Negative eigenvalues of the full d-dimensional Hessian.
    flat : int or math.inf
        Zero eigenvalues (symmetries, split manifolds), reported apart.
    min_eigenvalue : float
    grad_norm : float
    students : ndarray, shape (K, n)
    Q : ndarray, shape (K, K)
    M : ndarray, shape (K, M)
    confirmed : bool
        Index exactly 1 and polished to ``grad_norm < 1e-10``.
    """

    loss: float
    index: float
    flat: float
    min_eigenvalue: float
    grad_norm: float
    students: np.ndarray
    Q: np.ndarray
    M: np.ndarray
    confirmed: bool

    def to_json(self):
        return {"loss": self.loss, "index": inf_or_int(self.index), "flat": inf_or_int(self.flat),
                "min_eigenvalue": self.min_eigenvalue, "grad_norm": self.grad_norm,
                "confirmed": self.confirmed, "students": self.students.tolist(),
                "Q": self.Q.tolist(), "M": self.M.tolist()}

    @classmethod
    def from_json(cls, data):
        return cls(loss=data["loss"], index=_count(data["index"]), flat=_count(data["flat"]),
                   min_eigenvalue=data["min_eigenvalue"], grad_norm=data["grad_norm"],
                   students=np.array(data["students"], float), Q=np.array(data["Q"], float),
                   M=np.array(data["M"], float), confirmed=data["confirmed"])


def _count(value):
    return math.inf if value == "inf" else int(value)


def polish(W, V, gradient_tol=1e-10, max_iter=60, flat_tol=1e-9, max_move=0.1):
    """Newton's method to the nearest critical point (any index).

    Steps use the eigendecomposition of the in-span Hessian, skipping eigenvalues
    with |lambda| <= flat_tol (exact symmetry directions, where the gradient
    vanishes anyway). Returns (W, grad_norm).
    """
    W = np.asarray(W, float).copy()
    K, n = W.shape
    start = W.copy()
    scale = float(np.sqrt(np.mean(np.sum(V * V, axis=1))))
    grad_norm = np.inf
    for _ in range(max_iter):
        ev = evaluate(W, V, 2)
        g = ev.gradient[0].ravel()
        grad_norm = float(np.linalg.norm(g))
        if grad_norm < gradient_tol:
            break
        H = ev.hessian[0].reshape(K * n, K * n)
        values, vectors = np.linalg.eigh(0.5 * (H + H.T))
        coefficients = vectors.T @ g
        keep = np.abs(values) > flat_tol
        step = -(vectors[:, keep] @ (coefficients[keep] / values[keep]))
        length = np.linalg.norm(step)
        if length > 0.1 * scale:
            step *= 0.1 * scale / length
        W += step.reshape(K, n)
        if np.linalg.norm(W - start) > max_move * scale:
            break
    return W, grad_norm


def follow_mode(W, V, gradient_tol=1e-10, max_iter=100, flat_tol=1e-9, max_move=0.5):
    """Eigenvector following to an index-1 saddle (partitioned rational-function
    steps, Baker 1986): uphill along the lowest curved mode, downhill along all
    others, skipping flat modes. Returns (W, grad_norm)."""
    W = np.asarray(W, float).copy()
    K, n = W.shape
    start = W.copy()
    scale = float(np.sqrt(np.mean(np.sum(V * V, axis=1))))
    grad_norm = np.inf
    for _ in range(max_iter):
        ev = evaluate(W, V, 2)
        g = ev.gradient[0].ravel()
        grad_norm = float(np.linalg.norm(g))
        if grad_norm < gradient_tol:
            break
        H = ev.hessian[0].reshape(K * n, K * n)
        values, vectors = np.linalg.eigh(0.5 * (H + H.T))
        curved = np.nonzero(np.abs(values) > flat_tol)[0]
        if curved.size < 2:
            break
        gi = vectors.T @ g
        first, rest = curved[0], curved[1:]
        up = 0.5 * (values[first] + np.sqrt(values[first] ** 2 + 4 * gi[first] ** 2))
        down = 0.5 * (values[rest[0]] - np.sqrt(values[rest[0]] ** 2
                                                 + 4 * np.sum(gi[rest] ** 2)))
        gap = values[first] - up
        uphill = -gi[first] / gap if gi[first] != 0 and gap != 0 else 0.0
        step = uphill * vectors[:, first] - vectors[:, rest] @ (gi[rest] / (values[rest] - down))
        if not np.all(np.isfinite(step)):
            break
        length = np.linalg.norm(step)
        if length > 0.1 * scale:
            step *= 0.1 * scale / length
        W += step.reshape(K, n)
        if np.linalg.norm(W - start) > max_move * scale:
            break
    return W, grad_norm


def confirm_saddle(W, V, dim, gradient_tol=1e-10):
    """Polish a climbing image and classify it by its full Hessian.

    Newton's method first (the climbing image is usually within its quadratic
    basin); if that ends at a critical point of index other than 0 or 1,
    eigenvector following from the climbing image looks for an index-1 saddle.

    Returns
    -------
    saddle : Saddle
    direction : ndarray, shape (K, n) or None
        The unit eigenvector of the negative eigenvalue (inside the span) when the
        index is exactly 1.
    """
    start = np.asarray(W, float)
    W, grad_norm = polish(start, V, gradient_tol)
    spectrum = hessian_spectrum(W, V, dim)
    if spectrum.index not in (0, 1) or grad_norm >= gradient_tol:
        # A band lying in a symmetric subspace can top out at an index-2 point; its
        # second negative mode leads down to the index-1 saddles beside it.
        # Its other negative modes may be degenerate (a symmetric point): kick along
        # fixed random combinations of them.
        K, n = W.shape
        H = evaluate(W, V, 2).hessian[0].reshape(K * n, K * n)
        values, vectors = np.linalg.eigh(0.5 * (H + H.T))
        others = vectors[:, 1:max(2, int(np.sum(values < -ZERO_TOL)))]
        scale = float(np.sqrt(np.mean(np.sum(V * V, axis=1))))
        rng = np.random.default_rng(0)
        kicks = [others @ rng.standard_normal(others.shape[1]) for _ in range(3)]
        begins = [W + 1e-2 * scale * (k / np.linalg.norm(k)).reshape(K, n) for k in kicks]
        if grad_norm >= gradient_tol:       # Newton failed: try from the top itself first
            begins.insert(0, start)
        for begin in begins:
            W2, grad_norm2 = follow_mode(begin, V, gradient_tol, max_iter=300, max_move=2.0)
            if not np.all(np.isfinite(W2)) or grad_norm2 >= gradient_tol:
                continue
            spectrum2 = hessian_spectrum(W2, V, dim)
            if grad_norm2 < gradient_tol and spectrum2.index == 1:
                W, grad_norm, spectrum = W2, grad_norm2, spectrum2
                break
    # Nearly parallel students leave spurious curvatures of the size of their angle
    # (the loss is only C^2 there); snapped, the signs are reliable (as in the catalog).
    snapped = snap_parallel(W, V)
    if not np.array_equal(snapped, W):
        snapped_grad = float(np.linalg.norm(evaluate(snapped, V, 1).gradient[0]))
        if snapped_grad < gradient_tol:
            W, grad_norm = snapped, snapped_grad
            spectrum = hessian_spectrum(W, V, dim)
    loss = max(float(evaluate(W, V, 0).loss[0]), 0.0)
    K, n = W.shape
    H = evaluate(W, V, 2).hessian[0].reshape(K * n, K * n)
    values, vectors = np.linalg.eigh(0.5 * (H + H.T))
    direction = None
    if spectrum.index == 1 and values[0] < -ZERO_TOL:
        direction = vectors[:, 0].reshape(K, n)
    Q, M = summary(W, V)
    saddle = Saddle(loss=loss, index=spectrum.index, flat=spectrum.flat,
                    min_eigenvalue=spectrum.min_eigenvalue, grad_norm=grad_norm,
                    students=W, Q=Q, M=M,
                    confirmed=bool(direction is not None and grad_norm < gradient_tol))
    return saddle, direction


def _unpolished(W, V, dim):
    """A Saddle record of a point as it is (not confirmed)."""
    loss = max(float(evaluate(W, V, 0).loss[0]), 0.0)
    spectrum = hessian_spectrum(W, V, dim)
    Q, M = summary(W, V)
    grad_norm = float(np.linalg.norm(evaluate(W, V, 1).gradient[0]))
    return Saddle(loss=loss, index=spectrum.index, flat=spectrum.flat,
                  min_eigenvalue=spectrum.min_eigenvalue, grad_norm=grad_norm, students=W,
                  Q=Q, M=M, confirmed=False), None


def fall_off(saddle, direction, V, step=1e-2):
    """Descend from ``saddle.students -/+ step * scale * direction``.

    Returns
    -------
    ends : ndarray, shape (2, K, n)
    status : ndarray of str, shape (2,)
    """
    scale = float(np.sqrt(np.mean(np.sum(V * V, axis=1))))
    starts = np.stack([saddle.students - step * scale * direction,
                       saddle.students + step * scale * direction])
    result = descend(starts, V)
    return result.students, result.status


# ----------------------------------------------------------------------------- minima
@dataclass
class Minimum:
    """A minimum taking part in the connections.

    Attributes
    ----------
    catalog_index : int
        Its index in the catalog; indices from the catalog's length on name
        minima found by falling off a saddle.
    loss : float
    kind : str
    fraction : float
        Basin share in the catalog (0 for minima found off a saddle).
    students : ndarray, shape (K, n)
    Q : ndarray, shape (K, K)
    M : ndarray, shape (K, M)
    """

    catalog_index: int
    loss: float
    kind: str
    fraction: float
    students: np.ndarray
    Q: np.ndarray
    M: np.ndarray
    signature: np.ndarray = field(repr=False, default=None)

    def to_json(self):
        return {"catalog_index": self.catalog_index, "loss": self.loss, "kind": self.kind,
                "fraction": self.fraction, "Q": self.Q.tolist(), "M": self.M.tolist(),
                "students": self.students.tolist()}

    @classmethod
    def from_json(cls, data):
        return cls(catalog_index=data["catalog_index"], loss=data["loss"], kind=data["kind"],
                   fraction=data["fraction"], students=np.array(data["students"], float),
                   Q=np.array(data["Q"], float), M=np.array(data["M"], float))


def _signature_of(W, V):
    """Invariants of a descent end (dead students included), as the catalog uses them."""
    W = snap_parallel(W, V) if np.all(np.linalg.norm(W, axis=1) > 0) else W
    alive = W[np.linalg.norm(W, axis=1) > 0]
    loss = max(float(evaluate(alive, V, 0).loss[0]), 0.0) if alive.size else 0.0
    Q, M = summary(W, V)
    return signature(loss, Q, M)


def _same(a, b):
    return a.shape == b.shape and bool(np.all(np.abs(a - b) <= SAME_TOL * (1.0 + np.abs(a))))


def minima_of_catalog(catalog, V):
    """The minima of a catalog (a ``Catalog`` or its JSON with ``students``)."""
    if isinstance(catalog, dict):
        entries = [(p["loss"], p["kind"], p["fraction"], np.array(p["students"], float))
                   for p in catalog["fixed_points"]]
    else:
        starts = catalog.config.starts
        entries = [(p.loss, p.kind, p.hits / starts, p.students) for p in catalog.fixed_points]
    minima = []
    for i, (loss, kind, fraction, W) in enumerate(entries):
        if kind in MINIMUM_KINDS:
            Q, M = summary(W, V)
            minima.append(Minimum(i, float(loss), kind, float(fraction), W, Q, M,
                                  _signature_of(W, V)))
    return minima


# ----------------------------------------------------------------------------- connections
@dataclass
class Connection:
    """A path between two minima over a saddle.

    Attributes
    ----------
    source, target : int
        Catalog indices of the minima (``source``: the one the barrier is measured from).
    barrier : float
        Saddle loss minus the source's loss.
    saddle : Saddle
    arc_length : ndarray, shape (N,)
        Of the band's images, from the source.
    loss : ndarray, shape (N,)
    norms : ndarray, shape (N, K)
        Student norms along the path.
    overlaps : ndarray, shape (N, K, M)
        M = W V^T along the path.
    images : ndarray, shape (N, K, n)
        The band's images (reduced coordinates; the source end first).
    saddle_arc_length : float
        Arc length of the climbing image.
    method_agreement : float or None
        |NEB barrier - string barrier| (None when the string was not run).
    ends : list of int
        Where the two sides of the saddle fell (catalog indices; -1: elsewhere).
    iterations : dict
        ``{"neb": int, "string": int}``.
    """

    source: int
    target: int
    barrier: float
    saddle: Saddle
    arc_length: np.ndarray
    loss: np.ndarray
    norms: np.ndarray
    overlaps: np.ndarray
    images: np.ndarray
    saddle_arc_length: float
    method_agreement: float | None
    ends: list
    iterations: dict

    @property
    def confirmed(self):
        return self.saddle.confirmed and sorted(self.ends) == sorted([self.source, self.target])

    @property
    def flat(self):
        """The path never rises above its higher endpoint (no saddle between them)."""
        return (self.saddle.index == 0 and self.saddle.grad_norm < 1e-8
                and self.saddle.loss <= self.loss[[0, -1]].max() + 1e-9)

    def to_json(self):
        return {"from": self.source, "to": self.target, "barrier": self.barrier,
                "saddle": self.saddle.to_json(),
                "path": {"arc_length": self.arc_length.tolist(), "loss": self.loss.tolist(),
                         "norms": self.norms.tolist(), "overlaps": self.overlaps.tolist(),
                         "students": self.images.tolist(),
                         "saddle_arc_length": self.saddle_arc_length},
                "method_agreement": self.method_agreement, "confirmed": self.confirmed,
                "flat": self.flat,
                "ends": list(self.ends), "iterations": dict(self.iterations)}

    @classmethod
    def from_json(cls, data):
        path = data["path"]
        return cls(source=data["from"], target=data["to"], barrier=data["barrier"],
                   saddle=Saddle.from_json(data["saddle"]),
                   arc_length=np.array(path["arc_length"]), loss=np.array(path["loss"]),
                   norms=np.array(path["norms"]), overlaps=np.array(path["overlaps"]),
                   images=np.array(path["students"]),
                   saddle_arc_length=path["saddle_arc_length"],
                   method_agreement=data["method_agreement"], ends=list(data["ends"]),
                   iterations=dict(data["iterations"]))


@dataclass
class Connectivity:
    """Connections of a catalog's minima and their disconnectivity tree.

    Attributes
    ----------
    config : PathsConfig or None
    minima : list of Minimum
    connections : list of Connection
    tree : dict
        ``{"leaves": [catalog indices], "merges": [{"loss", "joins": [[...], [...]]}]}``.
    seconds : float
    """

    config: object
    minima: list
    connections: list
    tree: dict
    seconds: float

    def to_json(self):
        return {"config": self.config.to_dict() if self.config is not None else None,
                "engine_version": ENGINE_VERSION, "seconds": round(self.seconds, 4),
                "minima": [m.to_json() for m in self.minima],
                "connections": [c.to_json() for c in self.connections],
                "tree": self.tree}

    @classmethod
    def from_json(cls, data, config=None):
        return cls(config=config, minima=[Minimum.from_json(m) for m in data["minima"]],
                   connections=[Connection.from_json(c) for c in data["connections"]],
                   tree=data["tree"], seconds=data["seconds"])


def band_dips(energy, margin=0.05):
    """Interior images that are local minima of the band's energy, lower than the
    highest image on either side by more than ``margin`` times the band's range."""
    E = np.asarray(energy)
    tol = 1e-6 + margin * (E.max() - E.min())
    return [i for i in range(1, len(E) - 1)
            if E[i] < E[i - 1] and E[i] <= E[i + 1]
            and E[:i].max() - E[i] > tol and E[i + 1:].max() - E[i] > tol]


def resample(path, images, A, B):
    """A path (m, ...) resampled to ``images`` points at equal arc length along a
    spline, with its ends replaced by A and B (the minima it runs between)."""
    path = np.asarray(path, float)
    # Ends joined on rather than replaced: a dip image may lie some way from the
    # minimum it descends to.
    A, B = np.asarray(A, float)[None], np.asarray(B, float)[None]
    path = np.concatenate(([A] if np.linalg.norm(path[0] - A) > 0 else [])
                          + [path] + ([B] if np.linalg.norm(path[-1] - B) > 0 else []))
    if len(path) < 4:
        return _interpolate(np.asarray(A, float), np.asarray(B, float), images)
    spline, length = spline_path(path)
    out = spline(np.linspace(0.0, length, images))
    out[0], out[-1] = A.ravel(), B.ravel()
    return out


def path_connection(A, B, V, dim, images=24, options=BandOptions(), string=True,
                    guess=None):
    """NEB (and the string cross-check) between two labelled endpoints, and the
    confirmed top of the path. No alignment here: ``connect_pair`` aligns.

    The band first relaxes without climbing; if it then dips into an intermediate
    basin, the dips are returned instead of a saddle (the caller splits the pair).

    Returns
    -------
    band : Band
        The NEB band.
    saddle : Saddle or None
    direction : ndarray (K, n) or None
    string_band : Band or None
    dips : list of int
        Images at the bottoms of intermediate basins (empty when there are none).
    """
    energy = network_energy(V)
    # A straight band between symmetric endpoints keeps their symmetry and can top
    # out on a ridge (an index-2 point); a small fixed random offset breaks it.
    if guess is None:
        scale = float(np.sqrt(np.mean(np.sum(V * V, axis=1))))
        first = initial_band(A, B, images, options.jitter * scale)
    else:
        first = resample(guess, images, A, B)
    ends = energy(np.stack([A, B]))[0]
    below = ends.min() - max(1e-8, 1e-2 * abs(ends[1] - ends[0]))
    relaxed = neb(energy, A, B, images, replace(options, climb=False,
                                                force_tol=options.relax_force), initial=first,
                  stop_below=below)
    dips = band_dips(relaxed.energy)
    if dips:
        return relaxed, None, None, None, dips
    band = neb(energy, A, B, images, options, initial=relaxed.images)
    dips = band_dips(band.energy)
    if dips and not band.converged:
        # Climbing let the band find an intermediate basin: split there instead.
        return band, None, None, None, dips
    if not np.all(np.isfinite(band.energy)) or band.energy.max() > 10 * relaxed.energy.max():
        # A band that ran away has no meaningful top: report it unconfirmed. (One that
        # only stalled near its top is polished below: Newton decides.)
        saddle, _ = _unpolished(band.images[band.top], V, dim)
        return band, saddle, None, None, []
    saddle, direction = confirm_saddle(band.images[band.top], V, dim)
    # The string starts from the band (its own fixed point, reached in a few hundred
    # steps instead of thousands); the tests also run it from the straight line.
    string_band = (string_method(energy, A, B, images, options, initial=band.images,
                                 refine=_refine(V))
                   if string and saddle.confirmed and np.linalg.norm(
                       saddle.students - band.images[band.top]) < 1e-3 else None)
    return band, saddle, direction, string_band, []


class _Registry:
    """The minima known so far, with lookup by the catalog's invariants."""

    def __init__(self, minima, V, dim, first_new):
        self.minima = list(minima)
        self.V, self.dim = V, dim
        self.next_index = first_new
        self.connected = set()

    def joined(self, a, b):
        """Whether a confirmed connection between minima a and b is known (gaps
        between them need not be closed again)."""
        return frozenset((a, b)) in self.connected

    def record(self, connections):
        for c in connections:
            if c.confirmed or c.flat:
                self.connected.add(frozenset((c.source, c.target)))
        return connections

    def by_index(self, index):
        return next(m for m in self.minima if m.catalog_index == index)

    def find(self, W, status):
        """The catalog index of where a descent ended (adding a new minimum), or -1."""
        if status not in (CONVERGED, PADDED):
            return -1
        sig = _signature_of(W, self.V)
        for m in self.minima:
            if _same(m.signature, sig):
                return m.catalog_index
        if status != CONVERGED:
            return -1
        W = snap_parallel(W, self.V)
        loss = max(float(evaluate(W, self.V, 0).loss[0]), 0.0)
        kind = classify(loss, hessian_spectrum(W, self.V, self.dim))
        if kind not in MINIMUM_KINDS:
            return -1
        Q, M = summary(W, self.V)
        m = Minimum(self.next_index, loss, kind, 0.0, W, Q, M, sig)
        self.next_index += 1
        self.minima.append(m)
        return m.catalog_index


def _connection(source, target, band, saddle, string_band, ends, V, losses):
    images = band.images
    arc = band.arc_length
    norms = np.linalg.norm(images, axis=2)
    overlaps = images @ V.T
    agreement = (abs(band.barrier_energy - string_band.barrier_energy)
                 if string_band is not None else None)
    return Connection(source=source, target=target, barrier=saddle.loss - losses[source],
                      saddle=saddle, arc_length=arc, loss=band.energy.copy(), norms=norms,
                      overlaps=overlaps, images=images.copy(),
                      saddle_arc_length=float(arc[band.top]),
                      method_agreement=agreement, ends=list(ends),
                      iterations={"neb": band.iterations,
                                  "string": string_band.iterations if string_band else 0})


def connect_pair(registry, source, target, images=24, options=BandOptions(), string=True,
                 depth=3):
    """Connections found between two known minima (by catalog index).

    The target's representative is aligned to the source's; then ``connect_points``.

    Returns
    -------
    list of Connection
    """
    A = registry.by_index(source).students
    B = align(A, registry.by_index(target).students, registry.V).students
    return connect_points(registry, source, A, target, B, images, options, string, depth)


def connect_points(registry, source, A, target, B, images=24, options=BandOptions(),
                   string=True, depth=3, guess=None):
    """Connections between two labelled minima A and B (catalog indices given).

    NEB runs between them (from ``guess``, a path, when given). If the relaxed band
    dips into intermediate basins, the dips are descended and each stretch of the
    chain is connected in turn, starting from its piece of the band (up to
    ``depth`` levels). Otherwise its top is confirmed as a saddle and both sides
    are followed downhill: sides ending at the two minima (up to symmetry) make the
    connection; a side ending elsewhere makes the saddle a connection of what the
    sides reached (a new minimum is added), and the gaps are connected in turn.
    """
    V, dim = registry.V, registry.dim
    band, saddle, direction, string_band, dips = path_connection(
        A, B, V, dim, images, options, string, guess)
    if dips:
        if depth <= 0:
            return []
        result = descend(band.images[dips], V)
        chain = [(source, A, 0)] + [(registry.find(W, s), W, i) for W, s, i in
                                    zip(result.students, result.status, dips)]
        chain = [c for c in chain if c[0] >= 0] + [(target, B, len(band.images) - 1)]
        found = []
        for (a, Wa, i), (b, Wb, j) in zip(chain[:-1], chain[1:]):
            if a != b and not registry.joined(a, b):
                found += registry.record(connect_points(
                    registry, a, Wa, b, Wb, images, options, string, depth - 1,
                    guess=band.images[i:j + 1]))
        return found
    losses = {m.catalog_index: m.loss for m in registry.minima}
    if not saddle.confirmed:
        # No index-1 top: a path that stays at the level of its higher endpoint (a
        # flat valley, e.g. a split segment), or an unconfirmed top.
        return [_connection(source, target, band, saddle, string_band, [-1, -1], V, losses)]
    ends_points, status = fall_off(saddle, direction, V)
    ends = [registry.find(W, s) for W, s in zip(ends_points, status)]
    losses = {m.catalog_index: m.loss for m in registry.minima}
    joins_pair = sorted(ends) == sorted([source, target])
    if -1 in ends:
        return [_connection(source, target, band, saddle, string_band, ends, V, losses)]
    if depth <= 0 and not joins_pair:
        # Out of depth: the saddle is still a connection of the minima it falls into.
        high, low = sorted(ends, key=lambda i: -losses[i])
        return [_connection(high, low, band, saddle, string_band, ends, V, losses)]
    first_end = source if joins_pair else max(ends, key=lambda i: losses[i])
    order = [0, 1] if ends[0] == first_end else [1, 0]
    original = band
    band, string_band = _band_through(saddle, ends_points[order], band, string_band, V,
                                      images, options, string)
    if joins_pair:
        return [_connection(source, target, band, saddle, string_band, ends, V, losses)]
    # The saddle joins other minima: record that edge and close the gaps.
    high, low = ends[order[0]], ends[order[1]]
    found = [_connection(high, low, band, saddle, string_band, ends, V, losses)]
    registry.record(found)
    # Close the gaps: the source to the side nearer to it, the other side to the
    # target (both sides may be copies of one minimum: a saddle between two copies).
    near = int(np.argmin([np.linalg.norm(W - A) for W in ends_points]))
    far = 1 - near
    scale = float(np.sqrt(np.mean(np.sum(V * V, axis=1))))
    for (a, Wa), (b, Wb) in (((source, A), (ends[near], ends_points[near])),
                             ((ends[far], ends_points[far]), (target, B))):
        if (a, b) == (source, target) and np.linalg.norm(Wb - B) < 1e-3 * scale:
            # The same pair again (the saddle polished from this band's top lies off
            # it): keep the band's own top, unconfirmed, as an upper bound.
            top, _ = _unpolished(original.images[original.top], V, dim)
            found.append(_connection(source, target, original, top, None, [-1, -1], V,
                                     losses))
            continue
        if a != b and not registry.joined(a, b):
            found += registry.record(connect_points(registry, a, Wa, b, Wb, images, options,
                                                   string, depth - 1))
    return found


def _band_through(saddle, ends, band, string_band, V, images, options, string):
    """The band (and string) between the two minima a confirmed saddle falls into.

    When polishing moved the top away from the band (eigenvector following from a
    higher critical point), or the saddle falls into other copies of the minima than
    the band's ends, the band does not pass the saddle: two bands from the saddle down
    to the minima it falls into replace it, so that the reported path, its top and
    the string's cross-check all belong to this saddle.
    """
    scale = float(np.sqrt(np.mean(np.sum(V * V, axis=1))))
    top = band.images[band.top]
    if (np.linalg.norm(top - saddle.students) < 1e-3 * scale
            and np.linalg.norm(band.images[0] - ends[0]) < 0.1 * scale
            and np.linalg.norm(band.images[-1] - ends[1]) < 0.1 * scale):
        return band, string_band if string_band is not None else _string_of(
            band, V, images, options, string)
    # Two bands down from the saddle (a fixed end, no climbing): each relaxes to the
    # steepest-descent path from it, and together they pass exactly over the saddle.
    energy = network_energy(V)
    half = max((images + 1) // 2, 3)
    relax = replace(options, climb=False)
    left = neb(energy, ends[0], saddle.students, half, relax)
    right = neb(energy, saddle.students, ends[1], half, relax)
    joined = np.concatenate([left.images, right.images[1:]])
    E = np.concatenate([left.energy, right.energy[1:]])
    top = half - 1
    new = Band(joined, E, top, float(E[top]), max(left.max_force, right.max_force),
               left.iterations + right.iterations, left.converged and right.converged)
    return new, _string_of(new, V, len(joined), options, string)


def _string_of(band, V, images, options, string):
    if not string:
        return None
    return string_method(network_energy(V), band.images[0], band.images[-1], images, options,
                         initial=band.images, refine=_refine(V))


def _refine(V):
    """Newton polishing of a string's climbing image (``polish``)."""
    return lambda W: polish(W, V)[0]


def connection_pairs(minima, V, neighbours=2):
    """Pairs (source, target) to connect: each spurious minimum to the global
    minimum (else the lowest minimum) and to its ``neighbours`` nearest others."""
    if not minima:
        return []
    lowest = min(minima, key=lambda m: m.loss)
    # The pairs with the lowest minimum first: a later pair whose band runs through its
    # basin then splits into gaps that are already joined.
    pairs = [(m.catalog_index, lowest.catalog_index) for m in minima if m is not lowest]
    seen = {frozenset(p) for p in pairs}
    for m in minima:
        if m is lowest:
            continue
        others = [o for o in minima if o is not m and o is not lowest]
        others.sort(key=lambda o: align(m.students, o.students, V).distance)
        for o in others[:neighbours]:
            key = frozenset((m.catalog_index, o.catalog_index))
            if key not in seen:
                seen.add(key)
                pairs.append((m.catalog_index, o.catalog_index))
    return pairs


def disconnectivity_tree(minima, connections):
    """Kruskal on the barrier graph: the merges of its minimum spanning tree.

    An edge joins its two minima at the saddle loss (at least the higher
    endpoint's loss). Pairs merge at the first merge that joins them (the highest
    saddle on their tree path).

    Returns
    -------
    dict
        ``leaves``: catalog indices, ordered so that each merge joins adjacent runs;
        ``merges``: ``[{"loss", "joins": [[...], [...]]}]`` in increasing loss.
    """
    losses = {m.catalog_index: m.loss for m in minima}
    parent = {i: i for i in losses}

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    members = {i: [i] for i in losses}
    edges = []
    for c in connections:
        # Only tops that are confirmed saddles, or paths that never rise, are merges.
        if (c.confirmed or c.flat) and c.source in losses and c.target in losses \
                and c.source != c.target:
            level = max(c.saddle.loss, losses[c.source], losses[c.target])
            edges.append((level, c.source, c.target))
    merges = []
    for level, a, b in sorted(edges):
        ra, rb = root(a), root(b)
        if ra == rb:
            continue
        # The group holding the lower minimum goes first (left in the drawing).
        first, second = sorted((ra, rb), key=lambda r: min(losses[i] for i in members[r]))
        merges.append({"loss": float(level), "joins": [sorted(members[first]),
                                                       sorted(members[second])]})
        parent[second] = first
        members[first] = members[first] + members[second]
        del members[second]
    leaves = []
    for r in sorted(members, key=lambda r: min(losses[i] for i in members[r])):
        leaves += _leaf_order(members[r], merges)
    return {"leaves": leaves, "merges": merges}


def _leaf_order(group, merges):
    """Leaves of a group in drawing order: each merge puts its two sides side by side."""
    group = set(group)
    for merge in reversed(merges):
        left, right = set(merge["joins"][0]), set(merge["joins"][1])
        if left | right == group:
            return _leaf_order(left, merges) + _leaf_order(right, merges)
    return sorted(group)


def merge_level(tree, a, b):
    """The loss at which minima a and b merge in the tree (inf if they never do)."""
    if a == b:
        return None
    for merge in tree["merges"]:
        left, right = merge["joins"]
        if (a in left and b in right) or (a in right and b in left):
            return merge["loss"]
    return math.inf


def connect_minima(minima, V, dim, images=24, neighbours=2, options=BandOptions(),
                   string=True, first_new=None, progress=None):
    """All connections of a set of minima and their disconnectivity tree.

    Parameters
    ----------
    minima : list of Minimum
    V : ndarray, shape (M, n)
    dim : int or math.inf
    first_new : int
        Catalog index given to the first minimum found off a saddle.
    progress : callable(done, total, stage) or None
        After each pair of minima (stage "connections").

    Returns
    -------
    minima : list of Minimum
        With the minima found on the way.
    connections : list of Connection
    tree : dict
    """
    registry = _Registry(minima, V, dim, first_new if first_new is not None else
                         1 + max((m.catalog_index for m in minima), default=-1))
    pairs = connection_pairs(minima, V, neighbours)
    connections = []
    for done, (source, target) in enumerate(pairs):
        connections += registry.record(connect_pair(registry, source, target, images, options,
                                                    string))
        if progress is not None:
            progress(done + 1, len(pairs), "connections")
    connections = _lowest_per_pair(connections)
    return registry.minima, connections, disconnectivity_tree(registry.minima, connections)


def _lowest_per_pair(connections):
    """One connection per pair of minima: the one over the lowest top (confirmed first)."""
    best = {}
    for c in connections:
        key = frozenset((c.source, c.target))
        rank = (not c.confirmed, c.saddle.loss)
        if key not in best or rank < best[key][0]:
            best[key] = (rank, c)
    return [c for _, c in best.values()]


def find_connections(config, catalog=None, progress=None, executor=None):
    """The connections of a config's catalog (computed when not given).

    Parameters
    ----------
    config : PathsConfig
    catalog : Catalog or dict, optional
        The catalog (or its JSON with ``students``) of ``config.catalog``.

    Returns
    -------
    Connectivity
    """
    began = time.perf_counter()
    cconf = config.catalog
    if catalog is None:
        catalog = find_fixed_points(cconf, executor=executor)
    V = teacher_vectors(cconf.teacher.P, cconf.reduced_dim)
    count = len(catalog["fixed_points"] if isinstance(catalog, dict) else catalog.fixed_points)
    minima, connections, tree = connect_minima(
        minima_of_catalog(catalog, V), V, cconf.dim, images=config.images,
        neighbours=config.neighbours, first_new=count, progress=progress)
    return Connectivity(config=config, minima=minima, connections=connections, tree=tree,
                        seconds=time.perf_counter() - began)
