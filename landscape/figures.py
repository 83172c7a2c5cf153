"""Plotly figures: pure functions of JSON-able results (no Dash here).

Every factory takes ``lecture=False``; ``lecture=True`` sets every text of the figure to
at least ``LECTURE_FONT`` px, for a projector (``style`` does it for any figure).
"""
from __future__ import annotations

import math
import textwrap

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
from plotly.subplots import make_subplots

from .methods.trajectories import array_from_json

KIND_COLOURS = {"global_minimum": "#2a9d8f", "local_minimum": "#e76f51", "saddle": "#8d99ae"}
KIND_NAMES = {"global_minimum": "global minimum", "local_minimum": "spurious local minimum",
              "saddle": "saddle"}
DEAD_COLOUR = "#5c677d"          # dead-student (padded) ends
UNCONVERGED_COLOUR = "#ced4da"
# Spurious minima get colours of their own: never the saddles' grey, never the global teal.
MINIMUM_COLOURS = ["#e76f51", "#6a4c93", "#d62828", "#f4a261", "#1982c4", "#b5179e",
                   "#8ac926", "#ff595e", "#e9c46a", "#3a0ca3"]
# One colour per teacher (Flows 2D colours each student by the teacher it ends up matching).
TEACHER_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
                   "#e377c2", "#17becf", "#bcbd22", "#393b79", "#637939", "#843c39",
                   "#7b4173", "#3182bd", "#e6550d", "#31a354", "#756bb1", "#636363",
                   "#fd8d3c", "#9e9ac8"]
SPURIOUS_COLOUR = "#111111"
UNMATCHED_COLOUR = "#9a9a9a"
FAMILY_COLOURS = ["#2a9d8f", "#e76f51", "#6a4c93", "#1982c4", "#d62828", "#8ac926",
                  "#f4a261", "#b5179e", "#264653"]

FONT = 14
LECTURE_FONT = 22
TEMPLATE = "plotly_white"
MARGIN = dict(l=70, r=30, t=60, b=60)
ZERO_LOSS = 1e-12                 # losses below this are drawn as exactly zero


def _set_template(fig, name):
    """Give ``fig`` a registered template as plotly gives every new figure its default:
    without validating the template again. Validating it is most of a cached view's time
    (about 25 ms a figure); a registered template is valid already."""
    layout = fig.layout
    validate = layout._validate
    layout._validate = False
    try:
        layout.template = pio.templates[name]
    finally:
        layout._validate = validate


def style(fig, lecture=False, height=None):
    """Common look; in lecture mode every text of ``fig`` is at least LECTURE_FONT px."""
    base = LECTURE_FONT if lecture else FONT
    _set_template(fig, TEMPLATE)
    fig.update_layout(margin=MARGIN, font=dict(size=base), title_font_size=round(base * 1.15),
                      legend_font_size=base, hoverlabel_font_size=base)
    if height is not None:
        fig.update_layout(height=height)
    for annotation in fig.layout.annotations:
        size = annotation.font.size
        if size is None or size < base:
            annotation.font.size = base
    if not any(trace.type in ("scatter3d", "surface") for trace in fig.data):
        fig.update_xaxes(automargin=True)
        fig.update_yaxes(automargin=True)
    if lecture:
        fig.update_layout(margin=dict(l=90, r=40, t=80, b=80))
    return fig


def _wrap(text, width=56):
    return "<br>".join("<br>".join(textwrap.wrap(line, width) or [""])
                       for line in str(text).split("\n"))


def log_ticks(low, high, dense=True):
    """Tick values and labels for a log axis from ``low`` to ``high`` (> 0): 1-2-5 steps
    over a short range, decades otherwise, all labels the axis' own font size (plotly
    draws its automatic minor labels smaller)."""
    first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
    span = math.log10(high / low)
    steps = ((1, 1.5, 2, 3, 5, 7) if span <= 1 else (1, 2, 5) if span <= 3 and dense
             else (1, 3) if span <= 3 else (1,))
    values = [m * 10.0 ** e for e in range(first, last + 1) for m in steps]
    values = [v for v in values if low * 0.999 <= v <= high * 1.001] or [10.0 ** first]
    return values, [f"{v:.3g}" if 1e-3 <= v < 1e4 else f"{v:.0e}" for v in values]


def log_axis(values, pad=0.08, dense=True):
    """A log axis over the positive ``values`` with readable ticks (layout dict)."""
    positive = [v for v in values if v is not None and ZERO_LOSS < v < math.inf]
    if not positive:
        return dict(type="log")
    low, high = math.log10(min(positive)), math.log10(max(positive))
    margin = max(pad * (high - low), 0.05)
    vals, text = log_ticks(10 ** (low - margin), 10 ** (high + margin), dense)
    return dict(type="log", range=[low - margin, high + margin], tickvals=vals, ticktext=text)


def empty_figure(message="", lecture=False):
    """A figure without data that says why, in words, large (never blank axes)."""
    fig = go.Figure()
    text = _wrap(message or "nothing to show yet")
    fig.update_layout(xaxis_visible=False, yaxis_visible=False,
                      annotations=[dict(text=text, showarrow=False, xref="paper", yref="paper",
                                        x=0.5, y=0.5, font=dict(size=26 if lecture else 20,
                                                                color="#333"))])
    return style(fig, lecture)


def message_figure(title, lines, lecture=False, wrap=70):
    """A figure that explains (a heading and a few lines of text, ``wrap`` characters
    wide), e.g. before computing."""
    body = "<br>".join(_wrap(line, wrap) for line in lines)
    fig = go.Figure()
    fig.update_layout(xaxis_visible=False, yaxis_visible=False, annotations=[
        dict(text=f"<b>{title}</b>", showarrow=False, xref="paper", yref="paper", x=0.5,
             y=0.85, font=dict(size=28 if lecture else 22, color="#222")),
        dict(text=body, showarrow=False, xref="paper", yref="paper", x=0.5, y=0.45,
             align="left", font=dict(size=24 if lecture else 18, color="#333"))])
    return style(fig, lecture)


# ----------------------------------------------------------------------------- fixed points
def _config_line(config):
    if not config:
        return ""
    dim = config.get("dim")
    return (f"K = {config.get('students')}, M = {config.get('teachers')}, "
            f"d = {'∞' if dim in ('inf', None) or dim == float('inf') else dim}, "
            f"{config.get('starts')} starts")


def basin_share_figure(catalog, log=False, lecture=False):
    """Share of starts ending at each end point, on a linear axis (``log=True``: log).

    Every start is counted: fixed points (coloured by kind), dead-student (padded) ends
    and unconverged starts are bars of their own.

    Parameters
    ----------
    catalog : dict
        ``Catalog.to_json()``.
    """
    points = catalog["fixed_points"]
    starts = (catalog.get("config") or {}).get("starts")
    fig = go.Figure()
    groups = {}
    spurious = [i for i, p in enumerate(points) if p["kind"] == "local_minimum"]
    for i, p in enumerate(points):
        # each spurious minimum its own colour, the same as in Flows 3D (end_classes)
        kind = f"local_minimum {i}" if p["kind"] == "local_minimum" else p["kind"]
        groups.setdefault(kind, []).append(
            (f"#{i}", 100 * p["fraction"],
             f"#{i}: {KIND_NAMES.get(p['kind'], p['kind'])}<br>loss {p['loss']:.6g}<br>"
             f"Hessian index {p['index']}, min eigenvalue {p['min_eigenvalue']:.4g}"))
    for j, p in enumerate(catalog.get("nondifferentiable", {}).get("points", [])):
        groups.setdefault("dead", []).append(
            (f"dead {j}", 100 * p["fraction"],
             f"dead-student end {j}: {p.get('dead', '?')} student(s) at zero<br>"
             f"loss {p['loss']:.6g}"))
    unconverged = catalog.get("unconverged", 0)
    if unconverged and starts:
        groups["unconverged"] = [("unconverged", 100 * unconverged / starts,
                                  f"{unconverged} starts still moving at the time limit")]
    legend = dict(KIND_NAMES, dead="dead-student end (padded point)",
                  unconverged="unconverged")
    colours = dict(KIND_COLOURS, dead=DEAD_COLOUR, unconverged=UNCONVERGED_COLOUR)
    for rank, i in enumerate(spurious):
        legend[f"local_minimum {i}"] = f"spurious minimum #{i}"
        colours[f"local_minimum {i}"] = MINIMUM_COLOURS[rank % len(MINIMUM_COLOURS)]
    order = (["global_minimum"] + [f"local_minimum {i}" for i in spurious]
             + ["saddle", "dead", "unconverged"])
    for kind in order + sorted(set(groups) - set(order)):
        if kind not in groups:
            continue
        labels, shares, hover = zip(*groups[kind])
        fig.add_bar(x=list(labels), y=list(shares), name=legend.get(kind, kind),
                    marker_color=colours.get(kind, "#555"),
                    marker_pattern_shape="/" if kind == "dead" else "",
                    text=[f"{s:.1f}%" if s >= 0.05 else "<0.1%" for s in shares],
                    textposition="outside", cliponaxis=False,
                    customdata=list(hover),
                    hovertemplate="%{customdata}<br>share %{y:.2f}%<extra></extra>")
    top = max((s for g in groups.values() for _, s, _ in g), default=100.0)
    yaxis = (dict(type="log", title="share of starts (%, log scale)")
             if log else dict(type="linear", range=[0, min(100, top) * 1.15],
                              title="share of starts (%)"))
    config = _config_line(catalog.get("config"))
    fig.update_layout(title="Where gradient flow ends" + (f"<br>{config}" if config
                                                          else ""),
                      xaxis=dict(title="end point (# = fixed point in the table)",
                                 type="category"),
                      yaxis=yaxis, bargap=0.3, legend=dict(orientation="h", y=-0.25))
    return style(fig, lecture)


