"""Batched gradient flow and Newton polishing in reduced coordinates.

``descend`` takes a batch of starts to the critical points gradient flow leads
them to: an adaptive Bogacki-Shampine (RK23) integration of dW/dt = -grad L with
a step size per start, until the gradient is small, then Newton's method to
|grad L| < 1e-10. A start that Newton takes to a saddle with a descent direction
inside the coordinate space was only passing by (a plateau): the saddle is
recorded as visited, the start is pushed along that direction and flows on.

A student whose norm falls below ``dead_tol`` is set to exactly zero: under
gradient flow a small student s u shrinks like ds/dt = -g(u) - s/2 and reaches
zero in finite time where g(u) > 0 (see ``maths.padding``). The flow of the
living students goes on (the loss is smooth in them) to their own critical
point, which Newton polishes; that point with the zero students padded in is the
end (status ``padded``).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ..errors import check_deadline
from ..maths.kernels import FlowGradient, evaluate
from ..maths.spectrum import GLOBAL_LOSS

# Bogacki-Shampine 3(2) tableau.
_A21, _A32 = 0.5, 0.75
_B = np.array([2 / 9, 1 / 3, 4 / 9])
_E = np.array([-5 / 72, 1 / 12, 1 / 9, -1 / 8])
# Exponents of the PI step-size controller (over the error order 3).
_PI_ERROR, _PI_HISTORY = 0.7, 0.4

CONVERGED, PADDED, UNCONVERGED = "converged", "padded", "unconverged"
TIME_BUDGET, STEP_LIMIT, NEWTON = "time budget", "step limit", "newton"


@dataclass(frozen=True)
class DescentOptions:
    """Tolerances of the descent (absolute ones scale with the teacher norm)."""

    rtol: float = 1e-3                # local error / (step x |dW/dt|)
    atol: float = 1e-9
    window: int = 48                  # starts integrated at once
    handoff_gradient: float = 1e-3    # first try of Newton: accepted only at a minimum
    switch_gradient: float = 1e-5     # flow -> Newton below this |grad|
    gradient_tol: float = 1e-10       # |grad L| of a polished critical point
    max_newton: int = 25
    max_handoff_newton: int = 8       # steps of the early attempt
    max_newton_move: float = 0.05     # relative; further Newton moves mean "not close yet"
    max_newton_move_minimum: float = 0.5  # ... except to a minimum of lower loss
    max_time: float = 2e4             # flow time per start
    max_steps: int = 40000            # integrator steps per start and round
    max_escapes: int = 6
    escape_step: float = 1e-2         # relative size of the push off a saddle
    negative_tol: float = 1e-7        # eigenvalues below -this are negative
    dead_tol: float = 1e-4            # relative norm of a dead student
    merge_angle: float = 0.3          # students closer in angle are merged for a zero-loss try
    shrinking_norm: float = 0.1       # relative; smaller students are dropped for that try
    zero_loss_try: float = 1e-4       # relative loss below which a flow round's end tries it


@dataclass
class DescentResult:
    """Where each start ended.

    Attributes
    ----------
    students : ndarray, shape (S, K, n)
        Final points (dead students set to exactly zero).
    status : ndarray of str, shape (S,)
        ``converged`` (a polished critical point), ``padded`` (the living students
        at a polished critical point, one or more students exactly zero: the loss
        is not differentiable there) or ``unconverged``.
    grad_norm : ndarray, shape (S,)
        |grad L| at the final point (over the living students).
    time : ndarray, shape (S,)
        Gradient-flow time spent.
    saddles : list of (int, ndarray (K, n))
        Saddles visited on the way: (start index, point).
    reason : ndarray of str, shape (S,)
        Why an unconverged start stopped: ``time budget`` (flow time ``max_time``
        spent), ``step limit`` (``max_steps`` integrator steps in one round: a stiff
        plateau) or ``newton`` (Newton never converged, down to the smallest flow-stop
        gradient); empty for the others.
    """

    students: np.ndarray
    status: np.ndarray
    grad_norm: np.ndarray
    time: np.ndarray
    saddles: list = field(default_factory=list)
    reason: np.ndarray = None


def gradient_norm(gradient):
    return np.sqrt(np.einsum("bkn,bkn->b", gradient, gradient))


def flow(W, V, options, scale, stop_gradient, max_time):
    """Integrate gradient flow for every start until it is nearly stationary.

    At most ``options.window`` starts are integrated at once, and a start that
    finishes makes room for the next: a batched step costs nearly the same for 5
    starts as for 30, and flow times differ several-fold between starts. A student
    whose norm falls below ``dead_tol * scale`` is set to exactly zero and stays
    there; the others flow on.

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
        ``converged`` (gradient over the living students small) or ``unconverged``.
    """
    W = W.copy()
    B, K, n = W.shape
    velocity = FlowGradient(V).velocity
    time = np.zeros(B)
    status = np.full(B, UNCONVERGED, dtype=object)
    dead_square = (options.dead_tol * scale) ** 2
    atol = options.atol * scale
    # rms over a start's K n entries, from the squared norm
    rms = 1.0 / np.sqrt(K * n)
    admitted = 0
    # The window: start ids, state y and its velocity k1 (with |k1|), step size h,
    # the previous accepted error ratio (for the step-size controller), flow time,
    # steps taken, and the start's stop gradient and time budget.
    active = np.zeros(0, dtype=int)
    y, k1 = W[:0].copy(), W[:0].copy()
    speed, h, previous, elapsed = np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0)
    steps = np.zeros(0, dtype=int)
    stop, budget = np.zeros(0), np.zeros(0)
    while True:
        if active.size <= 0.75 * options.window and admitted < B:
            new = np.arange(admitted, min(B, admitted + options.window - active.size))
            admitted = new[-1] + 1
            k_new = velocity(W[new])
            active = np.concatenate([active, new])
            y = np.concatenate([y, W[new]])
            k1 = np.concatenate([k1, k_new])
            speed = np.concatenate([speed, gradient_norm(k_new)])
            h = np.concatenate([h, np.full(new.size, 0.1)])
            previous = np.concatenate([previous, np.ones(new.size)])
            elapsed = np.concatenate([elapsed, np.zeros(new.size)])
            steps = np.concatenate([steps, np.zeros(new.size, dtype=int)])
            stop = np.concatenate([stop, stop_gradient[new]])
            budget = np.concatenate([budget, max_time[new]])
        if not active.size:
            break
        # a request's deadline (none in a job or a pool process) is met within one step
        check_deadline()
        b = active.size
        steps += 1
        hh = h[:, None, None]
        stages = np.empty((4, b, K, n))
        stages[0] = k1
        velocity(y + (_A21 * hh) * k1, out=stages[1])
        velocity(y + (_A32 * hh) * stages[1], out=stages[2])
        flat = stages.reshape(4, -1)
        y_new = (_B @ flat[:3]).reshape(b, K, n)
        y_new *= hh
        y_new += y
        velocity(y_new, out=stages[3])
        # The local error is measured against the step's own displacement h |dW/dt|
        # (plus a floor): a norm that does not depend on the arbitrary basis of the
        # reduced coordinates, and that tightens as the flow slows down, so the
        # stiff modes never hold the gradient up at the stability bound.
        combination = (_E @ flat).reshape(b, K * n)
        error = h * rms * np.sqrt(np.einsum("bi,bi->b", combination, combination))
        ratio = error / (atol + options.rtol * h * rms * speed)
        ratio = np.where(np.isfinite(ratio), np.maximum(ratio, 1e-10), np.inf)
        accept = ratio <= 1.0
        k4 = stages[3]
        np.copyto(y, y_new, where=accept[:, None, None])
        np.copyto(k1, k4, where=accept[:, None, None])
        speed = np.where(accept, gradient_norm(k4), speed)
        elapsed += np.where(accept, h, 0.0)
        # A PI step-size controller (Gustafsson): at the stability bound, where this
        # flow spends most of its steps, the plain controller rejects about one step
        # in four; this one about one in 150.
        factor = 0.9 * ratio ** (-_PI_ERROR / 3) * previous ** (_PI_HISTORY / 3)
        np.clip(factor, 0.2, 5.0, out=factor)
        h = h * factor
        previous = np.where(accept, ratio, previous)

        squares = np.einsum("bkn,bkn->bk", y, y)
        dying = (squares < dead_square) & (squares > 0)
        if dying.any():
            y[dying] = 0.0
            rows = dying.any(axis=1)
            k1[rows] = velocity(y[rows])
            speed[rows] = gradient_norm(k1[rows])
        done_grad = accept & (speed < stop)
        finished = done_grad | (elapsed >= budget) | (steps >= options.max_steps)
        if finished.any():
            ids = active[finished]
            W[ids] = y[finished]
            time[ids] = elapsed[finished]
            status[ids] = np.where(done_grad[finished], CONVERGED, UNCONVERGED)
            keep = ~finished
            active, y, k1, speed = active[keep], y[keep], k1[keep], speed[keep]
            h, previous, elapsed, steps = h[keep], previous[keep], elapsed[keep], steps[keep]
            stop, budget = stop[keep], budget[keep]
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
    """Polish points with Newton steps, then look for a descent direction.

    Steps solve (H + mu I) dW = -grad with a tiny shift mu: along exactly flat
    directions (symmetries, split manifolds) the gradient vanishes up to round-off,
    so they move by a negligible amount, while every curved direction gets the
    plain Newton step. An LU solve costs a tenth of the eigendecomposition a
    pseudo-inverse needs.

    Parameters
    ----------
    W : ndarray, shape (B, K, n)
    V : ndarray, shape (M, n)

    Returns
    -------
    W : ndarray, shape (B, K, n)
    converged : ndarray of bool, shape (B,)
        |grad| below ``gradient_tol`` without moving further than
        ``max_newton_move * scale`` in total, or ``max_newton_move_minimum * scale``
        to a minimum of lower loss. (Near a minimum that is a flat manifold, such as
        split students when K > M, Newton moves along its nearly flat directions,
        where the loss grows like the cube of the distance and the flow creeps.)
    grad_norm : ndarray, shape (B,)
    min_eigenvalue : ndarray, shape (B,)
        Smallest eigenvalue of the in-span Hessian at the last iterate when it is
        below ``-negative_tol``; else 0 (no direction of descent).
    softest : ndarray, shape (B, K, n)
        Its eigenvector (zero when there is none).
    """
    W = W.copy()
    B, K, n = W.shape
    start = W.copy()
    grad_norm = np.full(B, np.inf)
    converged = np.zeros(B, dtype=bool)
    failed = np.zeros(B, dtype=bool)
    active = np.arange(B)
    shift = 1e-8 * scale
    for _ in range(options.max_newton + 1):
        if not active.size:
            break
        check_deadline()
        g = evaluate(W[active], V, 1).gradient.reshape(active.size, K * n)
        grad_norm[active] = np.linalg.norm(g, axis=1)
        done = grad_norm[active] < options.gradient_tol
        converged[active[done]] = True
        active = active[~done]
        if not active.size:
            break
        g = g[~done]
        H = evaluate(W[active], V, 2).hessian.reshape(active.size, K * n, K * n)
        H[:, np.arange(K * n), np.arange(K * n)] += shift
        with np.errstate(all="ignore"):
            try:
                step = np.linalg.solve(H, -g[..., None])[..., 0]
            except np.linalg.LinAlgError:      # an exactly singular H: pseudo-inverse
                step = -np.einsum("bij,bj->bi", np.linalg.pinv(H, hermitian=True), g)
        W[active] += step.reshape(active.size, K, n)
        moved = np.linalg.norm((W[active] - start[active]).reshape(active.size, -1), axis=1)
        bad = ~np.isfinite(moved) | (moved > options.max_newton_move_minimum * scale)
        failed[active[bad]] = True
        active = active[~bad]
    converged &= ~failed
    min_eigenvalue, softest = _descent_directions(W, V, converged, options)
    far = converged & (np.linalg.norm((W - start).reshape(B, -1), axis=1)
                       > options.max_newton_move * scale)
    for i in np.nonzero(far)[0]:
        # Newton also slides along split manifolds, which the flow barely does; a
        # student it nearly kills is a different end (a dead student): flow on.
        shrunk = (np.linalg.norm(W[i], axis=1).min()
                  < 0.5 * np.linalg.norm(start[i], axis=1).min())
        if shrunk or not _lower_minimum(W[i], start[i], min_eigenvalue[i], V, options):
            converged[i] = False
    return W, converged, grad_norm, min_eigenvalue, softest


def _descent_directions(W, V, where, options):
    """Smallest in-span Hessian eigenvalue and its vector where it is negative.

    A Cholesky factorisation of H + negative_tol I succeeds exactly when there is
    no eigenvalue below -negative_tol; only points where it fails (saddles) pay
    for an eigendecomposition.
    """
    B, K, n = W.shape
    min_eigenvalue = np.zeros(B)
    softest = np.zeros_like(W)
    ids = np.nonzero(where)[0]
    if not ids.size:
        return min_eigenvalue, softest
    H = evaluate(W[ids], V, 2).hessian.reshape(ids.size, K * n, K * n)
    H = 0.5 * (H + H.transpose(0, 2, 1))
    shifted = H + options.negative_tol * np.eye(K * n)
    try:
        np.linalg.cholesky(shifted)
        return min_eigenvalue, softest
    except np.linalg.LinAlgError:
        pass
    for j, i in enumerate(ids):
        try:
            np.linalg.cholesky(shifted[j])
        except np.linalg.LinAlgError:
            values, vectors = np.linalg.eigh(H[j])
            min_eigenvalue[i] = values[0]
            softest[i] = vectors[:, 0].reshape(K, n)
    return min_eigenvalue, softest


def _canonical_sign(vectors):
    """Flip each vector so that its largest-magnitude entry is positive."""
    flat = vectors.reshape(vectors.shape[0], -1)
    pivot = flat[np.arange(flat.shape[0]), np.abs(flat).argmax(axis=1)]
    return vectors * np.where(pivot < 0, -1.0, 1.0)[:, None, None]


def living(W):
    """Mask of the living (nonzero) students of each point, shape (B, K)."""
    return np.einsum("...kn,...kn->...k", W, W) > 0


def living_newton(W, V, options, scale):
    """``newton`` on the living students of each point, the zero ones padded back.

    Points are grouped by their number of living students (the loss is smooth in
    them); a point with none is its own end. Points with dead students are polished
    to ``gradient_tol / sqrt(K)``: the catalog enters a zero-loss padded end as the
    split that fills its zero slots, whose gradient repeats the split student's.

    Returns
    -------
    Like ``newton``, with zero rows where the students are dead.
    """
    B, K, n = W.shape
    alive = living(W)
    counts = alive.sum(axis=1)
    W_new, softest = W.copy(), np.zeros_like(W)
    converged = np.zeros(B, dtype=bool)
    grad_norm, min_eigenvalue = np.zeros(B), np.zeros(B)
    for count in np.unique(counts):
        ids = np.nonzero(counts == count)[0]
        if count == 0:
            converged[ids] = True
            continue
        mask = alive[ids]
        part = W[ids][mask].reshape(ids.size, count, n)
        tight = options if count == K else replace(
            options, gradient_tol=options.gradient_tol / np.sqrt(K))
        Wp, ok, g, lam, soft = newton(part, V, tight, scale)
        block = np.zeros((ids.size, K, n))
        block[mask] = Wp.reshape(-1, n)
        W_new[ids] = block
        block = np.zeros((ids.size, K, n))
        block[mask] = soft.reshape(-1, n)
        softest[ids] = block
        converged[ids], grad_norm[ids], min_eigenvalue[ids] = ok, g, lam
    return W_new, converged, grad_norm, min_eigenvalue, softest


def living_loss(W, V):
    """Loss of one point whose dead students are exactly zero."""
    alive = W[living(W)]
    if not alive.size:
        return float(evaluate(np.zeros((1, V.shape[1])), V, 0).loss[0])
    return float(evaluate(alive[None], V, 0).loss[0])


def living_gradient_norm(W, V):
    """|grad L| over the living students of one point."""
    alive = W[living(W)]
    if not alive.size:
        return 0.0
    return float(gradient_norm(evaluate(alive[None], V, 1).gradient)[0])


def merge_groups(W, angle):
    """Groups of living students closer in angle than ``angle`` (lists of indices)."""
    alive = np.nonzero(living(W))[0]
    units = W[alive] / np.linalg.norm(W[alive], axis=1)[:, None]
    groups = []
    for i, k in enumerate(alive):
        for group in groups:
            if units[i] @ units[group[1]] > np.cos(angle):
                group[0].append(k)
                break
        else:
            groups.append(([k], i))
    return [g for g, _ in groups]


def zero_loss_end(W, V, options, scale):
    """A zero-loss critical point next to W, or None.

    Near zero loss with K > M gradient flow creeps: the loss grows only like the
    cube of the angle between students that split a teacher, so the angle closes
    like 1/t, and superfluous students shrink to zero only as fast as the residual
    lets them; Newton on such a point has nothing to hold on to. Dropping students
    smaller than ``shrinking_norm`` and merging students closer in angle than
    ``merge_angle`` (their sum, one student per group) gives a network without that
    degeneracy; Newton polishes it, and splitting each merged student back in the
    proportions of its group's norms gives a critical point with the same function
    (a split of a critical point is critical; dropped students are dead). It is kept
    only at loss < 1e-10 and within ``max_newton_move_minimum`` of W: gradient flow
    never raises the loss, so from a point below every non-zero critical value
    (``zero_loss_try``; the spurious minima of orthonormal teachers lie above 0.01)
    it ends at a global minimum, whichever way it creeps there.
    """
    merged_from = W.copy()
    norms = np.linalg.norm(W, axis=1)
    small = (norms > 0) & (norms < options.shrinking_norm * scale)
    merged_from[small] = 0.0
    groups = merge_groups(merged_from, options.merge_angle)
    if not small.any() and len(groups) == living(W).sum():
        return None     # nothing merged or dropped: plain Newton is the same attempt
    merged = np.stack([merged_from[g].sum(axis=0) for g in groups])[None]
    # Split back, each group repeats its merged student's gradient.
    tight = replace(options, gradient_tol=options.gradient_tol / np.sqrt(W.shape[0]))
    for _ in range(2):
        polished, ok, _, _, _ = living_newton(merged, V, tight, scale)
        lengths = np.linalg.norm(polished[0], axis=1)
        dying = (lengths > 0) & (lengths < options.dead_tol * scale)
        if not dying.any():
            break
        merged = polished.copy()
        merged[0][dying] = 0.0
    if not ok[0] or dying.any() or living_loss(polished[0], V) >= GLOBAL_LOSS:
        return None
    end = np.zeros_like(W)
    for group, vector in zip(groups, polished[0]):
        weights = norms[group] / norms[group].sum()
        end[group] = vector[None, :] * weights[:, None]
    if np.linalg.norm(end - W) > options.max_newton_move_minimum * scale:
        return None
    return end


def _zero_loss_try(W, V, options, scale):
    """``zero_loss_end`` where the loss is already small, else None."""
    if living_loss(W, V) >= options.zero_loss_try * scale ** 2:
        return None
    return zero_loss_end(W, V, options, scale)


# What happens to a start after a flow round and a Newton attempt.
ACCEPT, FLOW_ON, PUSH, KILL, GIVE_UP = "accept", "flow on", "push", "kill", "give up"


@dataclass
class _Attempt:
    """A Newton attempt from the end of a flow round (one start)."""

    before: np.ndarray      # (K, n) where the flow stopped
    after: np.ndarray       # (K, n) where Newton went
    converged: bool
    min_eigenvalue: float


def next_action(attempt, handoff, switch, time, escapes, V, options, scale):
    """What to do with a start after a flow round and a Newton attempt.

    Parameters
    ----------
    attempt : _Attempt
    handoff : bool
        This was the early attempt (gradient below ``handoff_gradient``), kept
        only if it ends at a minimum of no higher loss.
    switch, time, escapes : float, float, int
        The start's current flow-stop gradient, flow time and saddle escapes.
    V : ndarray, shape (M, n)

    Returns
    -------
    str
        ``accept`` (Newton's point is the end), ``flow on`` (not close enough
        yet), ``push`` (a saddle passed by: push off along its negative
        direction), ``kill`` (Newton took a student to nearly zero: it is dead,
        the others flow on) or ``give up`` (unconverged).
    """
    dead_norm = options.dead_tol * scale
    norms = np.linalg.norm(attempt.after, axis=1)
    nearly_killed = bool(np.any((norms > 0) & (norms < dead_norm)))
    if handoff:
        if (attempt.converged and not nearly_killed
                and _lower_minimum(attempt.after, attempt.before, attempt.min_eigenvalue,
                                   V, options)):
            return ACCEPT
        return FLOW_ON
    if not attempt.converged:
        if switch > 1e3 * options.gradient_tol * scale and time < options.max_time:
            return FLOW_ON
        return GIVE_UP
    if nearly_killed:
        return KILL
    if attempt.min_eigenvalue < -options.negative_tol and escapes < options.max_escapes:
        return PUSH
    return ACCEPT


def descend(starts, V, options=DescentOptions(), progress=None):
    """Take every start to the critical point gradient flow leads it to.

    Each round flows the pending starts until their gradient is small, tries
    Newton from there, and applies ``next_action`` to each.

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
    reason = np.full(S, "", dtype=object)
    # The first Newton attempt comes early, at |grad| < handoff_gradient: the last
    # stretch of a flow creeps into a minimum at the rate of its softest curvature,
    # and Newton goes straight there. It is taken only if it ends at a minimum, below
    # the loss it started from; otherwise the flow goes on to switch_gradient (so
    # saddles are still met by the flow itself).
    switch = np.full(S, max(options.handoff_gradient, options.switch_gradient) * scale)
    strict = options.switch_gradient * scale
    saddles = []
    pending = np.arange(S)
    finished = 0
    while pending.size:
        check_deadline()
        budget = options.max_time - time[pending]
        W_flow, t, flow_status = flow(W[pending], V, options, scale, switch[pending], budget)
        W[pending] = W_flow
        time[pending] += t
        next_round = []
        for i in pending[flow_status == UNCONVERGED]:      # out of time or steps: final
            end = _zero_loss_try(W[i], V, options, scale)
            if end is None:
                status[i], grad_norm[i] = UNCONVERGED, living_gradient_norm(W[i], V)
                reason[i] = TIME_BUDGET if time[i] >= options.max_time else STEP_LIMIT
            else:
                W[i], grad_norm[i] = end, living_gradient_norm(end, V)
                status[i] = CONVERGED if living(W[i]).all() else PADDED
        ids = pending[flow_status == CONVERGED]
        # Near zero loss the merged Newton of ``zero_loss_end`` is both cheaper and
        # surer than Newton on the (degenerate) split students: try it first.
        near_zero = np.zeros(ids.size, dtype=bool)
        for j, i in enumerate(ids):
            end = _zero_loss_try(W[i], V, options, scale)
            if end is not None:
                near_zero[j] = True
                W[i], grad_norm[i] = end, living_gradient_norm(end, V)
                status[i] = CONVERGED if living(W[i]).all() else PADDED
        ids = ids[~near_zero]
        if ids.size:
            # The early attempt is kept only if Newton converges, which it does in a
            # few steps inside a basin; on degenerate (K > M) Hessians it would
            # otherwise use every step and fail anyway.
            handoff = switch[ids] > strict
            W_new, soft = np.zeros_like(W[ids]), np.zeros_like(W[ids])
            ok, g, lam = np.zeros(ids.size, dtype=bool), np.zeros(ids.size), np.zeros(ids.size)
            for mask, opts in ((handoff, replace(options, max_newton=options.max_handoff_newton)),
                               (~handoff, options)):
                if mask.any():
                    W_new[mask], ok[mask], g[mask], lam[mask], soft[mask] = living_newton(
                        W[ids[mask]], V, opts, scale)
            for j, i in enumerate(ids):
                attempt = _Attempt(W[i], W_new[j], bool(ok[j]), float(lam[j]))
                action = next_action(attempt, switch[i] > strict, switch[i], time[i],
                                     escapes[i], V, options, scale)
                if action == ACCEPT:
                    W[i], grad_norm[i] = W_new[j], g[j]
                    status[i] = CONVERGED if living(W[i]).all() else PADDED
                elif action == FLOW_ON:
                    switch[i] = strict if switch[i] > strict else 0.01 * switch[i]
                    next_round.append(i)
                elif action == KILL:
                    W[i] = W_new[j]
                    W[i][np.linalg.norm(W[i], axis=1) < options.dead_tol * scale] = 0.0
                    switch[i] = strict
                    next_round.append(i)
                elif action == PUSH:
                    saddles.append((int(i), W_new[j].copy()))
                    escapes[i] += 1
                    # Alternate sides, so a push that flows back is not repeated.
                    push = _canonical_sign(soft[j:j + 1])[0] * (-1.0) ** (escapes[i] - 1)
                    W[i] = W_new[j] + options.escape_step * scale * push
                    # Near a soft saddle the pushed point is already "stationary"
                    # by the usual test: demand a real decrease of the gradient.
                    switch[i] = min(strict, 0.01 * living_gradient_norm(W[i], V))
                    next_round.append(i)
                else:
                    status[i], grad_norm[i] = UNCONVERGED, g[j]
                    reason[i] = TIME_BUDGET if time[i] >= options.max_time else NEWTON
        finished += pending.size - len(next_round)
        if progress is not None:
            progress(finished, S)
        pending = np.array(sorted(next_round), dtype=int)
    return DescentResult(students=W, status=status, grad_norm=grad_norm, time=time,
                         saddles=saddles, reason=reason)


def _lower_minimum(W, before, min_eigenvalue, V, options):
    """Whether Newton's end W is a minimum (no eigenvalue below -negative_tol) of
    loss no higher than at ``before``, where it started."""
    return (min_eigenvalue >= -options.negative_tol
            and living_loss(W, V) <= living_loss(before, V))
