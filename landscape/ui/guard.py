"""Request hygiene for a shared server: bounded bodies, 4xx for malformed callback
requests, security headers compatible with Dash, and no 5xx from bad callback data."""
from __future__ import annotations

import logging

from flask import abort, request

log = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 1 << 20
# Dash's renderer starts from an inline script and plotly compiles some code at run time.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; "
    "connect-src 'self'; worker-src 'self' blob:; object-src 'none'; base-uri 'self'; "
    "frame-ancestors 'self'")
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "SAMEORIGIN",
    "Referrer-Policy": "same-origin",
}


def _valid_dependencies(items):
    return isinstance(items, list) and all(
        isinstance(item, list) and _valid_dependencies(item) if isinstance(item, list)
        else isinstance(item, dict) and isinstance(item.get("property"), str) and "id" in item
        for item in items)


def check_callback_request(callback_map):
    """400 unless the body is a callback request for a callback that exists."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400, "expected a JSON object")
    if not isinstance(body.get("output"), str) or body["output"] not in callback_map:
        abort(400, "unknown callback output")
    for key in ("inputs", "state"):
        if key in body and not _valid_dependencies(body[key]):
            abort(400, f"malformed {key}")
    changed = body.get("changedPropIds", [])
    if not isinstance(changed, list) or not all(isinstance(c, str) for c in changed):
        abort(400, "malformed changedPropIds")


def install(app, max_bytes=MAX_REQUEST_BYTES):
    """Attach the guards to a Dash app's Flask server."""
    server = app.server
    server.config["MAX_CONTENT_LENGTH"] = max_bytes

    @server.before_request
    def guard():
        if request.method == "POST" and request.path.endswith("/_dash-update-component"):
            check_callback_request(app.callback_map)

    @server.after_request
    def headers(response):
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        return response


def on_callback_error(exc):
    """Dash ``on_error``: a callback that fails on odd input answers with a message, not a 500."""
    from dash import set_props

    log.exception("callback failed: %s", exc)
    set_props("message", {"children": f"could not update the view: {type(exc).__name__}"})