def share_by_width_figure(rows, lecture=False):
    """Where gradient flow ends against the width K = M (= d): stacked bars of the share
    of starts at the global minimum, at spurious minima, and elsewhere (saddles,
    dead-student ends, unconverged), one bar per width.

    Parameters
    ----------
    rows : list of dict
        ``{"width": K, "catalog": Catalog.to_json() or None}``; a width without a catalog
        is marked "not computed" instead of a bar.
    """
    done = [r for r in rows if r["catalog"] is not None]
    missing = [r["width"] for r in rows if r["catalog"] is None]
    widths = [r["width"] for r in done]
    glob, spurious, other = [], [], []
    for r in done:
        points = r["catalog"]["fixed_points"]
        g = 100 * sum(p["fraction"] for p in points if p["kind"] == "global_minimum")
        s = 100 * sum(p["fraction"] for p in points if p["kind"] == "local_minimum")
        glob.append(g)
        spurious.append(s)
        other.append(max(0.0, 100 - g - s))
    fig = go.Figure()
    for name, ys, colour in (("global minimum", glob, KIND_COLOURS["global_minimum"]),
                             ("spurious minima", spurious, KIND_COLOURS["local_minimum"]),
                             ("saddles, dead-student ends, unconverged", other,
                              UNCONVERGED_COLOUR)):
        fig.add_bar(x=widths, y=ys, name=name, marker_color=colour,
                    text=[f"{v:.0f}%" for v in ys] if ys is not other else None,
                    textposition="inside", insidetextanchor="middle",
                    hovertemplate="K = M = %{x}: %{y:.1f}%<extra>" + name + "</extra>")
    for w in missing:
        fig.add_annotation(x=w, y=50, text="not<br>computed", showarrow=False,
                           font=dict(color="#777"))
    every = [r["width"] for r in rows]
    starts = next(((r["catalog"].get("config") or {}).get("starts") for r in done), None)
    fig.update_layout(
        title="Share of starts reaching the global minimum, by width"
              + (f"<br>K = M = d, {starts} starts each" if starts else "<br>K = M = d"),
        barmode="stack", bargap=0.25, legend=dict(orientation="h", y=-0.25),
        xaxis=dict(title="width K = M = d", tickmode="array", tickvals=every,
                   range=[min(every) - 0.6, max(every) + 0.6] if every else None),
        yaxis=dict(title="share of starts (%)", range=[0, 100]))
    return style(fig, lecture)


def heatmap_figure(matrix, title, x_label, y_label, x_names=None, y_names=None, zmin=None,
                   zmax=None, lecture=False):
    """A matrix as a heatmap (rows top to bottom), diverging colours centred at 0.

    ``zmin``/``zmax`` fix the colour scale (e.g. over all times of a flow); by default it
    is symmetric around 0 over this matrix."""
    matrix = [list(row) for row in matrix]
    if zmin is None or zmax is None:
        bound = max((abs(v) for row in matrix for v in row), default=1.0) or 1.0
        zmin, zmax = (-bound if zmin is None else zmin), (bound if zmax is None else zmax)
    fig = go.Figure(go.Heatmap(
        z=matrix, x=x_names, y=y_names, zmin=zmin, zmax=zmax, colorscale="RdBu_r",
        colorbar=dict(title="overlap"),
        hovertemplate=f"{y_label} %{{y}}, {x_label} %{{x}}<br>%{{z:.4f}}<extra></extra>"))
    fig.update_layout(title=title, xaxis_title=f"{x_label} index", yaxis_title=f"{y_label} index")
    fig.update_yaxes(autorange="reversed", dtick=1, tick0=0)
    fig.update_xaxes(dtick=1, tick0=0)
    return style(fig, lecture)


def flow_colour_bounds(flow):
    """Fixed colour scales of the Flows 2D heatmaps over all times: {"Q": b, "M": b}."""
    return {name: float(np.max(np.abs(np.array(flow[name], dtype=float)))) or 1.0
            for name in ("Q", "M")}


def flow_heatmap_figure(flow, index, which, lecture=False):
    """``Q`` or ``M`` of a flow at time sample ``index``, on the colour scale of all times."""
    i = min(max(int(index or 0), 0), len(flow["t"]) - 1)
    bound = flow_colour_bounds(flow)[which]
    labels = ("student", "student") if which == "Q" else ("teacher", "student")
    name = "Q = W Wᵀ" if which == "Q" else "M = W Vᵀ"
    return heatmap_figure(flow[which][i], f"{name} at t = {flow['t'][i]:.3g}", *labels,
                          zmin=-bound, zmax=bound, lecture=lecture)


def spectrum_figure(point, lecture=False):
    """Distinct Hessian eigenvalues with multiplicities: span block and orthogonal block."""
    span = point["hessian"]["span"]
    orth = point["hessian"]["orthogonal"]
    fig = go.Figure()
    fig.add_bar(x=span["eigenvalues"], y=span["multiplicities"], name="in the span",
                marker_color="#264653", width=_bar_width(span["eigenvalues"]),
                hovertemplate="eigenvalue %{x:.5g}<br>multiplicity %{y}<extra>span</extra>")
    mults = list(span["multiplicities"])
    if orth["eigenvalues"]:
        mult = orth["multiplicity"]
        label = "∞" if mult == "inf" else str(mult)
        fig.add_bar(x=orth["eigenvalues"], y=list(orth["multiplicities"]),
                    name=f"orthogonal block (each × {label})", marker_color="#e76f51",
                    width=_bar_width(orth["eigenvalues"]),
                    hovertemplate="eigenvalue %{x:.5g}<br>"
                                  f"multiplicity %{{y}} × {label}<extra>orthogonal</extra>")
        mults += list(orth["multiplicities"])
    fig.add_vline(x=0, line_dash="dot", line_color="#999")
    top = max(mults, default=1)
    fig.update_layout(title="Hessian spectrum", xaxis_title="Hessian eigenvalue",
                      yaxis_title="multiplicity", barmode="overlay",
                      yaxis=dict(dtick=max(1, math.ceil(top / 6)), tick0=0, rangemode="tozero"),
                      legend=dict(orientation="h", y=-0.3))
    return style(fig, lecture)


def _bar_width(values):
    if len(values) < 2:
        return 0.02
    spread = max(values) - min(values)
    return max(spread / 150, 1e-4)


