"""Storylines for presenting: an ordered list of views with a title and a caption each.

A lecture is a JSON file shipped in ``landscape/ui/lectures/``::

    {"title": "...", "steps": [{"title": "...", "caption": "...", "view": "?students=6&..."}]}

``?lecture=NAME`` opens step 0 of lectures/NAME.json; ``&step=I`` any other.
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

from ..errors import ConfigError
from . import state

FOLDER = Path(__file__).with_name("lectures")
NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")


def names():
    return sorted(path.stem for path in FOLDER.glob("*.json"))


@lru_cache(maxsize=None)
def load(name):
    """The lecture ``name`` (a shipped file only), validated: every step's view is a
    dashboard query whose controls are valid."""
    if not isinstance(name, str) or not NAME.fullmatch(name) or name not in names():
        raise ConfigError(f"unknown lecture {name!r}; lectures: {', '.join(names())}")
    data = json.loads((FOLDER / f"{name}.json").read_text(encoding="utf-8"))
    steps = data.get("steps")
    if not isinstance(data.get("title"), str) or not isinstance(steps, list) or not steps:
        raise ConfigError(f"lecture {name}: needs a title and a list of steps")
    for i, step in enumerate(steps):
        if not all(isinstance(step.get(key), str) for key in ("title", "caption", "view")):
            raise ConfigError(f"lecture {name}, step {i}: needs a title, a caption and a view")
        state.catalog_config(state.from_query(step["view"]))
    return data


def step_query(name, index):
    """The URL query of step ``index`` of lecture ``name``: its view, in lecture mode."""
    step = load(name)["steps"][index]
    values = state.from_query(step["view"]) | {"lecture": name, "step": str(index)}
    return state.to_query(values)


def with_step_view(values):
    """View values with the current lecture step's view applied (unchanged without a
    storyline): a link to a step shows that step whatever else the URL says."""
    where = position(values)
    if where is None:
        return values
    lecture, index = where
    return values | state.from_query(lecture["steps"][index]["view"]) | {
        "lecture": values["lecture"], "step": str(index)}


def position(values):
    """(lecture, step index) of view values, or None when no storyline is open."""
    name = values.get("lecture", "0")
    if name in ("0", "1"):
        return None
    try:
        lecture = load(name)
    except ConfigError:
        return None
    try:
        index = int(values.get("step", "0"))
    except ValueError:
        index = 0
    return lecture, min(max(index, 0), len(lecture["steps"]) - 1)
