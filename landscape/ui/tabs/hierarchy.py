"""Hierarchy: catalogs at several widths linked by function-preserving embeddings."""
from __future__ import annotations

from dash import Input, Output, State, dcc, html, no_update

from ... import figures
from ...errors import ConfigError
from ...running import service
from .. import state
from ..common import reason_in_figures
from ..components import graph

TAB = "hierarchy"


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
        html.Div(className="row", children=[
            graph("hierarchy-graph", className="half"),
            # the view of ``compare=`` (e.g. teacher=correlated:0.3) next to it
            graph("hierarchy-compare-graph", className="half", style={"display": "none"}),
        ]),
    ])


def compute_hierarchy(context, raw, text, report, compare=None):
    """The hierarchy job: computes (or finds cached) the hierarchy of the controls and
    widths (and of the compared view's controls ``compare``, if any); returns (what
    ``show_hierarchy`` needs, a status line)."""
    if not raw:
        return None, "fix the controls first"
    views = [("", raw)] + ([("compared view ", compare)] if compare else [])
    try:
        plans = [(name, state.catalog_config(values)) for name, values in views]
        plans = [(name, config, state.hierarchy_widths(text, config)) for name, config in plans]
    except ConfigError as exc:
        return None, str(exc)
    progress = service.time_budget(context.job_seconds)
    for name, config, widths in plans:
        service.hierarchy_result(
            config, widths, context.cache, executor=context.executor,
            progress=lambda done, total, stage, name=name: (
                report(f"{name}{stage}: {done}/{total}"), progress()))
    return {"raw": raw, "widths": text or ""}, f"widths {plans[0][2]}"


def estimate(config, widths):
    """A rough time for the hierarchy job, from bench_padding's hierarchy rows (about 6x
    the K = M catalog; a catalog costs about 0.5 ms per start and student squared)."""
    seconds = 6 * 5e-4 * config.starts * sum(K * K for K in widths) / len(widths)
    return ("under a minute" if seconds < 60 else
            f"about {max(1, round(seconds / 60))} minute{'s' if seconds >= 90 else ''}")


def view_title(name, raw):
    return f"{name}: M = {raw['teachers']}, {raw.get('teacher', 'orthonormal')} teacher"


def show_hierarchy(context, ready, raw, text, tab, lecture=False, compact=False, compare=None):
    """The hierarchy figure of the controls and widths if it is cached (a job or
    ``precompute`` put it there); else what the button will do. Never computes."""
    if tab != TAB:
        return no_update
    if not raw:
        return figures.empty_figure("fix the controls first", lecture=lecture)
    config = state.catalog_config(raw)
    try:
        widths = state.hierarchy_widths(text, config)
    except ConfigError as exc:
        return figures.empty_figure(str(exc), lecture=lecture)
    result = service.hierarchy_result(config, widths, context.cache, compute=False)
    if result is None:
        return figures.hierarchy_intro_figure(widths, config.starts,
                                              estimate(config, widths), lecture=lecture,
                                              wrap=34 if compact or compare else 70)
    if compare:               # half a page, next to the compared view
        figure = figures.hierarchy_figure(result, lecture=lecture, compact=True)
        figure.layout.title.text = view_title("this view", raw)
        return figure
    return figures.hierarchy_figure(result, lecture=lecture, compact=compact)


def show_hierarchy_compare(context, compare, text, tab, lecture=False):
    """The compared view's hierarchy (figure, style): hidden without ``compare=``."""
    if not compare:
        return no_update, {"display": "none"}
    if tab != TAB:
        return no_update, {}
    figure = show_hierarchy(context, None, compare, text, tab, lecture, compact=True)
    figure.layout.title.text = view_title("compared with", compare)
    return figure, {}


def register(app, context):
    # A background job: several catalogs.
    @app.callback(
        Output("hierarchy-ready", "data"), Output("hierarchy-status", "children"),
        Input("hierarchy-button", "n_clicks"), State("config", "data"),
        State("hierarchy-widths", "value"), State("compare-config", "data"),
        background=True, manager=context.manager,
        progress=[Output("hierarchy-status", "children")],
        running=[(Output("hierarchy-button", "disabled"), True, False)],
        prevent_initial_call=True)
    def hierarchy_job(set_progress, _, raw, text, compare):
        return compute_hierarchy(context, raw, text, lambda line: set_progress((line,)),
                                 compare)

    app.callback(Output("hierarchy-graph", "figure"),
                 Input("hierarchy-ready", "data"), Input("config", "data"),
                 Input("hierarchy-widths", "value"), Input("tab", "value"),
                 Input("lecture", "data"), Input("compare-config", "data"))(
        reason_in_figures("figure")(
            lambda ready, raw, text, tab, lecture, compare: show_hierarchy(
                context, ready, raw, text, tab, lecture, compare=compare)))
    app.callback(Output("hierarchy-compare-graph", "figure"),
                 Output("hierarchy-compare-graph", "style"),
                 Input("hierarchy-ready", "data"), Input("compare-config", "data"),
                 Input("hierarchy-widths", "value"), Input("tab", "value"),
                 Input("lecture", "data"))(
        reason_in_figures("figure", "style")(
            lambda ready, compare, text, tab, lecture: show_hierarchy_compare(
                context, compare, text, tab, lecture)))