def surface_figure(surface, contour=False, lecture=False):
    """The loss on a plane through a fixed point (3D surface or contours)."""
    a, b, z = surface["a"], surface["b"], surface["loss"]
    zt = [list(col) for col in zip(*z)]        # plotly: z[row = b][col = a]
    labels = [f"step along {name}"[:40] for name in surface["labels"]]
    if contour:
        fig = go.Figure(go.Contour(x=a, y=b, z=zt, colorscale="Viridis", ncontours=30,
                                   colorbar=dict(title="loss"),
                                   hovertemplate="%{x:.3g}, %{y:.3g}: loss %{z:.5g}<extra></extra>"))
        fig.add_scatter(x=[0], y=[0], mode="markers", marker=dict(color="white", size=10,
                        line=dict(color="black", width=2)), name="fixed point")
        fig.update_layout(title="Loss contours (white dot: the fixed point)",
                          xaxis_title=labels[0], yaxis_title=labels[1], showlegend=False)
        return style(fig, lecture)
    fig = go.Figure(go.Surface(x=a, y=b, z=zt, colorscale="Viridis", showscale=False,
                               hovertemplate="%{x:.3g}, %{y:.3g}: loss %{z:.5g}<extra></extra>"))
    fig.update_layout(title="Loss surface through the fixed point",
                      scene=dict(xaxis_title=labels[0][:28], yaxis_title=labels[1][:28],
                                 zaxis_title="loss"))
    return style(fig, lecture)


# ----------------------------------------------------------------------------- Flows 2D
ALIGNED = 0.95      # cosine above which a student matches a teacher
DEAD_NORM = 1e-3    # |w|^2 / mean |v|^2 below which a student counts as dead
END_TOLERANCE = 1e-2


def _teacher_norms(flow, M_count):
    """Diagonal of P (|v_r|^2) from the flow's teacher spec (1 if it cannot be read)."""
    try:
        from .maths.teachers import parse_teacher
        P = parse_teacher(flow["config"]["teacher"], M_count).P
        return np.diag(P)
    except Exception:  # a flow without its config: orthonormal scale
        return np.ones(M_count)


def flow_end(flow):
    """When the flow reaches its end point: (time or None if still moving at T, at_rest).

    The end point is the state at T; the flow has reached it at the first sample from
    which every later (Q, M) entry stays within END_TOLERANCE of it, provided it is at
    rest at T (the last step moves no entry by more than END_TOLERANCE / 10)."""
    t = np.asarray(flow["t"], dtype=float)
    state = np.concatenate([np.asarray(flow["Q"], dtype=float).reshape(len(t), -1),
                            np.asarray(flow["M"], dtype=float).reshape(len(t), -1)], axis=1)
    if len(t) < 3 or flow.get("diverged_at") is not None or not np.isfinite(state).all():
        return None, False
    if np.max(np.abs(state[-1] - state[-2])) > END_TOLERANCE / 10:
        return None, False
    far = np.max(np.abs(state - state[-1]), axis=1) > END_TOLERANCE
    if not far.any():
        return float(t[0]), True
    last_far = int(np.nonzero(far)[0][-1])
    return float(t[last_far + 1]), True


def flow_plateaus(flow, slow=0.15, min_fraction=0.08, drop=1.1):
    """Intervals (t0, t1) on which the log-loss falls at less than ``slow`` times its mean
    rate up to the end point (or T), lasting at least ``min_fraction`` of that time, with
    the loss falling by more than a factor ``drop`` after the interval."""
    t = np.asarray(flow["t"], dtype=float)
    loss = np.log(np.maximum(np.asarray(flow["loss"], dtype=float), 1e-300))
    if len(t) < 3:
        return []
    end, at_rest = flow_end(flow)
    stop = int(np.searchsorted(t, end)) if at_rest else len(t) - 1
    duration = t[stop] - t[0]
    if stop < 2 or duration <= 0 or loss[0] <= loss[stop]:
        return []
    mean_rate = (loss[0] - loss[stop]) / duration
    rate = -np.diff(loss) / np.maximum(np.diff(t), 1e-300)
    flat = (rate < slow * mean_rate) & (np.arange(1, len(t)) <= stop)
    out, i = [], 0
    while i < len(flat):
        if not flat[i]:
            i += 1
            continue
        j = i
        while j + 1 < len(flat) and flat[j + 1]:
            j += 1
        t0, t1 = t[i], t[j + 1]
        if t1 - t0 >= min_fraction * duration and loss[j + 1] - loss[stop] > np.log(drop):
            out.append((float(t0), float(t1)))
        i = j + 1
    return out


def student_matches(flow):
    """Per student, at the end of the flow: (status, teacher, cosine). ``teacher`` is the
    teacher its direction is closest to; status "teacher" (aligned with it), "dead"
    (norm -> 0), "spurious" (at rest and aligned with no teacher) or "unmatched" (still
    moving at T and not aligned yet)."""
    Q = np.asarray(flow["Q"][-1], dtype=float)
    M = np.asarray(flow["M"][-1], dtype=float)
    K, Mt = M.shape
    norms = _teacher_norms(flow, Mt)
    _, at_rest = flow_end(flow)
    out = []
    for k in range(K):
        q = max(Q[k, k], 0.0)
        cos = M[k] / np.sqrt(max(q, 1e-300) * norms)
        r = int(np.argmax(cos))
        if q < DEAD_NORM * float(np.mean(norms)):
            out.append(("dead", r, float(cos[r])))
        elif cos[r] >= ALIGNED:
            out.append(("teacher", r, float(cos[r])))
        else:
            out.append(("spurious" if at_rest else "unmatched", r, float(cos[r])))
    return out


def _student_style(status, r, cos=None):
    """(colour, legend group, dash) of a student by where it ends."""
    colour = TEACHER_COLOURS[r % len(TEACHER_COLOURS)]
    if status == "teacher":
        return colour, f"→ teacher {r}", "solid"
    if status == "dead":
        return UNMATCHED_COLOUR, "dead (norm → 0)", "dot"
    if status == "spurious":
        return SPURIOUS_COLOUR, "spurious (no teacher)", "dash"
    if cos is not None and cos >= 0.5:
        return colour, f"≈ teacher {r} (not aligned at T)", "dash"
    return UNMATCHED_COLOUR, "unmatched at T", "dash"


