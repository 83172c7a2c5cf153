"""The page's own callbacks (URL, controls, the catalog job, which tab shows) and the
registration of every tab's callbacks. Callbacks only wire inputs to the service and
figures; the views are plain functions in ``ui.tabs``."""
from __future__ import annotations

import json

from dash import ClientsideFunction, Input, Output, State, ctx, dcc, html, no_update

from ..errors import ConfigError
from ..running import executors, service
from . import lectures, state
from .common import ViewContext, config_from_search
from .tabs import MODULES


def catalog_summary(result):
    """The status line of a catalog."""
    count = len(result["fixed_points"])
    return (f"{count} fixed point{'' if count == 1 else 's'} · global fraction "
            f"{result['global_fraction']:.3f} · unconverged {result['unconverged']} · "
            f"dead-student ends {result['nondifferentiable']['count']} · "
            f"computed in {result['seconds']:.2f} s")


def catalog_outputs(context, raw, message, current, request, label=None):
    """[config, message, request, ready, summary] of a view whose validated controls are
    ``raw`` (None, with ``message``, when they are not valid); ``current`` is the config
    store and ``request`` the job's request store.

    Controls that are as they were (a tab click, a view option) set nothing, so the
    figures that follow from them do not run again. A cached catalog is ready at once,
    without a background job and its polling; only a catalog not yet cached is requested
    from the job. An empty request is sent only to cancel a job that may still run.
    """
    if raw == current:
        return [no_update, message, no_update, no_update, no_update]
    cancel = None if request is not None else no_update
    if raw is None:
        return [None, message, cancel, None, ""]
    found = service.cached_catalog(state.catalog_config(raw), context.cache)
    if found is None:
        return [raw, message, raw, no_update, no_update]
    return [raw, message, cancel, raw, (f"{label}: " if label else "") + catalog_summary(found)]


def compare_from_search(search):
    """(control values of the comparison's second view or None, error message)."""
    values = state.from_query(search)
    try:
        return state.compare_controls(values["compare"], values), ""
    except ConfigError as exc:
        return None, str(exc)


def run_catalog_job(context, raw, report, label=None):
    """The catalog job: computes (or finds cached) the catalog of validated controls
    ``raw``, reporting ``report(done, total)``; returns (raw, status line) (``label``:
    what the status line names). An empty request only cancels a job still running (Dash
    stops it when the callback runs again), and changes nothing."""
    if not raw:
        return no_update, no_update
    config = state.catalog_config(raw)
    report(0, config.starts)
    result = service.catalog_result(
        config, context.cache, executor=context.executor,
        progress=service.time_budget(context.job_seconds,
                                     lambda done, total, _: report(done, total)))
    report(config.starts, config.starts)
    return raw, (f"{label}: " if label else "") + catalog_summary(result)


# The chosen fixed point, connection and flow end, and the tabs' own fields (state.VIEW_FIELDS,
# left out at their defaults), written into the address bar (not into the URL component,
# whose changes would start the page's callbacks again).
ADDRESS_BAR = """
function (point, connection, endsAt, ...fields) {
    const defaults = %s;
    const params = new URLSearchParams(window.location.search);
    let changed = false;
    [['point', point], ['connection', connection]].forEach(function (pair) {
        if (pair[1] !== null && pair[1] !== undefined && params.get(pair[0]) !== String(pair[1])) {
            params.set(pair[0], String(pair[1]));
            changed = true;
        }
    });
    Object.keys(defaults).concat(['ends-at']).forEach(function (name, i) {
        const value = name === 'ends-at' ? endsAt : fields[i];
        const text = value === null || value === undefined ? '' : String(value);
        if (text === (defaults[name] || '')) {
            changed = changed || params.has(name);
            params.delete(name);
        } else if (params.get(name) !== text) {
            params.set(name, text);
            changed = true;
        }
    });
    if (changed) {
        window.history.replaceState(window.history.state, '',
                                    window.location.pathname + '?' + params.toString());
    }
    return window.dash_clientside.no_update;
}
""" % json.dumps(state.VIEW_FIELDS)
# The tabs' fields that the URL sets directly (the others are set with their options).
FIELDS_FROM_URL = ["flow-start", "flow-time", "flow-simulate", "surface-directions"]


