"""The lab-server path for real: redis-server, two Celery workers (prefork, one pool
process each) and the app under gunicorn with two workers and REDIS_URL.

Checks that a search split over both workers equals the local one, that REDIS_URL
alone sends the command line's search to the workers, that the dashboard's background
job runs on a Celery worker, that the result cache is shared by the gunicorn workers,
and the faults: a pool process killed mid-task, Redis going away and coming back.
"""
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

import psutil
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from landscape.running import executors
from landscape.methods.catalog import find_fixed_points
from landscape.config import make_catalog_config
from landscape.methods.descent import DescentOptions
from servers import (ROOT, post_callback, start_gunicorn, start_redis, start_workers, stop,
                     view_requests)

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("stack")
    redis = start_redis(workdir)
    workers = start_workers(redis.url, ["w1", "w2"], workdir, pool="prefork")
    web = start_gunicorn(workdir / "web", workers=2, REDIS_URL=redis.url)
    os.environ["REDIS_URL"] = redis.url
    yield {"redis": redis, "workers": workers, "web": web, "workdir": workdir}
    os.environ.pop("REDIS_URL", None)
    stop(web, *workers)
    stop(redis)


def wait_for(driver, condition, timeout=60):
    return WebDriverWait(driver, timeout, poll_frequency=0.2).until(lambda d: condition(d))


def text_of(driver, element_id):
    found = driver.find_elements(By.ID, element_id)
    return found[0].text if found else ""


def worker_log(stack):
    return "".join(w.log.read_text() for w in stack["workers"])


def catalog_key(result):
    return [(p.hits, p.kind, round(p.loss, 10)) for p in result.fixed_points]


def test_search_split_over_two_workers_equals_the_local_result(stack):
    config = make_catalog_config(6, 6, dim=6, starts=400, seed=2)
    seen = set()
    remote = find_fixed_points(config, executor=executors.celery(
        url=stack["redis"].url, timeout=300, seen_workers=seen))
    local = find_fixed_points(config, executor=executors.serial)
    assert len(seen) == 2, seen
    assert catalog_key(remote) == catalog_key(local)
    assert remote.unconverged == local.unconverged


def test_trajectories_split_over_two_workers_equal_the_local_ones(stack):
    """The Flows 3D trajectories run on the executor the catalog uses, Celery too."""
    import numpy as np

    from landscape.methods.trajectories import catalog_trajectories

    catalog = find_fixed_points(make_catalog_config(4, 4, dim=4, starts=100, seed=3))
    seen = set()
    remote = catalog_trajectories(catalog, points=10, executor=executors.celery(
        url=stack["redis"].url, timeout=300, seen_workers=seen))
    local = catalog_trajectories(catalog, points=10)
    assert seen, "no worker ran a trajectory chunk"
    assert remote.label.tolist() == local.label.tolist()
    np.testing.assert_allclose(remote.Q, local.Q, atol=1e-3 * np.ptp(local.Q))


def run_cli(*args, **env):
    return subprocess.run([sys.executable, "-m", "landscape", *args], cwd=ROOT,
                          env=dict(os.environ, **env), capture_output=True, text=True,
                          timeout=300)


def test_redis_url_alone_sends_the_cli_search_to_the_workers(stack):
    args = ["fixed-points", "--students", "4", "--teachers", "3", "--starts", "120", "--seed",
            "5", "--format", "json"]
    before = worker_log(stack).count("landscape.run_chunk")
    remote = run_cli(*args, REDIS_URL=stack["redis"].url)
    assert remote.returncode == 0, remote.stderr
    time.sleep(0.5)
    assert worker_log(stack).count("landscape.run_chunk") > before     # the workers ran it
    local = run_cli(*args, "--executor", "local", REDIS_URL=stack["redis"].url)
    a, b = json.loads(remote.stdout), json.loads(local.stdout)
    assert [(p["hits"], p["kind"]) for p in a["fixed_points"]] == \
        [(p["hits"], p["kind"]) for p in b["fixed_points"]]


def test_no_worker_is_a_clear_error_not_a_hang(stack):
    # database 7 of the same Redis: reachable, but no worker listens there
    empty = stack["redis"].url.rsplit("/", 1)[0] + "/7"
    started = time.monotonic()
    out = run_cli("fixed-points", "--students", "3", "--teachers", "3", "--starts", "10",
                  "--executor", "celery", REDIS_URL=empty)
    assert out.returncode == 3
    assert "no Celery worker answers" in out.stderr and len(out.stderr.splitlines()) == 1
    assert time.monotonic() - started < 30


