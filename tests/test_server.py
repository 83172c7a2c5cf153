"""The app under gunicorn as deployed: malformed-request storm, access control, a URL
prefix, the cap on concurrent jobs and the time budget of one job (no Redis here;
see test_scaleout for the Redis + Celery path)."""
import base64
import json
import random
import threading
import time
import urllib.error
import urllib.request

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from conftest import make_browser
from servers import VALIDATE_OUTPUT, post_callback, start_gunicorn, stop, view_requests

pytestmark = pytest.mark.server


def wait_for(driver, condition, timeout=60):
    return WebDriverWait(driver, timeout, poll_frequency=0.2).until(lambda d: condition(d))


def text_of(driver, element_id):
    found = driver.find_elements(By.ID, element_id)
    return found[0].text if found else ""


def request(url, data=None, headers=None, method=None):
    """(status, headers, body) without raising on 4xx/5xx."""
    req = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    proc = start_gunicorn(tmp_path_factory.mktemp("plain"), workers=2)
    yield proc
    stop(proc)


def storm_requests(base):
    """Bad requests of every kind a visitor or a scanner sends."""
    cb = base + "/_dash-update-component"
    json_type = {"Content-Type": "application/json"}
    valid_inputs = [{"id": "url", "property": "search", "value": "?students=3"}]
    bodies = ["", "not json", "{", "[]", "null", "1e999", '"x"' * 1000, "{\"output\": []}",
              json.dumps({"output": VALIDATE_OUTPUT, "inputs": 7}),
              json.dumps({"output": VALIDATE_OUTPUT,
                          "inputs": [{"id": {"$ne": 1}, "property": 3}]}),
              json.dumps({"output": VALIDATE_OUTPUT,
                          "outputs": [{"id": "config", "property": "data"},
                                      {"id": "message", "property": "children"}],
                          "inputs": valid_inputs, "changedPropIds": ["url.search"],
                          "state": "nope"}),
              json.dumps({"output": "nope.children", "inputs": valid_inputs}),
              json.dumps({"output": VALIDATE_OUTPUT,
                          "outputs": {"id": "config"}, "inputs": valid_inputs,
                          "changedPropIds": ["url.search"]}),
              json.dumps({"output": VALIDATE_OUTPUT,
                          "outputs": [{"id": "config", "property": "data"},
                                      {"id": "message", "property": "children"}],
                          "inputs": [{"id": "url", "property": "search",
                                      "value": {"nested": ["?students=" + "9" * 300]}}],
                          "changedPropIds": ["url.search"]})]
    out = [(cb, b.encode(), json_type, "POST") for b in bodies]
    out += [(cb, b"x" * (2 << 20), json_type, "POST"),                  # 2 MiB
            (cb, b"\xff\xfe\x00garbage", json_type, "POST"),
            (cb, b"a=1&b=2", {"Content-Type": "application/x-www-form-urlencoded"}, "POST"),
            (cb, None, {}, "GET"), (cb, b"{}", json_type, "PUT"),
            (base + "/_dash-layout", b"{}", json_type, "POST"),
            (base + "/_dash-dependencies", None, {}, "DELETE"),
            (base + "/../../etc/passwd", None, {}, "GET"),
            (base + "/_dash-component-suites/dash/nope.js", None, {}, "GET"),
            (base + "/assets/../app.py", None, {}, "GET"),
            (base + "/?students=%00%ff&dim=" + "9" * 3000, None, {}, "GET"),
            (base + "/health", b"x", {"Content-Length": "999999999"}, "POST")]
    return out


