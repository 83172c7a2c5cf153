"""The dashboard's views as plain functions: what each callback returns for given inputs,
without a browser or a server."""
import json

import numpy as np
import pytest
from dash import no_update

from landscape.errors import ConfigError
from landscape.running import service
from landscape.ui import callbacks, state
from landscape.ui.common import ViewContext, config_from_search
from landscape.ui.tabs import (connections, families, fixed_points, flows_2d, flows_3d,
                               hierarchy, theory)

SEARCH = "?students=4&teachers=4&dim=4&starts=30&point=1"


class DictCache(dict):
    def set(self, key, value):
        self[key] = value


@pytest.fixture(scope="module")
def view():
    """A context with the catalog of SEARCH computed by the catalog job."""
    context = ViewContext(cache=DictCache())
    raw, _ = config_from_search(SEARCH)
    reports = []
    ready, summary = callbacks.run_catalog_job(context, raw, lambda *a: reports.append(a))
    return context, raw, ready, summary, reports


def test_catalog_job_reports_progress_and_summarises_the_cached_result(view):
    context, raw, ready, summary, reports = view
    assert ready == raw
    assert reports[0] == (0, 30) and reports[-1] == (30, 30)
    catalog = context.catalog(raw)
    assert f"global fraction {catalog['global_fraction']:.3f}" in summary
    assert len(context.cache) == 1                     # the job cached it; the view reads it


def test_a_cached_catalog_is_ready_at_once_and_only_a_missing_one_starts_the_job(view):
    """The page's validating callback hands over a cached catalog itself: the background
    job and its polling took about a second of every page load, with nothing to compute."""
    context, raw, _, summary, _ = view

    def outputs(search, current, request):
        return callbacks.catalog_outputs(context, *config_from_search(search), current,
                                         request)

    assert outputs(SEARCH, None, None) == [raw, "", no_update, raw, summary]
    # a job still running for other controls is cancelled by an empty request
    other, _ = config_from_search(SEARCH.replace("starts=30", "starts=31"))
    assert outputs(SEARCH, other, other) == [raw, "", None, raw, summary]
    # not cached: only the job is asked, and what is shown stays until it ends
    missing = SEARCH.replace("starts=30", "starts=32")
    wanted, _ = config_from_search(missing)
    assert outputs(missing, raw, None) == [wanted, "", wanted, no_update, no_update]
    # the same config (a tab click): nothing downstream runs again
    assert outputs(SEARCH + "&tab=flows-2d", raw, None) == [no_update, "", no_update,
                                                             no_update, no_update]
    # bad controls: a message, nothing shown, and it stays on the next tab click
    config, message, request, ready, text = outputs("?students=0", raw, raw)
    assert config is None and "students" in message
    assert (request, ready, text) == (None, None, "")
    assert outputs("?students=0&tab=families", None, None)[:2] == [no_update, message]
    # the second view of a comparison: labelled, and nothing at all without one
    compare = callbacks.compare_from_search(SEARCH.replace("starts=30", "starts=31")
                                            + "&compare=starts=30")
    controls = {cid: raw[cid] for cid in state.CONTROL_IDS}
    assert callbacks.catalog_outputs(context, *compare, None, None, label="second view") == [
        controls, "", no_update, controls, "second view: " + summary]
    assert callbacks.catalog_outputs(context, *callbacks.compare_from_search(SEARCH), None,
                                     None)[2:] == [no_update] * 3


def test_fixed_points_view(view):
    context, raw, ready, _, _ = view
    figure, table, options, value, others, other = fixed_points.show_catalog(context, ready,
                                                                             SEARCH)
    catalog = context.catalog(raw)
    assert len(options) == len(catalog["fixed_points"]) == len(others)
    assert value == ("1" if len(options) > 1 else "0")          # ?point=1 when it exists
    assert figure.data
    # A result for controls that have changed since is not shown.
    assert other is None                  # no other point in the URL
    # the URL's other point for the surface, where this catalog has it
    last = str(len(options) - 1)
    assert fixed_points.show_catalog(context, ready, SEARCH + "&surface-other=" + last)[5] == last
    assert fixed_points.show_catalog(context, ready, SEARCH + "&surface-other=99")[5] is None
    stale = fixed_points.show_catalog(context, ready, SEARCH.replace("starts=30", "starts=31"))
    assert stale == (no_update,) * 6
    q, m, spectrum = fixed_points.show_point(context, "0", ready)
    np.testing.assert_allclose(q.data[0].z, catalog["fixed_points"][0]["Q"])
    surface, contour = fixed_points.show_surface(context, "0", "soft", None, ready)
    assert np.shape(surface.data[0].z) == (41, 41)
    # a point chosen in a larger catalog before the controls changed: a message, no error
    stale = str(len(catalog["fixed_points"]))
    assert not fixed_points.show_point(context, stale, ready)[0].data
    assert not fixed_points.show_surface(context, stale, "soft", None, ready)[0].data


