"""Plotly figures: pure functions of JSON-able results (no Dash here)."""
from __future__ import annotations

import plotly.graph_objects as go

KIND_COLOURS = {"global_minimum": "#2a9d8f", "local_minimum": "#e76f51", "saddle": "#8d99ae"}


def basin_share_figure(catalog):
    """Share of starts ending at each fixed point, bars coloured by kind.

    Parameters
    ----------
    catalog : dict
        ``Catalog.to_json()``.
    """
    points = catalog["fixed_points"]
    labels = [f"#{i} L={p['loss']:.3g}" for i, p in enumerate(points)]
    fig = go.Figure()
    for kind, colour in KIND_COLOURS.items():
        idx = [i for i, p in enumerate(points) if p["kind"] == kind]
        if not idx:
            continue
        fig.add_bar(
            x=[labels[i] for i in idx], y=[100 * points[i]["fraction"] for i in idx],
            name=kind.replace("_", " "), marker_color=colour,
            customdata=[[points[i]["loss"], points[i]["index"], points[i]["min_eigenvalue"]]
                        for i in idx],
            hovertemplate="%{x}<br>share %{y:.1f}%<br>loss %{customdata[0]:.6g}"
                          "<br>index %{customdata[1]}<br>min eig %{customdata[2]:.4g}<extra></extra>")
    fig.update_layout(
        title="Where gradient flow ends", yaxis_title="share of starts (%)",
        xaxis_title="fixed point", template="plotly_white", bargap=0.3,
        yaxis=dict(type="log", dtick=1),  # rare spurious minima (< 1 %) stay visible
        margin=dict(l=60, r=20, t=50, b=60))
    return fig


# ----------------------------------------------------------------------------- helpers
from plotly.subplots import make_subplots  # noqa: E402

LAYOUT = dict(template="plotly_white", margin=dict(l=60, r=20, t=50, b=50))
PALETTE = ["#264653", "#2a9d8f", "#e9c46a", "#f4a261", "#e76f51", "#8d99ae", "#6a4c93",
           "#1982c4", "#8ac926", "#ff595e"]


def empty_figure(message=""):
    fig = go.Figure()
    fig.update_layout(**LAYOUT, xaxis_visible=False, yaxis_visible=False,
                      annotations=[dict(text=message, showarrow=False, font_size=16)])
    return fig


def heatmap_figure(matrix, title, x_label, y_label, x_names=None, y_names=None):
    """A matrix as a heatmap (rows top to bottom), diverging colours centred at 0."""
    matrix = [list(row) for row in matrix]
    bound = max((abs(v) for row in matrix for v in row), default=1.0) or 1.0
    fig = go.Figure(go.Heatmap(
        z=matrix, x=x_names, y=y_names, zmin=-bound, zmax=bound, colorscale="RdBu_r",
        hovertemplate=f"{y_label} %{{y}}, {x_label} %{{x}}<br>%{{z:.4f}}<extra></extra>"))
    fig.update_layout(**LAYOUT, title=title, xaxis_title=x_label, yaxis_title=y_label)
    fig.update_yaxes(autorange="reversed", dtick=1)
    fig.update_xaxes(dtick=1)
    return fig


def spectrum_figure(point):
    """Distinct Hessian eigenvalues with multiplicities: span block and orthogonal block."""
    span = point["hessian"]["span"]
    orth = point["hessian"]["orthogonal"]
    fig = go.Figure()
    fig.add_bar(x=span["eigenvalues"], y=span["multiplicities"], name="in the span",
                marker_color="#264653", width=_bar_width(span["eigenvalues"]),
                hovertemplate="eigenvalue %{x:.5g}<br>multiplicity %{y}<extra>span</extra>")
    if orth["eigenvalues"]:
        mult = orth["multiplicity"]
        label = "∞" if mult == "inf" else str(mult)
        fig.add_bar(x=orth["eigenvalues"], y=[m for m in orth["multiplicities"]],
                    name=f"orthogonal block (each × {label})", marker_color="#e76f51",
                    width=_bar_width(orth["eigenvalues"]),
                    hovertemplate="eigenvalue %{x:.5g}<br>"
                                  f"multiplicity %{{y}} × {label}<extra>orthogonal</extra>")
    fig.add_vline(x=0, line_dash="dot", line_color="#999")
    fig.update_layout(**LAYOUT, title="Hessian spectrum", xaxis_title="eigenvalue",
                      yaxis_title="multiplicity", barmode="overlay",
                      legend=dict(orientation="h", y=-0.25))
    return fig


