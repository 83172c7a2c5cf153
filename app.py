"""The landscape dashboard. `python app.py` runs it locally; `gunicorn app:server` serves it."""
import os

from dash import Dash

from landscape.ui import catalog_view

app = Dash(__name__, title="landscape", serve_locally=True)
app.layout = catalog_view.layout()
catalog_view.register(app)
server = app.server


@server.route("/health")
def health():
    return {"status": "ok"}


if __name__ == "__main__":
    app.run(host=os.environ.get("HOST", "127.0.0.1"), port=int(os.environ.get("PORT", "8050")),
            debug=False)
