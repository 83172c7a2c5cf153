"""Request hygiene for a shared server: optional access control, bounded bodies, 4xx for
malformed callback requests, security headers compatible with Dash, and no 5xx from bad
callback data."""
from __future__ import annotations

import hashlib
import hmac
import logging
from urllib.parse import urlencode

from flask import Response, abort, g, redirect, request

from ..errors import clear_deadline, set_deadline

log = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 1 << 20
# Computations inside one callback request stop after this long (README: 60 s).
REQUEST_SECONDS = 60.0
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


def _matches(given, expected):
    """A request's inputs, state or outputs name exactly the callback's own
    (id, property) pairs, in order (this app has no pattern-matching callbacks)."""
    return (isinstance(given, list) and len(given) == len(expected) and all(
        isinstance(item, dict) and item.get("id") == spec["id"]
        and item.get("property") == spec["property"] for item, spec in zip(given, expected)))


def _outputs_of(key):
    """The (id, property) pairs a request for callback ``key`` names as its outputs.

    The key is Dash's: ``id.prop`` for one output, ``..id.prop...id.prop..`` for several;
    an output registered with allow_duplicate is ``id.prop@hash``, and the request names
    its property ``prop@hash`` too. (This app's ids contain no dots.)
    """
    parts = key[2:-2].split("...") if key.startswith("..") else [key]
    return [dict(zip(("id", "property"), part.split(".", 1))) for part in parts]


# Dash's own requests nest a few levels (figure state, store data); 1000 levels make the
# JSON parser recurse until it fails.
MAX_BODY_DEPTH = 64


def check_callback_request(callback_map):
    """400 unless the body is a well-formed request for a server-side callback that
    exists (a clientside callback has no server function to run)."""
    from ..maths.teachers import json_depth

    raw = request.get_data(cache=True)            # bounded by MAX_CONTENT_LENGTH
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        abort(400, "expected UTF-8 JSON")
    if json_depth(text) > MAX_BODY_DEPTH:
        abort(400, f"JSON nested deeper than {MAX_BODY_DEPTH} levels")
    try:
        body = request.get_json(silent=True)
    except RecursionError:
        abort(400, "JSON nested too deeply")
    if not isinstance(body, dict):
        abort(400, "expected a JSON object")
    output = body.get("output")
    if not isinstance(output, str) or output not in callback_map:
        abort(400, "unknown callback output")
    spec = callback_map[output]
    if spec.get("callback") is None:
        abort(400, "a clientside callback runs in the browser")
    if not _matches(body.get("inputs"), spec["inputs"]):
        abort(400, "malformed inputs")
    if not _matches(body.get("state", []), spec["state"]):
        abort(400, "malformed state")
    outputs = _outputs_of(output)
    given = body.get("outputs")
    if not _matches(given if isinstance(spec["output"], list) else [given], outputs):
        abort(400, "malformed outputs")
    changed = body.get("changedPropIds", [])
    if not isinstance(changed, list) or not all(isinstance(c, str) for c in changed):
        abort(400, "malformed changedPropIds")


TOKEN_COOKIE = "landscape_token"
TOKEN_COOKIE_SECONDS = 30 * 24 * 3600


def _same(a, b):
    return hmac.compare_digest(a.encode(), b.encode())


def _token_cookie(settings, secret):
    return hmac.new(secret.encode(), settings.token.encode(), hashlib.sha256).hexdigest()


def check_access(settings, secret):
    """None if the request may pass, else the response refusing it.

    HTTP basic auth (LANDSCAPE_BASIC_AUTH) and a token (LANDSCAPE_TOKEN, as a bearer
    header, or once as ``?token=`` which sets a cookie) each grant access.
    """
    # /health stays open for load balancers and the container HEALTHCHECK
    if not settings.auth_enabled or request.path in ("/health", settings.url_prefix + "health"):
        return None
    if settings.basic_auth:
        given = request.authorization
        user, password = settings.basic_auth
        if given is not None and given.type == "basic":
            # both compared every time: the time taken does not tell which was wrong
            user_ok = _same(given.username or "", user)
            password_ok = _same(given.password or "", password)
            if user_ok and password_ok:
                return None
    if settings.token:
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer ") and _same(header[7:].strip(), settings.token):
            return None
        if _same(request.cookies.get(TOKEN_COOKIE, ""), _token_cookie(settings, secret)):
            return None
        if _same(request.args.get("token", ""), settings.token):
            # Set the cookie and drop the token from the address, so that it does not
            # end up in shared links.
            rest = [(k, v) for k, v in request.args.items(multi=True) if k != "token"]
            response = redirect(request.path + ("?" + urlencode(rest) if rest else ""))
            response.set_cookie(TOKEN_COOKIE, _token_cookie(settings, secret), httponly=True,
                                samesite="Lax", secure=request.is_secure,
                                max_age=TOKEN_COOKIE_SECONDS)
            return response
    if settings.basic_auth:
        return Response("login required\n", 401,
                        {"WWW-Authenticate": 'Basic realm="landscape", charset="UTF-8"'})
    return Response("this server needs an access token: open it with ?token=...\n", 401)