def test_a_storm_of_malformed_requests_gets_no_5xx(plain):
    cases = storm_requests(plain.url)
    statuses, failures = [], []
    lock = threading.Lock()

    def hammer(seed):
        rng = random.Random(seed)
        for _ in range(25):
            url, data, headers, method = rng.choice(cases)
            try:
                status = request(url, data, headers, method)[0]
            except OSError as exc:       # a reset connection counts as a failure too
                status = f"{type(exc).__name__}"
            with lock:
                statuses.append(status)
                if not isinstance(status, int) or status >= 500:
                    failures.append((method, url[:80], status))

    threads = [threading.Thread(target=hammer, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(statuses) == 400
    assert failures == []
    assert any(400 <= s < 500 for s in statuses)
    # and the server keeps serving real requests
    assert request(plain.url + "/health")[0] == 200
    assert b"_dash-config" in request(plain.url + "/")[2]


@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    proc = start_gunicorn(tmp_path_factory.mktemp("auth"), LANDSCAPE_BASIC_AUTH="lab:s3cret pw",
                          LANDSCAPE_TOKEN="t0ken-for-the-lecture-hall")
    yield proc
    stop(proc)


def test_without_auth_the_app_is_open(plain):
    assert request(plain.url + "/")[0] == 200
    assert request(plain.url + "/_dash-layout")[0] == 200


def test_basic_auth(guarded):
    assert request(guarded.url + "/health")[0] == 200          # for the HEALTHCHECK
    # only /health itself is open: Dash's catch-all route would serve the page for these
    for path in ("/x/health", "/_dash-layout/health", "/_dash-dependencies/health"):
        assert request(guarded.url + path)[0] == 401
    status, headers, _ = request(guarded.url + "/")
    assert status == 401 and headers["WWW-Authenticate"].startswith("Basic")
    assert request(guarded.url + "/_dash-layout")[0] == 401

    def basic(user, password):
        return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode())
                .decode()}

    assert request(guarded.url + "/", headers=basic("lab", "wrong"))[0] == 401
    assert request(guarded.url + "/", headers=basic("other", "s3cret pw"))[0] == 401
    assert request(guarded.url + "/", headers=basic("lab", "s3cret pw"))[0] == 200
    assert request(guarded.url + "/_dash-layout", headers=basic("lab", "s3cret pw"))[0] == 200


def test_token_as_bearer_header(guarded):
    bearer = {"Authorization": "Bearer t0ken-for-the-lecture-hall"}
    assert request(guarded.url + "/_dash-layout", headers=bearer)[0] == 200
    assert request(guarded.url + "/_dash-layout",
                   headers={"Authorization": "Bearer t0ken-for-the-lecture-hallX"})[0] == 401


def test_token_link_opens_the_dashboard_in_a_browser(guarded, browser):
    browser.get(guarded.url + "/?students=3&teachers=3&starts=20&token=t0ken-for-the-lecture-hall")
    wait_for(browser, lambda d: "fixed point" in text_of(d, "summary"))
    assert "token" not in browser.current_url         # not kept in links people share
    assert "students=3" in browser.current_url
    cookie = browser.get_cookie("landscape_token")
    assert cookie["httpOnly"] and cookie["value"] != "t0ken-for-the-lecture-hall"
    # a wrong cookie is not enough
    browser.delete_all_cookies()
    browser.add_cookie({"name": "landscape_token", "value": "0" * 64})
    browser.get(guarded.url + "/?students=3&teachers=3")
    time.sleep(1)
    assert browser.find_elements(By.ID, "summary") == []     # refused: no dashboard


def test_url_prefix_behind_a_reverse_proxy(tmp_path, browser):
    proc = start_gunicorn(tmp_path, LANDSCAPE_URL_PREFIX="/landscape/")
    try:
        assert proc.url.endswith("/landscape")
        assert request(proc.url + "/health")[0] == 200
        browser.get(proc.url + "/?students=3&teachers=3&starts=20")
        wait_for(browser, lambda d: "fixed point" in text_of(d, "summary"))
        assert "/landscape/?" in browser.current_url
    finally:
        stop(proc)


def job_processes(proc):
    """The live (not zombie) processes under gunicorn ``proc``'s workers: its jobs."""
    import psutil

    found = []
    for worker in psutil.Process(proc.pid).children():
        for child in worker.children(recursive=True):
            try:
                if child.status() != psutil.STATUS_ZOMBIE:
                    found.append(child)
            except psutil.NoSuchProcess:
                pass
    return found


