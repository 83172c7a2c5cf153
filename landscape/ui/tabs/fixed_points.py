"""Fixed points: basin shares, the catalog table, and the selected point up close."""
from __future__ import annotations

import csv
import io
import json

from dash import Input, Output, State, ctx, dcc, html, no_update

from ... import figures
from ...running import service
from .. import state
from ..common import config_from_search, reason_in_figures
from ..components import graph, table

TAB = "fixed-points"
CATALOG_HEAD = ["#", "loss", "kind", "index", "flat", "hits %", "min eigenvalue", "visits"]


def layout():
    return html.Div(id="view-fixed-points", className="view", children=[
        html.Div(className="row", children=[
            html.Label("shares on a", htmlFor="shares-scale"),
            dcc.RadioItems(id="shares-scale", value="linear", inline=True,
                           options=[{"label": " linear ", "value": "linear"},
                                    {"label": " log axis", "value": "log"}]),
        ]),
        # Side by side with the view of ``compare=`` (shown instead of shares and table).
        html.Div(id="compare-row", className="row", style={"display": "none"}, children=[
            graph("compare-a", className="half"),
            graph("compare-b", className="half"),
        ]),
        html.Div(id="shares-row", className="row", children=[
            graph("shares", className="half"),
            html.Div(className="half", children=[
                html.Div(id="catalog-table"),
                html.Div(className="downloads", children=[
                    html.Button("download JSON", id="download-json-button"),
                    html.Button("download CSV", id="download-csv-button"),
                    dcc.Download(id="download"),
                ]),
            ]),
        ]),
        html.Div(className="row", children=[
            html.Label("fixed point", htmlFor="point"),
            dcc.Dropdown(id="point", clearable=False, style={"width": "26rem"}),
            html.Label("directions", htmlFor="surface-directions"),
            dcc.Dropdown(id="surface-directions", clearable=False,
                         value=state.VIEW_FIELDS["surface-directions"],
                         options=[{"label": label, "value": value}
                                  for value, label in state.SURFACE_DIRECTIONS.items()],
                         style={"width": "16rem"}),
            dcc.Dropdown(id="surface-other", placeholder="other point", style={"width": "10rem"}),
        ]),
        html.Div(className="row", children=[
            graph("heatmap-q", className="third"),
            graph("heatmap-m", className="third"),
            graph("spectrum", className="third"),
        ]),
        html.Div(className="row", children=[
            graph("surface", className="half"),
            graph("contour", className="half"),
        ]),
        # Across widths: the catalogs at K = M = d = 6..12 that are cached, and a job for
        # the others.
        html.Div(className="row", children=[
            html.Button("compute the missing widths", id="across-button", n_clicks=0),
            html.Progress(id="across-progress", max="1", value="0", className="progress"),
            html.Span(id="across-status"),
            html.Span(id="across-note"),
        ]),
        dcc.Store(id="across-ready"),
        graph("across-graph"),
    ])


def catalog_rows(catalog):
    return [[i, f"{p['loss']:.6g}", p["kind"].replace("_", " "), p["index"], p["flat"],
             f"{100 * p['fraction']:.1f}", f"{p['min_eigenvalue']:.4g}", p["visits"]]
            for i, p in enumerate(catalog["fixed_points"])]


def catalog_csv(catalog):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["index", "loss", "kind", "hessian_index", "flat", "hits", "fraction",
                     "min_eigenvalue", "visits", "grad_norm"])
    for i, p in enumerate(catalog["fixed_points"]):
        writer.writerow([i, p["loss"], p["kind"], p["index"], p["flat"], p["hits"],
                         p["fraction"], p["min_eigenvalue"], p["visits"], p["grad_norm"]])
    return out.getvalue()


def catalog_json(catalog):
    """The catalog download: the command line's JSON without the reduced coordinates."""
    slim = catalog | {"fixed_points": [{k: v for k, v in p.items() if k != "students"}
                                       for p in catalog["fixed_points"]]}
    return json.dumps(slim, indent=1)


def show_catalog(context, raw, search, scale="linear", lecture=False):
    """Shares figure, table, and the point pickers' options and values (the URL's, where
    this catalog has them)."""
    if not raw:
        return (figures.empty_figure("the catalog is being computed (progress above)",
                                     lecture=lecture), None, [], None, [], None)
    if raw != config_from_search(search)[0]:
        return (no_update,) * 6          # a result for controls that have changed since
    catalog = context.catalog(raw)
    options = [{"label": f"#{i}: {p['kind'].replace('_', ' ')}, loss {p['loss']:.4g}",
                "value": str(i)} for i, p in enumerate(catalog["fixed_points"])]
    values = {o["value"] for o in options}
    wanted = state.from_query(search)
    value = wanted["point"] if wanted["point"] in values else (
        options[0]["value"] if options else None)
    other = wanted["surface-other"] if wanted["surface-other"] in values else None
    return (figures.basin_share_figure(catalog, log=scale == "log", lecture=lecture),
            table(CATALOG_HEAD, catalog_rows(catalog)), options, value, options, other)


