"""Celery workers: `celery --app landscape.worker worker`.

Broker and result backend are ``REDIS_URL`` (default redis://127.0.0.1:6379/0). A
worker runs two kinds of task:

* ``landscape.run_chunk``: one chunk of a multi-start search, sent by the command line
  (``--executor celery``) and ``precompute``. JSON only: a canonical config and start
  indices in, the chunk's end points out, so no code or pickles travel through Redis.
* the dashboard's background callbacks (catalog, hierarchy), registered by building
  the dashboard here when Dash is installed, exactly as the web server does.

Tasks are acknowledged late: if the process running one dies, the task goes back to the
queue (at once for a pool process; after ``LANDSCAPE_VISIBILITY_SECONDS`` if the whole
worker machine is lost).
"""
from __future__ import annotations

import importlib.util
import logging
import os

import numpy as np
from celery import Celery, signals

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
REDIS_URL = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
CHUNK_TASK = "landscape.run_chunk"

log = logging.getLogger(__name__)


def config_from_dict(data):
    from .config import make_catalog_config

    return make_catalog_config(
        students=data["students"], teachers=data["teachers"], teacher=data["teacher"],
        dim=data["dim"], starts=data["starts"], seed=data["seed"], init_dim=data["init_dim"])


def run_chunk_json(task, config_data, indices):
    """One chunk of starts; its ChunkResult as JSON plus the worker's name."""
    from .catalog import run_chunk

    result = run_chunk(config_from_dict(config_data), indices)
    return {
        "indices": result.indices.tolist(),
        "students": result.students.tolist(),
        "status": [str(s) for s in result.status],
        "grad_norm": [float(g) if np.isfinite(g) else None for g in result.grad_norm],
        "saddles": [s.tolist() for s in result.saddles],
        "worker": task.request.hostname,
    }


def make_celery(url):
    """A Celery app on Redis ``url`` with the chunk task registered.

    Every network wait is bounded, so that a web request never hangs on a Redis that
    has gone away: it fails within seconds and the dashboard says so.
    """
    from .settings import from_env

    visibility = from_env().visibility_seconds
    celery = Celery("landscape", broker=url, backend=url)
    celery.conf.update(
        task_serializer="json", result_serializer="json", accept_content=["json"],
        task_acks_late=True,                 # a killed worker's task is redelivered
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,        # tasks go to whichever worker is free
        result_expires=3600,
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=2,
        broker_transport_options={"visibility_timeout": visibility,
                                  "socket_connect_timeout": 2, "socket_timeout": 10},
        task_publish_retry_policy={"max_retries": 2, "interval_start": 0,
                                   "interval_step": 0.5, "interval_max": 1},
        redis_socket_connect_timeout=2, redis_socket_timeout=10,
        result_backend_transport_options={"retry_policy": {"timeout": 3.0}},
    )
    celery.task(name=CHUNK_TASK, bind=True)(run_chunk_json)
    return celery


app = make_celery(REDIS_URL)
_apps = {REDIS_URL: app}


def celery_app(url):
    """The Celery app for Redis ``url`` (this module's ``app`` when it is the same)."""
    if url not in _apps:
        _apps[url] = make_celery(url)
    return _apps[url]


@signals.worker_init.connect
def _worker_init(**_):
    # A search inside a task runs in that process (LANDSCAPE_EXECUTOR=local): sending its
    # chunks back to the queue and waiting could deadlock a busy worker pool.
    os.environ["LANDSCAPE_EXECUTOR"] = "local"
    if importlib.util.find_spec("dash") is None:      # a compute-only worker
        log.info("dash is not installed: this worker runs search chunks only")
        return
    from .settings import from_env
    from .ui.dashboard import create_app

    create_app(from_env().with_redis(REDIS_URL), serving=False)


@signals.worker_process_init.connect
def _one_blas_thread(**_):
    # Pool processes share the cores: one BLAS thread each (see executors).
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
