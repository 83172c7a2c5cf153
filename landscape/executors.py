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


def default_executor():
    """Local processes on every core; set LANDSCAPE_WORKERS=1 to stay in one process."""
    return processes(int(os.environ.get("LANDSCAPE_WORKERS", "0")) or None)
