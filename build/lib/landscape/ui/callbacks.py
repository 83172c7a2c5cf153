"""Thin callbacks: wire controls to the service layer and results to figures."""
from __future__ import annotations

import csv
import io
import json

from dash import ClientsideFunction, Input, Output, State, ctx, dcc, html, no_update

from .. import figures
from ..running import service
from ..errors import ConfigError, FamilyError
from ..running.executors import serial
from . import state


def _table(head, rows):
    return html.Table([html.Thead(html.Tr([html.Th(h) for h in head])),
                       html.Tbody([html.Tr([html.Td(str(c)) for c in r]) for r in rows])])


def catalog_rows(catalog):
    return [[i, f"{p['loss']:.6g}", p["kind"].replace("_", " "), p["index"], p["flat"],
             f"{100 * p['fraction']:.1f}", f"{p['min_eigenvalue']:.4g}", p["visits"]]
            for i, p in enumerate(catalog["fixed_points"])]


DEFAULT_AXES = ("mean diag Q", "max M", "loss")
CATALOG_HEAD = ["#", "loss", "kind", "index", "flat", "hits %", "min eigenvalue", "visits"]


def catalog_csv(catalog):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["index", "loss", "kind", "hessian_index", "flat", "hits", "fraction",
                     "min_eigenvalue", "visits", "grad_norm"])
    for i, p in enumerate(catalog["fixed_points"]):
        writer.writerow([i, p["loss"], p["kind"], p["index"], p["flat"], p["hits"],
                         p["fraction"], p["min_eigenvalue"], p["visits"], p["grad_norm"]])
    return out.getvalue()


def config_from_search(search):
    """(validated control values with their canonical config, error message)."""
    values = state.from_query(search)
    raw = {cid: values[cid] for cid in state.CONTROL_IDS}
    try:
        config = state.catalog_config(raw)
        state.flow_config(raw, time="1")
    except ConfigError as exc:
        return None, str(exc)
    return raw | {"canonical": config.to_dict()}, ""


def view_flow_config(raw, time, simulate, start):
    """The Flows 2D view's FlowConfig: simulate only for SGD (lr > 0)."""
    lr = float(raw["lr"])
    return state.flow_config(raw, time=time, start=start or 0,
                             simulate=simulate if lr > 0 and simulate else None)


# Computations in a web request (not a background job) must end well inside the
# gunicorn worker timeout.
REQUEST_SECONDS = 60.0


