"""The dashboard's state: controls, their URL form, presets and validation.

Each control's component id equals its URL query parameter and CLI option name.
"""
from __future__ import annotations

import math

from urllib.parse import parse_qsl, urlencode

from ..config import make_catalog_config, make_flow_config
from ..errors import ConfigError

# Interactive limits: a shared server must answer promptly.
UI_MAX_STUDENTS = 20
UI_MAX_TEACHERS = 20
UI_MAX_STARTS = 2000
UI_MAX_TIME = 500.0
UI_MAX_POINTS = 400

CONTROLS = [  # (id = URL parameter = CLI option, label, default)
    ("students", "students K", "6"),
    ("teachers", "teachers M", "6"),
    ("teacher", "teacher", "orthonormal"),
    ("dim", "input dimension d", "6"),
    ("lr", "learning rate (0 = gradient flow)", "0"),
    ("starts", "random starts", "200"),
    ("seed", "seed", "0"),
    ("init-dim", "initial dimension (d = ∞)", "1000"),
]
CONTROL_IDS = [cid for cid, _, _ in CONTROLS]
DEFAULTS = {cid: default for cid, _, default in CONTROLS}
# What the views compute besides the catalog (precompute fills the same results).
FLOW_VIEW = {"time": "50", "simulate": "500", "start": "0"}
DEFAULT_AXES = ("mean diag Q", "max M", "loss")
SURFACE_DIRECTIONS = {"soft": "two softest eigenvectors", "flat": "flattest directions",
                      "segment": "segment to another point"}
# The tabs' own fields kept in the URL (component id = URL key), left out of it at their
# defaults.
VIEW_FIELDS = {"flow-start": FLOW_VIEW["start"], "flow-time": FLOW_VIEW["time"],
               "flow-simulate": FLOW_VIEW["simulate"], "axis-x": DEFAULT_AXES[0],
               "axis-y": DEFAULT_AXES[1], "axis-z": DEFAULT_AXES[2],
               "surface-directions": "soft", "surface-other": ""}
# View state kept in the URL besides the controls.
# "lecture" is 0, 1 (lecture mode: large type, no controls) or a storyline's name.
VIEW_DEFAULTS = {"tab": "fixed-points", "point": "0", "lecture": "0", "step": "0", "widths": "",
                 "connection": "0", "shares": "linear", "flow-mode": "all", "compare": "",
                 "ends-at": ""} | VIEW_FIELDS
# Left out of the URL when they hold their default.
QUIET_IN_URL = {"widths", "compare", "ends-at", *VIEW_FIELDS}
# SGD's learning rate in "a start that ends at #i" when the controls ask for gradient flow
END_START_LR = "0.2"
FAMILY_MAX_WIDTH = 25
FAMILY_K1 = range(0, 5)
MAX_HIERARCHY_WIDTHS = 5
TABS = [("fixed-points", "Fixed points"), ("flows-2d", "Flows 2D"), ("flows-3d", "Flows 3D"),
        ("families", "Families"), ("hierarchy", "Hierarchy"), ("connections", "Connections"),
        ("theory", "Theory")]

PAPER_PRESET = "the seed paper's experiment: M = 17, K = 17, 18, 19 (d = ∞)"
# Each preset sets the controls and opens the tab that makes its point.
PRESETS = {
    "first spurious minimum (K = M = 6, d = 6)": dict(students="6", teachers="6", dim="6",
                                                      starts="1000", tab="fixed-points"),
    "K = M = 8, d = 8": dict(students="8", teachers="8", dim="8", starts="200",
                             tab="fixed-points"),
    "over-parameterised K = M + 1 = 9": dict(students="9", teachers="8", dim="inf",
                                             starts="200", tab="fixed-points"),
    "correlated teacher (rho = 0.3), K = M = 6": dict(students="6", teachers="6",
                                                      teacher="correlated:0.3", dim="inf",
                                                      tab="fixed-points"),
    "flows of every start, K = M = 8, d = ∞": dict(students="8", teachers="8", dim="inf",
                                                   tab="flows-3d"),
    "families of spurious minima, K = M = 8": dict(students="8", teachers="8", dim="inf",
                                                   tab="families"),
    "width hierarchy K = 8, 9, 10 (d = 8)": dict(students="8", teachers="8", dim="8",
                                                 tab="hierarchy", widths="8 9 10"),
    "one-pass SGD, lr = 0.5, K = M = 3": dict(students="3", teachers="3", dim="inf", lr="0.5",
                                             starts="100", tab="flows-2d"),
    PAPER_PRESET: dict(students="17", teachers="17", dim="inf", starts="2000",
                       tab="hierarchy", widths="17 18 19"),
}
# Presets precompute fills when none is named: all but the seed paper's experiment,
# which takes tens of minutes and is precomputed by name.
LIGHT_PRESETS = [name for name in PRESETS if name != PAPER_PRESET]