def test_downloads_carry_the_catalog(view):
    context, _, ready, _, _ = view
    sent = fixed_points.download(context, "download-json-button", ready)
    data = json.loads(sent["content"])
    assert data["fixed_points"] and "students" not in data["fixed_points"][0]
    sent = fixed_points.download(context, "download-csv-button", ready)
    assert sent["filename"] == "fixed_points.csv"
    assert len(sent["content"].splitlines()) == len(data["fixed_points"]) + 1


def test_only_the_visible_tab_computes(view):
    context, raw, ready, _, _ = view
    before = len(context.cache)
    assert flows_2d.show_flow(context, raw, "5", "", "0", "fixed-points") == (no_update,) * 3
    assert flows_2d.show_flow_heatmaps(context, 3, raw, "5", "", "0",
                                       "fixed-points") == (no_update,) * 2
    assert flows_3d.show_flows_3d(context, ready, "families", None, None, None) is no_update
    assert families.show_families(context, raw, "flows-2d") == (no_update, no_update)
    assert len(context.cache) == before


def test_flow_views(view):
    context, raw, ready, _, _ = view
    figure, last, marks = flows_2d.show_flow(context, raw, "5", "", "0", "flows-2d")
    assert last == int(state.UI_MAX_POINTS) or last > 0
    assert marks[last] == "5"
    q, m = flows_2d.show_flow_heatmaps(context, last, raw, "5", "", "0")
    assert q.layout.title.text.endswith("at t = 5")
    # one colour scale for every time: the same bounds at the first and the last point
    q0, _ = flows_2d.show_flow_heatmaps(context, 0, raw, "5", "", "0")
    assert (q0.data[0].zmin, q0.data[0].zmax) == (q.data[0].zmin, q.data[0].zmax)
    lecture_figure, _, _ = flows_2d.show_flow(context, raw, "5", "", "0", "flows-2d",
                                              lecture=True)
    assert lecture_figure.layout.font.size >= 20
    message, _, _ = flows_2d.show_flow(context, raw, "-1", "", "0", "flows-2d")
    assert "time" in json.dumps(message.to_plotly_json())
    figure3d = flows_3d.show_flows_3d(context, ready, "flows-3d", None, None, None)
    assert any(trace.get("mode") == "lines" for trace in figure3d["data"])
    # built once per process: the same figure again, another for other axes
    assert flows_3d.show_flows_3d(context, ready, "flows-3d", None, None, None) is figure3d
    other = flows_3d.show_flows_3d(context, ready, "flows-3d", "max M", "mean diag Q", None)
    assert other is not figure3d and other["layout"] != figure3d["layout"]


@pytest.mark.slow
def test_families_view_and_its_message_for_asymmetric_teachers():
    context = ViewContext(cache=DictCache())
    raw, _ = config_from_search("?students=4&teachers=4&dim=4")
    figure, table = families.show_families(context, raw, "families")
    assert "K = M = 4" in json.dumps(table[0].to_plotly_json())
    raw, _ = config_from_search("?students=4&teachers=4&dim=4&teacher=norms:1,2,3,4")
    figure, table = families.show_families(context, raw, "families")
    assert table is None and figure.layout.annotations


