"""Figures make their point (issue 15): checked on figure objects built from small real
results. Each property is checked against the result it draws, not against the figure
code's own helpers."""
import json
import math

import numpy as np
import pytest

from landscape import figures
from landscape.config import make_catalog_config, make_flow_config
from landscape.methods.trajectories import array_from_json
from landscape.running import service


# ----------------------------------------------------------------------------- results
@pytest.fixture(scope="module")
def spurious():
    """K = M = 7, d = 7: 60 starts, one of which ends in a spurious minimum."""
    config = make_catalog_config(7, 7, dim=7, starts=60)
    catalog = service.catalog_result(config)
    assert any(p["kind"] == "local_minimum" for p in catalog["fixed_points"])
    return catalog, service.trajectories_result(config, points=20)


@pytest.fixture(scope="module")
def dead_ends():
    """K = 3, M = 2 with starts drawn in 2 dimensions: some students die (padded ends,
    here at zero loss: counted in the global minimum's entry)."""
    catalog = service.catalog_result(make_catalog_config(3, 2, starts=10, init_dim=2))
    assert catalog["nondifferentiable"]["in_global_minimum"] > 0
    return catalog


@pytest.fixture(scope="module")
def flow66():
    """Gradient flow, K = M = 6, d = 6 up to T = 50 (still moving at T)."""
    return service.flow_result(make_flow_config(6, 6, lr=0, time=50, points=100, dim=6))


@pytest.fixture(scope="module")
def flow33():
    """Gradient flow, K = M = 3 up to T = 200: a plateau, then the global minimum."""
    return service.flow_result(make_flow_config(3, 3, lr=0, time=200, points=100))


@pytest.fixture(scope="module")
def families():
    setup = make_catalog_config(6, 6).teacher
    return service.families_result(setup, np.inf, range(2, 8), range(0, 2))


@pytest.fixture(scope="module")
def hierarchy22():
    from landscape.methods.hierarchy import build_hierarchy
    result = build_hierarchy(make_catalog_config(2, 2, starts=6), [2, 3]).to_json()
    return json.loads(json.dumps(result))


@pytest.fixture(scope="module")
def swap_paths():
    """K = M = 2, d = inf: the path between the global minimum and its student-swapped
    copy over their saddle, as a ``paths`` result, and the plane through it."""
    from landscape.maths.teachers import teacher_vectors
    from landscape.methods import paths, surfaces

    V = teacher_vectors(np.eye(2), 4)
    band, saddle, direction, string_band, dips = paths.path_connection(
        V, V[[1, 0]], V, math.inf, images=12, string=False)
    assert saddle.confirmed
    connection = paths._connection(0, 0, band, saddle, None, [0, 0], V, {0: 0.0})
    minimum = paths.Minimum(0, 0.0, "global_minimum", 1.0, V, V @ V.T, V @ V.T)
    result = json.loads(json.dumps({
        "minima": [minimum.to_json()], "connections": [connection.to_json()],
        "tree": paths.disconnectivity_tree([minimum], [connection])}))
    return result, surfaces.path_plane(result["connections"][0], np.eye(2), 7, 0.25)


@pytest.fixture(scope="module")
def gallery(spurious, flow66, families, hierarchy22, swap_paths):
    """name -> factory(lecture) for every figure factory."""
    catalog, traj = spurious
    point = catalog["fixed_points"][-1]
    surface = service.loss_surface(catalog, 0, make_catalog_config(7, 7, dim=7, starts=60),
                                   size=7)
    # name -> factory(**options); options is {} or {"lecture": True}. Factories that
    # exist only with the lecture work come last.
    return {
        "shares": lambda **o: figures.basin_share_figure(catalog, **o),
        "heatmap": lambda **o: figures.heatmap_figure(point["M"], "M", "teacher", "student", **o),
        "spectrum": lambda **o: figures.spectrum_figure(point, **o),
        "surface": lambda **o: figures.surface_figure(surface, **o),
        "contour": lambda **o: figures.surface_figure(surface, contour=True, **o),
        "flow": lambda **o: figures.flow_figure(flow66, **o),
        "flows 3d": lambda **o: figures.trajectories_figure(traj, catalog, **o),
        "families": lambda **o: figures.families_figure(families, current=6, **o),
        "hierarchy": lambda **o: figures.hierarchy_figure(hierarchy22, **o),
        "empty": lambda **o: figures.empty_figure("no result yet", **o),
        "flow heatmap": lambda **o: figures.flow_heatmap_figure(flow66, 3, "Q", **o),
        "hierarchy intro": lambda **o: figures.hierarchy_intro_figure(
            [6, 7, 8], 200, "about a minute", **o),
        "connections tree": lambda **o: figures.disconnectivity_figure(swap_paths[0], **o),
        "connections tree log": lambda **o: figures.disconnectivity_figure(
            swap_paths[0], log=True, **o),
        "connection profile": lambda **o: figures.path_profile_figure(swap_paths[0], 0, **o),
        "connection plane": lambda **o: figures.path_plane_figure(swap_paths[1], **o),
    }


