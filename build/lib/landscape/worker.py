"""The Celery worker entry: `celery --app landscape.worker worker`.

Broker and result backend are ``REDIS_URL`` (default redis://127.0.0.1:6379/0). A
worker runs two kinds of task:

* ``landscape.run_chunk``: one chunk of a multi-start search, sent by the command line
  (``--executor celery``) and ``precompute`` (``landscape.running.tasks``);
* the dashboard's background callbacks (catalog, hierarchy), registered by building
  the dashboard here when Dash is installed, exactly as the web server does.

Tasks are acknowledged late: if the process running one dies, the task goes back to the
queue (at once for a pool process; after ``LANDSCAPE_VISIBILITY_SECONDS`` if the whole
worker machine is lost). A bad setting stops the worker at once with one line.
"""
from __future__ import annotations

import importlib.util
import logging
import sys

from celery import signals

from .errors import SettingsError
from .running.tasks import DEFAULT_REDIS_URL, celery_app
from .settings import from_env

log = logging.getLogger(__name__)

try:
    SETTINGS = from_env()
except SettingsError as exc:
    sys.exit(f"landscape: configuration error: {exc}")
REDIS_URL = SETTINGS.redis_url or DEFAULT_REDIS_URL
app = celery_app(REDIS_URL, SETTINGS.visibility_seconds)


@signals.worker_init.connect
def _worker_init(**_):
    if importlib.util.find_spec("dash") is None:      # a compute-only worker
        log.info("dash is not installed: this worker runs search chunks only")
        return
    from .ui.dashboard import create_app

    create_app(SETTINGS.with_redis(REDIS_URL), serving=False)


@signals.worker_process_init.connect
def _one_blas_thread(**_):
    # Pool processes share the cores: one BLAS thread each (see running.executors).
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
