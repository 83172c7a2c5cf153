"""Connections: the disconnectivity tree of the catalog's minima, the loss along the
path between two of them with its saddle, and the loss on the plane through both minima
and the saddle."""
from __future__ import annotations

from dash import Input, Output, State, ctx, dcc, html, no_update

from ... import figures
from ...config import make_paths_config
from ...errors import ComputationLimit, ConfigError
from ...running import service
from .. import state
from ..components import graph

TAB = "connections"
# Images per band in the dashboard (the CLI default).
IMAGES = 24
# Widths above this make a connection search too slow for an interactive job.
UI_MAX_PATH_STUDENTS = 12


def paths_config(raw):
    """The PathsConfig of the current controls (raises ConfigError)."""
    catalog = state.catalog_config(raw)
    if catalog.students > UI_MAX_PATH_STUDENTS:
        raise ConfigError(f"connections need at most {UI_MAX_PATH_STUDENTS} students here")
    return make_paths_config(catalog.students, catalog.teachers, catalog.teacher.to_json(),
                             raw["dim"], catalog.starts, catalog.seed, catalog.init_dim,
                             images=IMAGES, allow_files=False)


def layout():
    return html.Div(id="view-connections", className="view", children=[
        html.Div(className="row", children=[
            html.Button("compute the connections", id="connections-button", n_clicks=0),
            html.Progress(id="connections-progress", max="1", value="0", className="progress"),
            html.Button("cancel", id="connections-cancel", n_clicks=0, className="cancel"),
            html.Span(id="connections-status", className="summary"),
        ]),
        dcc.Store(id="connections-ready"),
        # The controls, set when the tab is open: what starts the job besides the button.
        dcc.Store(id="connections-request"),
        html.Div(className="row", children=[
            dcc.Checklist(id="connections-log", options=[{"label": " log loss", "value": "log"}],
                          value=[], inline=True),
            html.Label("connection", htmlFor="connection"),
            dcc.Dropdown(id="connection", clearable=False, style={"width": "30rem"}),
        ]),
        html.Div(className="row", children=[
            graph("connections-tree", className="half"),
            graph("connections-profile", className="half"),
        ]),
        dcc.Loading(graph("connections-plane")),
    ])


def request_connections(tab, raw):
    """The controls when this tab is open and they are valid, else nothing."""
    return raw if tab == TAB and raw else no_update


def compute_connections(context, clicks, tab, raw, report):
    """The connections job: on the button, or on opening the tab when the result is
    cached; returns (what the figures need, a status line)."""
    if not raw or tab != TAB:
        return no_update, no_update
    try:
        config = paths_config(raw)
    except ConfigError as exc:
        return None, str(exc)
    if not clicks and service.cached_paths(config, context.cache) is None:
        return None, "press the button to connect the minima of this catalog"
    report(0, 1)
    result = service.paths_result(
        config, context.cache, executor=context.executor,
        progress=service.time_budget(context.job_seconds,
                                     lambda done, total, _: report(done, total)))
    confirmed = sum(c["confirmed"] for c in result["connections"])
    return raw, (f"{len(result['minima'])} minima · {len(result['connections'])} "
                 f"connections ({confirmed} over confirmed saddles) · "
                 f"{result['seconds']:.1f} s")


def _paths(context, raw):
    """The cached connections (the job put them there): a plain callback never computes
    what the job should, outside the job cap and budget."""
    result = service.cached_paths(paths_config(raw), context.cache)
    if result is None:
        raise ComputationLimit("the connections are not in the result cache (evicted): "
                               "press the button to compute them again")
    return result


def show_tree(context, raw, log, current, search, lecture=False):
    """The disconnectivity tree and the connection picker (its value from the URL)."""
    if not raw:
        return figures.empty_figure("no connections yet", lecture=lecture), [], None
    result = _paths(context, raw)
    options = [{"label": f"#{c['from']} → #{c['to']}: barrier {c['barrier']:.3g}"
                         + ("" if c["confirmed"] else " (unconfirmed)"),
                "value": i} for i, c in enumerate(result["connections"])]
    wanted = state.from_query(search).get("connection", "0")
    value = int(wanted) if wanted.isdigit() and int(wanted) < len(options) else (
        0 if options else None)
    return (figures.disconnectivity_figure(result, log="log" in (log or []), lecture=lecture),
            options, value)


def pick_from_tree(context, click, raw):
    """A click on a leaf shows its lowest connection."""
    if not raw or not click:
        return no_update
    data = click["points"][0].get("customdata")
    if not data:
        return no_update
    leaf = data[0]
    result = _paths(context, raw)
    touching = [(c["saddle"]["loss"], i) for i, c in enumerate(result["connections"])
                if leaf in (c["from"], c["to"])]
    return min(touching)[1] if touching else no_update


def show_connection(context, index, raw, lecture=False):
    """The path profile and the loss on the plane of connection ``index``."""
    if not raw or index is None:
        empty = figures.empty_figure("choose a connection", lecture=lecture)
        return empty, empty
    result = _paths(context, raw)
    plane = service.path_plane(result, index, paths_config(raw), cache=context.cache)
    return (figures.path_profile_figure(result, index, lecture=lecture),
            figures.path_plane_figure(plane, lecture=lecture))


def register(app, context):
    # Opening the tab, or new controls while it is open, asks for the connections (shown
    # when cached); the job is not started for a page on another tab. The tab may open
    # before the controls are validated (a URL with tab=connections): the request follows
    # when they are.
    app.callback(Output("connections-request", "data"),
                 Input("tab", "value"), Input("config", "data"))(request_connections)

    @app.callback(
        Output("connections-ready", "data"), Output("connections-status", "children"),
        Input("connections-button", "n_clicks"), Input("connections-request", "data"),
        State("tab", "value"), State("config", "data"),
        background=True, manager=context.manager,
        progress=[Output("connections-progress", "value"),
                  Output("connections-progress", "max")],
        running=[(Output("connections-cancel", "disabled"), False, True),
                 (Output("connections-progress", "className"), "progress active", "progress")],
        cancel=[Input("connections-cancel", "n_clicks")],
        prevent_initial_call=True)
    def connections_job(set_progress, clicks, _, tab, raw):
        # a request computes nothing new: it shows the cached result (the button computes)
        clicks = 0 if ctx.triggered_id == "connections-request" else clicks
        return compute_connections(context, clicks, tab, raw,
                                   lambda done, total: set_progress((str(done), str(total))))

    app.callback(Output("connections-tree", "figure"), Output("connection", "options"),
                 Output("connection", "value"),
                 Input("connections-ready", "data"), Input("connections-log", "value"),
                 Input("lecture", "data"), State("connection", "value"), State("url", "search"))(
        lambda raw, log, lecture, current, search: show_tree(context, raw, log, current,
                                                             search, lecture))
    app.callback(Output("connection", "value", allow_duplicate=True),
                 Input("connections-tree", "clickData"), State("connections-ready", "data"),
                 prevent_initial_call=True)(
        lambda click, raw: pick_from_tree(context, click, raw))
    app.callback(Output("connections-profile", "figure"), Output("connections-plane", "figure"),
                 Input("connection", "value"), Input("lecture", "data"),
                 State("connections-ready", "data"))(
        lambda index, lecture, raw: show_connection(context, index, raw, lecture))
