"""Where the dashboard keeps results and runs background jobs.

Without ``REDIS_URL``: results in a FileSystemCache, jobs in processes managed by
Diskcache. With it: results in Redis (shared by every gunicorn worker) and jobs on
Celery workers (``landscape.worker``). Either way at most ``max_jobs`` jobs run at once;
one more is refused with a message instead of queueing without bound.
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time

import diskcache
from dash import CeleryManager, DiskcacheManager
from flask import g, has_request_context

from ..errors import drop_deadline
from ..running import store
from ..version import ENGINE_VERSION

log = logging.getLogger(__name__)
JOBS_KEY = "landscape:jobs"
REDIS_CACHE_SECONDS = 30 * 24 * 3600


class ServerBusy(RuntimeError):
    """All background-job slots are taken."""


class JobLost(RuntimeError):
    """A background job ended without a result, or no worker runs it."""


# The jobs list marks a job stopped by terminate_job (cancel, or a newer request of its
# page) with this in place of its key; a poll of it within the grace is not answered
# "lost" (it is the stopping page's own last poll), later ones are.
STOPPED = "!stopped"
STOPPED_GRACE_SECONDS = 15.0
JOB_LOST = ("the job ended without a result: {reason}; reload the page to compute the "
            "view again")


def result_store(settings, secret):
    """The result cache: signed JSON entries in Redis (30 days, so that Redis's
    volatile-lru policy may evict them) or in files (up to 2000). Keys carry the engine
    version, so entries never go stale. Nothing read back is unpickled."""
    if settings.redis_url:
        return store.RedisStore(settings.redis_url, secret, seconds=REDIS_CACHE_SECONDS)
    return store.FileStore(os.path.join(settings.cache_dir, "results"), secret,
                           threshold=2000)


class RecordingCache:
    """A result cache that notes hits and misses of the current request, so that a
    response can say whether it was served from the cache (``X-Landscape-Cache``)."""

    def __init__(self, cache):
        self.cache = cache
        self.secret = getattr(cache, "secret", None)

    def get(self, key):
        value = None
        try:
            value = self.cache.get(key)
            return value
        finally:        # an unreadable entry (it raised) is a miss too
            if has_request_context():
                hit = value is not None and getattr(g, "landscape_cache", "hit") == "hit"
                g.landscape_cache = "hit" if hit else "miss"

    def set(self, key, value):
        # something was computed: a miss, also when the entry read was unusable
        if has_request_context():
            g.landscape_cache = "miss"
        return self.cache.set(key, value)


def _engine_version():
    return ENGINE_VERSION


class _Bounded:
    """Mixin for a Dash background-callback manager: one job per view, shared by every
    visitor, and at most ``max_jobs`` jobs at once.

    Dash keys a job by its callback and arguments, so every visitor of one view has the
    same key; by default the first poll reads and deletes the result, and the other
    visitors of the view get nothing (issue 16: 60 of 100 browsers got an empty page).
    Here a result stays readable (``result_seconds`` after its last read), a request
    for a view whose job is running joins that job instead of starting another, and
    failures are not kept for later visitors. The running jobs' handles are kept in the
    manager's own shared store (diskcache or Redis), so this holds across all gunicorn
    workers.
    """

    max_jobs = 4
    max_age = 600.0      # seconds after which a job no longer holds a slot
    result_seconds = 600.0
    # Keys carry the engine version: a stored result never outlives an upgrade.
    sharing = dict(cache_by=[_engine_version], expire=int(result_seconds))

    def call_job_fn(self, key, job_fn, args, context):
        now = time.time()
        with self._jobs_lock():
            # Entries are "job@start time@key"; old ones are dropped too, because a
            # Celery result that has expired reads as PENDING forever.
            running, joined = [], None
            for entry in self._load_jobs():
                job, _, rest = entry.partition("@")
                started, _, job_key = rest.partition("@")
                try:
                    age = now - float(started)
                except ValueError:
                    continue
                if age < self.max_age and self.job_running(job):
                    running.append(entry)
                    if job_key == key:
                        joined = job
            if joined is not None:     # this view is being computed: poll that job
                return joined
            if len(running) >= self.max_jobs:
                # a lost job that nobody polls any more must not hold its slot
                running = [entry for entry in running
                           if self.job_lost(entry.partition("@")[0]) is None]
            if len(running) >= self.max_jobs:
                raise ServerBusy(f"the server is busy ({len(running)} jobs running); "
                                 "try again in a minute")
            job = super().call_job_fn(key, job_fn, args, context)
            self._save_jobs(running + [f"{job}@{now}@{key}"])
        return job

    def terminate_job(self, job):
        # A stopped job (cancelled, or replaced by a newer request of its page) is not
        # lost: its page's last poll may still be on its way and must not be told that the
        # job vanished. It is marked, and holds no slot once its process has ended.
        if job is not None:
            with self._jobs_lock():
                self._save_jobs([entry for entry in self._load_jobs()
                                 if entry.partition("@")[0] != str(job)]
                                + [f"{job}@{time.time()}@{STOPPED}"])
        return super().terminate_job(job)

    def _stopped_at(self, job):
        """When ``job`` was stopped by terminate_job (time.time()), or None."""
        for entry in self._load_jobs():
            name, _, rest = entry.partition("@")
            started, _, what = rest.partition("@")
            if name == str(job) and what == STOPPED:
                try:
                    return float(started)
                except ValueError:
                    return None
        return None

    def get_result(self, key, job):
        result = super().get_result(key, job)
        if result is self.UNDEFINED and job is not None:
            stopped = self._stopped_at(job)
            if stopped is not None and time.time() - stopped < STOPPED_GRACE_SECONDS:
                return result
            reason = "it was stopped" if stopped is not None else self.job_lost(job)
            if reason is not None:
                result = super().get_result(key, job)    # it may have ended meanwhile
            if reason is not None and result is self.UNDEFINED:
                # the page would poll for ever and the job keep its slot: say so, free it
                log.warning("background job %s lost: %s", job, reason)
                self._forget_job(job)
                text = JOB_LOST.format(reason=reason)
                return {"background_callback_error": {
                    "msg": text, "tb": f"landscape.ui.backends.JobLost: {text}"}}
        if isinstance(result, dict) and "background_callback_error" in result:
            self.clear_cache_entry(key)    # a failure is not kept for the next visitor
        return result

    def _job_started(self, job):
        """When ``job`` was started (time.time()), or None if it holds no slot."""
        for entry in self._load_jobs():
            name, _, rest = entry.partition("@")
            if name == str(job):
                try:
                    return float(rest.partition("@")[0])
                except ValueError:
                    return None
        return None

    def _forget_job(self, job):
        with self._jobs_lock():
            self._save_jobs([entry for entry in self._load_jobs()
                             if entry.partition("@")[0] != str(job)])


def close_inherited_sockets():
    """Close every socket this process inherited from its parent.

    A Diskcache job is a fork of the gunicorn worker, taken while it serves a request:
    it inherits that browser connection. When the worker is done with the connection,
    the job's copy still keeps it open, so the browser sends its next request on it
    and waits for an answer until the job ends (seen as pages that hang while a job
    runs). A job needs none of these sockets.
    """
    import stat

    if not os.path.isdir("/proc/self/fd"):       # not Linux: nothing to do here
        return
    # Point each one at /dev/null rather than closing it: Python socket objects in this
    # process still own those numbers, and closing one later must not hit a reused fd.
    null = os.open(os.devnull, os.O_RDWR)
    for name in os.listdir("/proc/self/fd"):
        try:
            fd = int(name)
            if fd != null and stat.S_ISSOCK(os.fstat(fd).st_mode):
                os.dup2(null, fd)
        except (OSError, ValueError):
            pass
    os.close(null)


# Held by every operation on the job store and across the fork of a job process. A fork
# copies SQLite's internal mutexes as they are: if another thread of the web process is
# inside SQLite at that moment, the child finds them locked for ever and hangs on its
# first diskcache call (seen: 12 of 40 jobs forked under load). With this lock no
# thread is inside SQLite when a job process is forked.
_STORE_LOCK = threading.RLock()
_STORE_METHODS = ("get", "set", "add", "delete", "touch", "pop", "incr", "__getitem__",
                  "__setitem__", "__delitem__", "__contains__", "clear", "cull", "expire")


def _under_store_lock(method):
    def locked(self, *args, **kwargs):
        with _STORE_LOCK:
            return method(self, *args, **kwargs)

    locked.__name__, locked.__doc__ = method.__name__, method.__doc__
    return locked


class DataDisk(diskcache.Disk):
    """Job-store values as JSON (strings and numbers as they are): nothing is pickled,
    and a pickle found in the store is never loaded (it reads as missing)."""

    MARK = b"landscape-json:"

    def put(self, key):
        if type(key) is not str:
            raise TypeError(f"job-store keys are strings, got {type(key).__name__}")
        return super().put(key)

    def get(self, key, raw):
        if not raw:
            raise ValueError("a pickled key in the job store is not loaded")
        return super().get(key, raw)

    def store(self, value, read, key=diskcache.core.UNKNOWN):
        if read or type(value) in (str, int, float):
            return super().store(value, read, key)
        from plotly.utils import PlotlyJSONEncoder

        data = self.MARK + json.dumps(value, cls=PlotlyJSONEncoder).encode()
        return super().store(data, False, key)

    def fetch(self, mode, filename, value, read):
        if mode == diskcache.core.MODE_PICKLE:
            log.warning("a pickle in the job store was not loaded")
            return None
        data = super().fetch(mode, filename, value, read)
        if isinstance(data, bytes):
            if not data.startswith(self.MARK):
                log.warning("unknown bytes in the job store were not loaded")
                return None
            return json.loads(data[len(self.MARK):])
        return data


def fork_safe_store(directory):
    """A diskcache.Cache for the background jobs whose values are JSON (``DataDisk``)
    and whose operations exclude the fork of a job process (see ``_STORE_LOCK``)."""
    methods = {name: _under_store_lock(getattr(diskcache.Cache, name))
               for name in _STORE_METHODS}
    return type("ForkSafeCache", (diskcache.Cache,), methods)(directory, disk=DataDisk)


class _ForkOutsideStore:
    """Start job processes while no thread of this process is inside the job store."""

    def call_job_fn(self, key, job_fn, args, context):
        with _STORE_LOCK:
            return super().call_job_fn(key, job_fn, args, context)


class BoundedDiskcacheManager(_Bounded, _ForkOutsideStore, DiskcacheManager):
    def __init__(self, cache, max_jobs, max_age):
        super().__init__(cache, **self.sharing)
        self.max_jobs, self.max_age = max_jobs, max_age

    def make_job_fn(self, fn, progress, key=None):
        job = super().make_job_fn(fn, progress, key)

        def detached_job(*args, **kwargs):     # runs in the forked job process
            close_inherited_sockets()
            drop_deadline()                    # the request's budget is not the job's
            return job(*args, **kwargs)

        return detached_job

    def job_lost(self, job):
        """Why ``job`` will never give a result (its process is gone), or None."""
        if self.job_running(job):
            return None
        return "its process is gone (killed, or out of memory)"

    def _jobs_lock(self):
        import diskcache

        return diskcache.Lock(self.handle, JOBS_KEY + ":lock", expire=30)

    def _load_jobs(self):
        jobs = self.handle.get(JOBS_KEY, [])
        return [job for job in jobs if isinstance(job, str)] if isinstance(jobs, list) else []

    def _save_jobs(self, jobs):
        self.handle.set(JOBS_KEY, list(jobs))


class BoundedCeleryManager(_Bounded, CeleryManager):
    def __init__(self, celery_app, max_jobs, max_age):
        super().__init__(celery_app, **self.sharing)
        self.max_jobs, self.max_age = max_jobs, max_age

    # A job is checked for life at most every CHECK_SECONDS (a broadcast to the
    # workers), once it is GRACE_SECONDS old (a task just fetched by a worker is in
    # neither the queue nor the worker's list for a moment), and declared lost after
    # two such checks in a row.
    GRACE_SECONDS = 15.0
    CHECK_SECONDS = 5.0
    _checks = {}

    def job_lost(self, job):
        """Why ``job`` will never give a result, or None: no worker answers, or no worker
        has the task and it is not in the queue (its worker was lost, kill -9 or a
        machine gone, and its task would wait for the visibility timeout)."""
        status = self.handle.AsyncResult(job).status
        if status in ("SUCCESS", "FAILURE", "REVOKED"):
            return None       # it ended: its result (or error) is read as usual
        now = time.time()
        started = self._job_started(job)
        last, misses = self._checks.get(job, (0.0, 0))
        if (started is not None and now - started < self.GRACE_SECONDS) or \
                now - last < self.CHECK_SECONDS:
            return None
        reason = self._whereabouts(job)
        misses = misses + 1 if reason else 0
        if len(self._checks) > 1000:
            self._checks.clear()
        self._checks[job] = (now, misses)
        return reason if misses >= 2 else None

    def _whereabouts(self, job):
        """None if a worker has ``job`` or it waits in a queue, else why not."""
        replies = self.handle.control.inspect(timeout=1.0).query_task(job)
        if not replies:
            return "no Celery worker is running"
        if any(tasks for tasks in replies.values()):
            return None
        queues = {self.handle.conf.task_default_queue or "celery"}
        for queue in queues:
            for message in self._redis.lrange(queue, 0, -1):
                if job.encode() in message:
                    return None
        return "the worker running it was lost"

    @property
    def _redis(self):
        return self.handle.backend.client

    def _jobs_lock(self):
        return self._redis.lock(JOBS_KEY + ":lock", timeout=30, blocking_timeout=10)

    def _load_jobs(self):
        return [job.decode() for job in self._redis.lrange(JOBS_KEY, 0, -1)]

    def _save_jobs(self, jobs):
        pipe = self._redis.pipeline()
        pipe.delete(JOBS_KEY)
        if jobs:
            pipe.rpush(JOBS_KEY, *jobs)
        pipe.execute()


def background_manager(settings):
    """The background-callback manager of a deployment."""
    max_age = 1.5 * settings.job_seconds + 60     # a job stops itself at job_seconds
    if settings.redis_url:
        from ..running.tasks import celery_app

        return BoundedCeleryManager(celery_app(settings.redis_url, settings.visibility_seconds),
                                    settings.max_jobs, max_age)
    store = fork_safe_store(os.path.join(settings.cache_dir, "jobs"))
    return BoundedDiskcacheManager(store, settings.max_jobs, max_age)


def disk_status(directory, probe_bytes=4096):
    """"ok", "full" (no space left) or "unwritable", for /health: a small file is
    written to ``directory`` (the cache directory, where jobs and results live) and
    removed, so the answer is about this filesystem now, not about free-space figures."""
    import errno
    import tempfile

    try:
        os.makedirs(directory, exist_ok=True)
        fd, path = tempfile.mkstemp(dir=directory, prefix=".health-")
    except OSError as exc:
        return "full" if exc.errno == errno.ENOSPC else "unwritable"
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(b"\0" * probe_bytes)
            handle.flush()
            os.fsync(handle.fileno())
        return "ok"
    except OSError as exc:
        return "full" if exc.errno == errno.ENOSPC else "unwritable"
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass


def redis_status(settings, timeout=1.0):
    """"ok", "unreachable" or None (no Redis configured), for /health."""
    if not settings.redis_url:
        return None
    import redis

    started = time.monotonic()
    try:
        client = redis.Redis.from_url(settings.redis_url, socket_connect_timeout=timeout,
                                      socket_timeout=timeout)
        client.ping()
        client.close()
    except redis.RedisError:
        return "unreachable"
    return "ok" if time.monotonic() - started < 5 * timeout else "slow"
