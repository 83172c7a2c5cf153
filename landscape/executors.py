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
        pool = ProcessPoolExecutor(max_workers=min(workers, len(parts)),
                                   mp_context=multiprocessing.get_context("fork"),
                                   initializer=_single_threaded_blas)
        try:
            futures = [pool.submit(partial(run_chunk, config, part, options)) for part in parts]
            for future in as_completed(futures):
                yield future.result()
        finally:
            # Stopped early (an error, a cancel, a time budget): drop the queued chunks
            # instead of computing them all before returning.
            pool.shutdown(wait=True, cancel_futures=True)

    run.workers = workers
    return run


class ExecutorUnavailable(RuntimeError):
    """The chosen executor cannot run chunks (no Redis, no worker)."""


def celery(timeout=3600.0, seen_workers=None, url=None):
    """An executor sending chunks to Celery workers (``landscape.worker``) on Redis ``url``
    (default ``REDIS_URL``).

    Refuses at once, with a message, when Redis or every worker is unreachable; a chunk
    whose worker dies is redelivered to another one. ``seen_workers``, if a set,
    collects the names of the workers that ran chunks.
    """
    def run(config, parts, options):
        import numpy as np
        from kombu.exceptions import OperationalError

        from .catalog import ChunkResult
        from .worker import CHUNK_TASK, DEFAULT_REDIS_URL, celery_app

        if options != type(options)():
            raise ValueError("Celery workers run the default descent options")
        where = url or os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
        app = celery_app(where)
        try:
            # limit=1: one answer is enough (without it, ping waits out the timeout).
            if not app.control.ping(timeout=2.0, limit=1):
                raise ExecutorUnavailable(
                    f"no Celery worker answers at {where}; start one with "
                    "`celery --app landscape.worker worker` or use --executor local")
            pending = [app.send_task(CHUNK_TASK, args=[config.to_dict(), list(part)])
                       for part in parts]
        except OperationalError as exc:
            raise ExecutorUnavailable(f"cannot reach Redis at {where}: {exc}") from None
        try:
            for task in pending:
                data = task.get(timeout=timeout)
                if seen_workers is not None:
                    seen_workers.add(data["worker"])
                yield ChunkResult(
                    indices=np.array(data["indices"], dtype=int),
                    students=np.array(data["students"], dtype=float).reshape(
                        len(data["indices"]), config.students, config.reduced_dim),
                    status=np.array(data["status"], dtype=object),
                    grad_norm=np.array([np.inf if g is None else g
                                        for g in data["grad_norm"]]),
                    saddles=[np.array(s) for s in data["saddles"]])
        finally:
            for task in pending:       # stopped early (error, cancel): drop what is left
                if not task.ready():
                    task.revoke()

    return run


def default_executor():
    """Celery workers when REDIS_URL is set (or LANDSCAPE_EXECUTOR=celery), unless
    LANDSCAPE_EXECUTOR=local; else local processes on every core (LANDSCAPE_WORKERS=1
    stays in one process). Inside a daemonic process (a Celery pool process), which
    may not start children, chunks run one after the other."""
    choice = os.environ.get("LANDSCAPE_EXECUTOR", "").lower()
    if choice == "celery" or (choice != "local" and os.environ.get("REDIS_URL")):
        return celery()
    if multiprocessing.current_process().daemon:
        return serial
    return processes(int(os.environ.get("LANDSCAPE_WORKERS", "0")) or None)


def by_name(name=None):
    """The executor for ``--executor``: "local", "celery", or None for the default."""
    return {"celery": celery, "local": processes}.get(name, default_executor)()