def test_hierarchy_view_shows_only_what_is_cached():
    context = ViewContext(cache=DictCache())
    raw, _ = config_from_search("?students=2&teachers=2&dim=3&starts=10")
    before = hierarchy.show_hierarchy(context, None, raw, "2 3", "hierarchy")
    text = " ".join(a.text for a in before.layout.annotations)
    assert not before.data and "compute the hierarchy" in text and "widths 2, 3" in text
    assert len(context.cache) == 0                       # looking never computes
    lines = []
    ready, status = hierarchy.compute_hierarchy(context, raw, "2 3", lines.append)
    assert status == "widths [2, 3]" and lines and ready["raw"] == raw
    after = hierarchy.show_hierarchy(context, ready, raw, "2 3", "hierarchy")
    assert after.data
    _, status = hierarchy.compute_hierarchy(context, raw, "2 99", lines.append)
    assert "between 1 and" in status
    assert hierarchy.show_hierarchy(context, ready, raw, "2 3", "families") is no_update


def test_show_tab_shows_exactly_one_view():
    styles = callbacks.show_tab("families")
    shown = [value for (value, _), style in zip(state.TABS, styles) if style["display"] == "block"]
    assert shown == ["families"]


def test_axis_options_keep_the_urls_valid_choices():
    search = "?students=3&teachers=2&axis-x=Q%5B0%2C1%5D&axis-y=nonsense"
    raw, _ = config_from_search(search)
    out = flows_3d.axis_options(raw, search)
    assert out[0] == out[1] == out[2] and "Q[0,1]" in out[0]
    assert out[3:] == ["Q[0,1]", state.DEFAULT_AXES[1], state.DEFAULT_AXES[2]]
    # an axis of a wider network than these controls make is not kept
    assert flows_3d.axis_options(raw, search.replace("Q%5B0%2C1%5D", "Q%5B0%2C5%5D"))[3] == (
        state.DEFAULT_AXES[0])


def test_the_tabs_fields_round_trip_through_the_url_and_stay_out_of_it_at_defaults():
    values = state.from_query("?students=5")
    assert {k: values[k] for k in state.VIEW_FIELDS} == state.VIEW_FIELDS
    assert state.to_query(values) == state.to_query(state.from_query("?students=5"))
    assert not any(k in state.to_query(values) for k in state.VIEW_FIELDS)
    chosen = {"flow-start": "3", "flow-time": "20", "flow-simulate": "100",
              "axis-x": "Q[0,1]", "axis-y": "loss", "axis-z": "max M",
              "surface-directions": "flat", "surface-other": "2"}
    again = state.from_query(state.to_query(values | chosen))
    assert {k: again[k] for k in state.VIEW_FIELDS} == chosen


def test_connections_view_computes_on_the_button_and_shows_the_tree():
    context = ViewContext(cache=DictCache())
    search = "?students=6&teachers=6&dim=6&starts=50&tab=connections&connection=0"
    raw, _ = config_from_search(search)
    reports = []
    ready, status = connections.compute_connections(context, 0, "connections", raw,
                                                    lambda *a: reports.append(a))
    assert ready is None and "press the button" in status and not reports
    assert connections.compute_connections(context, 1, "families", raw, reports.append) == (
        no_update, no_update)
    ready, status = connections.compute_connections(context, 1, "connections", raw,
                                                    lambda *a: reports.append(a))
    assert ready == raw and "minima" in status and reports
    tree, options, value = connections.show_tree(context, ready, [], None, search)
    assert tree.data and value == 0 and len(options) >= 1
    entries = len(context.cache)
    profile, plane = connections.show_connection(context, 0, ready)
    assert profile.data and plane.data
    assert len(context.cache) == entries + 1             # the plane's loss grid is cached
    assert connections.show_connection(context, 0, ready)[1] == plane
    assert len(context.cache) == entries + 1
    # Lecture mode (the lecture store) reaches every figure of the tab.
    big = [connections.show_tree(context, ready, [], None, search, True)[0],
           *connections.show_connection(context, 0, ready, True)]
    assert all(f.layout.font.size >= 20 for f in big)
    assert all(f.layout.font.size < 20 for f in (tree, profile, plane))
    # Opening the tab again finds the cached result without a click.
    again, _ = connections.compute_connections(context, 0, "connections", raw, lambda *a: None)
    assert again == raw


