"""Build the dashboard for a deployment's settings (``app.py`` does it for gunicorn)."""
from __future__ import annotations

import os

from dash import Dash
from flask import g

from .. import settings as deployment
from . import backends, callbacks, guard, layout

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def create_app(settings=None, serving=True):
    """The Dash app of a deployment.

    Parameters
    ----------
    settings : Settings, optional
        Default: read from the environment (``landscape.settings.from_env``).
    serving : bool
        False in a Celery worker, which builds the app only to register the background
        callbacks it runs; it serves no pages and needs no secret key.
    """
    settings = settings or deployment.from_env()
    manager = backends.background_manager(settings)
    app = Dash(__name__, title="landscape", serve_locally=True,
               assets_folder=os.path.join(ROOT, "assets"),
               url_base_pathname=settings.url_prefix,
               background_callback_manager=manager,
               suppress_callback_exceptions=False, on_error=guard.on_callback_error)
    server = app.server
    # One key per deployment, shared by all workers and Celery workers: Dash signs the
    # handles of background jobs with it, and the result cache signs its entries.
    secret = deployment.secret_key(settings)
    if serving:
        server.config["SECRET_KEY"] = secret
    cache = backends.RecordingCache(backends.result_store(settings, secret))

    app.layout = layout.layout()
    callbacks.register(app, cache, manager, job_seconds=settings.job_seconds,
                       executor=settings.job_executor())
    guard.install(app, settings)

    def health():
        redis = backends.redis_status(settings)
        disk = backends.disk_status(settings.cache_dir)
        body = {"status": "ok", "pid": os.getpid(), "disk": disk}
        if redis is not None:
            body["redis"] = redis
        if disk != "ok":       # no job can start: unhealthy (503), and saying why
            body["status"] = f"the cache directory's disk is {disk}"
            return body, 503
        return body

    server.add_url_rule("/health", "health", health)
    if settings.url_prefix != "/":
        server.add_url_rule(settings.url_prefix + "health", "prefixed_health", health)

    @server.after_request
    def cache_header(response):
        # Whether the results of this request came from the cache, and which worker
        # process answered (debugging aids for lab admins, like a CDN's X-Cache).
        if "landscape_cache" in g:
            response.headers["X-Landscape-Cache"] = g.landscape_cache
            response.headers["X-Landscape-Worker"] = str(os.getpid())
        return response

    if serving:
        # Dash registers the paths of its JavaScript bundles while rendering the index
        # page. With several gunicorn workers a bundle request can reach a worker that
        # has not rendered the page yet and get a 500, so every worker renders it once.
        with server.test_request_context(settings.url_prefix):
            app.index()
    return app