def until_a_job_runs(driver, url, timeout=300):
    """Load ``url`` until its catalog job runs (its first progress report, 0 of 2000).

    While the page loads it asks for its job more than once (the controls settle), each
    request superseding the one before; with a single slot a request can find the one
    before it still holding the slot, and the page says "busy" although no other job
    runs. So a refused page is loaded again; a slot that is never freed still fails."""
    def runs(d):
        d.get(url)
        wait_for(d, lambda d: d.find_element(By.ID, "progress").get_attribute("max") == "2000"
                 or text_of(d, "summary"), timeout=120)
        return d.find_element(By.ID, "progress").get_attribute("max") == "2000"

    wait_for(driver, runs, timeout=timeout)


def test_job_cap_and_time_budget(tmp_path, browser):
    from landscape.ui import state
    # One process per job (LANDSCAPE_WORKERS=1) leaves a core to the browser; a job of
    # 20 chunks of 100 starts (K = M = 14, a few seconds each, over a minute on a loaded
    # machine) outlasts its 40 s budget. No step asserts a duration: each waits, with
    # slack, for a state (the job running, "busy", the budget message), and the budget
    # is checked between chunks, so the first job holds the slot until its first chunk
    # ends, however slow the machine.
    proc = start_gunicorn(tmp_path, LANDSCAPE_MAX_JOBS="1", LANDSCAPE_JOB_SECONDS="40",
                          LANDSCAPE_WORKERS="1")

    def long_job(seed):     # canonical URLs: the page does not rewrite them and re-run
        return proc.url + "/" + state.to_query(state.from_query(
            f"?students=14&teachers=14&dim=inf&starts=2000&seed={seed}"))

    def running(d):        # the job process has reported (its first report is 0 of 2000)
        return d.find_element(By.ID, "progress").get_attribute("max") == "2000"

    other = make_browser()       # a second visitor
    try:
        browser.get(long_job(1))
        wait_for(browser, running, timeout=120)       # it holds the only slot
        first = browser.current_window_handle
        # the same visitor opens another view in a second tab while the job runs: the
        # page loads (a regression: the job process held the browser's connection, and
        # the page hung until the job ended) and its job is refused, with a message
        browser.switch_to.new_window("tab")
        browser.get(long_job(2))
        wait_for(browser, lambda d: "busy" in text_of(d, "summary"), timeout=60)
        # and so is another visitor's
        other.get(long_job(3))
        wait_for(other, lambda d: "busy" in text_of(d, "summary"), timeout=60)
        # the first job was still running meanwhile: it ends at its budget, saying so
        browser.close()
        browser.switch_to.window(first)
        assert "fixed point" not in text_of(browser, "summary")
        wait_for(browser, lambda d: "time budget of 40 s" in text_of(d, "summary"),
                 timeout=240)
        # and once its process has exited, its slot is free: another visitor's job runs
        wait_for(None, lambda _: not job_processes(proc), timeout=120)
        until_a_job_runs(other, long_job(4))
        assert request(proc.url + "/health")[0] == 200
    finally:
        other.quit()
        for job in job_processes(proc):  # a job outlives gunicorn's stop (its own process)
            job.kill()
        stop(proc)


