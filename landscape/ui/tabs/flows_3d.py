"""Flows 3D: every start's gradient flow at once, coloured by where it ends."""
from __future__ import annotations

import threading
from collections import OrderedDict

from dash import Input, Output, State, dcc, html, no_update

from ... import figures
from ...running import service
from .. import state
from ..common import REQUEST_SECONDS, reason_in_figures
from ..components import graph

TAB = "flows-3d"
# Built figures (plotly JSON, 1.5 MB at 1000 starts) kept by this process: reading the
# cached results back and building the animated figure takes 0.1-0.3 s (1000 starts).
BUILT_FIGURES = 8
_BUILT = OrderedDict()
_BUILT_LOCK = threading.Lock()
DEFAULT_AXES = state.DEFAULT_AXES


def layout():
    return html.Div(id="view-flows-3d", className="view", children=[
        html.Div(className="row", children=[
            item for a, v in zip("xyz", DEFAULT_AXES)
            for item in (html.Label(f"{a} axis", htmlFor=f"axis-{a}"),
                         dcc.Dropdown(id=f"axis-{a}", clearable=False, value=v,
                                      style={"width": "14rem"}))]),
        dcc.Loading(graph("flows-3d-graph")),
    ])


def axis_options(raw, search=""):
    """The axes' options for these controls, and the URL's axes where they are among them."""
    if not raw:
        return [list(figures.AXES)] * 3 + list(DEFAULT_AXES)
    config = state.catalog_config(raw)
    options = figures.axis_options(config.students, config.teachers)
    wanted = state.from_query(search)
    values = [wanted[f"axis-{a}"] if wanted[f"axis-{a}"] in options else default
              for a, default in zip("xyz", DEFAULT_AXES)]
    return [options] * 3 + values


def show_flows_3d(context, raw, tab, x, y, z, lecture=False):
    if tab != TAB:
        return no_update
    if not raw:
        return figures.empty_figure("the catalog is being computed (progress above)",
                                    lecture=lecture)
    config = state.catalog_config(raw)
    axes = tuple(a or default for a, default in zip((x, y, z), DEFAULT_AXES))
    key = (service.cache_key("trajectories", config.to_dict()), axes, bool(lecture))
    with _BUILT_LOCK:
        if key in _BUILT:
            _BUILT.move_to_end(key)
            return _BUILT[key]
    # The trajectories start from the cached catalog (the catalog job put it there);
    # this request never computes the catalog itself.
    catalog = context.catalog(raw)
    traj = service.trajectories_result(config, context.cache, catalog=catalog,
                                       progress=service.time_budget(REQUEST_SECONDS),
                                       executor=context.executor)
    figure = figures.trajectories_figure(traj, catalog, axes, lecture=lecture).to_dict()
    with _BUILT_LOCK:
        _BUILT[key] = figure
        while len(_BUILT) > BUILT_FIGURES:
            _BUILT.popitem(last=False)
    return figure


def register(app, context):
    app.callback([Output(f"axis-{a}", "options") for a in "xyz"]
                 + [Output(f"axis-{a}", "value") for a in "xyz"],
                 Input("config", "data"), State("url", "search"))(axis_options)
    app.callback(Output("flows-3d-graph", "figure"),
                 Input("catalog-ready", "data"), Input("tab", "value"),
                 [Input(f"axis-{a}", "value") for a in "xyz"], Input("lecture", "data"))(
        reason_in_figures("figure")(lambda raw, tab, x, y, z, lecture: show_flows_3d(
            context, raw, tab, x, y, z, lecture)))
