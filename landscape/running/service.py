"""Service layer: validated configs in, cached JSON-able results out.

Results are cached under ``landscape:<ENGINE_VERSION>:<kind>:<sha256 of the canonical
config JSON>``, so an engine upgrade never serves stale results and keys never depend
on numpy reprs. The cache is a byte store (``running.store``: files or Redis) holding
signed JSON; a failing, corrupt, unsigned or misshapen entry is treated as a miss. No
web framework is imported here.
"""
from __future__ import annotations

import hashlib
import json
import logging
import time

import numpy as np

from ..config import inf_or_int
from ..errors import ComputationLimit
from ..version import ENGINE_VERSION
from . import store

log = logging.getLogger(__name__)


def cache_key(kind, payload):
    """Stable key of a result kind and its canonical config dict."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return f"landscape:{ENGINE_VERSION}:{kind}:{hashlib.sha256(text.encode()).hexdigest()}"


def time_budget(seconds, progress=None):
    """A progress callback that passes its arguments on to ``progress`` and stops the
    computation with ComputationLimit once ``seconds`` have passed since its creation.
    Computations report progress between chunks, so they stop within one chunk."""

    deadline = time.monotonic() + seconds

    def check(*args):
        if progress is not None:
            progress(*args)
        if time.monotonic() > deadline:
            raise ComputationLimit(f"stopped after the time budget of {seconds:g} s; "
                                   "ask for fewer starts or students")

    return check


# Keys (with the type of their value) every entry of a kind has; an entry without them
# is a miss, recomputed.
EXPECTED = {
    "catalog": {"fixed_points": list, "global_fraction": (int, float)},
    "trajectories": {"t": list, "Q": list, "M": list, "loss": list, "label": list},
    "flow": {"t": list, "Q": list, "M": list, "loss": list},
    "families": {"rows": list},
    "hierarchy": {"levels": list, "links": list},
}
_MAX_LOGGED = 1000
_logged = set()


def _log_once(key, text, *args):
    """Warn about a key's entry once per process (a bad entry is read on every view)."""
    if key in _logged:
        return
    if len(_logged) < _MAX_LOGGED:
        _logged.add(key)
    log.warning(text, key, *args)


def _shape_problem(kind, value):
    if value.get("engine_version") != ENGINE_VERSION:
        return f"engine version {value.get('engine_version')!r}"
    for name, types in EXPECTED.get(kind, {}).items():
        if not isinstance(value.get(name), types):
            return f"no {name!r} of the expected type"
    return None


def _cached(cache, kind, payload, compute):
    """The result of ``compute()`` for (kind, payload), from ``cache`` when it holds a
    signed, well-formed entry for exactly this key and config; else computed and stored.

    Entries are JSON signed with the cache's secret (``store.encode_entry``): nothing read
    from the cache is unpickled, and an entry that is unreadable, unsigned, edited or of
    the wrong shape is a miss, logged once.
    """
    key = cache_key(kind, payload)
    if cache is not None:
        secret = store.secret_of(cache)
        try:
            blob = cache.get(key)
            if blob is not None:
                value = store.decode_entry(secret, key, payload, blob)
                problem = _shape_problem(kind, value)
                if problem is None:
                    return value
                _log_once(key, "cache entry %s has the wrong shape (%s); recomputing", problem)
        except Exception as exc:   # corrupt entry or unreachable backend: recompute
            _log_once(key, "cache entry %s unusable (%s: %s); recomputing",
                      type(exc).__name__, exc)
    value = compute()
    value["engine_version"] = ENGINE_VERSION
    if cache is None:
        return value
    blob = store.encode_entry(secret, key, payload, value)
    try:
        cache.set(key, blob)
    except Exception as exc:
        log.warning("cache write failed for %s: %s", key, exc)
    # what a later hit returns: plain JSON data (lists, not tuples or arrays)
    return store.decode_entry(secret, key, payload, blob)


def check_catalog(catalog_json):
    """Raise ComputationLimit unless the catalog (``Catalog.to_json()``) is a result to
    show: at least one fixed point, and finite losses throughout. A catalog without
    fixed points says nothing about the landscape, only that the search did not get
    there, so it is reported as such (and never cached)."""
    points = catalog_json["fixed_points"]
    dead = catalog_json["nondifferentiable"]["count"]
    unconverged = catalog_json["unconverged"]
    losses = [p["loss"] for p in points] + [
        p["loss"] for p in catalog_json["nondifferentiable"]["points"]]
    if not all(isinstance(x, (int, float)) and np.isfinite(x) for x in losses):
        raise ComputationLimit("the search produced non-finite losses; the teacher is "
                               "outside the range this engine handles")
    if not points:
        raise ComputationLimit(
            f"no start reached a fixed point ({dead} ended with a dead student, "
            f"{unconverged} did not converge within the flow-time budget); try more "
            "starts or a better-conditioned teacher")


