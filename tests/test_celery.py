"""The multi-start search on real Celery workers around a real Redis server."""
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from landscape import executors
from landscape.catalog import find_fixed_points
from landscape.config import make_catalog_config

ROOT = Path(__file__).resolve().parents[1]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def workers(tmp_path_factory):
    redis_server = shutil.which("redis-server")
    assert redis_server, "redis-server is needed (bash .ci/run installs it)"
    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    redis = subprocess.Popen([redis_server, "--port", str(port), "--bind", "127.0.0.1",
                              "--save", "", "--appendonly", "no", "--dir", str(workdir)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    env = dict(os.environ, REDIS_URL=url, LANDSCAPE_WORKERS="1")
    procs = [subprocess.Popen(
        [sys.executable, "-m", "celery", "--app", "landscape.worker", "worker", "--pool",
         "solo", "--loglevel", "WARNING", "-n", f"w{i}@%h"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for i in (1, 2)]
    os.environ["REDIS_URL"] = url
    import importlib

    import landscape.worker
    importlib.reload(landscape.worker)
    app = landscape.worker.app
    for _ in range(150):
        replies = app.control.ping(timeout=0.5) or []
        if len(replies) == 2:
            break
        time.sleep(0.2)
    else:
        for p in procs:
            p.kill()
        redis.kill()
        pytest.fail("celery workers did not come up")
    yield url
    for p in procs:
        p.terminate()
    for p in procs:
        p.wait(timeout=30)
    redis.terminate()
    redis.wait(timeout=10)
    os.environ.pop("REDIS_URL", None)


def test_search_split_over_two_workers_equals_the_local_result(workers):
    config = make_catalog_config(6, 6, dim=6, starts=400, seed=2)
    seen = set()
    remote = find_fixed_points(config, executor=executors.celery(timeout=300, seen_workers=seen))
    local = find_fixed_points(config, executor=executors.serial)
    assert len(seen) == 2, seen
    assert [(p.hits, p.kind, round(p.loss, 10)) for p in remote.fixed_points] == \
        [(p.hits, p.kind, round(p.loss, 10)) for p in local.fixed_points]
    assert remote.unconverged == local.unconverged


def test_cli_executor_celery(workers):
    import json
    args = ["fixed-points", "--students", "4", "--teachers", "3", "--starts", "120",
            "--format", "json"]
    env = dict(os.environ, REDIS_URL=workers)
    remote = subprocess.run([sys.executable, "-m", "landscape", *args, "--executor", "celery"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    local = subprocess.run([sys.executable, "-m", "landscape", *args], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=300)
    assert remote.returncode == 0, remote.stderr
    a, b = json.loads(remote.stdout), json.loads(local.stdout)
    assert [(p["hits"], p["kind"]) for p in a["fixed_points"]] == \
        [(p["hits"], p["kind"]) for p in b["fixed_points"]]