def with_preset(values, name):
    """The view of preset ``name`` from view ``values``: a fresh view (controls and view
    state at their defaults, then the preset's), in lecture mode if ``values`` was."""
    kept = {key: values[key] for key in ("lecture", "step") if key in values}
    return DEFAULTS | VIEW_DEFAULTS | PRESETS[name] | kept


def from_query(search):
    """Control and view values from a URL query string (unknown keys ignored)."""
    values = dict(DEFAULTS) | dict(VIEW_DEFAULTS)
    for key, value in parse_qsl((search or "").lstrip("?"), keep_blank_values=True):
        if key in values:
            values[key] = value[:200]          # bounded: a URL is user input
    return values


def to_query(values):
    return "?" + urlencode({k: values[k] for k in CONTROL_IDS + list(VIEW_DEFAULTS)
                            if k in values and values[k] is not None
                            and not (k in QUIET_IN_URL and values[k] == VIEW_DEFAULTS[k])})


def catalog_config(values):
    """Validated CatalogConfig from control values (raises ConfigError)."""
    # Files are refused by the parser itself (allow_files=False), whatever the spelling.
    teacher = str(values.get("teacher", "")).strip()
    return make_catalog_config(
        students=values["students"], teachers=values["teachers"], teacher=teacher,
        dim=values["dim"], starts=values["starts"], seed=values["seed"],
        init_dim=values["init-dim"], max_students=UI_MAX_STUDENTS,
        max_teachers=UI_MAX_TEACHERS, max_starts=UI_MAX_STARTS, allow_files=False)


def flow_config(values, time, points=100, simulate=None, runs=8, start=0):
    """Validated FlowConfig for the 2D flow view: catalog start ``start``."""
    config = catalog_config(values)          # same checks and limits
    if float(time) > UI_MAX_TIME:
        raise ConfigError(f"time must be at most {UI_MAX_TIME:g} here")
    return make_flow_config(
        students=config.students, teachers=config.teachers, teacher=config.teacher,
        dim=values["dim"], lr=values["lr"], time=time, points=min(points, UI_MAX_POINTS),
        seed=config.seed, init_dim=config.init_dim, simulate=simulate, runs=runs,
        start=start, max_students=UI_MAX_STUDENTS, max_teachers=UI_MAX_TEACHERS,
        allow_files=False)


# The Families view draws every family at d = ∞ (a family at width K needs d ≥ K).
FAMILY_DIM = math.inf


def family_widths(config):
    """Widths K = M of the Families view: 2 up to 25, at d = ∞ whatever the catalog's d
    (a family at width K needs d ≥ K; d = ∞ is the limit the families are known in)."""
    return list(range(2, FAMILY_MAX_WIDTH + 1))


def hierarchy_widths(text, config):
    """Widths of the Hierarchy view from its text box ("" means M, M+1, M+2)."""
    M = config.teachers
    text = (text or "").replace(",", " ").strip()
    if not text:
        widths = [M, M + 1, M + 2]
    else:
        try:
            widths = sorted({int(word) for word in text.split()})
        except ValueError:
            raise ConfigError("widths must be whole numbers, e.g. 6 7 8") from None
        if len(widths) > MAX_HIERARCHY_WIDTHS:
            raise ConfigError(f"at most {MAX_HIERARCHY_WIDTHS} widths here")
    if widths[0] < 1 or widths[-1] > UI_MAX_STUDENTS:
        raise ConfigError(f"widths must be between 1 and {UI_MAX_STUDENTS} here")
    return widths


# ``compare=K=9`` (or ``teacher=correlated:0.3``, ``K=9 M=9``, ...): the second view of a
# side-by-side comparison is the first with these changes.
COMPARE_NAMES = {"K": "students", "M": "teachers", "d": "dim", "teacher": "teacher",
                 "starts": "starts", "seed": "seed"}


def compare_controls(text, values):
    """Control values of the comparison ``text`` applied to ``values`` (None if ``text``
    is empty; ConfigError if it is not ``name=value`` pairs or makes an invalid view)."""
    words = (text or "").replace(",", " ").split()
    if not words:
        return None
    changed = dict(values)
    for word in words:
        name, sep, value = word.partition("=")
        if not sep or name not in COMPARE_NAMES or not value:
            raise ConfigError(f"compare with name=value changes, names {', '.join(COMPARE_NAMES)}"
                              f" (e.g. K=9 or teacher=correlated:0.3), not {word[:30]!r}")
        changed[COMPARE_NAMES[name]] = value
    catalog_config(changed)
    return {cid: changed[cid] for cid in CONTROL_IDS}


# The "share against K" figure: K = M = d over these widths, the other controls as set.
ACROSS_WIDTHS = range(6, 13)


def across_controls(values):
    """[(width, control values at K = M = d = width)] for the widths of ACROSS_WIDTHS."""
    base = {cid: values[cid] for cid in CONTROL_IDS}
    return [(w, base | {"students": str(w), "teachers": str(w), "dim": str(w)})
            for w in ACROSS_WIDTHS]
