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
from ..methods import surfaces
from ..methods.catalog import Catalog, find_fixed_points
from ..methods.families import families_over_widths, teacher_pattern
from ..methods.flows import run_flow
from ..methods.hierarchy import build_hierarchy
from ..methods.paths import find_connections
from ..methods.trajectories import catalog_trajectories
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
    # Q, M and loss: ``trajectories.array_to_json`` (``array_from_json`` also reads lists)
    "trajectories": {"t": list, "Q": (dict, list), "M": (dict, list), "loss": (dict, list),
                     "label": list},
    "flow": {"t": list, "Q": list, "M": list, "loss": list},
    "families": {"rows": list},
    "hierarchy": {"levels": list, "links": list},
    "paths": {"minima": list, "connections": list, "tree": dict},
    "path-plane": {"a": list, "b": list, "loss": list, "path": dict},
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


def _lookup(cache, kind, key, payload):
    """The signed, well-formed entry under ``key``, or None (a miss)."""
    if cache is None:
        return None
    try:
        blob = cache.get(key)
        if blob is None:
            return None
        value = store.decode_entry(store.secret_of(cache), key, payload, blob)
        problem = _shape_problem(kind, value)
        if problem is None:
            return value
        _log_once(key, "cache entry %s has the wrong shape (%s); recomputing", problem)
    except Exception as exc:   # corrupt entry or unreachable backend: recompute
        _log_once(key, "cache entry %s unusable (%s: %s); recomputing", type(exc).__name__, exc)
    return None


def _cached(cache, kind, payload, compute):
    """The result of ``compute()`` for (kind, payload), from ``cache`` when it holds a
    signed, well-formed entry for exactly this key and config; else computed and stored
    (or None when ``compute`` is None: only what is cached).

    Entries are JSON signed with the cache's secret (``store.encode_entry``): nothing read
    from the cache is unpickled, and an entry that is unreadable, unsigned, edited or of
    the wrong shape is a miss, logged once.
    """
    key = cache_key(kind, payload)
    value = _lookup(cache, kind, key, payload)
    if value is not None or compute is None:
        return value
    secret = store.secret_of(cache) if cache is not None else None
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


def catalog_result(config, cache=None, progress=None, executor=None, compute=True):
    """The catalog as JSON (``Catalog.to_json``), cached. Raises ComputationLimit when
    the search found no fixed point (``check_catalog``). With ``compute=False`` only
    what is cached (or None)."""
    def run():
        out = find_fixed_points(config, progress=progress, executor=executor).to_json()
        check_catalog(out)
        return out

    return _cached(cache, "catalog", config.to_dict(), run if compute else None)


def cached_catalog(config, cache):
    """The catalog of ``config`` if it is cached, else None (never computes)."""
    return _cached(cache, "catalog", config.to_dict(), None)


def trajectories_result(config, cache=None, points=60, progress=None, executor=None,
                        catalog=None):
    """Flows from every catalog start (``StartTrajectories.to_json``: float32 arrays as
    base64, read with ``trajectories.array_from_json``), labelled by endpoint; computed
    in chunks on ``executor``, as the catalog is.

    ``catalog``: the catalog JSON of ``config``; by default read back from the cache
    (computed first if it is not there)."""
    def compute():
        found = catalog if catalog is not None else catalog_result(config, cache, progress,
                                                                   executor)
        return catalog_trajectories(Catalog.from_json(found), points=points,
                                    executor=executor, progress=progress).to_json()

    return _cached(cache, "trajectories", config.to_dict() | {"points": points}, compute)


def flow_result(config, cache=None):
    """ODE trajectory (and simulation) of a FlowConfig as JSON."""
    def compute():
        return run_flow(config).to_json()

    return _cached(cache, "flow", config.to_dict(), compute)


def families_result(setup, dim, widths, k1s, cache=None):
    """Family members over widths K = M: {"rows": [{"students", k1, loss, kind, ...}]}."""
    def compute():
        members = families_over_widths(list(widths), teacher_pattern(setup.P), dim, list(k1s))
        return {"rows": [{"students": K, **m.to_json()} for K, m in members]}

    payload = {"teacher": setup.to_json(), "dim": inf_or_int(dim),
               "widths": list(widths), "k1": list(k1s)}
    return _cached(cache, "families", payload, compute)


def hierarchy_result(config, widths, cache=None, progress=None, executor=None,
                     compute=True):
    """The hierarchy as JSON, cached; with ``compute=False`` only what is cached (or None)."""
    def run():
        return build_hierarchy(config, widths, progress=progress, executor=executor).to_json()

    return _cached(cache, "hierarchy", config.to_dict() | {"widths": sorted(widths)},
                   run if compute else None)


def loss_surface(catalog_json, index, config, directions="soft", other=None, size=41,
                 span=None):
    """``surfaces.loss_surface`` at catalog entry ``index`` (``other``: towards that entry)."""
    points = catalog_json["fixed_points"]
    target = (np.array(points[other]["students"]) if other is not None and other != index
              else None)
    return surfaces.loss_surface(np.array(points[index]["students"]), config.teacher.P,
                                 directions, target, size, span,
                                 target_label=f"fixed point {other}")
def paths_result(config, cache=None, progress=None, executor=None):
    """Connections of a catalog's minima as JSON (``Connectivity.to_json``), cached.

    Parameters
    ----------
    config : PathsConfig
    progress : callable(done, total, stage) or None
        Told the catalog's progress (read from its cache entry when there is one) and
        then after each pair of minima.
    """
    def compute():
        began = time.perf_counter()
        catalog = catalog_result(config.catalog, cache, progress, executor)
        out = find_connections(config, catalog, progress=progress).to_json()
        out["seconds"] = round(time.perf_counter() - began, 4)   # catalog included
        return out

    return _cached(cache, "paths", config.to_dict(), compute)


def cached_paths(config, cache):
    """The connections of ``config`` if they are cached, else None (never computes)."""
    return _cached(cache, "paths", config.to_dict(), None)


def path_plane(result, index, config, size=41, margin=0.25, cache=None):
    """``surfaces.path_plane`` of connection ``index`` of a ``paths_result``, cached: a
    pure function of the connections of ``config``, which the key names."""
    def compute():
        return surfaces.path_plane(result["connections"][index], config.catalog.teacher.P,
                                   size, margin)

    payload = config.to_dict() | {"connection": index, "size": size, "margin": margin}
    return _cached(cache, "path-plane", payload, compute)
