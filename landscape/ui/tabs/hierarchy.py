"""Hierarchy: catalogs at several widths linked by function-preserving embeddings."""
from __future__ import annotations

from dash import Input, Output, State, dcc, html, no_update

from ... import figures
from ...errors import ConfigError
from ...running import service
from .. import state
from ..components import graph

TAB = "hierarchy"
BEFORE = ("Press “compute the hierarchy”: a catalog at each width (default M, M + 1, M + 2),<br>"
          "then every minimum and index-1 saddle of one width split or padded into the next<br>"
          "and descended: which minima drain where as students are added.<br>"
          "It runs as a job with progress (about a minute for K = 8 to 10).")


def layout():
    return html.Div(id="view-hierarchy", className="view", children=[
        dcc.Store(id="hierarchy-ready"),
        html.Div(className="row", children=[
            html.Label("widths", htmlFor="hierarchy-widths"),
            dcc.Input(id="hierarchy-widths", value="", type="text", debounce=True,
                      placeholder="M M+1 M+2", style={"width": "9rem"}),
            html.Button("compute the hierarchy", id="hierarchy-button", n_clicks=0),
            html.Span(id="hierarchy-status"),
        ]),
        graph("hierarchy-graph"),
    ])


def compute_hierarchy(context, raw, text, report):
    """The hierarchy job: computes (or finds cached) the hierarchy of the controls and
    widths; returns (what ``show_hierarchy`` needs, a status line)."""
    if not raw:
        return None, "fix the controls first"
    config = state.catalog_config(raw)
    try:
        widths = state.hierarchy_widths(text, config)
    except ConfigError as exc:
        return None, str(exc)
    service.hierarchy_result(
        config, widths, context.cache, executor=context.executor,
        progress=service.time_budget(context.job_seconds,
                                     lambda done, total, stage: report(f"{stage}: {done}/{total}")))
    return {"raw": raw, "widths": text or ""}, f"widths {widths}"


def show_hierarchy(context, ready, raw, text, tab):
    """The hierarchy figure of the controls and widths if it is cached (a job or
    ``precompute`` put it there); else what the button will do. Never computes."""
    if tab != TAB:
        return no_update
    if not raw:
        return figures.empty_figure("fix the controls first")
    config = state.catalog_config(raw)
    try:
        widths = state.hierarchy_widths(text, config)
    except ConfigError as exc:
        return figures.empty_figure(str(exc))
    result = service.hierarchy_result(config, widths, context.cache, compute=False)
    if result is None:
        return figures.empty_figure(BEFORE)
    return figures.hierarchy_figure(result)


def register(app, context):
    # A background job: several catalogs.
    @app.callback(
        Output("hierarchy-ready", "data"), Output("hierarchy-status", "children"),
        Input("hierarchy-button", "n_clicks"), State("config", "data"),
        State("hierarchy-widths", "value"),
        background=True, manager=context.manager,
        progress=[Output("hierarchy-status", "children")],
        running=[(Output("hierarchy-button", "disabled"), True, False)],
        prevent_initial_call=True)
    def hierarchy_job(set_progress, _, raw, text):
        return compute_hierarchy(context, raw, text, lambda line: set_progress((line,)))

    app.callback(Output("hierarchy-graph", "figure"),
                 Input("hierarchy-ready", "data"), Input("config", "data"),
                 Input("hierarchy-widths", "value"), Input("tab", "value"))(
        lambda ready, raw, text, tab: show_hierarchy(context, ready, raw, text, tab))