def flow_figure(flow, max_lines=None, mode="all", lecture=False):
    """M_kr(t), Q_kl(t) and the loss (log) of a trajectory, with the simulation if any.

    Each student is coloured by the teacher it ends up matching (``student_matches``).
    ``mode="all"`` draws every M entry (the matched one thick), ``mode="matched"`` one
    curve per student: its overlap with the teacher it matches. At most ``max_lines``
    curves per panel; the figure says how many it shows when it shows fewer. The loss
    panel shades plateaus and marks when the flow reaches its end point."""
    t = flow["t"]
    Q, M = np.asarray(flow["Q"], dtype=float), np.asarray(flow["M"], dtype=float)
    K, Mt = M.shape[1], M.shape[2]
    matches = student_matches(flow)
    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.07,
                        row_heights=[0.42, 0.29, 0.29],
                        subplot_titles=("student–teacher overlaps M_kr = w_k·v_r"
                                        + (" (matched teacher only)" if mode == "matched" else ""),
                                        "student overlaps Q_kl = w_k·w_l (diagonal: |w_k|²)",
                                        "loss (log scale)"))
    sim = flow.get("simulation")
    # M panel: matched entries first, then the others by final size.
    matched_pairs = [(k, matches[k][1]) for k in range(K)]
    if mode == "matched":
        pairs = matched_pairs
        total = K
    else:
        others = sorted(((k, r) for k in range(K) for r in range(Mt) if r != matches[k][1]),
                        key=lambda kr: -abs(M[-1, kr[0], kr[1]]))
        pairs = matched_pairs + others
        total = K * Mt
    shown = pairs if max_lines is None else pairs[:max_lines]
    seen = set()
    for k, r in shown:
        status, teacher, _ = matches[k]
        colour, group, dash = _student_style(*matches[k])
        main = r == teacher
        fig.add_scatter(x=t, y=M[:, k, r], mode="lines", row=1, col=1,
                        line=dict(color=colour, width=3 if main else 1.2,
                                  dash=dash if main else "solid"),
                        opacity=1.0 if main else 0.4, legendgroup=group, name=group,
                        showlegend=group not in seen,
                        hovertemplate=f"student {k}, teacher {r}: M = %{{y:.4f}} at t = "
                                      f"%{{x:.3g}}<extra>{group}</extra>")
        seen.add(group)
        if sim:
            ts = sim["t"]
            mean = [m[k][r] for m in sim["M_mean"]]
            std = [s[k][r] for s in sim["M_std"]]
            fig.add_scatter(x=ts + ts[::-1], y=[u + s for u, s in zip(mean, std)]
                            + [u - s for u, s in zip(mean[::-1], std[::-1])],
                            fill="toself", line=dict(width=0), fillcolor=colour, opacity=0.15,
                            row=1, col=1, showlegend=False, hoverinfo="skip")
            fig.add_scatter(x=ts, y=mean, mode="markers", marker=dict(color=colour, size=4),
                            row=1, col=1, showlegend=False,
                            hovertemplate=f"simulation M[{k},{r}] = %{{y:.4f}}<extra></extra>")
    notes = []
    if len(shown) < total:
        notes.append(f"showing {len(shown)} of {total} M entries (matched ones first)")
    # Q panel: norms |w_k|^2 in the students' colours; in "all" mode the off-diagonal too.
    q_pairs = [(k, k) for k in range(K)]
    if mode != "matched":
        q_pairs += [(k, l) for k in range(K) for l in range(k + 1, K)]
    q_shown = q_pairs if max_lines is None else q_pairs[:max_lines]
    if len(q_shown) < len(q_pairs):
        notes.append(f"showing {len(q_shown)} of {len(q_pairs)} Q entries (norms first)")
    off_legend = False
    for k, l in q_shown:
        if k == l:
            colour, group, dash = _student_style(*matches[k])
            line = dict(color=colour, width=2.5, dash=dash)
        else:
            colour, group, line = "#bbbbbb", "Q_kl, k ≠ l (grey)", dict(color="#bbbbbb", width=1)
        fig.add_scatter(x=t, y=Q[:, k, l], mode="lines", row=2, col=1, line=line,
                        legendgroup=group, name=group,
                        showlegend=(k != l and not off_legend),
                        hovertemplate=f"Q[{k},{l}] = %{{y:.4f}} at t = %{{x:.3g}}<extra></extra>")
        off_legend = off_legend or k != l
    loss = np.asarray(flow["loss"], dtype=float)
    fig.add_scatter(x=t, y=loss, mode="lines", row=3, col=1, name="loss (theory)",
                    line=dict(color="black", width=2.5))
    if sim:
        ts = sim["t"]
        mean, std = sim["loss_mean"], sim.get("loss_std", [0] * len(ts))
        fig.add_scatter(x=ts + ts[::-1], y=[m + s for m, s in zip(mean, std)]
                        + [max(m - s, 1e-16) for m, s in zip(mean[::-1], std[::-1])],
                        fill="toself", line=dict(width=0), fillcolor="#e76f51", opacity=0.2,
                        row=3, col=1, showlegend=False, hoverinfo="skip")
        fig.add_scatter(x=ts, y=mean, mode="markers", row=3, col=1,
                        name=f"SGD simulation, d = {sim['dim']} (mean ± sd of {sim['runs']})",
                        marker=dict(color="#e76f51", size=6))
    for t0, t1 in flow_plateaus(flow):
        fig.add_vrect(x0=t0, x1=t1, row=3, col=1, fillcolor="#f4a261", opacity=0.25,
                      line_width=0, annotation_text="plateau", annotation_position="top left")
    end, at_rest = flow_end(flow)
    if at_rest:
        fig.add_vline(x=end, row=3, col=1, line=dict(color="#2a9d8f", width=2, dash="dash"),
                      annotation_text=f"end point reached, t ≈ {end:.3g}",
                      annotation_position="top right")
    elif flow.get("diverged_at") is not None:
        notes.append(f"diverged at t = {flow['diverged_at']:.3g}: the loss grows without "
                     "bound (learning rate too large)")
    else:
        notes.append(f"still moving at T = {t[-1]:.3g}: no end point yet")
    fig.update_yaxes(title_text="M_kr", row=1, col=1)
    fig.update_yaxes(title_text="Q_kl", row=2, col=1)
    fig.update_yaxes(**log_axis(list(loss), dense=False), row=3, col=1, title_text="loss")
    time_title = "time t" + (" (SGD steps / d)" if float(flow.get("config", {}).get("lr", 0) or 0)
                             else " (gradient flow)")
    fig.update_xaxes(title_text=time_title, row=3, col=1)
    title = "One trajectory: each student coloured by the teacher it ends up matching"
    if notes:
        title += "<br><span style='color:#b00020'>" + " · ".join(notes) + "</span>"
    fig.update_layout(title=title,
                      legend=dict(orientation="h", x=0, y=-0.1, yanchor="top"))
    style(fig, lecture, height=820 if lecture else 760)
    fig.update_layout(margin_t=(120 if lecture else 100) if notes else (80 if lecture else 60))
    return fig


# ----------------------------------------------------------------------------- Flows 3D
AXES = ("loss", "mean diag Q", "mean off-diag Q", "max M", "mean M", "PC1", "PC2", "PC3")
AXIS_MEANING = {"loss": "loss", "mean diag Q": "mean |w_k|² (diag Q)",
                "mean off-diag Q": "mean w_k·w_l (off-diag Q)", "max M": "max M_kr",
                "mean M": "mean M_kr", "PC1": "principal component 1",
                "PC2": "principal component 2", "PC3": "principal component 3"}


def gf_sgd_figure(gf, sgd, entry, index, start, lecture=False):
    """Gradient flow and SGD from one start, overlaid on one loss axis (log; zero drawn
    on a dotted floor), with the loss of the catalog entry ``index`` the start ends at.

    Parameters
    ----------
    gf, sgd : dict
        ``FlowResult.to_json()`` at lr = 0 and at lr > 0 (with its simulation, if any).
    entry : dict
        The catalog entry (``FixedPoint.to_json``) the gradient flow ends at.
    index, start : int
        The entry's number and the start's number in the catalog.
    """
    # SGD moves lr times as fast as gradient flow per unit of t = steps / d: drawn against
    # lr t, both curves are on gradient-flow time.
    lr = float((sgd.get("config") or {}).get("lr") or 1.0)
    series = [("gradient flow", gf["t"], gf["loss"], "#1b4965", "solid"),
              (f"SGD, ODE limit (lr = {lr:g})", [lr * t for t in sgd["t"]], sgd["loss"],
               "#e76f51", "dash")]
    sim = sgd.get("simulation")
    values = [v for _, _, ys, _, _ in series for v in ys] + [entry["loss"]]
    if sim:
        values += [m + sd for m, sd in zip(sim["loss_mean"], sim["loss_std"])]
    positive = [v for v in values if v is not None and ZERO_LOSS < v < math.inf]
    floor = 10.0 ** math.floor(math.log10(min(positive) / 10)) if positive else 1e-4

    def lift(ys):
        return [None if v is None or not math.isfinite(v) else max(v, floor) for v in ys]

    fig = go.Figure()
    if sim:
        upper = [m + sd for m, sd in zip(sim["loss_mean"], sim["loss_std"])]
        lower = [m - sd for m, sd in zip(sim["loss_mean"], sim["loss_std"])]
        times = [lr * t for t in sim["t"]]
        fig.add_scatter(x=times + times[::-1], y=lift(upper) + lift(lower)[::-1],
                        fill="toself", fillcolor="rgba(231,111,81,0.2)", line=dict(width=0),
                        hoverinfo="skip", name=f"SGD simulation ± sd ({sim['runs']} runs, "
                                               f"d = {sim['dim']})")
        fig.add_scatter(x=times, y=lift(sim["loss_mean"]), mode="lines",
                        line=dict(color="#e76f51", width=3), name="SGD simulation, mean")
    for name, t, ys, colour, dash in series:
        fig.add_scatter(x=t, y=lift(ys), mode="lines", name=name,
                        line=dict(color=colour, width=3, dash=dash))
    kind = KIND_NAMES.get(entry["kind"], entry["kind"])
    fig.add_hline(y=max(entry["loss"], floor), line=dict(color="#555", dash="dot"),
                  annotation_text=f"#{index}: {kind}, loss {entry['loss']:.3g}",
                  annotation_position="top right")
    axis = log_axis(positive + [floor], pad=0.1)
    fig.update_layout(
        title=f"From start {start}, which gradient flow takes to #{index} ({kind})",
        xaxis=dict(title="gradient-flow time t (SGD: lr × steps / d)"),
        yaxis=dict(axis, title="loss (log; 0 on the floor)"),
        legend=dict(orientation="h", y=-0.25))
    return style(fig, lecture)


