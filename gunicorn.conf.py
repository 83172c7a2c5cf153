"""gunicorn settings from the environment: `gunicorn --config gunicorn.conf.py app:server`.

LANDSCAPE_BIND         address to listen on (default 0.0.0.0:8050)
LANDSCAPE_WEB_WORKERS  worker processes (default 2)
LANDSCAPE_WEB_THREADS  threads per worker (default 8)
LANDSCAPE_WEB_TIMEOUT  seconds before a silent worker is restarted (default 120)
LANDSCAPE_FORWARDED_ALLOW_IPS  proxies trusted for X-Forwarded-* (default 127.0.0.1)
"""
import os
import sys

# sysexits' EX_CONFIG, as landscape.settings.EXIT_CONFIG (not imported here: this file is
# read before anything else)
EXIT_CONFIG = 78


def _refuse(message):
    """Stop gunicorn itself, before it forks a worker, with one line: a worker that
    exits on a bad setting is only respawned, every few seconds, for ever."""
    sys.stderr.write(f"landscape: configuration error: {message}\n")
    sys.stderr.flush()
    os._exit(EXIT_CONFIG)


def _int(name, default):
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit() or int(text) < 1:
        _refuse(f"{name} must be a positive integer, got {text!r}")
    return int(text)


def on_starting(server):
    """Check the app's settings in the master (landscape.settings: every variable, the
    cache directory, the secret key) and stop with one line if one is bad."""
    from landscape.errors import SettingsError
    from landscape.settings import from_env, prepare

    try:
        prepare(from_env())
    except SettingsError as exc:
        _refuse(str(exc))


bind = os.environ.get("LANDSCAPE_BIND", "0.0.0.0:8050")
workers = _int("LANDSCAPE_WEB_WORKERS", 2)
threads = _int("LANDSCAPE_WEB_THREADS", 8)
timeout = _int("LANDSCAPE_WEB_TIMEOUT", 120)
graceful_timeout = 30
forwarded_allow_ips = os.environ.get("LANDSCAPE_FORWARDED_ALLOW_IPS", "127.0.0.1")
# Bounded request lines and headers (bodies are bounded by the app: 1 MiB).
limit_request_line = 8190
limit_request_fields = 100
accesslog = "-"
errorlog = "-"