# ----------------------------------------------------------------------------- helpers
def font_sizes(node, path=""):
    """(path, size) of every font size set anywhere in a figure's JSON."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key.endswith("font") and isinstance(value, dict) and "size" in value:
                yield f"{path}.{key}", value["size"]
            yield from font_sizes(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from font_sizes(value, f"{path}[{i}]")


def axes_of(fig):
    layout = fig.to_plotly_json()["layout"]
    return {k: v for k, v in layout.items() if k.startswith(("xaxis", "yaxis"))}


def ticks_are_integers(axis):
    if axis.get("tickvals") is not None:
        return all(float(v).is_integer() for v in axis["tickvals"])
    dtick, tick0 = axis.get("dtick"), axis.get("tick0", 0)
    return (dtick is not None and float(dtick).is_integer() and dtick >= 1
            and float(tick0).is_integer())


def figure_text(fig):
    layout = fig.to_plotly_json()["layout"]
    texts = [str(layout.get("title", {}).get("text", ""))]
    texts += [str(a.get("text", "")) for a in layout.get("annotations", [])]
    return " ".join(texts).replace("<br>", " ")


def trace_colour(trace):
    return trace.line.color if trace.line is not None else None


# ----------------------------------------------------------------------------- every figure
def test_lecture_mode_sets_every_text_to_at_least_20px(gallery):
    for name, make in gallery.items():
        fig = make(lecture=True).to_plotly_json()
        assert fig["layout"]["font"]["size"] >= 20, name
        small = [(path, size) for path, size in font_sizes(fig) if size < 20]
        assert not small, (name, small)
        # and the option is an option: normal figures use the smaller default
        assert make().layout.font.size < 20, name


def test_every_axis_is_titled(gallery):
    for name, make in gallery.items():
        if name in ("empty", "hierarchy intro"):
            continue
        fig = make()
        for key, axis in axes_of(fig).items():
            if axis.get("visible") is False:
                continue
            title = (axis.get("title") or {}).get("text")
            shared = axis.get("matches") or axis.get("showticklabels") is False
            assert title or shared, (name, key)
        if name in ("flows 3d", "surface", "connection plane"):
            scene = fig.layout.scene
            for axis in (scene.xaxis, scene.yaxis, scene.zaxis):
                assert axis.title.text, (name, "scene")


def test_widths_and_indices_have_integer_ticks(gallery, families):
    fam = gallery["families"]()
    widths = {r["students"] for r in families["rows"]}
    for key, axis in axes_of(fam).items():
        if key.startswith("xaxis"):
            assert ticks_are_integers(axis), key
    heat = axes_of(gallery["heatmap"]())
    assert ticks_are_integers(heat["xaxis"]) and ticks_are_integers(heat["yaxis"])
    spectrum = axes_of(gallery["spectrum"]())
    assert ticks_are_integers(spectrum["yaxis"])           # multiplicities
    hier = axes_of(gallery["hierarchy"]())
    assert all(ticks_are_integers(a) for k, a in hier.items() if k.startswith("xaxis"))
    assert min(widths) == 2 and max(widths) == 7


def test_empty_figure_says_why_in_big_words():
    message = "stopped after the time budget of 60 s; ask for fewer starts or students"
    fig = figures.empty_figure(message)
    (note,) = fig.layout.annotations
    assert note.font.size >= 20
    lines = note.text.split("<br>")
    assert " ".join(lines) == message and max(map(len, lines)) <= 60   # wrapped, not cut
    blank = figures.empty_figure("")
    assert blank.layout.annotations[0].text.strip()      # never blank axes


# ----------------------------------------------------------------------------- fixed points
def test_shares_on_a_linear_axis_count_every_end(dead_ends):
    fig = figures.basin_share_figure(dead_ends)
    assert fig.layout.yaxis.type == "linear"
    total = sum(sum(t.y) for t in fig.data)
    assert total == pytest.approx(100.0)           # fixed points + dead ends + unconverged
    dead = [t for t in fig.data if "dead" in t.name]
    expected = 100 * sum(p["fraction"] for p in dead_ends["nondifferentiable"]["points"])
    assert sum(sum(t.y) for t in dead) == pytest.approx(expected)
    # padded ends at zero loss are in the global minimum's bar
    (glob,) = [t for t in fig.data if t.name == figures.KIND_NAMES["global_minimum"]]
    assert sum(glob.y) == pytest.approx(100 * dead_ends["global_fraction"])
    assert figures.basin_share_figure(dead_ends, log=True).layout.yaxis.type == "log"


# ----------------------------------------------------------------------------- Flows 2D
def matched_teacher(flow, k):
    """Independent: the teacher whose direction student k's final weights point along
    (orthonormal teacher: cosine = M_kr / |w_k|)."""
    M, Q = np.array(flow["M"][-1]), np.array(flow["Q"][-1])
    cos = M[k] / math.sqrt(Q[k, k])
    return int(np.argmax(cos)), float(np.max(cos))


def test_flow_students_are_coloured_by_the_teacher_they_match(flow33):
    fig = figures.flow_figure(flow33)
    M = np.array(flow33["M"])
    legend = {t.name: trace_colour(t) for t in fig.data if t.showlegend is not False}
    K = M.shape[1]
    for k in range(K):
        r, cos = matched_teacher(flow33, k)
        assert cos > 0.99                                # flow33 ends at the global minimum
        traces = [t for t in fig.data if t.yaxis == "y"
                  and np.allclose(np.array(t.y, dtype=float), M[:, k, r])]
        assert len(traces) == 1
        names = [name for name, colour in legend.items() if f"teacher {r}" in (name or "")]
        assert names, legend
        assert trace_colour(traces[0]) == legend[names[0]]
    colours = {trace_colour(t) for t in fig.data if t.yaxis == "y"}
    assert len(colours) == K                     # one colour per matched teacher


def test_flow_matched_mode_draws_one_overlap_per_student(flow33):
    fig = figures.flow_figure(flow33, mode="matched")
    M = np.array(flow33["M"])
    curves = [np.array(t.y, dtype=float) for t in fig.data if t.yaxis == "y"]
    assert len(curves) == M.shape[1]
    for k in range(M.shape[1]):
        r, _ = matched_teacher(flow33, k)
        assert any(np.allclose(c, M[:, k, r]) for c in curves)
    assert len([t for t in figures.flow_figure(flow33).data if t.yaxis == "y"]) == 9


def test_flow_loss_panel_marks_plateaus_and_the_end(flow33):
    fig = figures.flow_figure(flow33)
    t = np.array(flow33["t"])
    loss = np.array(flow33["loss"])
    state = np.concatenate([np.array(flow33["Q"]).reshape(len(t), -1),
                            np.array(flow33["M"]).reshape(len(t), -1)], axis=1)
    shapes = [s for s in fig.layout.shapes if s.xref in ("x3", "x3 domain") or s.yref in
              ("y3", "y3 domain")]
    plateaus = [s for s in shapes if s.type == "rect"]
    ends = [s for s in shapes if s.type == "line" and s.x0 == s.x1]
    assert plateaus and len(ends) == 1
    for rect in plateaus:
        inside = (t >= rect.x0) & (t <= rect.x1)
        # nearly flat inside (less than 25 % down) ...
        assert loss[inside][0] / loss[inside][-1] < 1.25
        # ... for a while, and the loss falls by far more afterwards
        assert rect.x1 - rect.x0 >= 0.05 * t[-1]
        assert loss[inside][-1] / loss[-1] > 10
    end = ends[0].x0
    after = t >= end
    assert np.max(np.abs(state[after] - state[-1])) <= 1e-2 + 1e-12     # at its end point
    before = t[t < end]
    assert np.max(np.abs(state[t == before[-1]] - state[-1])) > 1e-2      # not earlier
    assert "end" in figure_text(fig)


def test_flow_says_when_it_shows_fewer_curves_than_there_are(flow66):
    fig = figures.flow_figure(flow66, max_lines=10)
    drawn = len([t for t in fig.data if t.yaxis == "y"])
    assert drawn == 10
    assert "showing 10 of 36" in figure_text(fig)
    full = figures.flow_figure(flow66)
    assert len([t for t in full.data if t.yaxis == "y"]) == 36
    assert "showing" not in figure_text(full)


def test_flow_heatmaps_keep_one_colour_scale_over_time(flow66):
    M = np.array(flow66["M"])
    bound = np.abs(M).max()
    ranges = set()
    for i in (0, 10, 50, len(flow66["t"]) - 1):
        heat = figures.flow_heatmap_figure(flow66, i, "M").data[0]
        assert np.allclose(heat.z, M[i])
        ranges.add((heat.zmin, heat.zmax))
    assert ranges == {(-bound, bound)}
    fixed = figures.heatmap_figure(M[0], "M", "teacher", "student", zmin=-2, zmax=3).data[0]
    assert (fixed.zmin, fixed.zmax) == (-2, 3)


# ----------------------------------------------------------------------------- Flows 3D
def test_flows_3d_play_button_animates_every_start(spurious):
    catalog, traj = spurious
    fig = figures.trajectories_figure(traj, catalog, axes=("max M", "mean diag Q", "mean M"))
    assert len(fig.frames) > 5
    buttons = [b for menu in fig.layout.updatemenus for b in menu.buttons]
    assert any(b.method == "animate" and b.args[0] is None for b in buttons)   # play
    M = array_from_json(traj["M"])
    Q = array_from_json(traj["Q"])
    K = Q.shape[-1]
    last = fig.frames[-1]
    xs = np.concatenate([np.array(d.x, dtype=float) for d in last.data])
    ys = np.concatenate([np.array(d.y, dtype=float) for d in last.data])
    assert len(xs) == len(traj["label"])                  # one moving marker per start
    # drawn to 1e-4 of each axis's range (far below a pixel)
    max_m, diag_q = M.max(axis=(2, 3)), np.trace(Q, axis1=2, axis2=3) / K
    assert sorted(xs) == pytest.approx(sorted(max_m[:, -1]), abs=1e-4 * np.ptp(max_m))
    assert sorted(ys) == pytest.approx(sorted(diag_q[:, -1]), abs=1e-4 * np.ptp(diag_q))
    assert fig.layout.sliders and len(fig.layout.sliders[0].steps) == len(fig.frames)


def test_flows_3d_lines_pass_within_a_pixel_of_every_recorded_point(spurious):
    """The lines leave out points (half the data for the browser), never the shape."""
    catalog, traj = spurious
    axes = ("max M", "mean diag Q", "mean M")
    fig = figures.trajectories_figure(traj, catalog, axes=axes)
    M, Q = array_from_json(traj["M"]), array_from_json(traj["Q"])
    recorded = np.stack([M.max(axis=(2, 3)), np.trace(Q, axis1=2, axis2=3) / Q.shape[-1],
                         M.mean(axis=(2, 3))], axis=-1)              # (S, T, 3)
    span = np.ptp(recorded.reshape(-1, 3), axis=0)
    labels = np.array(traj["label"])
    drawn = 0
    for trace in (t for t in fig.data if t.mode == "lines"):
        xyz = np.stack([np.array(trace[a], dtype=float) for a in "xyz"], axis=-1)
        lines = np.split(xyz, np.nonzero(np.isnan(xyz[:, 0]))[0] + 1)[:-1]
        members = np.nonzero(labels == int(trace.legendgroup))[0]
        assert len(lines) == len(members)
        for start, line in zip(members, lines):
            line = line[:-1] / span                                 # the NaN break off
            points = recorded[start] / span
            drawn += len(line)
            a, b = line[:-1, None], line[1:, None]                  # segments x points
            ab, ap = b - a, points[None] - a
            along = np.clip((ap * ab).sum(-1) / np.maximum((ab * ab).sum(-1), 1e-300), 0, 1)
            away = np.linalg.norm(ap - along[..., None] * ab, axis=-1).min(axis=0)
            # a pixel of a 1000 px axis, and the drawing's rounding (1e-4 of the range)
            assert away.max() < 1.2e-3, (start, away.max())
    assert drawn < 0.9 * recorded.shape[0] * recorded.shape[1]      # points were left out


def test_flows_3d_fills_the_width_with_a_sensible_loss_axis(spurious):
    catalog, traj = spurious
    fig = figures.trajectories_figure(traj, catalog)
    scene = fig.layout.scene
    assert scene.aspectratio.x >= 1.5 * scene.aspectratio.z   # wide, not a cube
    assert fig.layout.width is None and tuple(scene.domain.x) == (0, 1)
    z = np.concatenate([np.array(t.z, dtype=float) for t in fig.data])
    z = z[np.isfinite(z)]
    lowest = min(p["loss"] for p in catalog["fixed_points"] if p["loss"] > 1e-12)
    assert z.min() >= math.log10(lowest) - 3           # not a 1e-16 floor
    assert "clipped" in scene.zaxis.title.text


def test_flows_3d_draws_spurious_flows_on_top_and_in_their_own_colours(spurious):
    catalog, traj = spurious
    points = catalog["fixed_points"]
    local = next(i for i, p in enumerate(points) if p["kind"] == "local_minimum")
    # a second spurious minimum (a copy at another loss) and a saddle, reached by starts
    extra = [dict(points[local], loss=points[local]["loss"] * 1.5),
             dict(points[local], kind="saddle", loss=points[local]["loss"] * 2)]
    catalog = dict(catalog, fixed_points=points + extra)
    labels = list(traj["label"])
    globals_ = [i for i, label in enumerate(labels) if points[label]["kind"] == "global_minimum"]
    labels[globals_[0]], labels[globals_[1]] = len(points), len(points) + 1
    fig = figures.trajectories_figure(dict(traj, label=labels), catalog)
    lines = [t for t in fig.data if t.mode == "lines"]
    kinds = []
    for t in lines:
        kinds.append("global" if "global" in t.name else "saddle" if "saddle" in t.name
                     else "spurious")
    first_spurious = kinds.index("spurious")
    assert all(k == "spurious" for k in kinds[first_spurious:])     # drawn last: on top
    glob = lines[kinds.index("global")]
    spur = [t for t, k in zip(lines, kinds) if k == "spurious"]
    saddle = lines[kinds.index("saddle")]
    assert len(spur) == 2
    assert all(t.line.width > glob.line.width and t.opacity >= glob.opacity for t in spur)
    colours = [t.line.color for t in spur]
    assert len(set(colours)) == 2 and saddle.line.color not in colours
    assert glob.line.color not in colours


# ----------------------------------------------------------------------------- Families
def test_families_loss_axis_spans_the_families_with_zero_losses_on_a_strip(families):
    rows = families["rows"]
    fig = figures.families_figure(families, current=6, dim="inf")
    positive = [r["loss"] for r in rows if r["loss"] > 1e-12]
    low, high = fig.layout.yaxis.range
    assert fig.layout.yaxis.type == "log"
    assert math.log10(min(positive)) - 0.5 <= low <= math.log10(min(positive))
    assert math.log10(max(positive)) <= high <= math.log10(max(positive)) + 0.5
    zeros = {(r["k1"], r["students"]) for r in rows if r["loss"] <= 1e-12}
    assert zeros
    drawn = set()
    for t in fig.data:
        if t.yaxis == "y2":
            drawn |= {(int(y), int(x)) for x, y in zip(t.x, t.y)}
    assert drawn == zeros                                  # every zero-loss member, once
    assert "d = ∞" in fig.layout.title.text


def test_families_onsets_are_annotated(families):
    rows = families["rows"]
    fig = figures.families_figure(families)
    onsets = {}
    for k1 in {r["k1"] for r in rows} - {0}:
        kinds = {r["students"]: r["kind"] for r in rows if r["k1"] == k1}
        stable = [K for K in sorted(kinds) if all(kinds[L] == "local_minimum"
                                                  for L in kinds if L >= K)]
        if stable:
            onsets[k1] = stable[0]
    assert onsets == {1: 6}
    for k1, onset in onsets.items():
        notes = [a for a in fig.layout.annotations if a.x == onset and str(onset) in a.text]
        assert notes, (k1, onset)


# ----------------------------------------------------------------------------- Hierarchy
def test_hierarchy_before_computing_says_what_it_will_show():
    fig = figures.hierarchy_intro_figure([6, 7, 8], 200, "about 2 minutes")
    text = figure_text(fig)
    assert "6, 7, 8" in text and "about 2 minutes" in text and "200" in text
    assert not fig.data and not fig.layout.xaxis.visible


def test_hierarchy_writes_the_global_share_on_each_width(hierarchy22):
    fig = figures.hierarchy_figure(hierarchy22)
    bars = [t for t in fig.data if t.type == "bar" and "global" in t.name]
    assert len(bars) == 1
    shares = [f"{100 * lv['global_fraction']:.0f}%" for lv in hierarchy22["levels"]]
    assert list(bars[0].text) == shares
    assert list(bars[0].x) == [lv["students"] for lv in hierarchy22["levels"]]


def test_hierarchy_says_how_many_links_end_at_a_dead_student(hierarchy22):
    """A link into a dead-student end has no fixed point to be drawn to: it is counted on
    the axis, not dropped without a word (issue 15: no trace silently dropped)."""
    assert "dead" not in figures.hierarchy_figure(hierarchy22).layout.xaxis.title.text
    dead = {"from": {"students": 2, "index": 0},
            "to": {"students": 3, "index": 0, "nondifferentiable": True},
            "relation": "pad", "count": 1}
    for links, words in ((1, "1 link to dead students"), (2, "2 links to dead students")):
        changed = hierarchy22 | {"links": hierarchy22["links"] + [
            dead | {"from": {"students": 2, "index": i}} for i in range(links)]}
        assert words in figures.hierarchy_figure(changed).layout.xaxis.title.text


@pytest.mark.slow
def test_hierarchy_labels_where_spurious_minima_drain():
    """K = M = 7 in d = 7 into width 8 (about a minute)."""
    from landscape.methods.hierarchy import build_hierarchy
    hierarchy = json.loads(json.dumps(build_hierarchy(
        make_catalog_config(7, 7, dim=7, starts=60), [7, 8]).to_json()))
    by_width = {lv["students"]: lv["fixed_points"] for lv in hierarchy["levels"]}
    expected = {f"#{link['from']['index']} → #{link['to']['index']}"
                for link in hierarchy["links"]
                if not link["to"].get("nondifferentiable")
                and by_width[link["from"]["students"]][link["from"]["index"]]["kind"]
                == "local_minimum"}
    assert expected
    fig = figures.hierarchy_figure(hierarchy)
    labels = {a.text for a in fig.layout.annotations}
    assert expected <= labels


def test_style_sets_the_white_template_exactly_as_a_validated_update_would():
    import plotly.graph_objects as go
    styled = figures.style(go.Figure(go.Scatter(x=[0, 1], y=[1, 2])))
    validated = go.Figure(go.Scatter(x=[0, 1], y=[1, 2]))
    validated.update_layout(template="plotly_white")
    assert styled.to_plotly_json()["layout"]["template"] == \
        validated.to_plotly_json()["layout"]["template"]
    assert styled.layout.template.layout.plot_bgcolor == "white"
    styled.update_layout(height=300)                   # validation is back on afterwards
    with pytest.raises(ValueError):
        styled.update_layout(height="tall")


# ----------------------------------------------------------------------------- across widths
def test_share_by_width_draws_each_catalog_and_marks_the_missing_width(spurious):
    catalog, _ = spurious
    small = service.catalog_result(make_catalog_config(4, 4, dim=4, starts=20))
    rows = [{"width": 4, "catalog": small}, {"width": 5, "catalog": None},
            {"width": 7, "catalog": catalog}]
    fig = figures.share_by_width_figure(rows)
    bars = {t.name: t for t in fig.data}
    glob = bars["global minimum"]
    assert list(glob.x) == [4, 7]                         # no bar for the missing width
    for x, share in zip(glob.x, glob.y):
        source = small if x == 4 else catalog
        assert share == pytest.approx(100 * source["global_fraction"], abs=1e-9) or \
            share == pytest.approx(100 * sum(p["fraction"] for p in source["fixed_points"]
                                             if p["kind"] == "global_minimum"))
    # the spurious minimum at K = 7 is its own bar segment, and each stack is 100 %
    spur = bars["spurious minima"]
    assert spur.y[list(spur.x).index(7)] == pytest.approx(100 * sum(
        p["fraction"] for p in catalog["fixed_points"] if p["kind"] == "local_minimum"))
    assert spur.y[list(spur.x).index(7)] > 0
    totals = np.sum([t.y for t in fig.data], axis=0)
    np.testing.assert_allclose(totals, 100, atol=1e-9)
    # the missing width says so, widths are integer ticks, the axes say what they are
    assert [a.x for a in fig.layout.annotations if "not" in a.text] == [5]
    assert list(fig.layout.xaxis.tickvals) == [4, 5, 7]
    assert "width" in fig.layout.xaxis.title.text and "%" in fig.layout.yaxis.title.text
    assert fig.layout.barmode == "stack"
    assert figures.share_by_width_figure(rows, lecture=True).layout.font.size >= 20


@pytest.mark.slow
def test_gradient_flow_and_sgd_from_one_start_share_one_loss_axis():
    gf = service.flow_result(make_flow_config(3, 3, lr=0, time=40, points=60, start=2))
    sgd = service.flow_result(make_flow_config(3, 3, lr=0.1, time=400, points=60, start=2,
                                               simulate=100, runs=4))
    catalog = service.catalog_result(make_catalog_config(3, 3, starts=10))
    entry = catalog["fixed_points"][0]
    fig = figures.gf_sgd_figure(gf, sgd, entry, 0, 2)
    traces = {t.name: t for t in fig.data}
    floor = fig.layout.shapes[0].y0                    # the entry's loss line (0: the floor)
    assert entry["loss"] < 1e-12 and floor > 0
    gf_trace = traces["gradient flow"]
    assert list(gf_trace.x) == gf["t"]
    np.testing.assert_allclose(gf_trace.y, np.maximum(gf["loss"], floor))
    sim = sgd["simulation"]
    mean = traces["SGD simulation, mean"]
    np.testing.assert_allclose(mean.y, np.maximum(sim["loss_mean"], floor))
    ode = next(t for name, t in traces.items() if name.startswith("SGD, ODE limit"))
    np.testing.assert_allclose(ode.y, np.maximum(sgd["loss"], floor))
    # SGD drawn on gradient-flow time: lr t (its drift is lr times the gradient)
    np.testing.assert_allclose(ode.x, 0.1 * np.array(sgd["t"]))
    np.testing.assert_allclose(mean.x, 0.1 * np.array(sim["t"]))
    # and on that axis the ODE of a small lr follows gradient flow (up to lr^2 terms)
    slow = service.flow_result(make_flow_config(3, 3, lr=0.01, time=4000, points=200, start=2))
    small = next(t for t in figures.gf_sgd_figure(gf, slow, entry, 0, 2).data
                 if t.name.startswith("SGD, ODE limit"))
    along = np.interp(gf["t"], small.x, slow["loss"])
    np.testing.assert_allclose(along, gf["loss"], rtol=0.03, atol=1e-3)
    assert "lr = 0.1" in ode.name
    # one axis for all of them, log, titled; the title names the start and the entry
    assert {t.xaxis or "x" for t in fig.data} == {"x"} and {t.yaxis or "y" for t in fig.data} == {"y"}
    assert fig.layout.yaxis.type == "log" and "loss" in fig.layout.yaxis.title.text
    assert "time" in fig.layout.xaxis.title.text
    assert "start 2" in fig.layout.title.text and "#0" in fig.layout.title.text
    assert "#0" in fig.layout.annotations[0].text