def catalog_result(config, cache=None, progress=None, executor=None):
    """The catalog as JSON, with each entry's representative students (reduced coords).
    Raises ComputationLimit when the search found no fixed point (``check_catalog``)."""
    from ..methods.catalog import find_fixed_points

    def compute():
        catalog = find_fixed_points(config, progress=progress, executor=executor)
        out = catalog.to_json()
        check_catalog(out)
        for entry, point in zip(out["fixed_points"], catalog.fixed_points):
            entry["students"] = point.students.tolist()
        return out

    return _cached(cache, "catalog", config.to_dict(), compute)


def trajectories_result(config, cache=None, points=60, progress=None, executor=None):
    """Flows from every catalog start (float32 data as lists), labelled by endpoint."""
    from ..methods.catalog import find_fixed_points
    from .executors import serial
    from ..methods.trajectories import catalog_trajectories

    def compute():
        # serial by default: this runs in a web-server thread, where forking is unsafe
        catalog = find_fixed_points(config, executor=executor or serial, progress=progress)
        return catalog_trajectories(catalog, points=points).to_json()

    return _cached(cache, "trajectories", config.to_dict() | {"points": points}, compute)


def flow_result(config, cache=None):
    """ODE trajectory (and simulation) of a FlowConfig as JSON."""
    from ..methods.flows import run_flow

    def compute():
        trajectory, simulation = run_flow(config)
        out = trajectory.to_json()
        if simulation is not None:
            out["simulation"] = simulation.to_json()
            out["simulation"]["Q_std"] = simulation.Q.std(0).tolist()
            out["simulation"]["loss_std"] = simulation.loss.std(0).tolist()
        return out

    return _cached(cache, "flow", config.to_dict(), compute)


def families_result(setup, dim, widths, k1s, cache=None):
    """Family members over widths K = M: {"rows": [{"students", k1, loss, kind, ...}]}."""
    from ..methods.families import families

    def compute():
        rows = []
        for K in widths:
            P = _pattern_matrix(setup, K)
            for m in families(K, P, dim, [k for k in k1s if k < K]):
                rows.append({"students": K, **m.to_json()})
        return {"rows": rows}

    payload = {"teacher": setup.to_json(), "dim": inf_or_int(dim),
               "widths": list(widths), "k1": list(k1s)}
    return _cached(cache, "families", payload, compute)


def _pattern_matrix(setup, K):
    """The teacher's P pattern at width K (families vary the width of the teacher)."""
    from ..methods.families import teacher_pattern

    p, q = teacher_pattern(setup.P)
    return (p - q) * np.eye(K) + q * np.ones((K, K))


def hierarchy_result(config, widths, cache=None, progress=None, executor=None):
    from ..methods.hierarchy import build_hierarchy

    def compute():
        return build_hierarchy(config, widths, progress=progress, executor=executor).to_json()

    return _cached(cache, "hierarchy", config.to_dict() | {"widths": sorted(widths)}, compute)


def loss_surface(catalog_json, index, config, directions="soft", other=None, size=41,
                 span=None):
    """Loss on a plane through fixed point ``index``.

    Parameters
    ----------
    directions : {"soft", "flat", "segment"}
        The two softest Hessian eigenvectors; the flattest one and the softest
        other; or the segment towards fixed point ``other`` and the softest
        direction orthogonal to it.

    Returns
    -------
    dict with ``a`` (size,), ``b`` (size,), ``loss`` (size, size), ``labels``.
    """
    from ..maths.kernels import evaluate
    from ..maths.teachers import teacher_vectors

    points = catalog_json["fixed_points"]
    W = np.array(points[index]["students"])
    K, n = W.shape
    V = teacher_vectors(config.teacher.P, n)
    H = evaluate(W, V, 2).hessian[0].reshape(K * n, K * n)
    values, vectors = np.linalg.eigh(0.5 * (H + H.T))
    scale = np.sqrt(np.mean(np.sum(V * V, axis=1)))
    if directions == "segment" and other is not None and other != index:
        target = np.array(points[other]["students"])
        d1 = (target - W).ravel()
        length = np.linalg.norm(d1)
        d1 /= length
        rest = vectors - np.outer(d1, d1 @ vectors)
        d2 = rest[:, np.argmin(values)]
        d2 /= np.linalg.norm(d2)
        a = np.linspace(-0.25, 1.25, size) * length
        b = np.linspace(-1, 1, size) * (span or 0.5 * scale)
        labels = (f"towards fixed point {other}", "softest orthogonal direction")
    else:
        order = np.argsort(np.abs(values)) if directions == "flat" else np.argsort(values)
        d1, d2 = vectors[:, order[0]], vectors[:, order[1]]
        a = b = np.linspace(-1, 1, size) * (span or 0.5 * scale)
        names = ("flattest", "next") if directions == "flat" else ("softest", "second softest")
        labels = tuple(f"{nm} direction (eigenvalue {values[o]:.3g})"
                       for nm, o in zip(names, order[:2]))
    grid = (W.ravel()[None, None, :] + a[:, None, None] * d1[None, None, :]
            + b[None, :, None] * d2[None, None, :])
    loss = evaluate(grid.reshape(size * size, K, n), V, 0).loss.reshape(size, size)
    return {"a": a.tolist(), "b": b.tolist(), "loss": np.maximum(loss, 0).tolist(),
            "labels": list(labels)}
