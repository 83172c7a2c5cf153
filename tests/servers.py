"""Real servers for the tests: gunicorn (with gunicorn.conf.py), redis-server, Celery
workers. Each start waits until the server answers and fails the test with its log if
it does not."""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The container's command (Dockerfile CMD) and the compose file's worker command.
GUNICORN_COMMAND = ["gunicorn", "--config", "gunicorn.conf.py", "app:server"]
WORKER_COMMAND = ["celery", "--app", "landscape.worker", "worker", "--loglevel", "INFO"]
# A deployment with Redis needs a password on it and a shared secret key.
REDIS_PASSWORD = "test-redis-password"
SECRET_KEY = "test-secret-" + "k" * 52


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _fail(proc, what, log=None):
    proc.kill()
    text = Path(log).read_text()[-3000:] if log else ""
    pytest.fail(f"{what} did not start: {text}")


def start_gunicorn(cache_dir, workers=1, threads=8, timeout=120, wrapper=(), **env):
    """The app as the Dockerfile runs it (``gunicorn --config gunicorn.conf.py``);
    extra environment in ``env`` (REDIS_URL is dropped unless given); ``wrapper``: a
    command that execs the rest of its arguments (gunicorn's command line)."""
    port = free_port()
    environment = dict(os.environ, LANDSCAPE_CACHE_DIR=str(cache_dir),
                       LANDSCAPE_BIND=f"127.0.0.1:{port}", LANDSCAPE_WEB_WORKERS=str(workers),
                       LANDSCAPE_WEB_THREADS=str(threads), LANDSCAPE_WEB_TIMEOUT=str(timeout))
    environment.pop("REDIS_URL", None)
    if "REDIS_URL" in env:
        environment["SECRET_KEY"] = SECRET_KEY
    environment.update(env)
    Path(cache_dir).mkdir(parents=True, exist_ok=True)
    log = Path(cache_dir) / f"gunicorn-{port}.log"
    proc = subprocess.Popen(
        [*wrapper, sys.executable, "-m", *GUNICORN_COMMAND],
        cwd=ROOT, env=environment, stdout=log.open("w"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    prefix = env.get("LANDSCAPE_URL_PREFIX", "/")
    for _ in range(150):
        if proc.poll() is not None:
            break
        try:
            if urllib.request.urlopen(url + "/health", timeout=1).status == 200:
                proc.url, proc.log = url + prefix.rstrip("/"), log
                return proc
        except OSError:
            time.sleep(0.2)
    _fail(proc, "gunicorn", log)


def start_redis(workdir, port=None, password=REDIS_PASSWORD):
    """redis-server as the compose file runs it: with a password (``password=None``: open)."""
    server = shutil.which("redis-server")
    assert server, "redis-server is needed (bash .ci/run installs it)"
    port = port or free_port()
    auth = ["--requirepass", password] if password else []
    proc = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(workdir), *auth],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    login = f"AUTH {password}\r\n".encode() if password else b""
    for _ in range(100):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                s.sendall(login + b"PING\r\n")
                time.sleep(0.05)
                if b"+PONG" in s.recv(64):
                    user = f":{password}@" if password else ""
                    proc.url, proc.port = f"redis://{user}127.0.0.1:{port}/0", port
                    return proc
        except OSError:
            time.sleep(0.1)
    _fail(proc, "redis-server")


def start_workers(url, names, workdir, pool="solo", concurrency=1, others=0, **env):
    """Celery workers on Redis ``url``, one per name; returns once all answer a ping
    (with ``others`` workers already running there)."""
    from celery import Celery

    environment = dict(os.environ, REDIS_URL=url, LANDSCAPE_CACHE_DIR=str(workdir),
                       SECRET_KEY=SECRET_KEY, **env)
    procs = []
    for name in names:
        log = Path(workdir) / f"worker-{name}.log"
        log = log.with_name(f"worker-{name}-{int(time.time())}.log") if log.exists() else log
        proc = subprocess.Popen(
            [sys.executable, "-m", *WORKER_COMMAND, "--pool", pool,
             "--concurrency", str(concurrency), "-n", f"{name}@%h"],
            cwd=ROOT, env=environment, stdout=log.open("w"), stderr=subprocess.STDOUT)
        proc.log, proc.name = log, name
        procs.append(proc)
    probe = Celery(broker=url, backend=url)
    for _ in range(150):
        try:
            replies = probe.control.ping(timeout=0.5) or []
        except Exception:      # a connection left from before a Redis restart: retry
            replies = []
        if len(replies) == len(names) + others:
            return procs
        time.sleep(0.2)
    for proc in procs:
        proc.kill()
    pytest.fail("celery workers did not come up: "
                + " | ".join(p.log.read_text()[-1500:] for p in procs))


def stop(*procs, sig=signal.SIGTERM):
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(sig)
    for proc in procs:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def post_callback(url, body, timeout=120):
    """POST a Dash callback request on a fresh connection; (headers, JSON body or None)."""
    req = urllib.request.Request(url + "/_dash-update-component", json.dumps(body).encode(),
                                 {"Content-Type": "application/json", "Connection": "close"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        data = r.read()
        return r.headers, json.loads(data) if data else None


# The callback that validates a URL query (landscape.ui.callbacks: validate): the config,
# and the catalog at once when it is cached, else a request for the catalog job.
VALIDATE_OUTPUT = ("..config.data...message.children...catalog-request.data"
                   "...catalog-ready.data...summary.children..")


def validate_request(search):
    return {"output": VALIDATE_OUTPUT,
            "outputs": [{"id": "config", "property": "data"},
                        {"id": "message", "property": "children"},
                        {"id": "catalog-request", "property": "data"},
                        {"id": "catalog-ready", "property": "data"},
                        {"id": "summary", "property": "children"}],
            "inputs": [{"id": "url", "property": "search", "value": search}],
            "changedPropIds": ["url.search"],
            "state": [{"id": "config", "property": "data", "value": None},
                      {"id": "catalog-request", "property": "data", "value": None}]}


def view_requests(url, search):
    """Callback bodies of the Families and Flows 2D views for a dashboard URL query, as
    the browser sends them (the config comes from the app's own validation)."""
    _, validated = post_callback(url, validate_request(search))
    raw = validated["response"]["config"]["data"]
    config = {"id": "config", "property": "data", "value": raw}
    families = {"output": "..families-graph.figure...families-table.children..",
                "outputs": [{"id": "families-graph", "property": "figure"},
                            {"id": "families-table", "property": "children"}],
                "inputs": [config, {"id": "tab", "property": "value", "value": "families"},
                           {"id": "lecture", "property": "data", "value": False}],
                "changedPropIds": ["tab.value"], "state": []}
    flow = {"output": "..flow-graph.figure...flow-slider.max...flow-slider.marks..",
            "outputs": [{"id": "flow-graph", "property": "figure"},
                        {"id": "flow-slider", "property": "max"},
                        {"id": "flow-slider", "property": "marks"}],
            "inputs": [config, {"id": "flow-time", "property": "value", "value": "50"},
                       {"id": "flow-simulate", "property": "value", "value": "500"},
                       {"id": "flow-start", "property": "value", "value": "0"},
                       {"id": "tab", "property": "value", "value": "flows-2d"},
                       {"id": "flow-mode", "property": "value", "value": "all"},
                       {"id": "lecture", "property": "data", "value": False}],
            "changedPropIds": ["tab.value"], "state": []}
    return families, flow
