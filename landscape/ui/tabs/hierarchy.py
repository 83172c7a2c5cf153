"""Hierarchy: catalogs at several widths linked by function-preserving embeddings."""
from __future__ import annotations

from dash import Input, Output, State, dcc, html

from ... import figures
from ...errors import ConfigError
from ...running import service
from .. import state
from ..components import graph


def layout():
    return html.Div(id="view-hierarchy", className="view", children=[
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
    """The hierarchy figure and a status line; ``report(line)`` tells the progress."""
    if not raw:
        return figures.empty_figure("fix the controls first"), ""
    config = state.catalog_config(raw)
    try:
        widths = state.hierarchy_widths(text, config)
    except ConfigError as exc:
        return figures.empty_figure(str(exc)), str(exc)
    result = service.hierarchy_result(
        config, widths, context.cache, executor=context.executor,
        progress=service.time_budget(context.job_seconds,
                                     lambda done, total, stage: report(f"{stage}: {done}/{total}")))
    return figures.hierarchy_figure(result), f"widths {widths}"


def register(app, context):
    # A background job: several catalogs.
    @app.callback(
        Output("hierarchy-graph", "figure"), Output("hierarchy-status", "children"),
        Input("hierarchy-button", "n_clicks"), State("config", "data"),
        State("hierarchy-widths", "value"),
        background=True, manager=context.manager,
        progress=[Output("hierarchy-status", "children")],
        running=[(Output("hierarchy-button", "disabled"), True, False)],
        prevent_initial_call=True)
    def hierarchy_job(set_progress, _, raw, text):
        return compute_hierarchy(context, raw, text, lambda line: set_progress((line,)))
