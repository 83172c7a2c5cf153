"""Deployment settings, read once from the environment.

Every variable is documented in the README ("Configuration"). A bad value stops the
process at start with a one-line message instead of failing later in a request.
"""
from __future__ import annotations

import os
import re
import secrets
import time
from urllib.parse import parse_qs, urlsplit
from dataclasses import dataclass, replace

from .errors import SettingsError
from .running import executors



@dataclass(frozen=True)
class Settings:
    """What a deployment configures.

    Attributes
    ----------
    cache_dir : str
        Results (FileSystemCache), background jobs (Diskcache) and the generated
        secret key live here (``LANDSCAPE_CACHE_DIR``, default ``./cache``).
    redis_url : str or None
        ``REDIS_URL``: when set, Redis holds the result cache, Celery runs the
        dashboard's background jobs and the command line's multi-start searches.
    secret_key : str or None
        ``SECRET_KEY``; when unset, one is generated once per cache directory.
    url_prefix : str
        ``LANDSCAPE_URL_PREFIX``, e.g. ``/landscape/`` behind a reverse proxy.
    basic_auth : tuple of str or None
        ``LANDSCAPE_BASIC_AUTH=user:password`` asks browsers for HTTP basic auth.
    token : str or None
        ``LANDSCAPE_TOKEN``: accepted as ``Authorization: Bearer TOKEN`` or once as
        ``?token=TOKEN`` (which then sets a session cookie).
    max_jobs : int
        ``LANDSCAPE_MAX_JOBS``: background jobs running at once; more are refused.
    job_seconds : float
        ``LANDSCAPE_JOB_SECONDS``: time budget of one background job.
    visibility_seconds : float
        ``LANDSCAPE_VISIBILITY_SECONDS``: a Celery task not acknowledged after this long
        (its worker machine was lost) is delivered again; at least twice the job budget
        (default: the larger of 900 s and that), so that a running task is not run twice.
    executor : str
        ``LANDSCAPE_EXECUTOR``: ``local``, ``celery`` or empty (celery when ``redis_url``).
    workers : int
        ``LANDSCAPE_WORKERS``: local processes of a search (0: one per core).
    """

    cache_dir: str
    redis_url: str | None = None
    secret_key: str | None = None
    url_prefix: str = "/"
    basic_auth: tuple[str, str] | None = None
    token: str | None = None
    max_jobs: int = 4
    job_seconds: float = 300.0
    visibility_seconds: float = 900.0
    executor: str = ""
    workers: int = 0

    def job_executor(self):
        """Where a dashboard job runs its search: local processes (in one process on a
        Celery pool process, which may not start children)."""
        return executors.get("local", workers=self.workers or None)

    @property
    def auth_enabled(self):
        return self.basic_auth is not None or self.token is not None

    def with_redis(self, url):
        return replace(self, redis_url=url)


def _number(env, name, default, kind, low, high):
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = kind(text)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {text!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, got {text!r}")
    return value


def from_env(env=None):
    """Settings from ``env`` (default ``os.environ``); raises SettingsError."""
    env = os.environ if env is None else env
    prefix = env.get("LANDSCAPE_URL_PREFIX", "/").strip() or "/"
    if not re.fullmatch(r"/([A-Za-z0-9._~-]+/)*", prefix):
        raise SettingsError("LANDSCAPE_URL_PREFIX must look like /name/ (slashes at both ends), "
                            f"got {prefix!r}")
    basic = env.get("LANDSCAPE_BASIC_AUTH", "").strip()
    if basic and (":" not in basic or not basic.split(":", 1)[0] or not basic.split(":", 1)[1]):
        raise SettingsError("LANDSCAPE_BASIC_AUTH must be user:password")
    token = env.get("LANDSCAPE_TOKEN", "").strip()
    if token and len(token) < 16:
        raise SettingsError("LANDSCAPE_TOKEN must be at least 16 characters")
    redis_url = env.get("REDIS_URL", "").strip() or None
    if redis_url:
        _check_redis(redis_url, env)
    job_seconds = _number(env, "LANDSCAPE_JOB_SECONDS", 300.0, float, 1.0, 86400.0)
    visibility = _number(env, "LANDSCAPE_VISIBILITY_SECONDS", max(900.0, 2 * job_seconds),
                         float, 60.0, 10 * 86400.0)
    if visibility < 2 * job_seconds:
        raise SettingsError(f"LANDSCAPE_VISIBILITY_SECONDS must be at least twice "
                            f"LANDSCAPE_JOB_SECONDS ({2 * job_seconds:g}), got {visibility:g}")
    executor, workers = _executor_settings(env)
    return Settings(
        cache_dir=env.get("LANDSCAPE_CACHE_DIR", "").strip() or os.path.join(os.getcwd(), "cache"),
        redis_url=redis_url,
        secret_key=env.get("SECRET_KEY", "").strip() or None,
        url_prefix=prefix,
        basic_auth=tuple(basic.split(":", 1)) if basic else None,
        token=token or None,
        max_jobs=_number(env, "LANDSCAPE_MAX_JOBS", 4, int, 1, 1000),
        job_seconds=job_seconds,
        visibility_seconds=visibility,
        executor=executor,
        workers=workers,
    )


def _redact(url):
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)