def test_the_dashboard_job_runs_on_a_celery_worker(stack, browser):
    web = stack["web"]
    browser.get(web.url + "/?students=4&teachers=4&dim=inf&starts=60&seed=21")
    wait_for(browser, lambda d: "fixed point" in text_of(d, "summary"), timeout=120)
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#catalog-table tbody tr"))
    log = worker_log(stack)
    assert "background_callback_" in log and "succeeded" in log
    # and the result landed in the Redis cache the web workers read
    import redis
    keys = redis.Redis.from_url(stack["redis"].url).keys("landscape:*:catalog:*")
    assert keys


def test_the_result_cache_is_shared_by_the_gunicorn_workers(stack):
    url = stack["web"].url
    body, _ = view_requests(url, "?students=5&teachers=5&dim=5&seed=99")
    seen = []
    for _ in range(200):
        headers, _ = post_callback(url, body)
        seen.append((headers["X-Landscape-Worker"], headers["X-Landscape-Cache"]))
        if len({worker for worker, _ in seen}) == 2 and len(seen) > 4:
            break
    first_worker, first_state = seen[0]
    assert first_state == "miss"
    others = [state for worker, state in seen if worker != first_worker]
    assert others, f"every request reached one worker: {seen}"
    # the other worker never computed it: it read what the first one stored
    assert set(others) == {"hit"}
    assert {state for _, state in seen[1:]} == {"hit"}


def pool_processes(stack):
    return [child for w in stack["workers"] for child in psutil.Process(w.pid).children()]


def test_a_pool_process_killed_mid_task_is_redelivered(stack):
    config = make_catalog_config(8, 8, dim=8, starts=400, seed=4)
    # eight chunks for two workers: when the first is done, others are still running
    parts = [range(i, i + 50) for i in range(0, config.starts, 50)]
    search = executors.celery(url=stack["redis"].url, timeout=300)(
        config, parts, DescentOptions())
    first = next(search)           # chunks are running on both workers now
    victims = pool_processes(stack)
    assert len(victims) == 2
    for proc in victims:
        proc.send_signal(signal.SIGKILL)
    rest = list(search)            # redelivered to the restarted pool processes
    got = sorted(int(i) for r in [first, *rest] for i in r.indices)
    assert got == list(range(config.starts))
    assert "WorkerLostError" in worker_log(stack) or "exited with" in worker_log(stack)


def test_a_dashboard_job_survives_its_pool_process_being_killed(stack, browser):
    web = stack["web"]
    browser.get(web.url + "/?students=10&teachers=10&dim=inf&starts=400&seed=41")
    progress = lambda d: float(d.find_element(By.ID, "progress").get_attribute("value") or 0)
    wait_for(browser, lambda d: progress(d) > 0, timeout=120)        # running on a worker
    assert "fixed point" not in text_of(browser, "summary")
    for proc in pool_processes(stack):
        proc.send_signal(signal.SIGKILL)
    # the job goes back to the queue, runs again, and the page gets its result
    wait_for(browser, lambda d: "fixed point" in text_of(d, "summary"), timeout=300)
    assert "fixed point" in text_of(browser, "summary")


def test_a_corrupt_redis_entry_is_recomputed(stack):
    import redis
    url = stack["web"].url
    body, _ = view_requests(url, "?students=4&teachers=4&dim=4&seed=77")
    post_callback(url, body)
    client = redis.Redis.from_url(stack["redis"].url)
    keys = client.keys("landscape:*:families:*")
    assert keys
    for key in keys:
        client.set(key, b"!\x80garbage")                  # not a pickle
    headers, data = post_callback(url, body)
    assert headers["X-Landscape-Cache"] == "miss" and "families-graph" in data["response"]
    assert post_callback(url, body)[0]["X-Landscape-Cache"] == "hit"