def register(app, cache, manager, job_seconds=300.0, executor=executors.serial):
    """Attach all callbacks; ``cache`` is the result cache, ``manager`` the
    background-callback manager, ``job_seconds`` the time budget of one job,
    ``executor`` where a job runs its search."""
    context = ViewContext(cache=cache, manager=manager, job_seconds=job_seconds,
                          executor=executor)
    control_inputs = [Input(cid, "value") for cid in state.CONTROL_IDS]

    # URL <-> controls, tab and view options (one callback: the circle is allowed here).
    # The chosen point and connection are States, and reach the address bar through a
    # clientside callback: an Input here would make this callback (and through the URL
    # everything else) wait for the catalog job, because the catalog sets the point.
    @app.callback(
        [Output(cid, "value") for cid in state.CONTROL_IDS]
        + [Output("tab", "value"), Output("hierarchy-widths", "value"), Output("url", "search"),
           Output("page", "className"), Output("lecture", "data"),
           Output("shares-scale", "value"), Output("flow-mode", "value"),
           Output("compare", "value")]
        + [Output(field, "value") for field in FIELDS_FROM_URL],
        [Input("url", "search")] + control_inputs
        + [Input("tab", "value"), Input("preset", "value"), Input("hierarchy-widths", "value"),
           Input("shares-scale", "value"), Input("flow-mode", "value"),
           Input("compare", "value")],
        [State("point", "value"), State("connection", "value"), State("flow-end", "value"),
         State("flow-end", "options")] + [State(field, "value") for field in state.VIEW_FIELDS])
    def sync_url(search, *values):
        count = len(state.CONTROL_IDS)
        controls, values = values[:count], values[count:]
        (tab, preset, widths, shares, flow_mode, compare, point, connection, flow_end,
         end_options, *fields) = values
        # A user's change wins over a URL change that arrives with it (Dash merges a
        # pending URL update with the click that came after it).
        changed = set(ctx.triggered_prop_ids.values()) - {"url"}
        if not changed:
            current = lectures.with_step_view(state.from_query(search))
        else:
            current = dict(zip(state.CONTROL_IDS, controls)) | state.from_query(search)
            current.update(dict(zip(state.CONTROL_IDS, controls)))
            current["tab"] = tab or "fixed-points"
            if point is not None:
                current["point"] = str(point)
            if connection is not None:
                current["connection"] = str(connection)
            current["widths"] = (widths or "").strip()
            current["shares"] = shares or "linear"
            current["flow-mode"] = flow_mode or "all"
            current["compare"] = (compare or "").strip()
            if end_options:       # else the catalog is not there yet: the URL's choice stays
                current["ends-at"] = "" if flow_end in (None, "") else str(flow_end)
            current.update({field: "" if value is None else str(value)
                            for field, value in zip(state.VIEW_FIELDS, fields)})
            if "preset" in changed and preset in state.PRESETS:
                current = state.with_preset(current, preset)
            if changed & set(state.CONTROL_IDS):
                current["point"] = current["connection"] = "0"
        page = "page" if current.get("lecture", "0") == "0" else "page lecture"
        # Controls are written only when the URL or a preset sets them: echoing them back
        # otherwise would race with a user who is typing.
        writes_controls = not changed or "preset" in changed
        controls_out = ([current[cid] for cid in state.CONTROL_IDS] if writes_controls
                        else [no_update] * len(state.CONTROL_IDS))
        tab_out = current["tab"] if writes_controls else no_update
        widths_out = current["widths"] if writes_controls else no_update
        views_out = ([current["shares"], current["flow-mode"], current["compare"]]
                     if writes_controls else [no_update] * 3)
        lecture = current.get("lecture", "0") != "0" if writes_controls else no_update
        if current["surface-directions"] not in state.SURFACE_DIRECTIONS:
            current["surface-directions"] = state.VIEW_FIELDS["surface-directions"]
        fields_out = ([current[field] for field in FIELDS_FROM_URL] if writes_controls
                      else [no_update] * len(FIELDS_FROM_URL))
        return (controls_out + [tab_out, widths_out, state.to_query(current), page, lecture]
                + views_out + fields_out)

    app.clientside_callback(ADDRESS_BAR, Output("address-bar", "data"),
                            Input("point", "value"), Input("connection", "value"),
                            Input("flow-end", "value"),
                            [Input(field, "value") for field in state.VIEW_FIELDS],
                            prevent_initial_call=True)

    graph_ids = [c.id for c in app.layout._traverse() if isinstance(c, dcc.Graph)]

    # In the browser (assets/export.js): no round trip, and it also updates graphs
    # that are already drawn.
    app.clientside_callback(ClientsideFunction("landscape", "imageFormat"),
                            [Output(g, "config") for g in graph_ids],
                            Input("image-format", "value"), prevent_initial_call=True)

    # The address bar itself: it also holds the point and the tabs' fields (ADDRESS_BAR).
    app.clientside_callback("function (_) { return window.location.href; }",
                            Output("copy-link", "content"), Input("copy-link", "n_clicks"),
                            prevent_initial_call=True)

    # Validate once, at the edge. The URL is the single source of truth: controls
    # write it (sync_url), and everything computed follows from it.
    @app.callback(Output("config", "data"), Output("message", "children"),
                  Output("catalog-request", "data"), Output("catalog-ready", "data"),
                  Output("summary", "children"),
                  Input("url", "search"), State("config", "data"),
                  State("catalog-request", "data"))
    def validate(search, current, request):
        raw, message = config_from_search(search)
        return catalog_outputs(context, raw, message, current, request)

    # The catalog when it is not cached: a background job with progress and cancel.
    @app.callback(
        Output("catalog-ready", "data", allow_duplicate=True),
        Output("summary", "children", allow_duplicate=True),
        Input("catalog-request", "data"),
        background=True, manager=manager,
        progress=[Output("progress", "value"), Output("progress", "max")],
        running=[(Output("cancel", "disabled"), False, True),
                 (Output("progress", "className"), "progress active", "progress")],
        cancel=[Input("cancel", "n_clicks")],
        prevent_initial_call=True)
    def compute_catalog(set_progress, raw):
        return run_catalog_job(context, raw,
                               lambda done, total: set_progress((str(done), str(total))))

    # The second view of a side-by-side comparison (``compare=K=9``): validated, and its
    # catalog ready at once or computed by a job of its own.
    @app.callback(Output("compare-config", "data"), Output("compare-message", "children"),
                  Output("compare-request", "data"), Output("compare-ready", "data"),
                  Output("compare-summary", "children"),
                  Input("url", "search"), State("compare-config", "data"),
                  State("compare-request", "data"))
    def validate_compare(search, current, request):
        compare, message = compare_from_search(search)
        return catalog_outputs(context, compare, message, current, request,
                               label="second view")

    @app.callback(
        Output("compare-ready", "data", allow_duplicate=True),
        Output("compare-summary", "children", allow_duplicate=True),
        Input("compare-request", "data"),
        background=True, manager=manager,
        progress=[Output("compare-progress", "value"), Output("compare-progress", "max")],
        running=[(Output("compare-progress", "className"), "progress active", "progress")],
        prevent_initial_call=True)
    def compute_compare(set_progress, raw):
        return run_catalog_job(context, raw,
                               lambda done, total: set_progress((str(done), str(total))),
                               label="second view")

    app.callback(Output("storyline", "children"), Output("storyline", "className"),
                 Input("url", "search"))(show_storyline)

    # Show one tab's view at a time.
    app.callback([Output(f"view-{value}", "style") for value, _ in state.TABS],
                 Input("tab", "value"))(show_tab)

    for value, _ in state.TABS:
        MODULES[value].register(app, context)


def show_storyline(search):
    """The storyline bar of ``?lecture=NAME&step=I``: title, caption, previous and next
    (links, so that the arrow keys and the browser's history both work)."""
    where = lectures.position(state.from_query(search))
    if where is None:
        return [], "storyline hidden"
    lecture, index = where
    name = state.from_query(search)["lecture"]
    step, count = lecture["steps"][index], len(lecture["steps"])

    def link(text, link_id, target):
        if not 0 <= target < count:
            return html.Span(text, id=link_id, className="lecture-link disabled")
        return dcc.Link(text, id=link_id, className="lecture-link",
                        href=lectures.step_query(name, target))

    return [
        html.Div(className="lecture-nav", children=[
            link("← previous", "lecture-prev", index - 1),
            html.Span(f"{lecture['title']} · {index + 1} of {count}", className="lecture-title"),
            link("next →", "lecture-next", index + 1)]),
        html.H2(step["title"], className="lecture-step"),
        html.P(step["caption"], className="lecture-caption"),
    ], "storyline"


def show_tab(tab):
    return [{"display": "block" if value == tab else "none"} for value, _ in state.TABS]
