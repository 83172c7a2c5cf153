"""Batched gradient flow and Newton polishing in reduced coordinates.

``descend`` takes a batch of starts to the critical points gradient flow leads
them to: an adaptive Bogacki-Shampine (RK23) integration of dW/dt = -grad L with
a step size per start, until the gradient is small, then Newton's method
(pseudo-inverse, so flat directions from symmetries do no harm) to
|grad L| < 1e-10. A start that Newton takes to a saddle with a descent direction
inside the coordinate space was only passing by (a plateau): the saddle is
recorded as visited, the start is pushed along that direction and flows on.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .kernels import evaluate

# Bogacki-Shampine 3(2) tableau.
_A21, _A32 = 0.5, 0.75
_B = np.array([2 / 9, 1 / 3, 4 / 9])
_E = np.array([-5 / 72, 1 / 12, 1 / 9, -1 / 8])

CONVERGED, DEAD, UNCONVERGED = "converged", "dead", "unconverged"


@dataclass(frozen=True)
class DescentOptions:
    """Tolerances of the descent (absolute ones scale with the teacher norm)."""

    rtol: float = 1e-6
    atol: float = 1e-9
    switch_gradient: float = 1e-5     # flow -> Newton below this |grad|
    gradient_tol: float = 1e-10       # |grad L| of a polished critical point
    max_newton: int = 25
    max_newton_move: float = 0.05     # relative; larger moves mean "not close yet"
    max_time: float = 2e4             # flow time per start
    max_steps: int = 40000            # integrator steps per start and round
    max_escapes: int = 6
    escape_step: float = 1e-2         # relative size of the push off a saddle
    negative_tol: float = 1e-7        # eigenvalues below -this are negative
    dead_tol: float = 1e-4            # relative norm of a dead student


@dataclass
class DescentResult:
    """Where each start ended.

    Attributes
    ----------
    students : ndarray, shape (S, K, n)
        Final points (dead students set to exactly zero).
    status : ndarray of str, shape (S,)
        ``converged``, ``dead`` (a student reached zero: the loss is not
        differentiable there) or ``unconverged``.
    grad_norm : ndarray, shape (S,)
        |grad L| at the final point (over the living students).
    time : ndarray, shape (S,)
        Gradient-flow time spent.
    saddles : list of (int, ndarray (K, n))
        Saddles visited on the way: (start index, point).
    """

    students: np.ndarray
    status: np.ndarray
    grad_norm: np.ndarray
    time: np.ndarray
    saddles: list = field(default_factory=list)


def gradient_norm(gradient):
    return np.sqrt(np.einsum("bkn,bkn->b", gradient, gradient))


def flow(W, V, options, scale, stop_gradient, max_time):
    """Integrate gradient flow for every start until it is nearly stationary.

    Parameters
    ----------
    W : ndarray, shape (B, K, n)
    V : ndarray, shape (M, n)
    stop_gradient : ndarray, shape (B,)
        Per-start gradient norm at which to stop.
    max_time : ndarray, shape (B,)
        Per-start time budget.

    Returns
    -------
    W : ndarray, shape (B, K, n)
    time : ndarray, shape (B,)
    status : ndarray of str, shape (B,)
        ``converged`` (gradient small), ``dead`` or ``unconverged``.
    """
    W = W.copy()
    B = W.shape[0]
    time = np.zeros(B)
    status = np.full(B, UNCONVERGED, dtype=object)
    active = np.arange(B)
    y = W.copy()
    k1 = -evaluate(y, V, 1, precise=False).gradient
    h = np.full(B, 0.1)
    steps = 0
    dead_norm = options.dead_tol * scale
    while active.size and steps < options.max_steps:
        steps += 1
        hh = h[:, None, None]
        k2 = -evaluate(y + _A21 * hh * k1, V, 1, precise=False).gradient
        k3 = -evaluate(y + _A32 * hh * k2, V, 1, precise=False).gradient
        y_new = y + hh * (_B[0] * k1 + _B[1] * k2 + _B[2] * k3)
        k4 = -evaluate(y_new, V, 1, precise=False).gradient
        error = hh * (_E[0] * k1 + _E[1] * k2 + _E[2] * k3 + _E[3] * k4)
        tolerance = options.atol * scale + options.rtol * np.maximum(np.abs(y), np.abs(y_new))
        ratio = np.sqrt(np.mean((error / tolerance) ** 2, axis=(1, 2)))
        ratio = np.where(np.isfinite(ratio), ratio, np.inf)
        accept = ratio <= 1.0
        y = np.where(accept[:, None, None], y_new, y)
        k1 = np.where(accept[:, None, None], k4, k1)
        time[active] += np.where(accept, h, 0.0)
        factor = np.clip(0.9 * np.maximum(ratio, 1e-10) ** (-1 / 3), 0.2, 5.0)
        h = h * np.where(np.isfinite(factor), factor, 0.2)

        norms = np.linalg.norm(y, axis=-1).min(axis=1)
        grad = gradient_norm(k1)
        dead = norms < dead_norm
        done_grad = accept & (grad < stop_gradient[active])
        out_of_time = time[active] >= max_time[active]
        finished = dead | done_grad | out_of_time
        if finished.any():
            ids = active[finished]
            W[ids] = y[finished]
            status[ids] = np.where(dead[finished], DEAD,
                                   np.where(done_grad[finished], CONVERGED, UNCONVERGED))
            keep = ~finished
            active, y, k1, h = active[keep], y[keep], k1[keep], h[keep]
    W[active] = y
    return W, time, status


# Numbers of dense Hessian entries held at once by ``newton`` (8 bytes each).
HESSIAN_BUDGET = 2 * 10**7


def newton(W, V, options, scale):
    """``_newton_batch`` over sub-batches small enough for dense Hessians."""
    B, K, n = W.shape
    size = max(1, HESSIAN_BUDGET // (K * n) ** 2)
    parts = [_newton_batch(W[i:i + size], V, options, scale) for i in range(0, B, size)]
    return tuple(np.concatenate(p) for p in zip(*parts))


def _newton_batch(W, V, options, scale):
    """Polish points with (pseudo-inverse) Newton steps.

    Parameters
    ----------
    W : ndarray, shape (B, K, n)
    V : ndarray, shape (M, n)

    Returns
    -------
    W : ndarray, shape (B, K, n)
    converged : ndarray of bool, shape (B,)
        |grad| below ``gradient_tol`` without moving further than
        ``max_newton_move * scale`` in total.
    grad_norm : ndarray, shape (B,)
    span_eigenvalues : ndarray, shape (B, K n)
        Eigenvalues of the in-span Hessian at the last iterate (ascending).
    softest : ndarray, shape (B, K, n)
        The eigenvector of the smallest one.
    """
    W = W.copy()
    B, K, n = W.shape
    start = W.copy()
    grad_norm = np.full(B, np.inf)
    span_eigenvalues = np.zeros((B, K * n))
    softest = np.zeros_like(W)
    converged = np.zeros(B, dtype=bool)
    failed = np.zeros(B, dtype=bool)
    active = np.arange(B)
    for _ in range(options.max_newton + 1):
        if not active.size:
            break
        ev = evaluate(W[active], V, 2)
        g = ev.gradient.reshape(active.size, K * n)
        grad_norm[active] = np.linalg.norm(g, axis=1)
        H = ev.hessian.reshape(active.size, K * n, K * n)
        values, vectors = np.linalg.eigh(0.5 * (H + H.transpose(0, 2, 1)))
        span_eigenvalues[active] = values
        softest[active] = vectors[:, :, 0].reshape(active.size, K, n)
        done = grad_norm[active] < options.gradient_tol
        converged[active[done]] = True
        # Pseudo-inverse: directions with |eigenvalue| below the cut (flat
        # directions of symmetries) are left alone.
        cut = 1e-9 * np.maximum(np.abs(values).max(axis=1, keepdims=True), 1.0)
        inverse = np.where(np.abs(values) > cut, 1.0 / np.where(values == 0, 1, values), 0.0)
        coeffs = np.einsum("bij,bi->bj", vectors, g) * inverse
        step = -np.einsum("bij,bj->bi", vectors, coeffs).reshape(active.size, K, n)
        moving = ~done
        W[active[moving]] += step[moving]
        moved = np.linalg.norm((W[active] - start[active]).reshape(active.size, -1), axis=1)
        bad = ~np.isfinite(moved) | (moved > options.max_newton_move * scale)
        failed[active[bad & moving]] = True
        active = active[moving & ~bad]
    converged &= ~failed
    return W, converged, grad_norm, span_eigenvalues, softest


def _canonical_sign(vectors):
    """Flip each vector so that its largest-magnitude entry is positive."""
    flat = vectors.reshape(vectors.shape[0], -1)
    pivot = flat[np.arange(flat.shape[0]), np.abs(flat).argmax(axis=1)]
    return vectors * np.where(pivot < 0, -1.0, 1.0)[:, None, None]


def descend(starts, V, options=DescentOptions(), progress=None):
    """Take every start to the critical point gradient flow leads it to.

    Parameters
    ----------
    starts : ndarray, shape (S, K, n)
    V : ndarray, shape (M, n)
    progress : callable(done, total) or None

    Returns
    -------
    DescentResult
    """
    S, K, n = starts.shape
    scale = float(np.sqrt(np.min(np.einsum("mn,mn->m", V, V))))
    W = starts.astype(float).copy()
    status = np.full(S, UNCONVERGED, dtype=object)
    grad_norm = np.full(S, np.inf)
    time = np.zeros(S)
    escapes = np.zeros(S, dtype=int)
    switch = np.full(S, options.switch_gradient * scale)
    saddles = []
    pending = np.arange(S)
    finished = 0
    while pending.size:
        budget = options.max_time - time[pending]
        W_flow, t, flow_status = flow(W[pending], V, options, scale, switch[pending], budget)
        W[pending] = W_flow
        time[pending] += t
        next_round = []
        # Stalled or out of time: final.
        for status_value in (UNCONVERGED, DEAD):
            ids = pending[flow_status == status_value]
            status[ids] = status_value
        ids = pending[flow_status == CONVERGED]
        if ids.size:
            W_new, ok, g, spectra, soft = newton(W[ids], V, options, scale)
            lam = spectra[:, 0]
            for j, i in enumerate(ids):
                if not ok[j]:
                    # Not close enough for Newton yet: flow on, to a smaller gradient.
                    if switch[i] > 1e3 * options.gradient_tol * scale and time[i] < options.max_time:
                        switch[i] *= 0.01
                        next_round.append(i)
                    else:
                        status[i] = UNCONVERGED
                        grad_norm[i] = g[j]
                    continue
                if np.linalg.norm(W_new[j], axis=1).min() < options.dead_tol * scale:
                    # Newton took a student to (nearly) zero: a dead student, where
                    # the loss is not differentiable (its Hessian is meaningless).
                    status[i] = DEAD
                    W[i], grad_norm[i] = _polish_dead(W_new[j], V, options, scale)
                    continue
                if lam[j] < -options.negative_tol and escapes[i] < options.max_escapes:
                    saddles.append((int(i), W_new[j].copy()))
                    escapes[i] += 1
                    # Alternate sides, so a push that flows back is not repeated.
                    push = _canonical_sign(soft[j:j + 1])[0] * (-1.0) ** (escapes[i] - 1)
                    W[i] = W_new[j] + options.escape_step * scale * push
                    # Near a soft saddle the pushed point is already "stationary"
                    # by the usual test: demand a real decrease of the gradient.
                    pushed = gradient_norm(evaluate(W[i][None], V, 1).gradient)[0]
                    switch[i] = min(options.switch_gradient * scale, 0.01 * pushed)
                    next_round.append(i)
                    continue
                W[i] = W_new[j]
                status[i] = CONVERGED
                grad_norm[i] = g[j]
        dead_ids = pending[flow_status == DEAD]
        for i in dead_ids:
            W[i], grad_norm[i] = _polish_dead(W[i], V, options, scale)
        finished += pending.size - len(next_round)
        if progress is not None:
            progress(finished, S)
        pending = np.array(sorted(next_round), dtype=int)
    return DescentResult(students=W, status=status, grad_norm=grad_norm, time=time,
                         saddles=saddles)


def _polish_dead(W, V, options, scale):
    """Zero the dead students and polish the living ones (the loss is smooth in them)."""
    W = W.copy()
    alive = np.linalg.norm(W, axis=1) >= options.dead_tol * scale
    W[~alive] = 0.0
    if not alive.any():
        return W, 0.0
    living = W[alive][None]
    polished, ok, g, _, _ = newton(living, V, options, scale)
    if ok[0]:
        W[alive] = polished[0]
    else:
        g = gradient_norm(evaluate(living, V, 1).gradient)
    return W, float(g[0])
