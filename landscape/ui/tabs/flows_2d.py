"""Flows 2D: the overlaps and the loss along one trajectory (ODE and SGD simulation)."""
from __future__ import annotations

from dash import Input, Output, State, dcc, html, no_update

from ... import figures
from ...errors import ConfigError
from ...running import service
from .. import state
from ..common import reason_in_figures
from ..components import graph

TAB = "flows-2d"


def layout():
    def field(cid, label, width):
        return [html.Label(label, htmlFor=cid),
                dcc.Input(id=cid, value=state.FLOW_VIEW[cid.split("-")[1]], type="text",
                          debounce=True, style={"width": width})]

    return html.Div(id="view-flows-2d", className="view", children=[
        html.Div(className="row", children=[
            *field("flow-start", "start", "4rem"),
            *field("flow-time", "final time T", "6rem"),
            *field("flow-simulate", "simulate in dimension (lr > 0)", "6rem"),
        ]),
        html.Div(className="row", children=[
            html.Label("show", htmlFor="flow-mode"),
            dcc.RadioItems(id="flow-mode", value="all", inline=True,
                           options=[{"label": " all entries ", "value": "all"},
                                    {"label": " the matched overlap per student",
                                     "value": "matched"}]),
        ]),
        dcc.Loading(graph("flow-graph")),
        html.Div(className="row", children=[
            html.Label("time for the heatmaps", htmlFor="flow-slider"),
            html.Div(dcc.Slider(id="flow-slider", min=0, max=100, step=1, value=100,
                                marks=None, tooltip={"placement": "bottom"}),
                     style={"width": "30rem"}),
        ]),
        html.Div(className="row", children=[
            graph("flow-heatmap-q", className="half"),
            graph("flow-heatmap-m", className="half"),
        ]),
    ])


def view_flow_config(raw, time, simulate, start):
    """The view's FlowConfig: simulate only for SGD (lr > 0)."""
    lr = float(raw["lr"])
    return state.flow_config(raw, time=time, start=start or 0,
                             simulate=simulate if lr > 0 and simulate else None)


def show_flow(context, raw, time, simulate, start, tab, mode="all", lecture=False):
    """The flow figure and the slider's range and marks (in units of t)."""
    if tab != TAB:
        return no_update, no_update, no_update
    if not raw:
        return figures.empty_figure("fix the controls first", lecture=lecture), 100, None
    try:
        config = view_flow_config(raw, time, simulate, start)
    except (ConfigError, ValueError) as exc:
        return figures.empty_figure(str(exc), lecture=lecture), 100, None
    flow = service.flow_result(config, context.cache)
    last = len(flow["t"]) - 1
    marks = {i: f"{flow['t'][i]:.3g}" for i in range(0, last + 1, max(1, last // 5))}
    marks[last] = f"{flow['t'][last]:.3g}"
    return (figures.flow_figure(flow, mode=mode or "all", max_lines=60, lecture=lecture),
            last, marks)


def show_flow_heatmaps(context, index, raw, time, simulate, start, lecture=False):
    """Q and M at the slider's time, on colour scales fixed over the whole flow."""
    empty = figures.empty_figure("move the slider to see Q and M at that time",
                                 lecture=lecture)
    if not raw:
        return empty, empty
    try:
        config = view_flow_config(raw, time, simulate, start)
    except (ConfigError, ValueError):
        return empty, empty
    flow = service.flow_result(config, context.cache)
    i = min(int(index or 0), len(flow["t"]) - 1)
    return (figures.flow_heatmap_figure(flow, i, "Q", lecture=lecture),
            figures.flow_heatmap_figure(flow, i, "M", lecture=lecture))


def register(app, context):
    app.callback(Output("flow-graph", "figure"), Output("flow-slider", "max"),
                 Output("flow-slider", "marks"),
                 Input("config", "data"), Input("flow-time", "value"),
                 Input("flow-simulate", "value"), Input("flow-start", "value"),
                 Input("tab", "value"), Input("flow-mode", "value"), Input("lecture", "data"))(
        reason_in_figures("figure", "max", "marks")(lambda raw, time, simulate, start, tab, mode, lecture: show_flow(
            context, raw, time, simulate, start, tab, mode, lecture)))
    app.callback(Output("flow-heatmap-q", "figure"), Output("flow-heatmap-m", "figure"),
                 Input("flow-slider", "value"), Input("flow-graph", "figure"),
                 State("config", "data"), State("flow-time", "value"),
                 State("flow-simulate", "value"), State("flow-start", "value"),
                 State("lecture", "data"))(
        reason_in_figures("figure", "figure")(lambda index, _, raw, time, simulate, start, lecture: show_flow_heatmaps(
            context, index, raw, time, simulate, start, lecture)))