def _bar_width(values):
    if len(values) < 2:
        return 0.02
    spread = max(values) - min(values)
    return max(spread / 150, 1e-4)


def surface_figure(surface, contour=False):
    """The loss on a plane through a fixed point (3D surface or contours)."""
    a, b, z = surface["a"], surface["b"], surface["loss"]
    zt = [list(col) for col in zip(*z)]        # plotly: z[row = b][col = a]
    if contour:
        fig = go.Figure(go.Contour(x=a, y=b, z=zt, colorscale="Viridis", ncontours=30,
                                   hovertemplate="%{x:.3g}, %{y:.3g}: loss %{z:.5g}<extra></extra>"))
        fig.add_scatter(x=[0], y=[0], mode="markers", marker=dict(color="white", size=10,
                        line=dict(color="black", width=2)), name="fixed point")
        fig.update_layout(**LAYOUT, title="Loss contours", xaxis_title=surface["labels"][0],
                          yaxis_title=surface["labels"][1], showlegend=False)
        return fig
    fig = go.Figure(go.Surface(x=a, y=b, z=zt, colorscale="Viridis", showscale=False,
                               hovertemplate="%{x:.3g}, %{y:.3g}: loss %{z:.5g}<extra></extra>"))
    fig.update_layout(**LAYOUT, title="Loss surface through the fixed point",
                      scene=dict(xaxis_title=surface["labels"][0][:28],
                                 yaxis_title=surface["labels"][1][:28], zaxis_title="loss"))
    return fig


def flow_figure(flow, max_lines=60):
    """M_kr(t), Q_kl(t) and the loss (log) of an ODE trajectory, with the simulation."""
    t = flow["t"]
    Q, M = flow["Q"], flow["M"]
    K, Mt = len(Q[0]), len(M[0][0])
    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.06,
                        subplot_titles=("student-teacher overlaps M_kr", "student overlaps Q_kl",
                                        "loss"))
    sim = flow.get("simulation")
    pairs_m = [(k, r) for k in range(K) for r in range(Mt)][:max_lines]
    for i, (k, r) in enumerate(pairs_m):
        colour = PALETTE[k % len(PALETTE)]
        fig.add_scatter(x=t, y=[m[k][r] for m in M], mode="lines", row=1, col=1,
                        line=dict(color=colour, width=1.5), legendgroup=f"s{k}",
                        name=f"student {k}", showlegend=r == 0,
                        hovertemplate=f"M[{k},{r}] = %{{y:.4f}} at t = %{{x:.3g}}<extra></extra>")
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
    pairs_q = [(k, l) for k in range(K) for l in range(k, K)][:max_lines]
    for k, l in pairs_q:
        fig.add_scatter(x=t, y=[q[k][l] for q in Q], mode="lines", row=2, col=1,
                        line=dict(color=PALETTE[k % len(PALETTE)], width=1.5,
                                  dash="solid" if k == l else "dot"),
                        showlegend=False,
                        hovertemplate=f"Q[{k},{l}] = %{{y:.4f}} at t = %{{x:.3g}}<extra></extra>")
    fig.add_scatter(x=t, y=flow["loss"], mode="lines", row=3, col=1, name="theory (ODE)",
                    line=dict(color="black", width=2))
    if sim:
        ts = sim["t"]
        mean, std = sim["loss_mean"], sim.get("loss_std", [0] * len(ts))
        fig.add_scatter(x=ts + ts[::-1], y=[m + s for m, s in zip(mean, std)]
                        + [max(m - s, 1e-16) for m, s in zip(mean[::-1], std[::-1])],
                        fill="toself", line=dict(width=0), fillcolor="#e76f51", opacity=0.2,
                        row=3, col=1, showlegend=False, hoverinfo="skip")
        fig.add_scatter(x=ts, y=mean, mode="markers", row=3, col=1,
                        name=f"SGD simulation, d = {sim['dim']} (mean ± sd of {sim['runs']})",
                        marker=dict(color="#e76f51", size=5))
    fig.update_yaxes(type="log", row=3, col=1, exponentformat="power")
    fig.update_xaxes(title_text="time t", row=3, col=1)
    fig.update_layout(**LAYOUT, height=780, legend=dict(orientation="h", y=-0.08))
    if flow.get("diverged_at") is not None:
        fig.add_annotation(text=f"diverged at t = {flow['diverged_at']:.3g}", showarrow=False,
                           xref="paper", yref="paper", x=1, y=1.02, font_color="#b00020")
    return fig