def compare_title(raw):
    teacher = raw.get("teacher", "orthonormal")
    return (f"K = {raw['students']}, M = {raw['teachers']}, d = "
            f"{'∞' if raw['dim'] in ('inf', '∞') else raw['dim']}<br>{raw['starts']} starts, "
            f"{teacher} teacher")


def show_compare(context, raw, compare_raw, compare_ready, scale="linear", lecture=False):
    """The shares of this view and of the compared one side by side, on one share axis
    (figure, figure, style of the comparison row, style of the usual shares row)."""
    if not compare_raw:
        return no_update, no_update, {"display": "none"}, {}
    shown, hidden = {}, {"display": "none"}
    if not raw or compare_ready != compare_raw:
        waiting = figures.empty_figure("the catalogs are being computed (progress above)",
                                       lecture=lecture)
        return waiting, waiting, shown, hidden
    catalogs = [context.catalog(raw), context.catalog(compare_raw)]
    pair = [figures.basin_share_figure(c, log=scale == "log", lecture=lecture)
            for c in catalogs]
    if scale != "log":
        top = max(max(trace.y) for fig in pair for trace in fig.data if len(trace.y))
        for fig in pair:
            fig.update_yaxes(range=[0, min(100, top) * 1.15])
    for fig, values, name in zip(pair, (raw, compare_raw), ("this view", "compared with")):
        fig.update_layout(title=f"{name}: {compare_title(values)}",
                          legend=dict(orientation="h", y=-0.3))
    return pair[0], pair[1], shown, hidden


def across_rows(context, raw):
    """[{"width", "catalog" (cached, or None)}] of the share-against-K figure."""
    return [{"width": w, "catalog": service.catalog_result(state.catalog_config(values),
                                                           context.cache, compute=False)}
            for w, values in state.across_controls(raw)]


def estimate_across(missing, starts):
    """Rough time of the missing catalogs (about 0.5 ms per start and student squared,
    as the Hierarchy tab's estimate)."""
    seconds = 5e-4 * starts * sum(w * w for w in missing)
    return f"about {max(1, round(seconds))} s" if seconds < 90 else \
        f"about {round(seconds / 60)} minutes"


def show_across(context, raw, lecture=False):
    """The share-against-K figure from the cache, and a line on what is missing."""
    if not raw:
        return figures.empty_figure("fix the controls first", lecture=lecture), ""
    rows = across_rows(context, raw)
    missing = [r["width"] for r in rows if r["catalog"] is None]
    note = "" if not missing else (
        f"width{'s' if len(missing) > 1 else ''} {', '.join(map(str, missing))} "
        f"{'are' if len(missing) > 1 else 'is'} not computed yet: the button computes "
        f"{'them' if len(missing) > 1 else 'it'} "
        f"({estimate_across(missing, state.catalog_config(raw).starts)})")
    return figures.share_by_width_figure(rows, lecture=lecture), note


def compute_across(context, raw, report):
    """The across-widths job: computes the missing catalogs, reporting
    ``report(done, total)`` in starts; returns (raw, status line)."""
    if not raw:
        return None, "fix the controls first"
    todo = [state.catalog_config(values) for _, values in state.across_controls(raw)]
    total = sum(c.starts for c in todo)
    budget = service.time_budget(context.job_seconds)
    done = 0
    for config in todo:
        service.catalog_result(config, context.cache, executor=context.executor,
                               progress=lambda d, t, *_, base=done: (report(base + d, total),
                                                                     budget()))
        done += config.starts
    report(total, total)
    return raw, f"widths {min(state.ACROSS_WIDTHS)} to {max(state.ACROSS_WIDTHS)} computed"


def show_point(context, point, raw, lecture=False):
    """Q and M heatmaps and the Hessian spectrum of entry ``point``."""
    if not raw or point is None:
        empty = figures.empty_figure("select a fixed point", lecture=lecture)
        return empty, empty, empty
    points = context.catalog(raw)["fixed_points"]
    if int(point) >= len(points):        # a choice from the previous catalog
        empty = figures.empty_figure("select a fixed point", lecture=lecture)
        return empty, empty, empty
    p = points[int(point)]
    return (figures.heatmap_figure(p["Q"], "Q = W Wᵀ", "student", "student", lecture=lecture),
            figures.heatmap_figure(p["M"], "M = W Vᵀ", "teacher", "student", lecture=lecture),
            figures.spectrum_figure(p, lecture=lecture))