def axis_options(K, M):
    """Choices for the 3D axes: invariants, principal components, every Q and M entry."""
    return (list(AXES) + [f"Q[{k},{l}]" for k in range(K) for l in range(k, K)]
            + [f"M[{k},{r}]" for k in range(K) for r in range(M)])


def _axis_values(name, Q, M, loss, pcs):
    if name == "loss":
        return loss
    if name == "mean diag Q":
        return np.einsum("stkk->st", Q) / Q.shape[-1]
    if name == "mean off-diag Q":
        K = Q.shape[-1]
        return (Q.sum(axis=(2, 3)) - np.einsum("stkk->st", Q)) / max(K * (K - 1), 1)
    if name == "max M":
        return M.max(axis=(2, 3))
    if name == "mean M":
        return M.mean(axis=(2, 3))
    if name.startswith("PC"):
        return pcs[..., int(name[2:]) - 1]
    kind, idx = name[0], name[2:-1].split(",")
    a, b = int(idx[0]), int(idx[1])
    return (Q if kind == "Q" else M)[:, :, a, b]


def end_classes(labels, points):
    """Classes of trajectory ends, in drawing order (spurious minima last, on top):
    [(label, name, colour, kind)]; label -1 = dead student, -2 = unconverged."""
    rank = {"global_minimum": 0, "dead": 1, "unconverged": 2, "saddle": 3, "local_minimum": 4}
    spurious = sorted(i for i, p in enumerate(points) if p["kind"] == "local_minimum")
    classes = []
    for label in sorted(set(labels)):
        if label == -1:
            classes.append((label, "→ dead student (padded)", DEAD_COLOUR, "dead"))
        elif label < 0:
            classes.append((label, "→ unconverged", UNCONVERGED_COLOUR, "unconverged"))
        else:
            p = points[label]
            kind = p["kind"]
            if kind == "local_minimum":
                colour = MINIMUM_COLOURS[spurious.index(label) % len(MINIMUM_COLOURS)]
            else:
                colour = KIND_COLOURS.get(kind, "#555")
            classes.append((label, f"→ #{label} {KIND_NAMES.get(kind, kind)} (L={p['loss']:.3g})",
                            colour, kind))
    return sorted(classes, key=lambda c: (rank.get(c[3], 2), c[0]))


def loss_floor(losses, points):
    """Floor of the log-loss axis: two decades below the lowest non-zero fixed point (or
    1e-4 of the typical start loss), so converging flows do not stretch it to 1e-16."""
    positive = [p["loss"] for p in points if p["loss"] > ZERO_LOSS]
    start = float(np.median(losses[:, 0])) if losses.size else 1.0
    floor = start * 1e-4
    if positive:
        floor = min(floor, min(positive) / 100)
    return 10.0 ** math.floor(math.log10(max(floor, 1e-12)))


def _axis_span(values):
    """The range of the finite ``values``, or their largest magnitude if they are all
    equal (1 if that is 0 too)."""
    finite = values[np.isfinite(values)]
    span = float(finite.max() - finite.min()) if finite.size else 0.0
    if span <= 0:
        span = float(np.abs(finite).max()) if finite.size and np.abs(finite).max() > 0 else 1.0
    return span


def _drawing_precision(values):
    """``values`` rounded to 1e-4 to 1e-5 of their range: far below a pixel."""
    return np.round(values, 4 - math.floor(math.log10(_axis_span(values))))


# How far a drawn flow line may pass from a recorded point it leaves out, as a fraction
# of the axes' ranges: about a pixel of the scene.
LINE_TOLERANCE = 1e-3


def simplified_lines(points, tolerance=LINE_TOLERANCE):
    """Which points of each polyline to draw, shape (S, T) bool, from ``points`` of shape
    (S, T, D). The first and last are kept; from each kept point the line runs straight
    to the farthest point such that every point it skips is within ``tolerance``
    (Euclidean) of the straight segment. Flow lines sampled at log-spaced times are
    mostly straight or resting at their end: about half their points go at 1e-3."""
    S, T, _ = points.shape
    keep = np.zeros((S, T), dtype=bool)
    keep[:, 0] = keep[:, -1] = True
    anchor = np.zeros(S, dtype=int)
    rows = np.arange(S)
    for t in range(1, T - 1):
        a = points[rows, anchor]
        ab = points[:, t + 1] - a
        length = np.einsum("sd,sd->s", ab, ab)
        length[length == 0] = 1.0
        worst = np.zeros(S)
        for k in range(int(anchor.min()) + 1, t + 1):
            ap = points[:, k] - a
            along = np.clip(np.einsum("sd,sd->s", ap, ab) / length, 0.0, 1.0)
            away = np.linalg.norm(ap - along[:, None] * ab, axis=1)
            worst = np.maximum(worst, np.where(k > anchor, away, 0.0))
        bend = worst > tolerance
        keep[bend, t] = True
        anchor[bend] = t
    return keep


