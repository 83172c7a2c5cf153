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
import os
import sys

from celery import signals

from .errors import SettingsError
from .running.tasks import DEFAULT_REDIS_URL, celery_app
from .settings import EXIT_CONFIG, from_env

log = logging.getLogger(__name__)

def _refuse(exc):
    sys.stderr.write(f"landscape: configuration error: {exc}\n")
    sys.exit(EXIT_CONFIG)


try:
    SETTINGS = from_env()
    if SETTINGS.redis_url is None:
        # the default Redis is checked like a given one (a password, a shared key)
        SETTINGS = from_env(dict(os.environ, REDIS_URL=DEFAULT_REDIS_URL))
except SettingsError as exc:
    _refuse(exc)
REDIS_URL = SETTINGS.redis_url


def closed_channel_raises_connection_error():
    """Make a kombu Redis channel whose connection is closed raise a connection error,
    not AttributeError.

    When Redis goes away, Celery closes the lost connection. A busy worker then still
    holds the channel its running tasks came on: closing it puts their messages back,
    and acknowledging a task that ends later goes through it too. Both build a Redis
    client from the connection's parameters, which a closed connection no longer has,
    and kombu raises AttributeError ("'NoneType' object has no attribute 'hostname'"
    in ``Channel._connparams``). Celery expects connection errors there (it logs them
    and reconnects) but not AttributeError: the worker stopped with "Unrecoverable
    error" whenever Redis restarted during a task (issue 16 row 6; celery 5.7.0, kombu
    5.7.0). As a connection error the worker reconnects, and the finished task's
    result is stored; its message is gone with the old connection.
    """
    import redis
    from kombu.transport import redis as kombu_redis

    original = kombu_redis.Channel._connparams
    if getattr(original, "checks_closed_connection", False):
        return

    def connparams(self, *args, **kwargs):
        if self.connection is None or self.connection.client is None:
            raise redis.exceptions.ConnectionError("the broker connection is closed")
        return original(self, *args, **kwargs)

    connparams.checks_closed_connection = True
    kombu_redis.Channel._connparams = connparams


closed_channel_raises_connection_error()
app = celery_app(REDIS_URL, SETTINGS.visibility_seconds)


@signals.worker_init.connect
def _worker_init(**_):
    if importlib.util.find_spec("dash") is None:      # a compute-only worker
        log.info("dash is not installed: this worker runs search chunks only")
        return
    from .ui.dashboard import create_app

    try:
        create_app(SETTINGS, serving=False)
    except SettingsError as exc:
        _refuse(exc)


@signals.worker_process_init.connect
def _one_blas_thread(**_):
    # Pool processes share the cores: one BLAS thread each (see running.executors).
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