def install(app, settings=None, max_bytes=MAX_REQUEST_BYTES, request_seconds=None):
    """Attach the guards to a Dash app's Flask server."""
    from dash.exceptions import DependencyException

    server = app.server
    server.config["MAX_CONTENT_LENGTH"] = max_bytes
    # An unknown script path under /_dash-component-suites/ is a 404, not a 500.
    server.register_error_handler(DependencyException, lambda exc: ("not found\n", 404))

    @server.before_request
    def guard():
        if settings is not None:
            refused = check_access(settings, server.config.get("SECRET_KEY") or "")
            if refused is not None:
                return refused
        if request.method == "POST" and request.path.endswith("/_dash-update-component"):
            check_callback_request(app.callback_map)
            # what this request computes stops at its budget, inside the loops
            g.landscape_deadline = set_deadline(
                REQUEST_SECONDS if request_seconds is None else request_seconds)

    @server.teardown_request
    def end_deadline(_exc):
        token = g.pop("landscape_deadline", None)
        if token is not None:
            try:
                clear_deadline(token)
            except ValueError:       # set in another context: nothing to reset here
                pass

    @server.after_request
    def headers(response):
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        return response


# Failures a user can act on, by exception class name: shown with their own message.
EXPLAINED = {"ServerBusy", "ComputationLimit", "ExecutorUnavailable", "ConfigError",
             "FamilyError", "JobLost"}
UNREACHABLE = {"ConnectionError", "TimeoutError", "OperationalError", "LockError",
               "BackendGetMetaError", "BackendStoreError"}


# SQLite (the job store) and the OS say so in these words.
DISK_FULL_WORDS = ("database or disk is full", "No space left on device")
DISK_FULL = ("the server's disk is full: no job can start and no result is kept; tell the "
             "server's operator (LANDSCAPE_CACHE_DIR)")


def disk_full(exc, text=""):
    """Whether ``exc`` (or the error described by ``text``) is a full disk."""
    import errno

    return (getattr(exc, "errno", None) == errno.ENOSPC
            or any(words in text or words in str(exc) for words in DISK_FULL_WORDS))


def describe_error(exc):
    """One line for the user about a failed callback."""
    from dash.exceptions import BackgroundCallbackError

    name, text = type(exc).__name__, str(exc)
    if isinstance(exc, BackgroundCallbackError):
        # "An error occurred inside a background callback: MSG\nTRACEBACK": the last
        # traceback line names the exception class ("pkg.module.Name: MSG").
        lines = [line for line in text.splitlines() if line.strip()]
        last = lines[-1] if lines else ""
        name = last.split(":", 1)[0].rsplit(".", 1)[-1].strip()
        text = last.split(":", 1)[1].strip() if ":" in last else ""
    if name in EXPLAINED:
        return text
    if disk_full(exc, text):
        return DISK_FULL
    if name in UNREACHABLE:
        return ("the job queue (Redis) cannot be reached right now; cached results still "
                "show; try again shortly")
    return f"could not update the view: {name}"


# Status lines of the background jobs. Dash drops set_props from an error handler when
# a background job cannot even start (no slot, no Redis), so the handler returns the
# message as the value of these outputs as well.
STATUS_OUTPUTS = {("summary", "children"), ("compare-summary", "children"),
                  ("hierarchy-status", "children")}


def _property(output):
    """An output's property without the ``@hash`` Dash appends to a duplicate output."""
    return str(output.get("property", "")).split("@", 1)[0]


def on_callback_error(exc):
    """Dash ``on_error``: a callback that fails answers with a message, not a 500."""
    from dash import ctx, no_update, set_props

    log.warning("callback failed: %s: %s", type(exc).__name__, str(exc)[:500])
    text = describe_error(exc)
    set_props("message", {"children": text})
    outputs = ctx.outputs_list
    flat = outputs if isinstance(outputs, list) else [outputs]
    values = [text if isinstance(o, dict) and (o.get("id"), _property(o)) in STATUS_OUTPUTS
              else no_update for o in flat]
    if all(v is no_update for v in values):
        return None
    return values if isinstance(outputs, list) else values[0]