def trajectories_figure(traj, catalog, axes=("mean diag Q", "max M", "loss"), lecture=False,
                        frames=40):
    """All flows in 3D, one trace per end class; fixed points as big markers.

    Spurious minima are drawn last and thickest (on top of the global ones). ``frames``
    time steps (at most) animate a marker per start along its trajectory (play button)."""
    Q, M = array_from_json(traj["Q"]), array_from_json(traj["M"])
    loss = array_from_json(traj["loss"])
    labels = np.array(traj["label"])
    times = np.asarray(traj.get("t", range(loss.shape[1])), dtype=float)
    S, T = loss.shape
    pcs = None
    if any(a.startswith("PC") for a in axes):
        flat = np.concatenate([Q.reshape(S * T, -1), M.reshape(S * T, -1)], axis=1)
        centred = flat - flat.mean(0)
        # principal directions from the small covariance matrix (features x features)
        _, vectors = np.linalg.eigh(centred.T @ centred)
        pcs = (centred @ vectors[:, ::-1][:, :3]).reshape(S, T, -1)
        if pcs.shape[-1] < 3:
            pcs = np.concatenate([pcs, np.zeros((S, T, 3 - pcs.shape[-1]))], axis=-1)
    points = catalog["fixed_points"]
    floor = loss_floor(loss, points)
    coords = []
    for a in axes:
        values = _axis_values(a, Q, M, loss, pcs)
        coords.append(_drawing_precision(
            np.log10(np.maximum(values, floor)) if a == "loss" else values))
    # The lines leave out recorded points they pass within a pixel of (straight stretches,
    # and the later decades of t, where most flows rest at their end): half the points
    # for the browser to draw. The moving heads keep every time.
    drawn_points = simplified_lines(np.stack([c / _axis_span(c) for c in coords], axis=-1))
    # float32 arrays travel as base64 typed arrays (4 bytes a number, no parsing)
    drawn = [c.astype(np.float32) for c in coords]
    fig = go.Figure()
    classes = end_classes(labels.tolist(), points)
    style_of = {"global_minimum": (1.5, 0.35), "dead": (2, 0.6), "unconverged": (2, 0.6),
                "saddle": (2.5, 0.7), "local_minimum": (5, 1.0)}
    for label, name, colour, kind in classes:
        members = np.nonzero(labels == label)[0]
        width, opacity = style_of.get(kind, (2, 0.6))
        gap = np.float32(np.nan)
        xyz = [np.concatenate([np.append(c[m][drawn_points[m]], gap) for m in members])
               for c in drawn]
        fig.add_scatter3d(x=xyz[0], y=xyz[1], z=xyz[2], mode="lines",
                          name=f"{name}: {len(members)} start{'s' if len(members) != 1 else ''}",
                          legendgroup=str(label), line=dict(color=colour, width=width),
                          opacity=opacity, connectgaps=False,
                          hovertemplate="%{x:.3g}, %{y:.3g}, %{z:.3g}<extra>" + name + "</extra>")
    for label, name, colour, kind in classes:
        if label < 0:
            continue
        members = np.nonzero(labels == label)[0]
        end = [float(c[members, -1].mean()) for c in coords]
        fig.add_scatter3d(x=[end[0]], y=[end[1]], z=[end[2]], mode="markers",
                          marker=dict(size=10, color=colour,
                                      symbol="diamond" if kind == "global_minimum" else "circle",
                                      line=dict(color="black", width=2)),
                          legendgroup=str(label), showlegend=False, name=f"fixed point #{label}",
                          hovertemplate=f"fixed point #{label}: {kind}<extra></extra>")
    # Moving heads: one marker per start, animated by frames.
    steps = sorted(set(np.linspace(0, T - 1, min(frames, T)).round().astype(int).tolist()))
    heads = []
    for label, name, colour, kind in classes:
        members = np.nonzero(labels == label)[0]
        heads.append(len(fig.data))
        fig.add_scatter3d(x=drawn[0][members, 0], y=drawn[1][members, 0],
                          z=drawn[2][members, 0], mode="markers", legendgroup=str(label),
                          showlegend=False, marker=dict(size=3, color=colour, opacity=0.9),
                          hoverinfo="skip", name="flow at time t")
    groups = [np.nonzero(labels == c[0])[0] for c in classes]
    fig.frames = [go.Frame(name=str(i), traces=heads, data=[
        go.Scatter3d(x=drawn[0][members, i], y=drawn[1][members, i], z=drawn[2][members, i])
        for members in groups]) for i in steps]
    play = dict(label="▶ play", method="animate",
                args=[None, dict(frame=dict(duration=120, redraw=True), fromcurrent=True,
                                 transition=dict(duration=0), mode="immediate")])
    pause = dict(label="❚❚ pause", method="animate",
                 args=[[None], dict(frame=dict(duration=0, redraw=False), mode="immediate")])
    fig.update_layout(
        updatemenus=[dict(type="buttons", direction="left", x=1, y=1, xanchor="right",
                          yanchor="bottom", buttons=[play, pause], pad=dict(b=4))],
        sliders=[dict(active=0, x=0.05, len=0.9, y=0, yanchor="top", pad=dict(t=0),
                      currentvalue=dict(prefix="time t = "),
                      steps=[dict(label=f"{times[i]:.3g}", method="animate",
                                  args=[[str(i)], dict(mode="immediate", frame=dict(
                                      duration=0, redraw=True), transition=dict(duration=0))])
                             for i in steps])])
    titles = [f"log₁₀ loss (clipped at {floor:.0e})" if a == "loss" else AXIS_MEANING.get(a, a)
              for a in axes]
    fig.update_layout(
        title="Gradient flow from every start, coloured by where it ends",
        scene=dict(xaxis_title=titles[0], yaxis_title=titles[1], zaxis_title=titles[2],
                   domain=dict(x=[0, 1], y=[0.1, 1]), aspectmode="manual",
                   aspectratio=dict(x=1.9, y=1.3, z=0.8),
                   camera=dict(eye=dict(x=1.2, y=-1.45, z=0.65))),
        legend=dict(orientation="v", x=0, y=1, yanchor="top", bgcolor="rgba(255,255,255,0.7)"))
    style(fig, lecture, height=640)
    tick = dict(tickfont_size=LECTURE_FONT - 2 if lecture else 12, nticks=6)
    fig.update_scenes(xaxis=tick, yaxis=tick, zaxis=tick)
    fig.update_layout(margin=dict(l=0, r=0, t=100 if lecture else 80, b=70))
    return fig


# ----------------------------------------------------------------------------- Families
def family_onsets(rows):
    """{k1: smallest width from which the family stays a local minimum} (k1 > 0)."""
    onsets = {}
    for k1 in sorted({r["k1"] for r in rows} - {0}):
        mine = sorted((r for r in rows if r["k1"] == k1), key=lambda r: r["students"])
        onset = next((r["students"] for i, r in enumerate(mine)
                      if r["kind"] == "local_minimum"
                      and all(s["kind"] == "local_minimum" for s in mine[i:])), None)
        if onset is not None:
            onsets[k1] = onset
    return onsets


def families_figure(families, current=None, dim=None, lecture=False):
    """Loss against width for each k1 family: solid where a minimum, dashed where a saddle.

    The log-loss axis spans the families' own losses; members at loss 0 (the global
    minimum, and families that coincide with it at small widths) sit in a strip below.
    ``dim`` is the input dimension the families were computed in (title)."""
    rows = families["rows"]
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.84, 0.16],
                        vertical_spacing=0.03)
    widths = sorted({r["students"] for r in rows})
    positive = [r["loss"] for r in rows if r["loss"] is not None and r["loss"] > ZERO_LOSS]
    onsets = family_onsets(rows)
    k1s = sorted({r["k1"] for r in rows})
    for k1 in k1s:
        mine = sorted((r for r in rows if r["k1"] == k1), key=lambda r: r["students"])
        colour = FAMILY_COLOURS[k1 % len(FAMILY_COLOURS)]
        name = "k1 = 0 (global minimum)" if k1 == 0 else f"k1 = {k1}"
        if k1 in onsets:
            name += f" (★ minimum for K ≥ {onsets[k1]})"
        elif k1 > 0 and not any(r["kind"] == "local_minimum" for r in mine):
            name += " (a saddle at every K here)"
        legend_shown = False
        for stable, dash in ((True, "solid"), (False, "dash")):
            xs, ys = [], []
            for r in mine:
                ok = r["kind"] in ("local_minimum", "global_minimum")
                keep = ok == stable and r["loss"] is not None and r["loss"] > ZERO_LOSS
                xs.append(r["students"] if keep else None)
                ys.append(r["loss"] if keep else None)
            if not any(x is not None for x in xs):
                continue
            fig.add_scatter(x=xs, y=ys, mode="lines+markers", connectgaps=False, row=1, col=1,
                            line=dict(color=colour, dash=dash, width=3),
                            marker=dict(size=7 if stable else 5),
                            name=name, legendgroup=str(k1), showlegend=not legend_shown,
                            hovertemplate="K = %{x}<br>loss %{y:.5g}<extra>" + name + "</extra>")
            legend_shown = True
        zeros = [r["students"] for r in mine if r["loss"] is not None and r["loss"] <= ZERO_LOSS]
        if zeros:
            fig.add_scatter(x=zeros, y=[k1] * len(zeros), mode="markers", row=2, col=1,
                            marker=dict(color=colour, size=9, symbol="square"),
                            legendgroup=str(k1), name=f"{name}: loss 0",
                            showlegend=k1 == 0,
                            hovertemplate="K = %{x}: loss 0<extra>" + name + "</extra>")
        if k1 in onsets:
            onset = onsets[k1]
            loss = next(r["loss"] for r in mine if r["students"] == onset)
            fig.add_scatter(x=[onset], y=[loss], mode="markers", showlegend=False, row=1, col=1,
                            marker=dict(symbol="star", size=18, color=colour,
                                        line=dict(color="black", width=1)),
                            hovertemplate=f"onset of k1 = {k1}: K = {onset}<extra></extra>")
            fig.add_annotation(x=onset, y=math.log10(loss), row=1, col=1,
                               text=f"K ≥ {onset}", showarrow=False,
                               xshift=-14, xanchor="right", yanchor="middle",
                               font=dict(color=colour), bgcolor="rgba(255,255,255,0.85)")
    fig.update_yaxes(**log_axis(positive), row=1, col=1, title_text="loss (log)")
    fig.update_yaxes(title_text="loss 0", showticklabels=False, range=[-0.7, max(k1s) + 0.7]
                     if k1s else None, showgrid=False, zeroline=False, row=2, col=1)
    step = 1 if len(widths) <= 16 else 2
    first = widths[0] if widths else 0
    fig.update_xaxes(dtick=step, tick0=first, row=1, col=1)
    fig.update_xaxes(dtick=step, tick0=first, title_text="width K = M (students = teachers)",
                     row=2, col=1)
    if current is not None:
        fig.add_vline(x=current, line_dash="dot", line_color="#555", row=1, col=1,
                      annotation_text=f"current K = {current}", annotation_position="top")
        fig.add_vline(x=current, line_dash="dot", line_color="#555", row=2, col=1)
    where = "" if dim is None else (" at d = ∞" if str(dim) in ("inf", "∞") or dim == float("inf")
                                    else f" at d = {dim}")
    if widths:
        fig.update_xaxes(range=[widths[0] - 0.6, widths[-1] + 0.6])
    fig.update_layout(title=f"Families of critical points{where}<br>k1 students anti-aligned; "
                            "solid: local minimum, dashed: saddle",
                      legend=dict(orientation="h", x=0, y=-0.14, yanchor="top"))
    return style(fig, lecture, height=620 if lecture else 600)


