"""Gradient-flow trajectories of all catalog starts, compact enough to draw hundreds in 3D.

The starts are the catalog's (same seed, same indices). Trajectories are integrated
together in reduced weight coordinates, recorded at log-spaced times as float32
summary statistics, and labelled with the catalog entry each one ends at.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.integrate import solve_ivp

from ..errors import check_deadline
from .catalog import identify, snap_parallel, unpadded
from .descent import CONVERGED, PADDED, DescentOptions, descend, living_loss
from ..maths.spectrum import GLOBAL_LOSS
from ..maths.kernels import evaluate, flow_gradient
from ..maths.starts import draw_starts
from ..maths.teachers import teacher_vectors

DEAD_LABEL, UNCONVERGED_LABEL = -1, -2


@dataclass
class StartTrajectories:
    """Summary statistics along the flow from every catalog start.

    Attributes
    ----------
    t : ndarray, shape (T,)
        0 followed by log-spaced times.
    Q : ndarray of float32, shape (S, T, K, K)
    M : ndarray of float32, shape (S, T, K, M)
    loss : ndarray of float32, shape (S, T)
    label : ndarray of int, shape (S,)
        Index into ``catalog.fixed_points`` of where the flow ends; -1 for a padded
        end above zero loss, -2 for unconverged or not in the catalog.
    """

    t: np.ndarray
    Q: np.ndarray
    M: np.ndarray
    loss: np.ndarray
    label: np.ndarray

    def to_json(self):
        return {"t": self.t.tolist(), "Q": self.Q.tolist(), "M": self.M.tolist(),
                "loss": self.loss.tolist(), "label": self.label.tolist()}


def log_times(t_max, points, t_min=0.01):
    """0 and ``points - 1`` log-spaced times from t_min to t_max."""
    return np.concatenate([[0.0], np.geomspace(t_min, t_max, points - 1)])


# Starts integrated as one ODE system: its step is the smallest any of them needs, and
# solve_ivp's own work per step grows with the system, so hundreds of starts in one
# system cost about 8x more than the same starts in systems of 50.
CHUNK = 50


def _integrate(W0, V, times):
    """Gradient flows from ``W0``, shape (S, K, n), recorded at ``times``: (S, T, K, n)."""
    S, K, n = W0.shape

    def rhs(_, y):
        check_deadline()
        return -flow_gradient(y.reshape(S, K, n), V).ravel()

    solution = solve_ivp(rhs, (0.0, times[-1]), W0.ravel(), method="RK45", t_eval=times,
                         rtol=1e-6, atol=1e-9)
    return solution.y.T.reshape(times.size, S, K, n).transpose(1, 0, 2, 3)


def catalog_trajectories(catalog, points=60, t_max=1000.0):
    """Trajectories of every start of ``catalog`` (a ``Catalog``).

    Returns
    -------
    StartTrajectories
    """
    config = catalog.config
    n = config.reduced_dim
    V = teacher_vectors(config.teacher.P, n)
    S, K = config.starts, config.students
    W0 = draw_starts(config.seed, range(S), K, config.teachers, config.start_dim, n)
    times = log_times(t_max, points)
    W = np.concatenate([_integrate(W0[first:first + CHUNK], V, times)
                        for first in range(0, S, CHUNK)])
    Q = W @ W.transpose(0, 1, 3, 2)
    M = W @ V.T
    loss = evaluate(W.reshape(-1, K, n), V, 0).loss.reshape(S, times.size)
    # Label: finish each flow (cheap, it is nearly there) and look it up.
    ends = descend(W[:, -1], V, DescentOptions())
    labels = np.full(S, UNCONVERGED_LABEL)
    for s, (Wend, status) in enumerate(zip(ends.students, ends.status)):
        if status == PADDED and living_loss(Wend, V) >= GLOBAL_LOSS:
            labels[s] = DEAD_LABEL
        elif status in (CONVERGED, PADDED):
            # A padded end at zero loss is in the global minimum, as its split point.
            point = unpadded(Wend) if status == PADDED else Wend
            entry = identify(catalog.fixed_points, snap_parallel(point, V), V)[-1]
            if entry is not None:
                labels[s] = catalog.fixed_points.index(entry)
    return StartTrajectories(t=times, Q=Q.astype(np.float32), M=M.astype(np.float32),
                             loss=np.maximum(loss, 0).astype(np.float32), label=labels)