AXES = ("loss", "mean diag Q", "mean off-diag Q", "max M", "mean M", "PC1", "PC2", "PC3")


def axis_options(K, M):
    """Choices for the 3D axes: invariants, principal components, every Q and M entry."""
    return (list(AXES) + [f"Q[{k},{l}]" for k in range(K) for l in range(k, K)]
            + [f"M[{k},{r}]" for k in range(K) for r in range(M)])


def _axis_values(name, Q, M, loss, pcs):
    import numpy as np
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


def trajectories_figure(traj, catalog, axes=("mean diag Q", "max M", "loss")):
    """All flows in 3D, one trace per fixed point reached; fixed points as big markers."""
    import numpy as np
    Q, M = np.array(traj["Q"], dtype=float), np.array(traj["M"], dtype=float)
    loss = np.array(traj["loss"], dtype=float)
    labels = np.array(traj["label"])
    S, T = loss.shape
    flat = np.concatenate([Q.reshape(S * T, -1), M.reshape(S * T, -1)], axis=1)
    centred = flat - flat.mean(0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    pcs = (centred @ vt[:3].T).reshape(S, T, -1)
    if pcs.shape[-1] < 3:
        pcs = np.concatenate([pcs, np.zeros((S, T, 3 - pcs.shape[-1]))], axis=-1)
    coords = [_axis_values(a, Q, M, loss, pcs) for a in axes]
    log_axes = [a == "loss" for a in axes]
    fig = go.Figure()
    points = catalog["fixed_points"]
    for label in sorted(set(labels.tolist())):
        members = np.nonzero(labels == label)[0]
        name = (f"→ #{label} {points[label]['kind'].replace('_', ' ')} (L={points[label]['loss']:.3g})"
                if label >= 0 else ("→ dead student" if label == -1 else "→ unconverged"))
        colour = KIND_COLOURS.get(points[label]["kind"], "#555") if label >= 0 else "#999"
        if label >= 0 and points[label]["kind"] == "local_minimum":
            colour = PALETTE[(label + 3) % len(PALETTE)]
        xyz = []
        for c, is_log in zip(coords, log_axes):
            values = c[members]
            if is_log:
                values = np.log10(np.maximum(values, 1e-16))
            # one trace per class: trajectories joined with None breaks
            xyz.append(np.concatenate([np.append(v, np.nan) for v in values]).tolist())
        fig.add_scatter3d(x=xyz[0], y=xyz[1], z=xyz[2], mode="lines", name=name,
                          line=dict(color=colour, width=2), opacity=0.6, connectgaps=False,
                          hovertemplate="%{x:.3g}, %{y:.3g}, %{z:.3g}<extra>" + name + "</extra>")
    # fixed points at the trajectories' ends
    for label in sorted(set(labels.tolist()) - {-1, -2}):
        members = np.nonzero(labels == label)[0]
        end = [c[members, -1].mean() for c in coords]
        end = [np.log10(max(e, 1e-16)) if lg else e for e, lg in zip(end, log_axes)]
        kind = points[label]["kind"]
        fig.add_scatter3d(x=[end[0]], y=[end[1]], z=[end[2]], mode="markers",
                          marker=dict(size=9, color=KIND_COLOURS.get(kind, "#555"),
                                      symbol="diamond" if kind == "global_minimum" else "circle",
                                      line=dict(color="black", width=1)),
                          name=f"fixed point #{label}", showlegend=False,
                          hovertemplate=f"fixed point #{label}: {kind}<extra></extra>")
    titles = [f"log10 {a}" if lg else a for a, lg in zip(axes, log_axes)]
    fig.update_layout(**LAYOUT, height=700, title="Gradient-flow trajectories of all starts",
                      scene=dict(xaxis_title=titles[0], yaxis_title=titles[1],
                                 zaxis_title=titles[2]),
                      legend=dict(orientation="h", y=-0.05))
    return fig


def families_figure(families, current=None):
    """Loss against width for each k1 family: solid where a minimum, dashed where a saddle."""
    rows = families["rows"]
    fig = go.Figure()
    # k1 = 0 is the global minimum (loss 0): nothing to draw on a log axis.
    for k1 in sorted({r["k1"] for r in rows} - {0}):
        mine = sorted((r for r in rows if r["k1"] == k1), key=lambda r: r["students"])
        colour = PALETTE[k1 % len(PALETTE)]
        for stable, dash in ((True, "solid"), (False, "dash")):
            xs, ys = [], []
            for r in mine:
                ok = r["kind"] in ("local_minimum", "global_minimum")
                xs.append(r["students"] if ok == stable else None)
                ys.append(r["loss"] if ok == stable else None)
            fig.add_scatter(x=xs, y=ys, mode="lines+markers", connectgaps=False,
                            line=dict(color=colour, dash=dash), marker=dict(size=5),
                            name=f"k1 = {k1} ({'minimum' if stable else 'saddle'})",
                            legendgroup=str(k1),
                            hovertemplate="K = %{x}<br>loss %{y:.5g}<extra>k1 = " + str(k1)
                                          + "</extra>")
        onset = next((r["students"] for i, r in enumerate(mine)
                      if r["kind"] == "local_minimum"
                      and all(s["kind"] == "local_minimum" for s in mine[i:])), None)
        if onset is not None and k1 > 0:
            loss = next(r["loss"] for r in mine if r["students"] == onset)
            fig.add_scatter(x=[onset], y=[loss], mode="markers", showlegend=False,
                            marker=dict(symbol="star", size=14, color=colour,
                                        line=dict(color="black", width=1)),
                            hovertemplate=f"onset of k1 = {k1}: K = {onset}<extra></extra>")
    if current is not None:
        fig.add_vline(x=current, line_dash="dot", line_color="#888")
    fig.update_layout(**LAYOUT, title="Families of critical points (K = M; ★ = becomes a minimum)",
                      xaxis_title="width K = M", yaxis_title="loss",
                      yaxis=dict(type="log", dtick=1),
                      legend=dict(orientation="v"))
    return fig


def hierarchy_figure(hierarchy):
    """Loss against width (markers sized by basin share, coloured by kind, links drawn)
    and stacked bars of basin shares per width."""
    levels = hierarchy["levels"]
    fig = make_subplots(rows=1, cols=2, column_widths=[0.62, 0.38],
                        subplot_titles=("fixed points by width", "where random starts end"))
    floor = 1e-7
    def y_of(loss):
        return max(loss, floor)
    for level in levels:
        K = level["students"]
        for i, p in enumerate(level["fixed_points"]):
            share = p["fraction"]
            size = 8 + 40 * share ** 0.5
            fig.add_scatter(
                x=[K], y=[y_of(p["loss"])], mode="markers", row=1, col=1, showlegend=False,
                marker=dict(size=size, color=KIND_COLOURS.get(p["kind"], "#555"),
                            symbol="circle" if p["source"] == "random" else "circle-open",
                            line=dict(color="black", width=1)),
                hovertemplate=(f"width {K}, #{i}: {p['kind'].replace('_', ' ')}<br>loss "
                               f"{p['loss']:.4g}<br>share {100 * share:.1f}%<br>flat "
                               f"{p['flat']}, index {p['index']}<br>found by {p['source']}"
                               "<extra></extra>"))
    by_width = {lv["students"]: lv for lv in levels}
    for link in hierarchy["links"]:
        a, b = link["from"], link["to"]
        if b.get("nondifferentiable") or a["students"] not in by_width:
            continue
        pa = by_width[a["students"]]["fixed_points"][a["index"]]
        pb = by_width[b["students"]]["fixed_points"][b["index"]]
        fig.add_scatter(x=[a["students"], b["students"]], y=[y_of(pa["loss"]), y_of(pb["loss"])],
                        mode="lines", row=1, col=1, showlegend=False,
                        line=dict(color="#888", width=1,
                                  dash="solid" if link["relation"] == "split" else "dot"),
                        hovertemplate=f"{link['relation']} ×{link['count']}<extra></extra>")
    widths = [lv["students"] for lv in levels]
    glob = [lv["global_fraction"] * 100 for lv in levels]
    spurious = [100 * sum(p["fraction"] for p in lv["fixed_points"] if p["kind"] != "global_minimum")
                for lv in levels]
    other = [max(0.0, 100 - g - s) for g, s in zip(glob, spurious)]
    for name, ys, colour in (("global minimum", glob, KIND_COLOURS["global_minimum"]),
                             ("spurious", spurious, KIND_COLOURS["local_minimum"]),
                             ("other (dead, unconverged)", other, "#bbb")):
        fig.add_bar(x=widths, y=ys, name=name, marker_color=colour, row=1, col=2,
                    hovertemplate="width %{x}: %{y:.1f}%<extra>" + name + "</extra>")
    fig.update_yaxes(type="log", dtick=1, title_text="loss (floored at 1e-7)", row=1, col=1)
    fig.update_yaxes(title_text="share of starts (%)", range=[0, 100], row=1, col=2)
    fig.update_xaxes(title_text="width K", dtick=1, row=1, col=1)
    fig.update_xaxes(title_text="width K", dtick=1, row=1, col=2)
    fig.update_layout(**LAYOUT, barmode="stack", height=520, legend=dict(orientation="h", y=-0.2))
    return fig


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


def disconnectivity_figure(result, log=False, floor=1e-7):
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
        return empty_figure("no minima")
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
    fig.update_layout(**LAYOUT, title="Disconnectivity tree (minima joined at their lowest saddle)",
                      yaxis_title="loss" + (f" (log, floored at {floor:g})" if log else ""),
                      xaxis=dict(tickmode="array", tickvals=list(x.values()),
                                 ticktext=[f"#{leaf}" for leaf in x], title="minimum"))
    if log:
        fig.update_yaxes(type="log")
    return fig


def path_profile_figure(result, index):
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
                        line=dict(color=PALETTE[k % len(PALETTE)]), row=2, col=1,
                        legendgroup="norms", showlegend=False,
                        hovertemplate=f"|w_{k + 1}| = %{{y:.4f}}<extra></extra>")
    overlaps = path["overlaps"]
    M = len(overlaps[0][0])
    spans = sorted(((max(o[k][r] for o in overlaps) - min(o[k][r] for o in overlaps), k, r)
                    for k in range(K) for r in range(M)), reverse=True)[:2 * K]
    for _, k, r in spans:
        fig.add_scatter(x=s, y=[o[k][r] for o in overlaps], mode="lines",
                        name=f"M_{k + 1},{r + 1}", line=dict(color=PALETTE[k % len(PALETTE)],
                                                           dash="solid" if r % 2 == 0 else "dot"),
                        row=3, col=1, showlegend=False,
                        hovertemplate=f"M_{k + 1},{r + 1} = %{{y:.4f}}<extra></extra>")
    for row in (1, 2, 3):
        fig.add_vline(x=path["saddle_arc_length"], line_dash="dot", line_color="#e76f51",
                      row=row, col=1)
    fig.update_xaxes(title_text="arc length along the path (reduced coordinates)", row=3, col=1)
    fig.update_layout(**LAYOUT, height=760, legend=dict(orientation="h", y=-0.1),
                      title=f"Path #{connection['from']} → #{connection['to']}: barrier "
                            f"{connection['barrier']:.4g}")
    return fig


def path_plane_figure(plane):
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
    fig.update_layout(**LAYOUT, height=560,
                      scene=dict(xaxis_title=plane["labels"][0], yaxis_title=plane["labels"][1],
                                 zaxis_title="loss"),
                      title="Loss on the plane through both minima and the saddle")
    return fig