def register(app, cache, manager, job_seconds=300.0, executor=serial):
    """Attach all callbacks; ``cache`` is the result cache, ``manager`` the
    background-callback manager, ``job_seconds`` the time budget of one job,
    ``executor`` where a job runs its search."""
    control_inputs = [Input(cid, "value") for cid in state.CONTROL_IDS]

    # URL <-> controls, tab, selected point (one callback: the circle is allowed here).
    @app.callback(
        [Output(cid, "value") for cid in state.CONTROL_IDS]
        + [Output("tab", "value"), Output("hierarchy-widths", "value"), Output("url", "search"),
           Output("page", "className")],
        [Input("url", "search")] + control_inputs
        + [Input("tab", "value"), Input("point", "value"), Input("preset", "value"),
           Input("hierarchy-widths", "value")])
    def sync_url(search, *values):
        *controls, tab, point, preset, widths = values
        if ctx.triggered_id in (None, "url"):
            current = state.from_query(search)
        else:
            current = dict(zip(state.CONTROL_IDS, controls)) | state.from_query(search)
            current.update(dict(zip(state.CONTROL_IDS, controls)))
            current["tab"] = tab or "fixed-points"
            if point is not None:
                current["point"] = str(point)
            current["widths"] = (widths or "").strip()
            if ctx.triggered_id == "preset" and preset in state.PRESETS:
                current.update(state.DEFAULTS | state.PRESETS[preset])
                current["point"] = "0"
            if ctx.triggered_id in state.CONTROL_IDS:
                current["point"] = "0"
        page = "page lecture" if current.get("lecture") == "1" else "page"
        # Controls are written only when the URL or a preset sets them: echoing them back
        # otherwise would race with a user who is typing.
        writes_controls = ctx.triggered_id in (None, "url", "preset")
        controls_out = ([current[cid] for cid in state.CONTROL_IDS] if writes_controls
                        else [no_update] * len(state.CONTROL_IDS))
        tab_out = current["tab"] if writes_controls else no_update
        widths_out = current["widths"] if writes_controls else no_update
        return controls_out + [tab_out, widths_out, state.to_query(current), page]

    graph_ids = [c.id for c in app.layout._traverse() if isinstance(c, dcc.Graph)]

    # In the browser (assets/export.js): no round trip, and it also updates graphs
    # that are already drawn.
    app.clientside_callback(ClientsideFunction("landscape", "imageFormat"),
                            [Output(g, "config") for g in graph_ids],
                            Input("image-format", "value"), prevent_initial_call=True)

    @app.callback(Output("copy-link", "content"), Input("copy-link", "n_clicks"),
                  State("url", "href"), prevent_initial_call=True)
    def copy_link(_, href):
        return href

    # Validate once, at the edge. The URL is the single source of truth: controls
    # write it (sync_url), and everything computed follows from it.
    @app.callback(Output("config", "data"), Output("message", "children"),
                  Input("url", "search"))
    def validate(search):
        return config_from_search(search)

    # The catalog: a background job with progress and cancel.
    @app.callback(
        Output("catalog-ready", "data"), Output("summary", "children"),
        Input("config", "data"),
        background=True, manager=manager,
        progress=[Output("progress", "value"), Output("progress", "max")],
        running=[(Output("cancel", "disabled"), False, True),
                 (Output("progress", "className"), "progress active", "progress")],
        cancel=[Input("cancel", "n_clicks")],
        prevent_initial_call=False)
    def compute_catalog(set_progress, raw):
        if not raw:
            return None, ""
        config = state.catalog_config(raw)
        set_progress(("0", str(config.starts)))
        result = service.catalog_result(config, cache, executor=executor,
                                        progress=service.time_budget(
            job_seconds, lambda done, total, _: set_progress((str(done), str(total)))))
        set_progress((str(config.starts), str(config.starts)))
        count = len(result["fixed_points"])
        summary = (f"{count} fixed point{'' if count == 1 else 's'} · global fraction "
                   f"{result['global_fraction']:.3f} · unconverged {result['unconverged']} · "
                   f"dead-student ends {result['nondifferentiable']['count']} · "
                   f"computed in {result['seconds']:.2f} s")
        return raw, summary

    def cached_catalog(raw):
        # Normally cached by the job; if the entry is gone (evicted), recompute here in
        # this process, within the request budget.
        return service.catalog_result(state.catalog_config(raw), cache, executor=serial,
                                      progress=service.time_budget(REQUEST_SECONDS))

    # Show one tab's view at a time.
    @app.callback([Output(f"view-{value}", "style") for value, _ in state.TABS],
                  Input("tab", "value"))
    def show_tab(tab):
        return [{"display": "block" if value == tab else "none"} for value, _ in state.TABS]

    @app.callback(Output("shares", "figure"), Output("catalog-table", "children"),
                  Output("point", "options"), Output("point", "value"),
                  Output("surface-other", "options"),
                  Input("catalog-ready", "data"), State("url", "search"))
    def show_catalog(raw, search):
        if not raw:
            return figures.empty_figure("no result yet"), None, [], None, []
        if raw != config_from_search(search)[0]:
            return (no_update,) * 5          # a result for controls that have changed since
        catalog = cached_catalog(raw)
        options = [{"label": f"#{i}: {p['kind'].replace('_', ' ')}, loss {p['loss']:.4g}",
                    "value": str(i)} for i, p in enumerate(catalog["fixed_points"])]
        wanted = state.from_query(search)["point"]
        value = wanted if any(o["value"] == wanted for o in options) else (
            options[0]["value"] if options else None)
        return (figures.basin_share_figure(catalog), _table(CATALOG_HEAD, catalog_rows(catalog)),
                options, value, options)

    @app.callback(Output("heatmap-q", "figure"), Output("heatmap-m", "figure"),
                  Output("spectrum", "figure"),
                  Input("point", "value"), State("catalog-ready", "data"))
    def show_point(point, raw):
        if not raw or point is None:
            empty = figures.empty_figure("select a fixed point")
            return empty, empty, empty
        p = cached_catalog(raw)["fixed_points"][int(point)]
        return (figures.heatmap_figure(p["Q"], "Q = W Wᵀ",
                                       "student", "student"),
                figures.heatmap_figure(p["M"], "M = W Vᵀ", "teacher", "student"),
                figures.spectrum_figure(p))

    @app.callback(Output("surface", "figure"), Output("contour", "figure"),
                  Input("point", "value"), Input("surface-directions", "value"),
                  Input("surface-other", "value"), State("catalog-ready", "data"))
    def show_surface(point, directions, other, raw):
        if not raw or point is None:
            empty = figures.empty_figure("select a fixed point")
            return empty, empty
        config = state.catalog_config(raw)
        catalog = cached_catalog(raw)
        surface = service.loss_surface(catalog, int(point), config, directions,
                                       int(other) if other is not None else None)
        return figures.surface_figure(surface), figures.surface_figure(surface, contour=True)

    @app.callback(Output("download", "data"),
                  Input("download-json-button", "n_clicks"),
                  Input("download-csv-button", "n_clicks"),
                  State("catalog-ready", "data"), prevent_initial_call=True)
    def download(_, __, raw):
        if not raw:
            return no_update
        catalog = cached_catalog(raw)
        if ctx.triggered_id == "download-csv-button":
            return dcc.send_string(catalog_csv(catalog), "fixed_points.csv")
        slim = catalog | {"fixed_points": [{k: v for k, v in p.items() if k != "students"}
                                           for p in catalog["fixed_points"]]}
        return dcc.send_string(json.dumps(slim, indent=1), "fixed_points.json")

    # Flows 2D
    @app.callback(Output("flow-graph", "figure"), Output("flow-slider", "max"),
                  Output("flow-slider", "marks"),
                  Input("config", "data"), Input("flow-time", "value"),
                  Input("flow-simulate", "value"), Input("flow-start", "value"),
                  Input("tab", "value"))
    def show_flow(raw, time, simulate, start, tab):
        if tab != "flows-2d":
            return no_update, no_update, no_update
        if not raw:
            return figures.empty_figure("fix the controls first"), 100, None
        try:
            config = view_flow_config(raw, time, simulate, start)
        except (ConfigError, ValueError) as exc:
            return figures.empty_figure(str(exc)), 100, None
        flow = service.flow_result(config, cache)
        last = len(flow["t"]) - 1
        return figures.flow_figure(flow), last, {0: "0", last: f"{flow['t'][-1]:g}"}

    @app.callback(Output("flow-heatmap-q", "figure"), Output("flow-heatmap-m", "figure"),
                  Input("flow-slider", "value"), Input("flow-graph", "figure"),
                  State("config", "data"), State("flow-time", "value"),
                  State("flow-simulate", "value"), State("flow-start", "value"))
    def show_flow_heatmaps(index, _, raw, time, simulate, start):
        if not raw:
            empty = figures.empty_figure("")
            return empty, empty
        try:
            config = view_flow_config(raw, time, simulate, start)
        except (ConfigError, ValueError):
            empty = figures.empty_figure("")
            return empty, empty
        flow = service.flow_result(config, cache)
        i = min(int(index or 0), len(flow["t"]) - 1)
        t = flow["t"][i]
        return (figures.heatmap_figure(flow["Q"][i], f"Q at t = {t:.3g}", "student", "student"),
                figures.heatmap_figure(flow["M"][i], f"M at t = {t:.3g}", "teacher", "student"))

    # Flows 3D
    @app.callback([Output(f"axis-{a}", "options") for a in "xyz"]
                  + [Output(f"axis-{a}", "value") for a in "xyz"],
                  Input("config", "data"), [State(f"axis-{a}", "value") for a in "xyz"])
    def axis_options(raw, *current):
        if not raw:
            return [list(figures.AXES)] * 3 + list(DEFAULT_AXES)
        config = state.catalog_config(raw)
        options = figures.axis_options(config.students, config.teachers)
        values = [c if c in options else d for c, d in zip(current, DEFAULT_AXES)]
        return [options] * 3 + values

    @app.callback(Output("flows-3d-graph", "figure"),
                  Input("catalog-ready", "data"), Input("tab", "value"),
                  [Input(f"axis-{a}", "value") for a in "xyz"])
    def show_flows_3d(raw, tab, x, y, z):
        if tab != "flows-3d":
            return no_update
        if not raw:
            return figures.empty_figure("no result yet")
        config = state.catalog_config(raw)
        traj = service.trajectories_result(config, cache,
                                           progress=service.time_budget(REQUEST_SECONDS))
        axes = tuple(a or default for a, default in zip((x, y, z), DEFAULT_AXES))
        return figures.trajectories_figure(traj, cached_catalog(raw), axes)

    # Families
    @app.callback(Output("families-graph", "figure"), Output("families-table", "children"),
                  Input("config", "data"), Input("tab", "value"))
    def show_families(raw, tab):
        if tab != "families":
            return no_update, no_update
        if not raw:
            return figures.empty_figure("fix the controls first"), None
        config = state.catalog_config(raw)
        from ..methods.families import teacher_pattern
        try:
            teacher_pattern(config.teacher.P)
        except FamilyError as exc:
            return figures.empty_figure(str(exc)), None
        result = service.families_result(config.teacher, config.dim,
                                         state.family_widths(config), state.FAMILY_K1, cache)
        here = [r for r in result["rows"] if r["students"] == config.teachers]
        rows = [[r["k1"], f"{r['loss']:.6g}", r["kind"].replace("_", " "),
                 f"{r['min_eigenvalue']:.4g}" if r["min_eigenvalue"] is not None else "-"]
                for r in here]
        caption = html.P(f"Families at the current width K = M = {config.teachers}:")
        return (figures.families_figure(result, current=config.teachers),
                [caption, _table(["k1", "loss", "kind", "min eigenvalue"], rows)])

    # Hierarchy: a background job too (several catalogs).
    @app.callback(
        Output("hierarchy-graph", "figure"), Output("hierarchy-status", "children"),
        Input("hierarchy-button", "n_clicks"), State("config", "data"),
        State("hierarchy-widths", "value"),
        background=True, manager=manager,
        progress=[Output("hierarchy-status", "children")],
        running=[(Output("hierarchy-button", "disabled"), True, False)],
        prevent_initial_call=True)
    def compute_hierarchy(set_progress, _, raw, text):
        if not raw:
            return figures.empty_figure("fix the controls first"), ""
        config = state.catalog_config(raw)
        try:
            widths = state.hierarchy_widths(text, config)
        except ConfigError as exc:
            return figures.empty_figure(str(exc)), str(exc)
        result = service.hierarchy_result(config, widths, cache, executor=executor,
                                          progress=service.time_budget(
            job_seconds, lambda done, total, stage: set_progress((f"{stage}: {done}/{total}",))))
        return figures.hierarchy_figure(result), f"widths {widths}"