# ----------------------------------------------------------------------------- Hierarchy
def hierarchy_intro_figure(widths, starts=None, estimate=None, lecture=False, wrap=70):
    """What the Hierarchy view shows, before it is computed (``estimate``: text, e.g.
    "about 40 s")."""
    text_widths = ", ".join(str(w) for w in widths) if widths else "M, M + 1, M + 2"
    lines = [f"Press “compute the hierarchy” to find the fixed points at widths {text_widths}"
             + (f" ({starts} random starts each)" if starts else "") + ".",
             "Every minimum and index-1 saddle at width K is then split or padded into width "
             "K + 1 and descended: the plot links each spurious minimum to where it drains.",
             "Bars: the share of random starts that reach the global minimum at each width."]
    if estimate:
        lines.append(f"This takes {estimate}.")
    return message_figure("Hierarchy across widths", lines, lecture=lecture, wrap=wrap)


def hierarchy_figure(hierarchy, lecture=False, compact=False):
    """Loss against width (markers sized by basin share, coloured by kind, links labelled
    "#i → #j") and stacked bars of where random starts end per width (``compact``: short
    titles, for half a page)."""
    levels = hierarchy["levels"]
    fig = make_subplots(rows=1, cols=2, column_widths=[0.62, 0.38], horizontal_spacing=0.1,
                        subplot_titles=(("fixed points by width", "where starts end") if compact
                                        else ("fixed points by width (open: found by embedding)",
                                              "where random starts end")))
    positive = [p["loss"] for lv in levels for p in lv["fixed_points"] if p["loss"] > ZERO_LOSS]
    floor = 10.0 ** math.floor(math.log10(min(positive) / 10)) if positive else 1e-4

    def y_of(loss):
        return max(loss, floor)

    by_width = {lv["students"]: lv for lv in levels}
    for kind in ("global_minimum", "saddle", "local_minimum"):
        xs, ys, sizes, texts, hover, symbols = [], [], [], [], [], []
        for level in levels:
            K = level["students"]
            for i, p in enumerate(level["fixed_points"]):
                if p["kind"] != kind:
                    continue
                share = p["fraction"]
                xs.append(K)
                ys.append(y_of(p["loss"]))
                sizes.append(10 + 40 * share ** 0.5)
                texts.append(f"#{i}")
                symbols.append("circle" if p["source"] == "random" else "circle-open")
                hover.append(f"width {K}, #{i}: {KIND_NAMES.get(kind, kind)}<br>loss "
                             f"{p['loss']:.4g}<br>share {100 * share:.1f}%<br>flat {p['flat']}, "
                             f"index {p['index']}<br>found by {p['source']}")
        if xs:
            fig.add_scatter(x=xs, y=ys, mode="markers+text", row=1, col=1,
                            text=texts, textposition="middle right", customdata=hover,
                            name={"global_minimum": "global min", "saddle": "saddle",
                                  "local_minimum": "spurious min"}[kind],
                            marker=dict(size=sizes, color=KIND_COLOURS[kind], symbol=symbols,
                                        line=dict(color="black", width=1)),
                            hovertemplate="%{customdata}<extra></extra>")
    link_names, labelled, to_dead = set(), set(), set()
    for link in hierarchy["links"]:
        a, b = link["from"], link["to"]
        if a["students"] not in by_width or b["students"] not in by_width:
            continue
        if b.get("nondifferentiable"):       # no fixed point to draw it to: counted below
            to_dead.add((a["students"], a["index"], b["index"]))
            continue
        pa = by_width[a["students"]]["fixed_points"][a["index"]]
        pb = by_width[b["students"]]["fixed_points"][b["index"]]
        ya, yb = y_of(pa["loss"]), y_of(pb["loss"])
        spurious = pa["kind"] != "global_minimum"
        label = f"#{a['index']} → #{b['index']}"
        group = "link from a spurious min" if spurious else "link from the global min"
        fig.add_scatter(x=[a["students"], b["students"]], y=[ya, yb], mode="lines", row=1, col=1,
                        line=dict(color="#b00020" if spurious else "#999", width=2 if spurious else 1,
                                  dash="solid" if link["relation"] == "split" else "dot"),
                        name=group, legendgroup=group, showlegend=group not in link_names,
                        hovertemplate=f"{label} ({link['relation']} ×{link['count']})"
                                      "<extra></extra>")
        link_names.add(group)
        if spurious and (a["students"], a["index"], b["index"]) not in labelled:
            labelled.add((a["students"], a["index"], b["index"]))
            fig.add_annotation(x=(a["students"] + b["students"]) / 2,
                               y=(math.log10(ya) + math.log10(yb)) / 2, row=1, col=1,
                               text=label, showarrow=False, font=dict(color="#b00020"),
                               bgcolor="rgba(255,255,255,0.85)")
    widths = [lv["students"] for lv in levels]
    glob = [lv["global_fraction"] * 100 for lv in levels]
    spurious = [100 * sum(p["fraction"] for p in lv["fixed_points"] if p["kind"] != "global_minimum")
                for lv in levels]
    other = [max(0.0, 100 - g - s) for g, s in zip(glob, spurious)]
    for name, ys, colour in (("global minimum", glob, KIND_COLOURS["global_minimum"]),
                             ("spurious or saddle", spurious, KIND_COLOURS["local_minimum"]),
                             ("dead or unconverged", other, "#bbb")):
        fig.add_bar(x=widths, y=ys, name=f"starts → {name}", marker_color=colour,
                    row=1, col=2,
                    text=[f"{v:.0f}%" for v in ys] if name == "global minimum" else None,
                    textposition="inside", insidetextanchor="end",
                    hovertemplate="width %{x}: %{y:.1f}%<extra>" + name + "</extra>")
    fig.add_hline(y=floor, row=1, col=1, line=dict(color="#555", dash="dot"))
    axis = log_axis(positive + [floor], pad=0.15)
    if not positive:     # only zero losses: one decade around the floor line
        axis = dict(type="log", range=[math.log10(floor) - 0.5, math.log10(floor) + 0.5],
                    tickvals=[floor], ticktext=["0"])
    if "ticktext" in axis:
        axis["ticktext"] = ["0" if v == floor else text
                            for v, text in zip(axis["tickvals"], axis["ticktext"])]
    fig.update_yaxes(**axis, title_text="loss (log; 0 on the dotted floor)", row=1, col=1)
    fig.update_yaxes(title_text="share of starts (%)", range=[0, 100], row=1, col=2)
    for col in (1, 2):
        fig.update_xaxes(title_text="width K (students)", dtick=1, tick0=0, row=1, col=col)
    if to_dead:
        fig.update_xaxes(title_text=f"width K (students)<br>{len(to_dead)} link"
                                    f"{'s' if len(to_dead) > 1 else ''} to dead students "
                                    "not drawn", row=1, col=1)
    if widths:
        fig.update_xaxes(range=[min(widths) - 0.5, max(widths) + 0.7], row=1, col=1)
    fig.update_layout(title="How spurious minima drain as width grows" if compact else
                      "Over-parameterisation: how spurious minima drain as width grows",
                      barmode="stack",
                      legend=dict(orientation="h", y=-0.3 if to_dead else -0.22))
    return style(fig, lecture, height=640 if lecture else 600)


# ----------------------------------------------------------------------------- connections
def _tree_layout(tree, minima):
    """x of every leaf and (x, loss, leaves) of every merge node of a disconnectivity tree."""
    x = {leaf: float(i) for i, leaf in enumerate(tree["leaves"])}
    groups = {leaf: (x[leaf], minima[leaf]["loss"]) for leaf in tree["leaves"]}
    owner = {leaf: leaf for leaf in tree["leaves"]}
    nodes = []
    for merge in tree["merges"]:
        left, right = merge["joins"]
        ends = []
        for side in (left, right):
            key = owner[side[0]]
            ends.append(groups.pop(key))
        xm = 0.5 * (ends[0][0] + ends[1][0])
        nodes.append({"x": xm, "loss": merge["loss"], "children": ends,
                      "leaves": left + right})
        key = ("merge", len(nodes) - 1)
        groups[key] = (xm, merge["loss"])
        for leaf in left + right:
            owner[leaf] = key
    return x, nodes, list(groups.values())


