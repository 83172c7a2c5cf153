"""Layout of the dashboard (no logic)."""
from __future__ import annotations

from dash import dcc, html

from . import state

THEORY = r"""
### The model
A **teacher** network $f^*(x) = \sum_{r=1}^{M} \mathrm{ReLU}(v_r \cdot x)$ labels Gaussian
inputs $x \sim \mathcal N(0, I_d)$. A **student** $f(x) = \sum_{k=1}^{K} \mathrm{ReLU}(w_k \cdot x)$
learns it by minimising the population loss
$$L = \tfrac12\, \mathbb E\,[(f(x) - f^*(x))^2].$$

### Everything depends on a few overlaps
With $Q = WW^\top$ (students with students), $M = WV^\top$ (students with teachers) and
$P = VV^\top$ (teachers), the loss is exact in closed form via the arc-cosine kernel
$$\kappa(a,b) = \mathbb E[\mathrm{ReLU}(a\cdot x)\,\mathrm{ReLU}(b\cdot x)]
 = \frac{|a||b|}{2\pi}\,(\sin\theta + (\pi-\theta)\cos\theta),$$
$$L = \tfrac12 \sum_{k,l} \kappa(w_k,w_l) - \sum_{k,r} \kappa(w_k,v_r)
 + \tfrac12 \sum_{r,s}\kappa(v_r,v_s).$$
Gradient flow never leaves the span of the students and teachers, so everything is computed
exactly in $\min(d, K+M)$ dimensions, for any input dimension $d$, including $d\to\infty$.

### What each view shows
* **Fixed points**: random starts follow gradient flow to where it ends. Each end point is
  polished by Newton's method and classified by its *full* Hessian in dimension $d$: the block
  inside the span, plus a $K\times K$ block repeated $d-n$ times. Points that are the same up to
  permuting students (or equivalent teachers) are one entry. For $K=M\ge 6$ some starts end in
  **spurious local minima** (Safran & Shamir 2018).
* **Flows 2D**: the overlaps $M_{kr}(t)$, $Q_{kl}(t)$ and the loss along one trajectory. With a
  learning rate $\eta>0$ this is the one-pass SGD limit, including its $\eta^2$ term
  $\mathbb E[\delta_k\delta_l]$, overlaid with real SGD simulations in finite $d$.
* **Flows 3D**: all trajectories at once, coloured by where they end.
* **Families**: spurious minima come in families labelled by $k_1$, the number of students
  anti-aligned with a teacher. A handful of numbers describe a family member at any width; each
  family becomes a minimum at some width (★), and its loss decays like $1/K$.
* **Hierarchy**: with more students than teachers ($K>M$), splitting a student $w$ into
  $\alpha w$ and $(1-\alpha)w$ leaves the function unchanged. Minima become connected by flat
  directions, spurious minima turn into saddles, and far more starts reach the global minimum.
"""


def graph_config(graph_id, image_format="png"):
    """The modebar's camera button saves the figure in ``image_format`` (png or svg)."""
    return {"displaylogo": False,
            "toImageButtonOptions": {"format": image_format, "filename": graph_id,
                                     "scale": 2 if image_format == "png" else 1}}


def graph(graph_id, **kwargs):
    return dcc.Graph(id=graph_id, config=graph_config(graph_id), **kwargs)


def control(cid, label, default):
    return html.Div([html.Label(label, htmlFor=cid),
                     dcc.Input(id=cid, value=default, type="text", debounce=True,
                               style={"width": "8.5rem"})], className="control")


