"""The Celery task module: a Celery app on Redis with the search-chunk tasks.

``landscape.run_chunk`` runs one chunk of a multi-start search. JSON only: a
canonical config and a part in (a list of random-start indices, or explicit starts
``{"indices", "students"}`` as the hierarchy's embedding search sends), the chunk's
end points out, so no code or pickles travel through Redis.
``landscape.run_trajectory_chunk`` runs the Flows 3D trajectories of a chunk of random
starts (config, indices and ``TrajectoryOptions`` in, ``TrajectoryChunk`` out). This
module imports no web framework; the worker entry (``landscape.worker``) adds the
dashboard's background callbacks.
"""
from __future__ import annotations

from celery import Celery

from ..config import CatalogConfig
from ..methods.catalog import part_from_json, run_chunk
from ..methods.trajectories import TrajectoryOptions, trajectory_chunk

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
CHUNK_TASK = "landscape.run_chunk"
TRAJECTORY_TASK = "landscape.run_trajectory_chunk"
DEFAULT_VISIBILITY_SECONDS = 900.0


def run_chunk_json(task, config_data, part):
    """One chunk of starts; its ChunkResult as JSON plus the worker's name."""
    result = run_chunk(CatalogConfig.from_dict(config_data), part_from_json(part))
    return result.to_json() | {"worker": task.request.hostname}


def run_trajectory_chunk_json(task, config_data, part, options):
    """The Flows 3D trajectories of one chunk of random starts (a list of indices);
    its TrajectoryChunk as JSON plus the worker's name."""
    result = trajectory_chunk(CatalogConfig.from_dict(config_data), part,
                              TrajectoryOptions.from_json(options))
    return result.to_json() | {"worker": task.request.hostname}


def make_celery(url, visibility_seconds=DEFAULT_VISIBILITY_SECONDS):
    """A Celery app on Redis ``url`` with the chunk task registered.

    Every network wait is bounded, so that a web request never hangs on a Redis that
    has gone away: it fails within seconds and the dashboard says so. A task not
    acknowledged after ``visibility_seconds`` (its worker machine was lost) is
    delivered again.
    """
    celery = Celery("landscape", broker=url, backend=url)
    celery.conf.update(
        task_serializer="json", result_serializer="json", accept_content=["json"],
        task_acks_late=True,                 # a killed worker's task is redelivered
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,        # tasks go to whichever worker is free
        result_expires=3600,
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=2,
        broker_transport_options={"visibility_timeout": visibility_seconds,
                                  "socket_connect_timeout": 2, "socket_timeout": 10},
        task_publish_retry_policy={"max_retries": 2, "interval_start": 0,
                                   "interval_step": 0.5, "interval_max": 1},
        redis_socket_connect_timeout=2, redis_socket_timeout=10,
        result_backend_transport_options={"retry_policy": {"timeout": 3.0}},
    )
    celery.task(name=CHUNK_TASK, bind=True)(run_chunk_json)
    celery.task(name=TRAJECTORY_TASK, bind=True)(run_trajectory_chunk_json)
    return celery


_apps = {}


def celery_app(url, visibility_seconds=DEFAULT_VISIBILITY_SECONDS):
    """The Celery app for Redis ``url``, made once per process and shared (the worker
    entry, the dashboard and the executors use the same one)."""
    if url not in _apps:
        _apps[url] = make_celery(url, visibility_seconds)
    return _apps[url]
