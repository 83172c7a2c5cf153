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
        yaxis_type="log",  # rare spurious minima (< 1 %) stay visible next to ~99 %
        margin=dict(l=60, r=20, t=50, b=60))
    return fig
