"""The page: header, controls, status line, tab bar, and each tab's view (no logic)."""
from __future__ import annotations

from dash import dcc, html

from . import state
from .components import control
from .tabs import MODULES


def layout():
    controls = [control(cid, label, default) for cid, label, default in state.CONTROLS]
    return html.Div(id="page", children=[
        dcc.Location(id="url", refresh=False),
        dcc.Store(id="config"),            # validated config dict, or None
        dcc.Store(id="catalog-request"),   # config dict whose catalog the job computes
        dcc.Store(id="catalog-ready"),     # config dict of the cached catalog
        dcc.Store(id="lecture"),           # True in lecture mode: large figure text
        dcc.Store(id="address-bar"),       # output of the clientside address-bar writer
        dcc.Store(id="compare-config"),    # control values of the compared view, or None
        dcc.Store(id="compare-request"),   # the same, whose catalog the job computes
        dcc.Store(id="compare-ready"),     # the same once its catalog is cached
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
        html.Div(id="controls", className="controls", children=controls + [
            html.Div([html.Label("compare with (e.g. K=9)", htmlFor="compare"),
                      dcc.Input(id="compare", value="", type="text", debounce=True,
                                placeholder="K=9, teacher=correlated:0.3",
                                style={"width": "14rem"})], id="compare-control",
                     className="control")]),
        html.Div(className="status", children=[
            html.Div(id="message", className="message"),
            html.Progress(id="progress", max="1", value="0", className="progress"),
            html.Button("cancel", id="cancel", n_clicks=0, className="cancel"),
            html.Span(id="summary", className="summary"),
            html.Div(id="compare-message", className="message"),
            html.Progress(id="compare-progress", max="1", value="0", className="progress"),
            html.Span(id="compare-summary", className="summary"),
        ]),
        html.Div(id="storyline", className="storyline hidden"),
        dcc.Tabs(id="tab", value="fixed-points", children=[
            dcc.Tab(label=label, value=value) for value, label in state.TABS]),
        html.Div(id="views", children=[MODULES[value].layout() for value, _ in state.TABS]),
    ])
