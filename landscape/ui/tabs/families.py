"""Families: the k1 families of critical points across widths K = M."""
from __future__ import annotations


from dash import Input, Output, dcc, html, no_update

from ... import figures
from ...errors import FamilyError
from ...methods.families import teacher_pattern
from ...running import service
from .. import state
from ..common import reason_in_figures
from ..components import graph, table

TAB = "families"


def layout():
    return html.Div(id="view-families", className="view", children=[
        dcc.Loading(graph("families-graph")),
        html.Div(id="families-table"),
    ])


def show_families(context, raw, tab, lecture=False):
    """The families figure (at d = ∞, widths 2 to 25) and the table of members at the
    current width."""
    if tab != TAB:
        return no_update, no_update
    if not raw:
        return figures.empty_figure("fix the controls first", lecture=lecture), None
    config = state.catalog_config(raw)
    try:
        teacher_pattern(config.teacher.P)
    except FamilyError as exc:
        return figures.empty_figure(str(exc), lecture=lecture), None
    result = service.families_result(config.teacher, state.FAMILY_DIM, state.family_widths(config),
                                     state.FAMILY_K1, context.cache)
    here = [r for r in result["rows"] if r["students"] == config.teachers]
    rows = [[r["k1"], f"{r['loss']:.6g}", r["kind"].replace("_", " "),
             f"{r['min_eigenvalue']:.4g}" if r["min_eigenvalue"] is not None else "-"]
            for r in here]
    caption = html.P(f"Families at the current width K = M = {config.teachers} (d = ∞):")
    return (figures.families_figure(result, current=config.teachers, dim="inf",
                                    lecture=lecture),
            [caption, table(["k1", "loss", "kind", "min eigenvalue"], rows)])


def register(app, context):
    app.callback(Output("families-graph", "figure"), Output("families-table", "children"),
                 Input("config", "data"), Input("tab", "value"), Input("lecture", "data"))(
        reason_in_figures("figure", "table")(
            lambda raw, tab, lecture: show_families(context, raw, tab, lecture)))
