"""Small building blocks of the page (no logic)."""
from __future__ import annotations

from dash import dcc, html


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


def table(head, rows):
    return html.Table([html.Thead(html.Tr([html.Th(h) for h in head])),
                       html.Tbody([html.Tr([html.Td(str(c)) for c in r]) for r in rows])])
