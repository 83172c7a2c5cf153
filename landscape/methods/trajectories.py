"""Gradient-flow trajectories of all catalog starts, compact enough to draw hundreds in 3D.

The starts are the catalog's (same seed, same indices). Trajectories are integrated
in chunks of starts (run by the executor the catalog uses, or in process), recorded at
log-spaced times as float32 summary statistics, and labelled with the catalog entry
each one ends at.
"""
from __future__ import annotations

import base64
from contextlib import closing
from dataclasses import dataclass

import numpy as np
from scipy.integrate import solve_ivp

from ..errors import check_deadline
from .catalog import identify, run_serially, snap_parallel, unpadded
from .descent import CONVERGED, PADDED, DescentOptions, descend, living_loss
from ..maths.spectrum import GLOBAL_LOSS
from ..maths.kernels import evaluate, flow_gradient
from ..maths.starts import draw_starts
from ..maths.teachers import teacher_vectors

DEAD_LABEL, UNCONVERGED_LABEL = -1, -2


def array_to_json(values):
    """A float32 array as JSON: ``{"dtype", "shape", "base64"}`` (little-endian bytes).
    A quarter of the size of nested lists of floats, and read back without parsing
    millions of numbers (the trajectories of 1000 starts: 23 MB against 90 MB)."""
    values = np.ascontiguousarray(values, dtype="<f4")
    return {"dtype": "float32", "shape": list(values.shape),
            "base64": base64.b64encode(values.tobytes()).decode("ascii")}


def array_from_json(data, dtype=float):
    """The array of ``array_to_json`` (nested lists are read as they are), as ``dtype``."""
    if isinstance(data, dict):
        raw = np.frombuffer(base64.b64decode(data["base64"]), dtype="<f4")
        return raw.reshape(data["shape"]).astype(dtype)
    return np.asarray(data, dtype=dtype)


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
        """``t`` and ``label`` as lists; ``Q``, ``M`` and ``loss`` as ``array_to_json``."""
        return {"t": np.asarray(self.t).tolist(), "Q": array_to_json(self.Q),
                "M": array_to_json(self.M), "loss": array_to_json(self.loss),
                "label": np.asarray(self.label).tolist()}

    @classmethod
    def from_json(cls, data):
        return cls(t=np.asarray(data["t"], dtype=float),
                   Q=array_from_json(data["Q"], np.float32),
                   M=array_from_json(data["M"], np.float32),
                   loss=array_from_json(data["loss"], np.float32),
                   label=np.asarray(data["label"], dtype=int))


def log_times(t_max, points, t_min=0.01):
    """0 and ``points - 1`` log-spaced times from t_min to t_max."""
    return np.concatenate([[0.0], np.geomspace(t_min, t_max, points - 1)])


@dataclass(frozen=True)
class TrajectoryOptions:
    """What a trajectory chunk records.

    Attributes
    ----------
    points : int
        Recorded times: 0 and ``points - 1`` log-spaced ones up to ``t_max``.
    t_max : float
    """

    points: int = 60
    t_max: float = 1000.0

    def to_json(self):
        return {"points": self.points, "t_max": self.t_max}

    @classmethod
    def from_json(cls, data):
        return cls(points=int(data["points"]), t_max=float(data["t_max"]))


@dataclass
class TrajectoryChunk:
    """The trajectories of a part of the starts, and where each ends.

    Attributes
    ----------
    indices : ndarray of int, shape (C,)
    Q : ndarray of float32, shape (C, T, K, K)
    M : ndarray of float32, shape (C, T, K, M)
    loss : ndarray of float32, shape (C, T)
    end : ndarray, shape (C, K, n)
        The flow's last recorded point taken on to the critical point it leads to.
    status : ndarray of str, shape (C,)
        ``descend``'s status of ``end``.
    """

    indices: np.ndarray
    Q: np.ndarray
    M: np.ndarray
    loss: np.ndarray
    end: np.ndarray
    status: np.ndarray

    def to_json(self):
        return {"indices": self.indices.tolist(), "Q": array_to_json(self.Q),
                "M": array_to_json(self.M), "loss": array_to_json(self.loss),
                "end": self.end.tolist(), "status": [str(s) for s in self.status]}

    @classmethod
    def from_json(cls, data, config=None):
        return cls(indices=np.asarray(data["indices"], dtype=int),
                   Q=array_from_json(data["Q"], np.float32),
                   M=array_from_json(data["M"], np.float32),
                   loss=array_from_json(data["loss"], np.float32),
                   end=np.asarray(data["end"], dtype=float),
                   status=np.asarray(data["status"], dtype=object))


