"""Fill the dashboard's result cache ahead of a lecture: `python -m landscape precompute`.

For each view (a preset or a URL query) it computes what the dashboard shows: the
catalog, the 3D trajectories, the 2D flow of start 0, the families and the hierarchy,
with the same parameters and cache keys as the dashboard, into the cache the
dashboard uses (the same environment: LANDSCAPE_CACHE_DIR or REDIS_URL).
"""
from __future__ import annotations

import time

from ..running import service
from ..errors import ConfigError, FamilyError
from ..methods.families import teacher_pattern
from ..settings import from_env, secret_key
from . import backends, lectures, state


def result_cache(settings):
    """The dashboard's result cache, outside the dashboard (same store, same key)."""
    return backends.result_store(settings, secret_key(settings))


def views(presets=(), queries=(), lecture_names=()):
    """(name, control values) of each view asked for (presets, URL queries, every step of
    the named lectures); default: every preset but the seed paper's experiment."""
    if not presets and not queries and not lecture_names:
        presets = state.LIGHT_PRESETS
    out = []
    for name in presets:
        if name not in state.PRESETS:
            raise ConfigError(f"unknown preset {name!r}; presets: " + "; ".join(state.PRESETS))
        out.append((name, state.DEFAULTS | state.PRESETS[name]))
    for query in queries:
        out.append((query, state.from_query(query)))
    for name in lecture_names:
        for index, step in enumerate(lectures.load(name)["steps"]):
            out.append((f"{name} step {index + 1}", state.from_query(step["view"])))
    return out


def precompute_view(values, cache, executor=None, hierarchy=True, report=None):
    """Compute and cache every result the dashboard shows for ``values``.

    Returns {"catalog": seconds, ...} (near zero for what was cached already).
    """
    report = report or (lambda text: None)
    config = state.catalog_config(values)
    flow = state.flow_config(values, time=state.FLOW_VIEW["time"], start=0)
    if flow.lr > 0:        # the Flows 2D view overlays the simulation for SGD
        flow = state.flow_config(values, time=state.FLOW_VIEW["time"], start=0,
                                 simulate=state.FLOW_VIEW["simulate"])
    steps = [
        ("catalog", lambda: service.catalog_result(
            config, cache, executor=executor,
            progress=lambda done, total, stage: report(f"catalog {done}/{total} {stage}"))),
        ("trajectories", lambda: service.trajectories_result(config, cache,
                                                              executor=executor)),
        ("flow", lambda: service.flow_result(flow, cache)),
    ]
    try:
        teacher_pattern(config.teacher.P)
        steps.append(("families", lambda: service.families_result(
            config.teacher, state.FAMILY_DIM, state.family_widths(config), state.FAMILY_K1,
            cache)))
    except FamilyError:        # not a permutation-symmetric teacher: no Families view
        pass
    if hierarchy:
        widths = state.hierarchy_widths(values.get("widths", ""), config)
        steps.append(("hierarchy", lambda: service.hierarchy_result(
            config, widths, cache, executor=executor,
            progress=lambda done, total, stage: report(f"{stage}: {done}/{total}"))))
    seconds = {}
    for name, compute in steps:
        report(name)
        began = time.perf_counter()
        compute()
        seconds[name] = round(time.perf_counter() - began, 3)
    return seconds


def run(presets=(), queries=(), executor=None, hierarchy=True, report=None, lecture_names=()):
    """Precompute the views into the configured cache; returns a JSON-able summary."""
    settings = from_env()
    cache = result_cache(settings)
    done = []
    for name, values in views(presets, queries, lecture_names):
        seconds = precompute_view(values, cache, executor, hierarchy,
                                  report=(lambda text, name=name: report(f"{name}: {text}"))
                                  if report else None)
        done.append({"view": name, "query": state.to_query(values), "seconds": seconds})
    where = settings.redis_url or settings.cache_dir
    return {"cache": where, "views": done}