def _check_redis(url, env):
    """REDIS_URL well formed, with a password and a SECRET_KEY (see README, Security).

    Whoever can write to Redis can queue tasks and write cache entries; a password keeps
    the lab network out, and the shared secret key lets the web server check that a
    cached result was written by this deployment's web server or workers.
    """
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise SettingsError(f"REDIS_URL must start with redis://, rediss:// or unix://, "
                            f"got {_redact(url)!r}")
    parts = urlsplit(url)
    password = parts.password or parse_qs(parts.query).get("password", [""])[0]
    if not password and env.get("LANDSCAPE_ALLOW_OPEN_REDIS", "").strip() != "1":
        raise SettingsError("REDIS_URL has no password (redis://:PASSWORD@host:6379/0); an "
                            "open Redis lets anyone on the network queue tasks and write "
                            "results. Set LANDSCAPE_ALLOW_OPEN_REDIS=1 to accept that")
    if not env.get("SECRET_KEY", "").strip():
        raise SettingsError("SECRET_KEY must be set with REDIS_URL: the web server and every "
                            "Celery worker sign and check cached results with it")


def _executor_settings(env):
    executor = env.get("LANDSCAPE_EXECUTOR", "").strip().lower()
    if executor not in ("", "local", "celery"):
        raise SettingsError(f"LANDSCAPE_EXECUTOR must be local or celery, got {executor!r}")
    return executor, _number(env, "LANDSCAPE_WORKERS", 0, int, 0, 1024)


def executor_from_env(name=None, env=None):
    """The executor of the command line's searches: ``name`` (``--executor``), else
    ``LANDSCAPE_EXECUTOR``, else Celery workers when ``REDIS_URL`` is set, else local
    processes (``LANDSCAPE_WORKERS`` of them; default one per core).

    Reads only these three variables, so a bad dashboard setting does not stop a search.
    """
    env = os.environ if env is None else env
    executor, workers = _executor_settings(env)
    redis_url = env.get("REDIS_URL", "").strip() or None
    choice = name or executor or ("celery" if redis_url else "local")
    if choice == "celery":
        return executors.get("celery", url=redis_url)
    return executors.get("local", workers=workers or None)


# Exit status of a process refused to start by its settings (sysexits' EX_CONFIG); a
# systemd unit with RestartPreventExitStatus=78 does not restart it in a loop.
EXIT_CONFIG = 78


def check_cache_dir(settings):
    """Create the cache directory if needed; SettingsError unless it is a writable
    directory (results, job state and the generated secret key live there)."""
    path = settings.cache_dir
    if os.path.exists(path) and not os.path.isdir(path):
        raise SettingsError(f"LANDSCAPE_CACHE_DIR {path!r} is not a directory")
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as exc:
        raise SettingsError(f"LANDSCAPE_CACHE_DIR {path!r} cannot be created "
                            f"({exc.strerror or exc})") from None
    if not os.path.isdir(path) or not os.access(path, os.W_OK | os.X_OK):
        raise SettingsError(f"LANDSCAPE_CACHE_DIR {path!r} is not a writable directory")


def prepare(settings):
    """Everything a serving process needs from its environment, checked once before it
    serves (gunicorn's master runs this before forking workers): the cache directory
    when results live in files, and the secret key. Raises SettingsError."""
    if not settings.redis_url:
        check_cache_dir(settings)
    secret_key(settings)
    return settings


def secret_key(settings):
    """The deployment's secret key: ``SECRET_KEY``, or one generated once and kept in
    the cache directory, so that every worker process of this deployment shares it."""
    if settings.secret_key:
        return settings.secret_key
    check_cache_dir(settings)
    try:
        return _generated_key(settings)
    except OSError as exc:
        raise SettingsError(f"the secret key in LANDSCAPE_CACHE_DIR {settings.cache_dir!r} "
                            f"cannot be created or read ({exc.strerror or exc})") from None


def _generated_key(settings):
    path = os.path.join(settings.cache_dir, "secret_key")
    if not os.path.exists(path):
        # Write a candidate privately, then publish it with link(), which is atomic and
        # fails if another process published first; everyone then reads the winner.
        temporary = f"{path}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass
        except OSError:
            # A file system without hard links: create the file exclusively (the first
            # process wins) and let readers wait until it is complete.
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass
            else:
                with os.fdopen(fd, "w") as handle, open(temporary) as candidate:
                    handle.write(candidate.read())
        finally:
            os.unlink(temporary)
    for _ in range(100):
        with open(path, encoding="utf-8") as handle:
            key = handle.read().strip()
        if len(key) >= 64:
            break
        time.sleep(0.01)
    if len(key) < 32:
        raise SettingsError(f"the secret key in {path} is too short; delete it to regenerate")
    return key
