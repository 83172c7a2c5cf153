"""The "Connections" tab: disconnectivity tree, path profile and the loss on the plane
through both minima and the saddle (issue 13). Self-contained: ``layout()`` is the
tab's view, ``register(...)`` its callbacks.

Hooking it in (dashboard owner):
  * ``state.TABS``: add ``("connections", "Connections")`` (then ``show_tab`` shows
    ``view-connections``); ``state.VIEW_DEFAULTS``: add ``"connection": "0"`` and let
    ``sync_url`` write ``Input("connection", "value")`` to the URL like ``point``.
  * ``layout.layout()``: append ``connections.layout()`` to the children of ``views``.
  * ``dashboard.create_app``: after ``callbacks.register(...)`` call
    ``connections.register(app, cache, manager, executor=settings.job_executor(),
    job_seconds=settings.job_seconds)``.
"""
from __future__ import annotations

from dash import Input, Output, State, dcc, html, no_update

from .. import figures
from ..errors import ConfigError
from ..methods.paths import PathsConfig
from ..running import service
from ..running.executors import serial
from . import state

# Images per band in the dashboard (the CLI default).
IMAGES = 24
# Widths above this make a connection search too slow for an interactive job.
UI_MAX_PATH_STUDENTS = 12


def paths_config(raw):
    """The PathsConfig of the current controls (raises ConfigError)."""
    catalog = state.catalog_config(raw)
    if catalog.students > UI_MAX_PATH_STUDENTS:
        raise ConfigError(f"connections need at most {UI_MAX_PATH_STUDENTS} students here")
    return PathsConfig(catalog=catalog, images=IMAGES)


def _graph(gid, className=""):
    return dcc.Graph(id=gid, className=className, config={"displaylogo": False})


def layout():
    return html.Div(id="view-connections", className="view", style={"display": "none"},
                    children=[
        html.Div(className="row", children=[
            html.Button("compute the connections", id="connections-button", n_clicks=0),
            html.Progress(id="connections-progress", max="1", value="0", className="progress"),
            html.Button("cancel", id="connections-cancel", n_clicks=0, className="cancel"),
            html.Span(id="connections-status", className="summary"),
        ]),
        dcc.Store(id="connections-ready"),
        html.Div(className="row", children=[
            dcc.Checklist(id="connections-log", options=[{"label": " log loss", "value": "log"}],
                          value=[], inline=True),
            html.Label("connection", htmlFor="connection"),
            dcc.Dropdown(id="connection", clearable=False, style={"width": "30rem"}),
        ]),
        html.Div(className="row", children=[
            _graph("connections-tree", "half"),
            _graph("connections-profile", "half"),
        ]),
        dcc.Loading(_graph("connections-plane")),
    ])


def register(app, cache, manager, executor=serial, job_seconds=300.0):
    """Attach the tab's callbacks (the catalog comes from the shared ``config`` store)."""

    @app.callback(
        Output("connections-ready", "data"), Output("connections-status", "children"),
        Input("connections-button", "n_clicks"), Input("tab", "value"),
        State("config", "data"),
        background=True, manager=manager,
        progress=[Output("connections-progress", "value"),
                  Output("connections-progress", "max")],
        running=[(Output("connections-cancel", "disabled"), False, True),
                 (Output("connections-progress", "className"), "progress active", "progress")],
        cancel=[Input("connections-cancel", "n_clicks")],
        prevent_initial_call=True)
    def compute_connections(set_progress, clicks, tab, raw):
        # Computed on the button, or on opening the tab when the result is cached.
        if not raw or tab != "connections":
            return no_update, no_update
        try:
            config = paths_config(raw)
        except ConfigError as exc:
            return None, str(exc)
        cached = cache.get(service.cache_key("paths", config.to_dict())) if cache else None
        if not clicks and not cached:
            return None, "press the button to connect the minima of this catalog"
        set_progress(("0", "1"))
        result = service.paths_result(
            config, cache, executor=executor,
            progress=service.time_budget(
                job_seconds, lambda done, total: set_progress((str(done), str(total)))))
        confirmed = sum(c["confirmed"] for c in result["connections"])
        return raw, (f"{len(result['minima'])} minima · {len(result['connections'])} "
                     f"connections ({confirmed} over confirmed saddles) · "
                     f"{result['seconds']:.1f} s")

    def cached_paths(raw):
        return service.paths_result(paths_config(raw), cache, executor=serial,
                                    progress=service.time_budget(60.0))

    @app.callback(Output("connections-tree", "figure"), Output("connection", "options"),
                  Output("connection", "value"),
                  Input("connections-ready", "data"), Input("connections-log", "value"),
                  State("connection", "value"))
    def show_tree(raw, log, current):
        if not raw:
            return figures.empty_figure("no connections yet"), [], None
        result = cached_paths(raw)
        options = [{"label": f"#{c['from']} → #{c['to']}: barrier {c['barrier']:.3g}"
                             + ("" if c["confirmed"] else " (unconfirmed)"),
                    "value": i} for i, c in enumerate(result["connections"])]
        value = current if current is not None and current < len(options) else (
            0 if options else None)
        return figures.disconnectivity_figure(result, log="log" in (log or [])), options, value

    @app.callback(Output("connection", "value", allow_duplicate=True),
                  Input("connections-tree", "clickData"), State("connections-ready", "data"),
                  prevent_initial_call=True)
    def pick_from_tree(click, raw):
        # A click on a leaf shows its lowest connection.
        if not raw or not click:
            return no_update
        data = click["points"][0].get("customdata")
        if not data:
            return no_update
        leaf = data[0]
        result = cached_paths(raw)
        touching = [(c["saddle"]["loss"], i) for i, c in enumerate(result["connections"])
                    if leaf in (c["from"], c["to"])]
        return min(touching)[1] if touching else no_update

    @app.callback(Output("connections-profile", "figure"), Output("connections-plane", "figure"),
                  Input("connection", "value"), State("connections-ready", "data"))
    def show_connection(index, raw):
        if not raw or index is None:
            empty = figures.empty_figure("choose a connection")
            return empty, empty
        result = cached_paths(raw)
        plane = service.path_plane(result, index, paths_config(raw))
        return (figures.path_profile_figure(result, index),
                figures.path_plane_figure(plane))