def test_plain_callbacks_read_results_and_never_compute_them(monkeypatch):
    """Issue 16 row 9: a download (or another plain callback) of an uncomputed catalog
    ran the search in the web request, outside the job cap and budget."""
    from landscape.errors import ComputationLimit

    def no_search(*args, **kwargs):
        raise AssertionError("a plain callback ran a search")

    monkeypatch.setattr(service, "find_fixed_points", no_search)
    monkeypatch.setattr(service, "find_connections", no_search)
    # figures built by earlier tests in this process are not results to read
    monkeypatch.setattr(flows_3d, "_BUILT", type(flows_3d._BUILT)())
    context = ViewContext(cache=DictCache())
    raw, _ = config_from_search(SEARCH)
    for view in (lambda: fixed_points.download(context, "download-json-button", raw),
                 lambda: fixed_points.show_catalog(context, raw, SEARCH),
                 lambda: fixed_points.show_point(context, "0", raw),
                 lambda: flows_3d.show_flows_3d(context, raw, "flows-3d", None, None, None)):
        with pytest.raises(ComputationLimit, match="compute the view first"):
            view()
    with pytest.raises(ComputationLimit, match="press the button"):
        connections.show_tree(context, raw, [], None, SEARCH)
    assert not context.cache


def test_a_failing_view_says_why_in_its_figures_instead_of_blank_axes():
    from landscape.errors import ComputationLimit
    from landscape.ui.common import reason_in_figures

    def slow(raw):
        raise ComputationLimit("stopped after the time budget of 60 s of a request")

    figure, table, marks = reason_in_figures("figure", "table", "marks")(slow)(None)
    assert "time budget of 60 s" in figure.layout.annotations[0].text
    assert table is no_update and marks is no_update
    # a bug is named, not shown as a traceback
    only = reason_in_figures("figure")(lambda: 1 / 0)()
    assert "ZeroDivisionError" in only.layout.annotations[0].text


def test_compare_parses_name_value_changes_and_refuses_the_rest():
    values = state.from_query("?students=4&teachers=4&dim=4&starts=30")
    assert state.compare_controls("", values) is None
    second = state.compare_controls("K=5 teacher=correlated:0.3", values)
    assert second["students"] == "5" and second["teacher"] == "correlated:0.3"
    assert second["teachers"] == "4" and set(second) == set(state.CONTROL_IDS)
    for bad in ("K9", "X=3", "K=0", "K=99", "teacher=/etc/passwd"):
        with pytest.raises(ConfigError):
            state.compare_controls(bad, values)
    assert state.to_query(values).find("compare") == -1       # empty: not in the URL
    compare, message = callbacks.compare_from_search("?students=4&compare=K%3D5")
    assert compare["students"] == "5" and message == ""
    assert callbacks.compare_from_search("?compare=nonsense")[0] is None


def test_compare_shows_both_shares_on_one_axis(view):
    context, raw, ready, _, _ = view
    hidden = fixed_points.show_compare(context, ready, None, None)
    assert hidden[2] == {"display": "none"} and hidden[3] == {}
    second = state.compare_controls("K=5", raw)
    waiting = fixed_points.show_compare(context, ready, second, None)
    assert not waiting[0].data and waiting[3] == {"display": "none"}
    callbacks.run_catalog_job(context, second, lambda *a: None)
    a, b, shown, usual = fixed_points.show_compare(context, ready, second, second)
    assert shown == {} and usual == {"display": "none"}
    assert a.layout.yaxis.range == b.layout.yaxis.range          # one share axis
    top = max(max(t.y) for fig in (a, b) for t in fig.data)
    assert a.layout.yaxis.range[1] >= top
    assert "K = 4" in a.layout.title.text and "K = 5" in b.layout.title.text
    # each panel's bars add up to its own catalog's starts
    for fig, values in ((a, raw), (b, second)):
        catalog = context.catalog(values)
        assert sum(sum(t.y) for t in fig.data) == pytest.approx(
            100 * (sum(p["fraction"] for p in catalog["fixed_points"])
                   + sum(p["fraction"] for p in catalog["nondifferentiable"]["points"])
                   + catalog["unconverged"] / 30), abs=0.1)


def test_hierarchy_compare_computes_and_shows_both():
    context = ViewContext(cache=DictCache())
    raw, _ = config_from_search("?students=2&teachers=2&dim=3&starts=10")
    second = state.compare_controls("teacher=correlated:0.3", raw)
    assert hierarchy.show_hierarchy_compare(context, None, "2 3", "hierarchy")[1] == {
        "display": "none"}
    before, style = hierarchy.show_hierarchy_compare(context, second, "2 3", "hierarchy")
    assert style == {} and not before.data and "compared with" in before.layout.title.text
    lines = []
    hierarchy.compute_hierarchy(context, raw, "2 3", lines.append, second)
    assert any(line.startswith("compared view") for line in lines)
    after, _ = hierarchy.show_hierarchy_compare(context, second, "2 3", "hierarchy")
    assert after.data and "correlated:0.3" in after.layout.title.text