def test_redis_going_away_and_coming_back(stack, browser):
    web, redis = stack["web"], stack["redis"]
    stop(redis)
    try:
        health = json.loads(urllib.request.urlopen(web.url + "/health", timeout=10).read())
        assert health["redis"] == "unreachable"
        # views computed in the web process still answer, computed (the cache is skipped);
        # a Redis wait that never ended would show as the request's timeout. The flow
        # view of K = M = 3 is a small computation, even on a loaded machine.
        _, flow = view_requests(web.url, "?students=3&teachers=3&dim=4&seed=123")
        headers, data = post_callback(web.url, flow, timeout=120)
        assert "flow-graph" in data["response"]
        assert headers["X-Landscape-Cache"] == "miss"
        # ... and a background job says clearly that it cannot start, without hanging
        browser.get(web.url + "/?students=4&teachers=4&dim=inf&starts=50&seed=31")
        wait_for(browser, lambda d: "Redis" in text_of(d, "summary"), timeout=120)
    finally:
        stack["redis"] = start_redis(stack["workdir"], port=redis.port)
    # Redis is back (empty): the web app and the workers reconnect by themselves
    wait_for(None, lambda _: json.loads(urllib.request.urlopen(
        web.url + "/health", timeout=10).read())["redis"] == "ok", timeout=90)
    browser.get(web.url + "/?students=4&teachers=4&dim=inf&starts=50&seed=32")
    wait_for(browser, lambda d: "fixed point" in text_of(d, "summary"), timeout=120)


def test_the_app_starts_without_redis_and_recovers_when_it_comes(tmp_path):
    from servers import REDIS_PASSWORD, free_port
    port = free_port()
    web = start_gunicorn(tmp_path / "web",
                         REDIS_URL=f"redis://:{REDIS_PASSWORD}@127.0.0.1:{port}/0")
    redis = None
    try:
        health = json.loads(urllib.request.urlopen(web.url + "/health", timeout=10).read())
        assert health["redis"] == "unreachable"
        assert urllib.request.urlopen(web.url + "/", timeout=10).status == 200
        families, _ = view_requests(web.url, "?students=3&teachers=3&dim=3")
        assert "families-graph" in post_callback(web.url, families)[1]["response"]
        redis = start_redis(tmp_path, port=port)
        health = json.loads(urllib.request.urlopen(web.url + "/health", timeout=10).read())
        assert health["redis"] == "ok"
        # computed while Redis was away, so not cached then: stored now, read next time
        states = [post_callback(web.url, families)[0]["X-Landscape-Cache"] for _ in range(2)]
        assert states == ["miss", "hit"]
    finally:
        stop(web)
        if redis is not None:
            stop(redis)


def result_after_restart(url, task_id, timeout):
    """The task's result from the restarted Redis. A client that waited through the
    restart may hold the connection error it met while Redis was away, so each try is a
    fresh client."""
    from celery import Celery
    from redis.exceptions import ConnectionError as RedisConnectionError

    deadline = time.monotonic() + timeout
    for attempt in range(10):
        client = Celery(broker=url, backend=url)
        try:
            return client.AsyncResult(task_id).get(
                timeout=max(1.0, deadline - time.monotonic()))
        except RedisConnectionError:
            if attempt == 9 or time.monotonic() > deadline:
                raise
            time.sleep(3.0)


def test_a_worker_survives_a_redis_restart_during_its_task(tmp_path):
    """Issue 16 row 6: a busy worker (prefork, two pool processes, as the compose file
    runs it on two cores) stopped with "Unrecoverable error: AttributeError: 'NoneType'
    object has no attribute 'hostname'" when redis-server restarted during its task:
    first when Celery closed the lost connection, then when the task ended and was
    acknowledged on it. Here the worker lives on and the task's result reaches the
    restarted Redis."""
    from celery import Celery

    from landscape.running.tasks import CHUNK_TASK
    redis = start_redis(tmp_path)
    workers = start_workers(redis.url, ["busy"], tmp_path, pool="prefork", concurrency=2)
    try:
        # long enough (about 30 s on an idle 2-core machine) to outlive the restart
        starts = 1500
        config = make_catalog_config(14, 14, dim=14, starts=starts, seed=4)
        client = Celery(broker=redis.url, backend=redis.url)
        task = client.send_task(CHUNK_TASK, args=[config.to_dict(), list(range(starts))])
        wait_for(None, lambda _: "landscape.run_chunk" in workers[0].log.read_text(),
                 timeout=60)                     # received: the worker is busy with it
        time.sleep(2)
        stop(redis)
        time.sleep(3)
        redis = start_redis(tmp_path, port=redis.port)
        assert "succeeded" not in workers[0].log.read_text(), "the task ended too soon"
        result = result_after_restart(redis.url, task.id, timeout=600)
        assert len(result["indices"]) == starts
        time.sleep(2)                            # the acknowledgement after the result
        assert workers[0].poll() is None, workers[0].log.read_text()[-3000:]
        assert "Unrecoverable error" not in workers[0].log.read_text()
        # and it still takes tasks
        again = Celery(broker=redis.url, backend=redis.url).send_task(
            CHUNK_TASK, args=[config.to_dict(), [0, 1]])
        assert result_after_restart(redis.url, again.id, timeout=300)["indices"] == [0, 1]
    finally:
        stop(*workers)
        stop(redis)


