"""The landscape dashboard. `python app.py` runs it locally; `gunicorn app:server` serves it.

Configuration (environment):
  LANDSCAPE_CACHE_DIR  where results and background jobs are kept (default ./cache)
  REDIS_URL            use Redis for the result cache instead of files
  SECRET_KEY           Flask secret key (one per deployment)
"""
import os
import secrets

import diskcache
from dash import Dash, DiskcacheManager
from flask_caching import Cache

from landscape.ui import callbacks, guard, layout

CACHE_DIR = os.environ.get("LANDSCAPE_CACHE_DIR", os.path.join(os.getcwd(), "cache"))
os.makedirs(CACHE_DIR, exist_ok=True)

background = DiskcacheManager(diskcache.Cache(os.path.join(CACHE_DIR, "jobs")))
app = Dash(__name__, title="landscape", serve_locally=True, background_callback_manager=background,
           suppress_callback_exceptions=False, on_error=guard.on_callback_error)
server = app.server
server.config["SECRET_KEY"] = os.environ.get("SECRET_KEY") or secrets.token_hex(32)

if os.environ.get("REDIS_URL"):
    cache_config = {"CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": os.environ["REDIS_URL"]}
else:
    cache_config = {"CACHE_TYPE": "FileSystemCache",
                    "CACHE_DIR": os.path.join(CACHE_DIR, "results"),
                    "CACHE_THRESHOLD": 2000}
cache_config["CACHE_DEFAULT_TIMEOUT"] = 0      # results never go stale: keys carry the version
cache = Cache(server, config=cache_config)

app.layout = layout.layout()
callbacks.register(app, cache, background)
guard.install(app)


# Dash registers the paths of its JavaScript bundles while rendering the index page.
# With several gunicorn workers a bundle request can reach a worker that has not rendered
# the page yet and get a 500, so every worker renders it once at start-up.
with server.test_request_context("/"):
    app.index()


@server.route("/health")
def health():
    return {"status": "ok"}


if __name__ == "__main__":
    app.run(host=os.environ.get("HOST", "127.0.0.1"), port=int(os.environ.get("PORT", "8050")),
            debug=False)