def show_surface(context, point, directions, other, raw, lecture=False):
    """The loss on a plane through entry ``point``, as a surface and a contour plot."""
    if not raw or point is None:
        empty = figures.empty_figure("select a fixed point", lecture=lecture)
        return empty, empty
    catalog = context.catalog(raw)
    count = len(catalog["fixed_points"])
    if int(point) >= count:              # a choice from the previous catalog
        empty = figures.empty_figure("select a fixed point", lecture=lecture)
        return empty, empty
    other = int(other) if other is not None and int(other) < count else None
    surface = service.loss_surface(catalog, int(point), state.catalog_config(raw),
                                   directions, other)
    return (figures.surface_figure(surface, lecture=lecture),
            figures.surface_figure(surface, contour=True, lecture=lecture))


def download(context, button, raw):
    if not raw:
        return no_update
    catalog = context.catalog(raw)
    if button == "download-csv-button":
        return dcc.send_string(catalog_csv(catalog), "fixed_points.csv")
    return dcc.send_string(catalog_json(catalog), "fixed_points.json")


def while_open(tab, outputs, show):
    """``show()`` while this tab is open; on another tab nothing is computed or sent (the
    tab's own Input runs the view when it opens)."""
    return show() if tab == TAB else (no_update,) * outputs


def register(app, context):
    app.callback(Output("shares", "figure"), Output("catalog-table", "children"),
                 Output("point", "options"), Output("point", "value"),
                 Output("surface-other", "options"), Output("surface-other", "value"),
                 Input("catalog-ready", "data"), Input("shares-scale", "value"),
                 Input("lecture", "data"), Input("tab", "value"), State("url", "search"))(
        reason_in_figures("figure", "table", "options", "value", "options", "value")(
            lambda raw, scale, lecture, tab, search: while_open(
                tab, 6, lambda: show_catalog(context, raw, search, scale, lecture))))
    app.callback(Output("compare-a", "figure"), Output("compare-b", "figure"),
                 Output("compare-row", "style"), Output("shares-row", "style"),
                 Input("catalog-ready", "data"), Input("compare-config", "data"),
                 Input("compare-ready", "data"), Input("shares-scale", "value"),
                 Input("lecture", "data"))(
        reason_in_figures("figure", "figure", "style", "style")(
            lambda raw, compare, ready, scale, lecture: show_compare(
                context, raw, compare, ready, scale, lecture)))
    app.callback(Output("heatmap-q", "figure"), Output("heatmap-m", "figure"),
                 Output("spectrum", "figure"),
                 Input("point", "value"), Input("lecture", "data"),
                 Input("catalog-ready", "data"), Input("tab", "value"))(
        reason_in_figures("figure", "figure", "figure")(
            lambda point, lecture, raw, tab: while_open(
                tab, 3, lambda: show_point(context, point, raw, lecture))))
    app.callback(Output("surface", "figure"), Output("contour", "figure"),
                 Input("point", "value"), Input("surface-directions", "value"),
                 Input("surface-other", "value"), Input("lecture", "data"),
                 Input("catalog-ready", "data"), Input("tab", "value"))(
        reason_in_figures("figure", "figure")(
            lambda point, directions, other, lecture, raw, tab: while_open(
                tab, 2, lambda: show_surface(context, point, directions, other, raw,
                                             lecture))))
    @app.callback(
        Output("across-ready", "data"), Output("across-status", "children"),
        Input("across-button", "n_clicks"), State("config", "data"),
        background=True, manager=context.manager,
        progress=[Output("across-progress", "value"), Output("across-progress", "max")],
        running=[(Output("across-button", "disabled"), True, False),
                 (Output("across-progress", "className"), "progress active", "progress")],
        prevent_initial_call=True)
    def across_job(set_progress, _, raw):
        return compute_across(context, raw,
                              lambda done, total: set_progress((str(done), str(total))))

    app.callback(Output("across-graph", "figure"), Output("across-note", "children"),
                 Input("config", "data"), Input("across-ready", "data"),
                 Input("lecture", "data"), Input("tab", "value"))(
        reason_in_figures("figure", "text")(
            lambda raw, _, lecture, tab: while_open(
                tab, 2, lambda: show_across(context, raw, lecture))))
    app.callback(Output("download", "data"),
                 Input("download-json-button", "n_clicks"),
                 Input("download-csv-button", "n_clicks"),
                 State("catalog-ready", "data"), prevent_initial_call=True)(
        lambda _, __, raw: download(context, ctx.triggered_id, raw))