# The flow is integrated at the stability bound of its stiffest mode for most of its
# time (t up to 1000), so the step count hardly depends on the tolerance: RK23 needs
# half the gradient evaluations of RK45 per step, and larger systems share the fixed
# cost of each step. Measured (K = M = 6, d = 6, 200 starts, against RK45 at rtol 1e-8):
# RK45 at rtol 1e-6 in systems of 50, 3.1 s; RK23 at rtol 1e-4 in systems of 50, 1.7 s,
# of 200, 1.2 s; every drawn coordinate within 3e-4 of its axis range.
RTOL, ATOL = 1e-4, 1e-7
CHUNK_MIN, CHUNK_MAX = 100, 250


def chunks(starts, workers=1):
    """Index ranges of the chunks: one per worker, of 100 to 250 starts (every chunk
    takes about as many steps, so they finish together; 100 starts or fewer take well
    under a second, less than starting a process pool)."""
    size = int(np.clip(np.ceil(starts / max(workers, 1)), CHUNK_MIN, CHUNK_MAX))
    return [range(i, min(i + size, starts)) for i in range(0, starts, size)]


def _integrate(W0, V, times):
    """Gradient flows from ``W0``, shape (S, K, n), recorded at ``times``: (S, T, K, n)."""
    S, K, n = W0.shape

    def rhs(_, y):
        check_deadline()
        return -flow_gradient(y.reshape(S, K, n), V).ravel()

    solution = solve_ivp(rhs, (0.0, times[-1]), W0.ravel(), method="RK23", t_eval=times,
                         rtol=RTOL, atol=ATOL)
    return solution.y.T.reshape(times.size, S, K, n).transpose(1, 0, 2, 3)


def trajectory_chunk(config, part, options=TrajectoryOptions()):
    """The trajectories of the random starts ``part`` (indices) of ``config`` (a
    ``CatalogConfig``), and their ends taken on to critical points.

    Returns
    -------
    TrajectoryChunk
    """
    n = config.reduced_dim
    V = teacher_vectors(config.teacher.P, n)
    K = config.students
    indices = np.asarray(list(part), dtype=int)
    W0 = draw_starts(config.seed, indices, K, config.teachers, config.start_dim, n)
    times = log_times(options.t_max, options.points)
    W = _integrate(W0, V, times)
    C = indices.size
    loss = evaluate(W.reshape(-1, K, n), V, 0).loss.reshape(C, times.size)
    # Each flow finished (cheap, it is nearly there), to label it by its own end.
    ends = descend(W[:, -1], V, DescentOptions())
    return TrajectoryChunk(indices=indices, Q=(W @ W.transpose(0, 1, 3, 2)).astype(np.float32),
                           M=(W @ V.T).astype(np.float32),
                           loss=np.maximum(loss, 0).astype(np.float32),
                           end=ends.students, status=ends.status)


def catalog_trajectories(catalog, points=60, t_max=1000.0, executor=None, progress=None):
    """Trajectories of every start of ``catalog`` (a ``Catalog``).

    Parameters
    ----------
    executor : callable or None
        ``executor(config, parts, options, chunk=trajectory_chunk)`` yielding chunk
        results (see ``landscape.running.executors``); default: in this process.
    progress : callable(done, total, stage) or None
        Called after each chunk (stage "trajectories"); it may raise to stop.

    Returns
    -------
    StartTrajectories
    """
    config = catalog.config
    n = config.reduced_dim
    V = teacher_vectors(config.teacher.P, n)
    S = config.starts
    options = TrajectoryOptions(points=points, t_max=t_max)
    parts = chunks(S, getattr(executor, "workers", 1))
    results, done = [], 0
    # closing(): a stop (time budget, cancel) drops the chunks still queued at once.
    running = (executor or run_serially)(config, parts, options, chunk=trajectory_chunk)
    with closing(running) as finished:
        for result in finished:
            results.append(result)
            done += result.indices.size
            if progress is not None:
                progress(done, S, "trajectories")
            check_deadline()        # chunks in other processes do not see the deadline
    results.sort(key=lambda r: int(r.indices[0]))
    Q = np.concatenate([r.Q for r in results])
    M = np.concatenate([r.M for r in results])
    loss = np.concatenate([r.loss for r in results])
    ends = np.concatenate([r.end for r in results])
    status = np.concatenate([r.status for r in results])
    labels = np.full(S, UNCONVERGED_LABEL)
    for s, (Wend, state) in enumerate(zip(ends, status)):
        if state == PADDED and living_loss(Wend, V) >= GLOBAL_LOSS:
            labels[s] = DEAD_LABEL
        elif state in (CONVERGED, PADDED):
            # A padded end at zero loss is in the global minimum, as its split point.
            point = unpadded(Wend) if state == PADDED else Wend
            entry = identify(catalog.fixed_points, snap_parallel(point, V), V)[-1]
            if entry is not None:
                labels[s] = catalog.fixed_points.index(entry)
    return StartTrajectories(t=log_times(t_max, points), Q=Q, M=M, loss=loss, label=labels)
