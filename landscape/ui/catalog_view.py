"""The fixed-point catalog view: controls, a basin-share figure and the table."""
from __future__ import annotations

from dash import Input, Output, State, dcc, html

from ..catalog import find_fixed_points
from ..config import ConfigError, make_catalog_config
from ..figures import basin_share_figure

# Interactive limits: a shared server must answer promptly.
UI_MAX_STUDENTS = 20
UI_MAX_TEACHERS = 20
UI_MAX_STARTS = 2000

CONTROLS = [  # (id = URL parameter = CLI option, label, default)
    ("students", "students K", "6"),
    ("teachers", "teachers M", "6"),
    ("teacher", "teacher", "orthonormal"),
    ("dim", "input dimension d", "6"),
    ("starts", "random starts", "200"),
    ("seed", "seed", "0"),
    ("init-dim", "initial dimension (d = inf)", "1000"),
]


def layout():
    fields = [html.Div([html.Label(label, htmlFor=cid), dcc.Input(id=cid, value=default,
                                                               type="text", debounce=True,
                                                               style={"width": "9rem"})],
                       className="control")
              for cid, label, default in CONTROLS]
    return html.Div([
        html.H1("landscape: fixed points of two-layer ReLU networks"),
        html.Div(fields + [html.Button("compute", id="compute", n_clicks=0)],
                 className="controls"),
        html.Div(id="message", className="message"),
        html.Div(id="summary", className="summary"),
        dcc.Loading(html.Div([dcc.Graph(id="shares"), html.Div(id="table")])),
    ])


def compute(values):
    """Validate raw control values and compute the catalog as JSON (or raise ConfigError)."""
    raw = dict(zip([cid for cid, _, _ in CONTROLS], values))
    config = make_catalog_config(
        students=raw["students"], teachers=raw["teachers"], teacher=raw["teacher"],
        dim=raw["dim"], starts=raw["starts"], seed=raw["seed"], init_dim=raw["init-dim"],
        max_students=UI_MAX_STUDENTS, max_teachers=UI_MAX_TEACHERS, max_starts=UI_MAX_STARTS)
    return find_fixed_points(config).to_json()


def catalog_table(catalog):
    head = ["#", "loss", "kind", "index", "flat", "min eigenvalue", "hits %", "visits"]
    rows = [[i, f"{p['loss']:.6g}", p["kind"].replace("_", " "), p["index"], p["flat"],
             f"{p['min_eigenvalue']:.4g}", f"{100 * p['fraction']:.1f}", p["visits"]]
            for i, p in enumerate(catalog["fixed_points"])]
    return html.Table([html.Thead(html.Tr([html.Th(h) for h in head])),
                       html.Tbody([html.Tr([html.Td(str(c)) for c in r]) for r in rows])])


def register(app):
    @app.callback(Output("shares", "figure"), Output("table", "children"),
                  Output("message", "children"), Output("summary", "children"),
                  Input("compute", "n_clicks"),
                  [State(cid, "value") for cid, _, _ in CONTROLS])
    def update(_, *values):
        try:
            catalog = compute(values)
        except ConfigError as exc:
            return basin_share_figure({"fixed_points": []}), None, str(exc), None
        summary = (f"{len(catalog['fixed_points'])} fixed points in {catalog['seconds']:.2f} s; "
                   f"unconverged {catalog['unconverged']}, dead-student endpoints "
                   f"{catalog['nondifferentiable']['count']}")
        return basin_share_figure(catalog), catalog_table(catalog), None, summary
