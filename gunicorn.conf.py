"""gunicorn settings from the environment: `gunicorn --config gunicorn.conf.py app:server`.

LANDSCAPE_BIND         address to listen on (default 0.0.0.0:8050)
LANDSCAPE_WEB_WORKERS  worker processes (default 2)
LANDSCAPE_WEB_THREADS  threads per worker (default 8)
LANDSCAPE_WEB_TIMEOUT  seconds before a silent worker is restarted (default 120)
LANDSCAPE_FORWARDED_ALLOW_IPS  proxies trusted for X-Forwarded-* (default 127.0.0.1)
"""
import os


def _int(name, default):
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit() or int(text) < 1:
        raise SystemExit(f"landscape: configuration error: {name} must be a positive "
                         f"integer, got {text!r}")
    return int(text)


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