def test_a_killed_job_is_reported_and_frees_its_slot(tmp_path, browser):
    """Issue 16 row 10: a job process killed mid-job left the page without a message
    (progress stuck) and, with Celery, its slot held until the visibility timeout."""
    import psutil
    from landscape.ui import state
    proc = start_gunicorn(tmp_path, LANDSCAPE_MAX_JOBS="1", LANDSCAPE_WORKERS="1")

    def view(seed):
        return proc.url + "/" + state.to_query(state.from_query(
            f"?students=14&teachers=14&dim=inf&starts=2000&seed={seed}"))

    def running(d):        # the job process has reported (its first report is 0 of 2000)
        return d.find_element(By.ID, "progress").get_attribute("max") == "2000"

    try:
        browser.get(view(11))
        wait_for(browser, running, timeout=120)
        # the job processes: forked by the gunicorn worker, with their pool, if any
        jobs = [job for worker in psutil.Process(proc.pid).children()
                for job in worker.children(recursive=True)]
        assert jobs
        for job in jobs:
            job.kill()
        wait_for(browser, lambda d: "ended without a result" in text_of(d, "summary"),
                 timeout=120)
        # its slot (the only one) is free: the next view's job runs
        until_a_job_runs(browser, view(12))
    finally:
        for job in job_processes(proc):
            job.kill()
        stop(proc)


def test_a_full_disk_is_reported_as_a_full_disk(tmp_path, browser):
    """Issue 16 row 13: with the cache's filesystem full (no Redis), every job failed
    saying Redis could not be reached, and /health said ok. A real full filesystem: the
    cache directory is a 16 MiB tmpfs, mounted in gunicorn's own mount namespace
    (``unshare -rm``: no root needed) and filled from here through /proc/PID/root."""
    import errno
    import subprocess
    from pathlib import Path

    if subprocess.run(["unshare", "-rm", "true"], capture_output=True).returncode != 0:
        pytest.skip("needs unprivileged user namespaces (unshare -rm) to mount a tmpfs")
    cache = tmp_path / "cache"
    cache.mkdir()
    mount = ["unshare", "-rm", "sh", "-c",
             'mount -t tmpfs -o size=16m tmpfs "$0" && exec "$@"', str(cache)]
    proc = start_gunicorn(cache, wrapper=mount)
    try:
        inside = Path(f"/proc/{proc.pid}/root") / str(cache).lstrip("/")
        assert (inside / "secret_key").exists()        # the app's view of its cache
        assert not (cache / "secret_key").exists()     # ... is the tmpfs, not this one
        status, _, body = request(proc.url + "/health")
        assert status == 200 and json.loads(body)["disk"] == "ok"
        with pytest.raises(OSError) as full:
            with open(inside / "filler", "wb") as filler:
                for _ in range(64):
                    filler.write(b"\0" * (1 << 20))
                    filler.flush()
        assert full.value.errno == errno.ENOSPC
        status, _, body = request(proc.url + "/health")
        assert status == 503 and json.loads(body)["disk"] == "full", body
        browser.get(proc.url + "/?students=4&teachers=4&dim=inf&starts=50&seed=13")
        wait_for(browser, lambda d: "disk is full" in text_of(d, "summary"), timeout=120)
        assert "Redis" not in text_of(browser, "summary")
    finally:
        stop(proc)


def test_precompute_fills_the_cache_the_dashboard_reads(tmp_path):
    import os
    import subprocess
    import sys

    from servers import ROOT
    # a finite d: the Families view still draws (and precompute fills) d = inf
    search = "?students=4&teachers=4&dim=6&lr=0.3&starts=40&seed=8"
    env = dict(os.environ, LANDSCAPE_CACHE_DIR=str(tmp_path))
    env.pop("REDIS_URL", None)
    out = subprocess.run([sys.executable, "-m", "landscape", "precompute", "--view", search,
                          "--no-hierarchy", "--format", "json"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert set(json.loads(out.stdout)["views"][0]["seconds"]) == {
        "catalog", "trajectories", "flow", "families"}
    proc = start_gunicorn(tmp_path)
    try:
        for body in view_requests(proc.url, search):
            headers, data = post_callback(proc.url, body)
            assert headers["X-Landscape-Cache"] == "hit"          # nothing computed
        # a view that was not precomputed is a miss (the header can say so); the families
        # depend only on the teacher (they are computed at d = inf)
        families, _ = view_requests(proc.url, search + "&teacher=correlated:0.2")
        assert post_callback(proc.url, families)[0]["X-Landscape-Cache"] == "miss"
    finally:
        stop(proc)
