"""Flows 2D: the overlaps and the loss along one trajectory (ODE and SGD simulation)."""
from __future__ import annotations

from dash import Input, Output, State, dcc, html, no_update

from ... import figures
from ...errors import ConfigError
from ...running import service
from .. import state
from ..common import REQUEST_SECONDS, reason_in_figures
from ..components import graph

TAB = "flows-2d"
END_SIMULATION_DIM = 200      # "a start that ends at": SGD simulated in at most this d,
END_SIMULATION_RUNS = 4       # with this many runs


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
            # marks in units of t; no number box or tooltip, which would show the index
            html.Div(dcc.Slider(id="flow-slider", min=0, max=100, step=1, value=100,
                                marks=None, allow_direct_input=False),
                     style={"width": "30rem"}),
        ]),
        html.Div(className="row", children=[
            graph("flow-heatmap-q", className="half"),
            graph("flow-heatmap-m", className="half"),
        ]),
        # Gradient flow against SGD from a start chosen by where it ends (``ends-at``).
        html.Div(className="row", children=[
            html.Label("a start that ends at", htmlFor="flow-end"),
            dcc.Dropdown(id="flow-end", placeholder="choose a catalog entry",
                         style={"width": "26rem"}),
        ]),
        dcc.Loading(graph("flow-end-graph")),
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


def show_flow_heatmaps(context, index, raw, time, simulate, start, tab=TAB, lecture=False):
    """Q and M at the slider's time, on colour scales fixed over the whole flow."""
    if tab != TAB:
        return no_update, no_update
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


def end_options(context, raw, search=""):
    """The catalog's entries for "a start that ends at", and the one the URL chose."""
    if not raw:
        return [], None
    points = context.catalog(raw)["fixed_points"]
    options = [{"label": f"#{i}: {p['kind'].replace('_', ' ')}, loss {p['loss']:.4g}",
                "value": str(i)} for i, p in enumerate(points)]
    wanted = state.from_query(search)["ends-at"]
    return options, wanted if any(o["value"] == wanted for o in options) else None


def start_ending_at(context, raw, index):
    """The first catalog start whose gradient flow ends at entry ``index``, or None (the
    labels of the Flows 3D trajectories, cached; computed within the request budget)."""
    traj = service.trajectories_result(state.catalog_config(raw), context.cache,
                                       progress=service.time_budget(REQUEST_SECONDS),
                                       executor=context.executor)
    return next((s for s, label in enumerate(traj["label"]) if label == index), None)


def show_end_start(context, raw, chosen, time, simulate, tab, lecture=False):
    """Gradient flow and SGD from a start that ends at the chosen entry, on one axis."""
    if tab != TAB:
        return no_update
    if chosen in (None, ""):
        return figures.empty_figure(
            "choose a catalog entry above: this shows gradient flow and SGD from a start "
            "whose gradient flow ends there", lecture=lecture)
    if not raw:
        return figures.empty_figure("fix the controls first", lecture=lecture)
    points = context.catalog(raw)["fixed_points"]
    index = int(chosen)
    if not 0 <= index < len(points):
        return figures.empty_figure(f"this catalog has no entry #{index}", lecture=lecture)
    start = start_ending_at(context, raw, index)
    if start is None:
        return figures.empty_figure(
            f"no start of this catalog ends at #{index} (it was found from another end)",
            lecture=lecture)
    lr = raw["lr"] if float(raw["lr"]) > 0 else state.END_START_LR
    try:
        gf = service.flow_result(state.flow_config(raw | {"lr": "0"}, time=time, start=start),
                                 context.cache)
        # SGD runs to the same gradient-flow time: T / lr in its own units
        sgd_time = min(float(time) / float(lr), state.UI_MAX_TIME)
        # a smaller simulation than the flow view's, so that it fits a request
        dim = min(int(simulate), END_SIMULATION_DIM) if simulate else None
        sgd = service.flow_result(state.flow_config(raw | {"lr": lr}, time=f"{sgd_time:g}",
                                                    start=start, simulate=dim,
                                                    runs=END_SIMULATION_RUNS),
                                  context.cache)
    except (ConfigError, ValueError) as exc:
        return figures.empty_figure(str(exc), lecture=lecture)
    return figures.gf_sgd_figure(gf, sgd, points[index], index, start, lecture=lecture)


def register(app, context):
    app.callback(Output("flow-end", "options"), Output("flow-end", "value"),
                 Input("catalog-ready", "data"), State("url", "search"))(
        reason_in_figures("options", "value")(
            lambda raw, search: end_options(context, raw, search)))
    app.callback(Output("flow-end-graph", "figure"),
                 Input("catalog-ready", "data"), Input("flow-end", "value"),
                 Input("flow-time", "value"), Input("flow-simulate", "value"),
                 Input("tab", "value"), Input("lecture", "data"))(
        reason_in_figures("figure")(
            lambda raw, chosen, time, simulate, tab, lecture: show_end_start(
                context, raw, chosen, time, simulate, tab, lecture)))
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
                 State("tab", "value"), State("lecture", "data"))(
        reason_in_figures("figure", "figure")(
            lambda index, _, raw, time, simulate, start, tab, lecture: show_flow_heatmaps(
                context, index, raw, time, simulate, start, tab, lecture)))