def disconnectivity_figure(result, log=False, floor=1e-7, lecture=False):
    """The disconnectivity tree of a ``paths`` result: minima as leaves at their loss,
    joined where the lowest saddle between their groups lies.

    Parameters
    ----------
    result : dict
        ``Connectivity.to_json()`` (the ``paths`` command's JSON).
    log : bool
        Logarithmic loss axis (losses below ``floor`` drawn at ``floor``).

    Leaves are coloured by kind and sized by basin share (share of random starts);
    hovering a branch shows its barrier.
    """
    minima = {m["catalog_index"]: m for m in result["minima"]}
    tree = result["tree"]
    if not tree["leaves"]:
        return empty_figure("no minima", lecture=lecture)
    y = (lambda v: max(v, floor)) if log else (lambda v: v)
    x, nodes, roots = _tree_layout(tree, minima)
    fig = go.Figure()
    lines_x, lines_y = [], []
    for node in nodes:
        (x1, l1), (x2, l2) = node["children"]
        lines_x += [x1, x1, x2, x2, None]
        lines_y += [y(l1), y(node["loss"]), y(node["loss"]), y(l2), None]
    top = max([n["loss"] for n in nodes] + [m["loss"] for m in minima.values()])
    for xr, lr in roots:      # unmerged groups: a stub above the highest merge
        lines_x += [xr, xr, None]
        lines_y += [y(lr), y(top * 1.15 + 1e-12), None]
    fig.add_scatter(x=lines_x, y=lines_y, mode="lines", line=dict(color="#264653", width=2),
                    hoverinfo="skip", showlegend=False)
    if nodes:
        fig.add_scatter(
            x=[n["x"] for n in nodes], y=[y(n["loss"]) for n in nodes], mode="markers",
            marker=dict(size=7, color="#264653", symbol="diamond"), showlegend=False,
            customdata=[[n["loss"], ", ".join(f"#{i}" for i in n["leaves"])] for n in nodes],
            hovertemplate="merge at loss %{customdata[0]:.6g}<br>joins %{customdata[1]}"
                          "<extra></extra>")
    for kind, colour in KIND_COLOURS.items():
        leaves = [leaf for leaf in tree["leaves"] if minima[leaf]["kind"] == kind]
        if not leaves:
            continue
        fig.add_scatter(
            x=[x[leaf] for leaf in leaves], y=[y(minima[leaf]["loss"]) for leaf in leaves],
            mode="markers", name=kind.replace("_", " "),
            marker=dict(size=[10 + 40 * minima[leaf]["fraction"] ** 0.5 for leaf in leaves],
                        color=colour, line=dict(color="black", width=1)),
            customdata=[[leaf, minima[leaf]["loss"], 100 * minima[leaf]["fraction"]]
                        for leaf in leaves],
            hovertemplate="minimum #%{customdata[0]}<br>loss %{customdata[1]:.6g}"
                          "<br>share %{customdata[2]:.1f}%<extra></extra>")
    style(fig, lecture, height=620 if lecture else None)
    fig.update_layout(title="Disconnectivity tree (minima joined at their lowest saddle)",
                      yaxis_title="loss" + (f" (log, floored at {floor:g})" if log else ""),
                      xaxis=dict(tickmode="array", tickvals=list(x.values()),
                                 ticktext=[f"#{leaf}" for leaf in x], title="minimum"))
    if log:
        fig.update_yaxes(type="log")
    return fig


def path_profile_figure(result, index, lecture=False):
    """Loss, student norms and overlaps along connection ``index`` of a ``paths`` result.

    Three stacked panels against arc length (in reduced coordinates, from the ``from``
    minimum): the loss with the saddle marked; each student's norm; and the overlaps
    M_kr that change most along the path (at most 2K of them).
    """
    connection = result["connections"][index]
    path = connection["path"]
    s = path["arc_length"]
    saddle = connection["saddle"]
    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.06,
                        subplot_titles=("loss", "student norms |w_k|", "overlaps M_kr"))
    fig.add_scatter(x=s, y=path["loss"], mode="lines+markers", name="loss",
                    line=dict(color="#264653"), marker=dict(size=5), row=1, col=1,
                    hovertemplate="arc length %{x:.3f}<br>loss %{y:.6g}<extra></extra>")
    status = "confirmed saddle" if connection["confirmed"] else (
        "flat path" if connection.get("flat") else "unconfirmed top")
    fig.add_scatter(x=[path["saddle_arc_length"]], y=[saddle["loss"]], mode="markers",
                    name=f"{status} (index {saddle['index']})",
                    marker=dict(size=14, symbol="x", color="#e76f51"), row=1, col=1,
                    hovertemplate=f"saddle loss {saddle['loss']:.6g}<br>barrier "
                                  f"{connection['barrier']:.4g}<extra></extra>")
    norms = path["norms"]
    K = len(norms[0])
    for k in range(K):
        fig.add_scatter(x=s, y=[row[k] for row in norms], mode="lines", name=f"|w_{k + 1}|",
                        line=dict(color=TEACHER_COLOURS[k % len(TEACHER_COLOURS)]), row=2, col=1,
                        legendgroup="norms", showlegend=False,
                        hovertemplate=f"|w_{k + 1}| = %{{y:.4f}}<extra></extra>")
    overlaps = path["overlaps"]
    M = len(overlaps[0][0])
    spans = sorted(((max(o[k][r] for o in overlaps) - min(o[k][r] for o in overlaps), k, r)
                    for k in range(K) for r in range(M)), reverse=True)[:2 * K]
    for _, k, r in spans:
        fig.add_scatter(x=s, y=[o[k][r] for o in overlaps], mode="lines",
                        name=f"M_{k + 1},{r + 1}", line=dict(color=TEACHER_COLOURS[k % len(TEACHER_COLOURS)],
                                                           dash="solid" if r % 2 == 0 else "dot"),
                        row=3, col=1, showlegend=False,
                        hovertemplate=f"M_{k + 1},{r + 1} = %{{y:.4f}}<extra></extra>")
    for row in (1, 2, 3):
        fig.add_vline(x=path["saddle_arc_length"], line_dash="dot", line_color="#e76f51",
                      row=row, col=1)
    fig.update_xaxes(title_text="arc length along the path (reduced coordinates)", row=3, col=1)
    for row, title in ((1, "loss"), (2, "norm"), (3, "overlap")):
        fig.update_yaxes(title_text=title, row=row, col=1)
    style(fig, lecture, height=900 if lecture else 760)
    fig.update_layout(legend=dict(orientation="h", y=-0.1),
                      title=f"Path #{connection['from']} → #{connection['to']}: barrier "
                            f"{connection['barrier']:.4g}")
    return fig


def path_plane_figure(plane, lecture=False):
    """The loss surface on the plane through both minima and the saddle, with the band
    drawn on it (its projection) and the saddle marked. ``plane``: ``service.path_plane``."""
    fig = go.Figure(go.Surface(x=plane["a"], y=plane["b"], z=[list(r) for r in zip(*plane["loss"])],
                               colorscale="Viridis", opacity=0.85, showscale=False,
                               hovertemplate="loss %{z:.5g}<extra></extra>"))
    path = plane["path"]
    fig.add_scatter3d(x=path["a"], y=path["b"], z=path["loss"], mode="lines+markers",
                      line=dict(color="#e76f51", width=6), marker=dict(size=3),
                      name="path (projected)")
    s = plane["saddle"]
    fig.add_scatter3d(x=[s["a"]], y=[s["b"]], z=[s["loss"]], mode="markers",
                      marker=dict(size=7, color="#d62828", symbol="x"), name="saddle")
    style(fig, lecture, height=660 if lecture else 560)
    fig.update_layout(scene=dict(xaxis_title=plane["labels"][0], yaxis_title=plane["labels"][1],
                                 zaxis_title="loss"),
                      title="Loss on the plane through both minima and the saddle")
    return fig
