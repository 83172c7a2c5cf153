"""Where the chunks of a multi-start search run.

An executor is a callable ``executor(config, parts, options, chunk=run_chunk)``
yielding ``chunk(config, part, options)`` for every part (index range), in any order:
a catalog's ``ChunkResult`` by default, or the Flows 3D view's ``TrajectoryChunk`` with
``chunk=trajectory_chunk``. Chunk starts depend only on (seed, index), so every
executor gives the same catalog and the same trajectories.

``EXECUTORS`` names them (like ``solve_ivp``'s method table); ``get(name, **options)``
makes one. The engine never chooses: it runs in process unless given an executor, and
only the command line, the dashboard and the worker entry pick one from their settings.
"""
from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from functools import partial

from ..errors import ConfigError, ExecutorUnavailable
from ..methods.catalog import ChunkResult, part_json, run_chunk, run_serially
from ..methods.trajectories import TrajectoryChunk, trajectory_chunk


def process_context():
    """The start method of every process this package starts: ``forkserver`` where the
    platform has it, else ``spawn``. Never a plain ``fork``: a fork copies the locks
    other threads hold (a web server's, SQLite's, BLAS's) and can deadlock, and macOS
    and Jupyter do not support it safely."""
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    if method == "forkserver":
        # Children fork from a server that has imported the engine once.
        context.set_forkserver_preload(["landscape.methods.catalog",
                                        "landscape.methods.trajectories"])
    return context


def _single_threaded_blas():
    """Pool initializer: one BLAS thread per worker. Workers that each run a
    multi-threaded OpenBLAS pool oversubscribe the cores (measured: 20x slower).
    threadpoolctl comes with the [app] extra; a bare engine install goes without."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(1)


serial = run_serially


def processes(workers=None):
    """An executor running chunks on a local process pool (default: one per core)."""
    workers = workers or os.cpu_count() or 1

    def run(config, parts, options, chunk=run_chunk):
        # Decided per run, not when the executor is made: the dashboard makes it in a
        # Celery worker's main process and runs it in a (daemonic) pool process, which
        # may not start children.
        if workers < 2 or len(parts) < 2 or multiprocessing.current_process().daemon:
            yield from serial(config, parts, options, chunk)
            return
        pool = ProcessPoolExecutor(max_workers=min(workers, len(parts)),
                                   mp_context=process_context(),
                                   initializer=_single_threaded_blas)
        try:
            futures = [pool.submit(partial(chunk, config, part, options)) for part in parts]
            for future in as_completed(futures):
                yield future.result()
        finally:
            # Stopped early (an error, a cancel, a time budget): drop the queued chunks
            # instead of computing them all before returning.
            pool.shutdown(wait=True, cancel_futures=True)

    run.workers = workers
    return run


def celery(url=None, timeout=3600.0, seen_workers=None):
    """An executor sending chunks to Celery workers (``landscape.worker``) on Redis ``url``
    (default ``tasks.DEFAULT_REDIS_URL``).

    Refuses at once, with a message, when Redis or every worker is unreachable; a chunk
    whose worker dies is redelivered to another one. ``seen_workers``, if a set,
    collects the names of the workers that ran chunks.
    """
    def run(config, parts, options, chunk=run_chunk):
        from kombu.exceptions import OperationalError

        from .tasks import CHUNK_TASK, DEFAULT_REDIS_URL, TRAJECTORY_TASK, celery_app

        if chunk is trajectory_chunk:
            task_name, result_type, extra = TRAJECTORY_TASK, TrajectoryChunk, [options.to_json()]
        elif chunk is run_chunk:
            if options != type(options)():
                raise ValueError("Celery workers run the default descent options")
            task_name, result_type, extra = CHUNK_TASK, ChunkResult, []
        else:
            raise ValueError(f"Celery workers have no task for {chunk!r}")
        where = url or DEFAULT_REDIS_URL
        app = celery_app(where)
        try:
            # limit=1: one answer is enough (without it, ping waits out the timeout).
            if not app.control.ping(timeout=2.0, limit=1):
                raise ExecutorUnavailable(
                    f"no Celery worker answers at {where}; start one with "
                    "`celery --app landscape.worker worker` or use --executor local")
            pending = [app.send_task(task_name, args=[config.to_dict(), part_json(part)] + extra)
                       for part in parts]
        except OperationalError as exc:
            raise ExecutorUnavailable(f"cannot reach Redis at {where}: {exc}") from None
        try:
            for task in pending:
                data = task.get(timeout=timeout)
                if seen_workers is not None:
                    seen_workers.add(data["worker"])
                yield result_type.from_json(data, config)
        finally:
            for task in pending:       # stopped early (error, cancel): drop what is left
                if not task.ready():
                    task.revoke()

    return run


def local(workers=None):
    """Local processes on every core (``workers``: how many); in one process inside a
    daemonic process (a Celery pool process), which may not start children."""
    if multiprocessing.current_process().daemon or workers == 1:
        return serial
    return processes(workers)


EXECUTORS = {"serial": lambda: serial, "local": local, "celery": celery}


def get(name="serial", **options):
    """The executor registered as ``name`` ("serial", "local" or "celery"), made with
    ``options`` (``workers`` for local; ``url``, ``timeout`` for celery); an executor
    callable is passed through."""
    if callable(name):
        return name
    if name not in EXECUTORS:
        raise ConfigError(f"executor must be one of {', '.join(EXECUTORS)}, got {name!r}")
    return EXECUTORS[name](**options)