def layout():
    controls = [control(cid, label, default) for cid, label, default in state.CONTROLS]
    return html.Div(id="page", children=[
        dcc.Location(id="url", refresh=False),
        dcc.Store(id="config"),            # validated config dict, or None
        dcc.Store(id="catalog-ready"),     # config dict of the cached catalog
        html.Div(className="header", children=[
            html.H1("landscape: the loss landscape of two-layer ReLU networks"),
            html.Div(className="header-tools", children=[
                dcc.Dropdown(id="preset", placeholder="lecture presets…",
                             options=list(state.PRESETS), clearable=True,
                             style={"width": "22rem"}),
                html.Span([dcc.Clipboard(id="copy-link", title="copy a link to this view",
                                         className="clipboard"), " copy link"],
                          className="copy"),
                html.Span(["figures save as ",
                           dcc.RadioItems(id="image-format", value="png", inline=True,
                                          options=[{"label": " PNG ", "value": "png"},
                                                   {"label": " SVG", "value": "svg"}])],
                          className="image-format",
                          title="format of the modebar's camera button"),
            ]),
        ]),
        html.Div(id="controls", className="controls", children=controls),
        html.Div(className="status", children=[
            html.Div(id="message", className="message"),
            html.Progress(id="progress", max="1", value="0", className="progress"),
            html.Button("cancel", id="cancel", n_clicks=0, className="cancel"),
            html.Span(id="summary", className="summary"),
        ]),
        dcc.Tabs(id="tab", value="fixed-points", children=[
            dcc.Tab(label=label, value=value) for value, label in state.TABS]),
        html.Div(id="views", children=[
            html.Div(id="view-fixed-points", className="view", children=[
                html.Div(className="row", children=[
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
                    dcc.Dropdown(id="surface-directions", clearable=False, value="soft",
                                 options=[{"label": "two softest eigenvectors", "value": "soft"},
                                          {"label": "flattest directions", "value": "flat"},
                                          {"label": "segment to another point", "value": "segment"}],
                                 style={"width": "16rem"}),
                    dcc.Dropdown(id="surface-other", placeholder="other point",
                                 style={"width": "10rem"}),
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
            ]),
            html.Div(id="view-flows-2d", className="view", children=[
                html.Div(className="row", children=[
                    html.Label("start", htmlFor="flow-start"),
                    dcc.Input(id="flow-start", value=state.FLOW_VIEW["start"], type="text", debounce=True,
                              style={"width": "4rem"}),
                    html.Label("final time T", htmlFor="flow-time"),
                    dcc.Input(id="flow-time", value=state.FLOW_VIEW["time"], type="text", debounce=True,
                              style={"width": "6rem"}),
                    html.Label("simulate in dimension (lr > 0)", htmlFor="flow-simulate"),
                    dcc.Input(id="flow-simulate", value=state.FLOW_VIEW["simulate"], type="text", debounce=True,
                              style={"width": "6rem"}),
                ]),
                dcc.Loading(graph("flow-graph")),
                html.Div(className="row", children=[
                    html.Label("time for the heatmaps", htmlFor="flow-slider"),
                    html.Div(dcc.Slider(id="flow-slider", min=0, max=100, step=1, value=100,
                                        marks=None, tooltip={"placement": "bottom"}),
                             style={"width": "30rem"}),
                ]),
                html.Div(className="row", children=[
                    graph("flow-heatmap-q", className="half"),
                    graph("flow-heatmap-m", className="half"),
                ]),
            ]),
            html.Div(id="view-flows-3d", className="view", children=[
                html.Div(className="row", children=[
                    item for a, v in (("x", "mean diag Q"), ("y", "max M"), ("z", "loss"))
                    for item in (html.Label(f"{a} axis", htmlFor=f"axis-{a}"),
                                 dcc.Dropdown(id=f"axis-{a}", clearable=False, value=v,
                                              style={"width": "14rem"}))]),
                dcc.Loading(graph("flows-3d-graph")),
            ]),
            html.Div(id="view-families", className="view", children=[
                dcc.Loading(graph("families-graph")),
                html.Div(id="families-table"),
            ]),
            html.Div(id="view-hierarchy", className="view", children=[
                html.Div(className="row", children=[
                    html.Label("widths", htmlFor="hierarchy-widths"),
                    dcc.Input(id="hierarchy-widths", value="", type="text", debounce=True,
                              placeholder="M M+1 M+2", style={"width": "9rem"}),
                    html.Button("compute the hierarchy", id="hierarchy-button", n_clicks=0),
                    html.Span(id="hierarchy-status"),
                ]),
                graph("hierarchy-graph"),
            ]),
            html.Div(id="view-theory", className="view theory", children=[
                dcc.Markdown(THEORY, mathjax=True)]),
        ]),
    ])