def test_a_busy_worker_survives_a_redis_restart(stack, browser):
    # issue 16 row 6: a worker busy with a dashboard job died when redis-server restarted
    # ("Unrecoverable error: AttributeError ... hostname"); the idle one reconnected
    web = stack["web"]
    browser.get(web.url + "/?students=10&teachers=10&dim=inf&starts=400&seed=43")
    progress = lambda d: float(d.find_element(By.ID, "progress").get_attribute("value") or 0)
    wait_for(browser, lambda d: progress(d) > 0, timeout=120)        # a worker is busy
    redis = stack["redis"]
    stop(redis)
    time.sleep(3)
    stack["redis"] = start_redis(stack["workdir"], port=redis.port)
    # the page ends with the result or a clear message, never polling for ever
    wait_for(browser, lambda d: any(words in text_of(d, "summary") for words in (
        "fixed point", "cannot be reached", "ended without a result")), timeout=300)
    for worker in stack["workers"]:
        assert worker.poll() is None, worker.log.read_text()[-3000:]
    assert "Unrecoverable error" not in worker_log(stack)
    # and the workers still take jobs: a new view is computed
    browser.get(web.url + "/?students=4&teachers=4&dim=inf&starts=50&seed=44")
    wait_for(browser, lambda d: "fixed point" in text_of(d, "summary"), timeout=180)


def busiest_worker(stack):
    """The worker whose pool process is computing (the one running the job)."""
    load = {}
    for worker in stack["workers"]:
        children = psutil.Process(worker.pid).children(recursive=True)
        for child in children:
            child.cpu_percent()
        time.sleep(1.0)
        load[worker] = sum(child.cpu_percent() for child in children)
    return max(load, key=load.get)


def test_a_lost_worker_is_reported_and_frees_the_slot(stack, browser):
    """Issue 16 row 10: kill -9 a whole worker mid-job, and the page polled for ever with
    its job slot held until the visibility timeout (900 s)."""
    web = stack["web"]
    browser.get(web.url + "/?students=12&teachers=12&dim=inf&starts=600&seed=45")
    progress = lambda d: float(d.find_element(By.ID, "progress").get_attribute("value") or 0)
    wait_for(browser, lambda d: progress(d) > 0, timeout=120)
    victim = busiest_worker(stack)
    for proc in [*psutil.Process(victim.pid).children(recursive=True), victim]:
        proc.kill()
    victim.wait()
    try:
        wait_for(browser, lambda d: "worker running it was lost" in text_of(d, "summary"),
                 timeout=120)
        assert "fixed point" not in text_of(browser, "summary")
    finally:
        stack["workers"].remove(victim)
        stack["workers"] += start_workers(stack["redis"].url, [victim.name + "b"],
                                          stack["workdir"], pool="prefork", others=1)
    # the slot is free and the workers take the view again: it is computed
    browser.get(web.url + "/?students=12&teachers=12&dim=inf&starts=600&seed=45")
    wait_for(browser, lambda d: "fixed point" in text_of(d, "summary"), timeout=300)


def test_no_worker_at_all_is_reported(stack, browser, tmp_path):
    # database 7 of the same Redis: reachable, but no worker listens there
    empty = stack["redis"].url.rsplit("/", 1)[0] + "/7"
    web = start_gunicorn(tmp_path / "web", REDIS_URL=empty)
    try:
        browser.get(web.url + "/?students=4&teachers=4&dim=inf&starts=50&seed=46")
        wait_for(browser, lambda d: "no Celery worker is running" in text_of(d, "summary"),
                 timeout=120)
    finally:
        stop(web)
