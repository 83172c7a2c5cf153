"""Celery workers for the multi-start search: `celery --app landscape.worker worker`.

Broker and result backend are ``REDIS_URL`` (default redis://127.0.0.1:6379/0).
Tasks exchange JSON only: a canonical config and start indices in, a chunk's end
points out, so no code or pickles travel through Redis.
"""
from __future__ import annotations

import os

import numpy as np
from celery import Celery

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")

app = Celery("landscape", broker=REDIS_URL, backend=REDIS_URL)
app.conf.update(
    task_serializer="json", result_serializer="json", accept_content=["json"],
    task_acks_late=True,                 # a killed worker's chunk is redelivered
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,        # chunks go to whichever worker is free
    result_expires=3600,
    broker_connection_retry_on_startup=True,
)


def config_from_dict(data):
    from .config import make_catalog_config

    return make_catalog_config(
        students=data["students"], teachers=data["teachers"], teacher=data["teacher"],
        dim=data["dim"], starts=data["starts"], seed=data["seed"], init_dim=data["init_dim"])


@app.task(name="landscape.run_chunk", bind=True)
def run_chunk_task(self, config_data, indices):
    """One chunk of starts; returns its ChunkResult as JSON plus the worker's name."""
    from .catalog import run_chunk

    result = run_chunk(config_from_dict(config_data), indices)
    return {
        "indices": result.indices.tolist(),
        "students": result.students.tolist(),
        "status": [str(s) for s in result.status],
        "grad_norm": [float(g) if np.isfinite(g) else None for g in result.grad_norm],
        "saddles": [s.tolist() for s in result.saddles],
        "worker": self.request.hostname,
    }
