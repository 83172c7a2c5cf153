"""Where the chunks of a multi-start search run.

An executor is a callable ``executor(config, parts, options)`` yielding one
``ChunkResult`` per part (index range), in any order. Chunk starts depend only on
(seed, index), so every executor gives the same catalog.
"""
from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from functools import partial


def _single_threaded_blas():
    """Pool initializer: one BLAS thread per worker. Forked workers that inherit a
    multi-threaded OpenBLAS pool oversubscribe the cores (measured: 20x slower)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)


def serial(config, parts, options):
    """Run the chunks one after the other in this process."""
    from .catalog import run_chunk

    for part in parts:
        yield run_chunk(config, part, options)


def processes(workers=None):
    """An executor running chunks on a local process pool (default: one per core)."""
    workers = workers or os.cpu_count() or 1

    def run(config, parts, options):
        from .catalog import run_chunk

        if workers < 2 or len(parts) < 2:
            yield from serial(config, parts, options)
            return
        with ProcessPoolExecutor(max_workers=min(workers, len(parts)),
                                 mp_context=multiprocessing.get_context("fork"),
                                 initializer=_single_threaded_blas) as pool:
            futures = [pool.submit(partial(run_chunk, config, part, options)) for part in parts]
            for future in as_completed(futures):
                yield future.result()

    return run


def celery(timeout=3600.0, seen_workers=None):
    """An executor sending chunks to Celery workers (``landscape.worker``) via REDIS_URL.

    ``seen_workers``, if a set, collects the names of the workers that ran chunks.
    """
    def run(config, parts, options):
        import numpy as np

        from .catalog import ChunkResult
        from .worker import run_chunk_task

        if options != type(options)():
            raise ValueError("Celery workers run the default descent options")
        pending = [run_chunk_task.delay(config.to_dict(), list(part)) for part in parts]
        for task in pending:
            data = task.get(timeout=timeout)
            if seen_workers is not None:
                seen_workers.add(data["worker"])
            yield ChunkResult(
                indices=np.array(data["indices"], dtype=int),
                students=np.array(data["students"], dtype=float).reshape(
                    len(data["indices"]), config.students, config.reduced_dim),
                status=np.array(data["status"], dtype=object),
                grad_norm=np.array([np.inf if g is None else g for g in data["grad_norm"]]),
                saddles=[np.array(s) for s in data["saddles"]])

    return run


def default_executor():
    """Celery workers when REDIS_URL is set, else local processes on every core
    (LANDSCAPE_WORKERS=1 stays in one process)."""
    if os.environ.get("LANDSCAPE_EXECUTOR", "").lower() == "celery":
        return celery()
    return processes(int(os.environ.get("LANDSCAPE_WORKERS", "0")) or None)