def test_share_against_K_reads_the_cache_and_its_job_fills_it(monkeypatch):
    monkeypatch.setattr(state, "ACROSS_WIDTHS", range(2, 5))
    context = ViewContext(cache=DictCache())
    raw, _ = config_from_search("?students=3&teachers=3&dim=3&starts=10")
    figure, note = fixed_points.show_across(context, raw)
    assert len(context.cache) == 0                         # looking never computes
    assert not any(t.x for t in figure.data) and "2, 3, 4" in note
    callbacks.run_catalog_job(context, state.across_controls(raw)[1][1], lambda *a: None)
    figure, note = fixed_points.show_across(context, raw)
    assert [list(t.x) for t in figure.data][0] == [3] and "2, 4" in note
    reports = []
    ready, status = fixed_points.compute_across(context, raw, lambda *a: reports.append(a))
    assert ready == raw and reports[-1] == (30, 30) and len(context.cache) == 3
    figure, note = fixed_points.show_across(context, raw)
    assert list(figure.data[0].x) == [2, 3, 4] and note == ""
    assert all(state.catalog_config(v).dim == w for w, v in state.across_controls(raw))


@pytest.mark.slow
def test_a_start_that_ends_at_the_chosen_entry(view):
    context, raw, ready, _, _ = view
    catalog = context.catalog(raw)
    options, value = flows_2d.end_options(context, ready, "?ends-at=0")
    assert [o["value"] for o in options] == [str(i) for i in range(len(catalog["fixed_points"]))]
    assert value == "0" and flows_2d.end_options(context, ready, "?ends-at=99")[1] is None
    intro = flows_2d.show_end_start(context, ready, None, "50", "100", "flows-2d")
    assert not intro.data and "choose" in intro.layout.annotations[0].text
    assert flows_2d.show_end_start(context, ready, "0", "50", "100", "families") is no_update
    traj = service.trajectories_result(state.catalog_config(raw), context.cache)
    for i, point in enumerate(catalog["fixed_points"]):
        start = flows_2d.start_ending_at(context, ready, i)
        if start is None:
            assert i not in traj["label"]
            continue
        assert traj["label"][start] == i and i not in traj["label"][:start]
        figure = flows_2d.show_end_start(context, ready, str(i), "200", "100", "flows-2d")
        assert f"start {start}" in figure.layout.title.text
        # independently: gradient flow from that start comes to the entry's loss
        gf = service.flow_result(state.flow_config(raw | {"lr": "0"}, time="200",
                                                   start=start))
        assert gf["loss"][-1] == pytest.approx(point["loss"], rel=0.05, abs=1e-6)
    missing = flows_2d.show_end_start(context, ready, "99", "50", "100", "flows-2d")
    assert "no entry #99" in missing.layout.annotations[0].text


def test_only_the_open_tab_asks_for_its_work():
    # A page on another tab neither starts the Connections job nor computes the Fixed
    # points figures; opening the tab does.
    raw, _ = config_from_search("?students=3&teachers=3&dim=3&starts=10")
    assert connections.request_connections("flows-3d", raw) is no_update
    assert connections.request_connections("connections", None) is no_update
    assert connections.request_connections("connections", raw) == raw

    def must_not_run():
        raise AssertionError("computed on a hidden tab")

    assert fixed_points.while_open("theory", 3, must_not_run) == (no_update,) * 3
    assert fixed_points.while_open("fixed-points", 1, lambda: "drawn") == "drawn"


def test_the_theory_text_is_typeset_when_its_tab_first_opens():
    # MathJax and the Markdown renderer (2.5 MB of scripts) are not loaded by other views
    assert theory.show_theory("fixed-points", None) is no_update
    text = theory.show_theory("theory", None)
    assert text.mathjax and "arc-cosine kernel" in text.children
    assert theory.show_theory("theory", text.to_plotly_json()) is no_update
