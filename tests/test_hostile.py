"""Regression tests of issue 16: hostile input to the caches, the teacher parser, the
settings and the request guard. Each reproduces one row of the issue and checks that it
ends in a result, a recomputation, a clear 4xx or exit 2, or a refusal to start."""
import os
import pickle
import struct
import threading

import pytest

from landscape.config import make_catalog_config
from landscape.errors import SettingsError
from landscape.running import service
from landscape.settings import Settings, from_env
from landscape.version import ENGINE_VERSION


class _RunsCode:
    """Unpickling this creates a directory: proof that a cache read ran code."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def _dashboard_cache(settings):
    from landscape.ui import precompute

    return precompute.result_cache(settings)


# -- item 3: results stored as data ---------------------------------------------------

def test_a_pickle_written_into_the_file_cache_is_never_run(tmp_path):
    """Row 2: a pickle payload in a cache file (in the on-disk format of a pickling file
    cache: 4-byte expiry, then the pickle) is a miss, recomputed; no code runs."""
    settings = Settings(cache_dir=str(tmp_path), secret_key="s" * 64)
    cache = _dashboard_cache(settings)
    config = make_catalog_config(3, 3, starts=4)
    first = service.catalog_result(config, cache)
    marker = tmp_path / "code-ran"
    files = [p for p in (tmp_path / "results").rglob("*") if p.is_file()]
    assert files
    for path in files:
        path.write_bytes(struct.pack("I", 0) + pickle.dumps(_RunsCode(marker)))
    again = service.catalog_result(config, _dashboard_cache(settings))
    assert not marker.exists()
    assert again["global_fraction"] == first["global_fraction"]


def test_a_fifo_in_the_file_cache_does_not_hang_a_view(tmp_path):
    settings = Settings(cache_dir=str(tmp_path), secret_key="s" * 64)
    config = make_catalog_config(2, 2, starts=3)
    service.catalog_result(config, _dashboard_cache(settings))
    for path in [p for p in (tmp_path / "results").rglob("*") if p.is_file()]:
        path.unlink()
        os.mkfifo(path)
    out = []
    thread = threading.Thread(target=lambda: out.append(
        service.catalog_result(config, _dashboard_cache(settings))), daemon=True)
    thread.start()
    thread.join(30)
    assert out and out[0]["fixed_points"]


class DictCache(dict):
    def set(self, key, value):
        self[key] = value


def _tamper(value, old, new):
    """Edit a stored entry as someone with write access to the store would."""
    if isinstance(value, (bytes, bytearray)):
        assert old.encode() in value
        return bytes(value).replace(old.encode(), new.encode())
    text = repr(value)
    assert old in text
    return eval(text.replace(old, new))      # a plain dict of JSON values


def test_an_edited_catalog_is_recomputed_not_shown():
    """Row 14: an edited global fraction is never shown as true."""
    config = make_catalog_config(3, 3, starts=4)
    cache = DictCache()
    first = service.catalog_result(config, cache)
    assert first["global_fraction"] == 1.0
    (key,) = cache
    cache[key] = _tamper(cache[key], "'global_fraction': 1.0" if isinstance(cache[key], dict)
                         else '"global_fraction":1.0',
                         "'global_fraction': 0.123" if isinstance(cache[key], dict)
                         else '"global_fraction":0.123')
    assert service.catalog_result(config, cache)["global_fraction"] == 1.0


def test_an_entry_of_the_wrong_shape_is_a_miss():
    """Row 14: a cached value of the right engine version but another shape."""
    config = make_catalog_config(3, 3, starts=4)
    cache = DictCache()
    key = service.cache_key("catalog", config.to_dict())
    cache[key] = {"engine_version": ENGINE_VERSION, "rows": []}
    assert service.catalog_result(config, cache)["fixed_points"]


def test_an_entry_signed_with_another_key_is_a_miss(tmp_path, caplog):
    """Someone who can write to the store but lacks the secret key cannot plant a
    result; the miss is logged once, however often the view is opened."""
    from landscape.running.store import FileStore

    class Counting(FileStore):
        writes = 0

        def set(self, key, value):
            Counting.writes += 1
            super().set(key, value)

    config = make_catalog_config(3, 3, starts=4, seed=1601)
    service.catalog_result(config, FileStore(str(tmp_path), secret=b"theirs" * 8))
    planted = next(tmp_path.iterdir()).read_bytes()
    ours = Counting(str(tmp_path), secret=b"ours" * 8)
    with caplog.at_level("WARNING"):
        for _ in range(3):
            next(tmp_path.iterdir()).write_bytes(planted)
            service.catalog_result(config, ours)
    assert Counting.writes == 3
    assert len([r for r in caplog.records if "recomputing" in r.getMessage()]) == 1


@pytest.mark.parametrize("env, words", [
    ({"REDIS_URL": "redis://r:6379/0", "SECRET_KEY": "k" * 64}, "no password"),
    ({"REDIS_URL": "redis://user@r:6379/0", "SECRET_KEY": "k" * 64}, "no password"),
    ({"REDIS_URL": "redis://:pw@r:6379/0"}, "SECRET_KEY"),
])
def test_an_open_redis_or_no_shared_key_is_refused(env, words):
    with pytest.raises(SettingsError, match=words):
        from_env(env)


def test_an_open_redis_is_accepted_only_when_asked_for():
    env = {"REDIS_URL": "redis://r:6379/0", "SECRET_KEY": "k" * 64,
           "LANDSCAPE_ALLOW_OPEN_REDIS": "1"}
    assert from_env(env).redis_url == "redis://r:6379/0"
    assert from_env({"REDIS_URL": "unix:///run/redis.sock?password=pw",
                     "SECRET_KEY": "k" * 64}).redis_url.startswith("unix://")


@pytest.mark.server
def test_a_pickle_written_into_redis_is_never_run(tmp_path):
    """Row 2 with Redis: a pickle payload under a result key (in the format of a
    pickling Redis cache, "!" + pickle) is a miss, recomputed; no code runs."""
    import redis

    from servers import start_redis, stop
    server = start_redis(tmp_path)
    try:
        settings = Settings(cache_dir=str(tmp_path), redis_url=server.url,
                            secret_key="s" * 64)
        config = make_catalog_config(3, 3, starts=4)
        first = service.catalog_result(config, _dashboard_cache(settings))
        client = redis.Redis.from_url(server.url)
        keys = client.keys("*:catalog:*")
        assert keys
        marker = tmp_path / "code-ran"
        for key in keys:
            client.set(key, b"!" + pickle.dumps(_RunsCode(marker)))
        again = service.catalog_result(config, _dashboard_cache(settings))
        assert not marker.exists()
        assert again["global_fraction"] == first["global_fraction"]
    finally:
        stop(server)


# -- item 5: teacher input parsed once, safely ------------------------------------------

def _p_file(tmp_path, P=((1.0, 0.2), (0.2, 1.0)), name="p.json"):
    import json

    path = tmp_path / name
    path.write_text(json.dumps({"P": [list(r) for r in P]}))
    return path


@pytest.mark.parametrize("spelling", ["file:{}", "file :{}", " FILE:{}", "File\t:{}",
                                      "file : {}", "FILE:{}  "])
def test_the_dashboard_refuses_every_file_spelling(tmp_path, spelling):
    """Row 4: the dashboard's ban is on the parsed kind, so no spelling reads a file."""
    from landscape.errors import ConfigError
    from landscape.ui import state

    path = _p_file(tmp_path)
    values = state.DEFAULTS | {"students": "2", "teachers": "2",
                               "teacher": spelling.format(path)}
    with pytest.raises(ConfigError, match="command line"):
        state.catalog_config(values)
    with pytest.raises(ConfigError, match="command line"):
        state.flow_config(values, time="1")


def _cli(argv, seconds=30):
    """landscape's CLI in this process: (exit status, stderr lines); None on a hang."""
    import contextlib
    import io

    from landscape.cli import main

    out = {}
    err = io.StringIO()

    def run():
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            out["code"] = main(argv)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    return out.get("code"), err.getvalue().splitlines()


def _hostile_inputs(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    deep = tmp_path / "deep.json"
    deep.write_text('{"P": ' + "[" * 1000 + "]" * 1000 + "}")
    huge = tmp_path / "huge.json"
    huge.write_text('{"P": [[1' + "0" * 400 + ', 0], [0, 1]], '
                    '"Q": [[1' + "0" * 400 + ', 0], [0, 1]], "M": [[0, 0], [0, 0]]}')
    return {"fifo": fifo, "/dev/zero": "/dev/zero", "/dev/urandom": "/dev/urandom",
            "1000 deep": deep, "400 digits": huge}


def test_cli_refuses_hostile_teacher_files_with_exit_2(tmp_path):
    """Row 12, --teacher file:...: exit 2 and one line, no hang, no internal error."""
    for name, path in _hostile_inputs(tmp_path).items():
        code, lines = _cli(["fixed-points", "--students", "2", "--teachers", "2",
                            "--starts", "2", "--teacher", f"file:{path}"])
        assert (code, len(lines)) == (2, 1), (name, code, lines)
        assert "internal error" not in lines[0], name


def test_cli_refuses_hostile_init_files_with_exit_2(tmp_path):
    """Row 12, flow --init FILE."""
    for name, path in _hostile_inputs(tmp_path).items():
        code, lines = _cli(["flow", "--students", "2", "--teachers", "2", "--lr", "0",
                            "--time", "1", "--points", "2", "--init", str(path)])
        assert (code, len(lines)) == (2, 1), (name, code, lines)
        assert "internal error" not in lines[0], name


def test_a_teacher_may_be_given_as_its_matrix():
    """Issue 14: P as an ndarray, a list of lists or {"P": rows}, validated like a file."""
    import numpy as np

    from landscape.errors import ConfigError
    from landscape.maths.teachers import parse_teacher

    P = np.array([[1.0, 0.3], [0.3, 2.0]])
    for given in (P, P.tolist(), {"P": P.tolist()}):
        setup = parse_teacher(given, 2, ConfigError)
        np.testing.assert_array_equal(setup.P, P)
        assert setup.to_json() == {"P": P.tolist()}
    for bad, words in [(np.eye(3), "2x2"), ([[1, 2], [2, 1]], "positive definite"),
                       ({"P": [[1, "x"], ["x", 1]]}, "numbers"), ([[float("nan")]], "finite"),
                       ([[10**400]], "huge"), ({"P": [[1]], "code": 1}, "expected")]:
        with pytest.raises(ConfigError, match=words):
            parse_teacher(bad, 2 if words != "finite" and words != "huge" else 1, ConfigError)


def test_cache_keys_of_file_teachers_hash_P_not_the_path(tmp_path):
    """Issue 14: the same P under two paths is one result; a file edited in place is
    another result, never the cached one of its old content."""
    a = make_catalog_config(2, 2, teacher=f"file:{_p_file(tmp_path, name='a.json')}")
    b = make_catalog_config(2, 2, teacher=f"file:{_p_file(tmp_path, name='b.json')}")
    assert a.teacher.spec != b.teacher.spec                  # shown as given
    assert service.cache_key("catalog", a.to_dict()) == service.cache_key("catalog", b.to_dict())
    edited = _p_file(tmp_path, P=((1.0, 0.5), (0.5, 1.0)), name="a.json")
    c = make_catalog_config(2, 2, teacher=f"file:{edited}")
    assert service.cache_key("catalog", c.to_dict()) != service.cache_key("catalog", a.to_dict())
    # and the canonical dict validates back to the same config (Celery tasks carry it)
    assert type(c).from_dict(c.to_dict()).to_dict() == c.to_dict()


# -- item 6: scale and conditioning --------------------------------------------------------

SIX = "--students 6 --teachers 6 --dim 6 --starts 10".split()


@pytest.mark.parametrize("teacher, words", [
    ("norms:" + ",".join(["1e5"] * 6), "between 0.1 and 10"),        # row 7: 200 'dead'
    ("norms:" + ",".join(["1e150"] * 6), "between 0.1 and 10"),
    ("norms:" + ",".join(["1e-150"] * 6), "between 0.1 and 10"),
    ("norms:0.1,10,1,1,1,1", "at most 10 times"),                       # all unconverged
    ("correlated:0.99999", "condition number"),
])
def test_teachers_outside_the_checked_range_are_refused(teacher, words):
    code, lines = _cli(["fixed-points", *SIX, "--teacher", teacher])
    assert code == 2 and len(lines) == 1 and words in lines[0], lines


def test_a_huge_P_from_a_file_is_refused_not_nan(tmp_path):
    """Row 7: P = 1e308 I gave NaN losses."""
    path = _p_file(tmp_path, P=((1e308, 0.0), (0.0, 1e308)))
    code, lines = _cli(["fixed-points", "--students", "2", "--teachers", "2", "--starts", "2",
                        "--teacher", f"file:{path}"])
    assert code == 2 and len(lines) == 1 and "between 0.1 and 10" in lines[0], lines


def test_a_search_without_fixed_points_is_not_reported_as_a_result():
    """Row 7: "0 fixed points" with exit 0 read as a catalog; it is exit 3 and says why,
    and the dashboard's service neither returns nor caches it."""
    from landscape.errors import ComputationLimit

    # two starts at teacher norms 0.1 that both end with a dead student
    teacher = "norms:" + ",".join(["0.1"] * 6)
    code, lines = _cli(["fixed-points", "--students", "6", "--teachers", "6", "--dim", "6",
                        "--starts", "2", "--seed", "1", "--teacher", teacher])
    assert code == 3 and len(lines) == 1 and "no start reached a fixed point" in lines[0]
    cache = DictCache()
    with pytest.raises(ComputationLimit, match="2 ended with a dead student"):
        service.catalog_result(make_catalog_config(6, 6, teacher=teacher, dim=6, starts=2,
                                                   seed=1), cache)
    assert not cache


def test_descent_thresholds_follow_the_problem_scale():
    """The flow is homogeneous: W(t) for teachers c V from c W0 is c times the one for V
    from W0, with the same time. So every endpoint and its status must scale along over
    the checked range of teacher norms (thresholds relative to the teacher's scale)."""
    import numpy as np

    from landscape.maths.starts import draw_starts
    from landscape.maths.teachers import teacher_vectors
    from landscape.methods.descent import descend

    P = make_catalog_config(4, 4, teacher="correlated:0.2", dim=4).teacher.P
    V = teacher_vectors(P, 4)
    W0 = draw_starts(3, range(8), 4, 4, 4, 4)
    unit = descend(W0, V)
    for c in (0.1, 10.0):
        scaled = descend(c * W0, c * V)
        assert list(scaled.status) == list(unit.status)
        np.testing.assert_allclose(scaled.students / c, unit.students, atol=1e-6)


# -- items 7, 8: bad settings stop the server; hostile bodies get 4xx -------------------------

def _callback_client():
    from app import app, server

    return app, server.test_client()


def test_deeply_nested_callback_bodies_get_400():
    """Row 11: a callback POST nested 1000 deep was a 500 (RecursionError)."""
    import json

    from servers import VALIDATE_OUTPUT

    _, client = _callback_client()
    deep = "[" * 1000 + "]" * 1000
    body = ('{"output": "' + VALIDATE_OUTPUT + '", "outputs": [{"id": "config", '
            '"property": "data"}, {"id": "message", "property": "children"}], "inputs": '
            '[{"id": "url", "property": "search", "value": ' + deep + '}], '
            '"changedPropIds": ["url.search"], "state": []}')
    for data in (body, deep, json.dumps({"output": 1}).replace("1", deep)):
        r = client.post("/_dash-update-component", data=data, content_type="application/json")
        assert r.status_code == 400, r.status_code


def test_a_post_to_a_clientside_callback_gets_400():
    """Row 11: the image-format callback runs in the browser; a POST to it was a 500."""
    app, client = _callback_client()
    clientside = [(output, spec) for output, spec in app.callback_map.items()
                  if spec.get("callback") is None]
    assert clientside
    for output, spec in clientside:
        def ids(items):
            return [{"id": i["id"], "property": i["property"], "value": None} for i in items]
        outputs = [{"id": o.component_id, "property": o.component_property}
                   for o in (spec["output"] if isinstance(spec["output"], list)
                             else [spec["output"]])]
        body = {"output": output, "outputs": outputs if len(outputs) > 1 else outputs[0],
                "inputs": ids(spec["inputs"]), "state": ids(spec["state"]),
                "changedPropIds": []}
        r = client.post("/_dash-update-component", json=body)
        assert r.status_code == 400, (output, r.status_code)


def _gunicorn_refuses(tmp_path, **env):
    import subprocess
    import sys

    from servers import GUNICORN_COMMAND, ROOT, free_port
    environment = dict(os.environ, LANDSCAPE_CACHE_DIR=str(tmp_path / "cache"),
                       LANDSCAPE_BIND=f"127.0.0.1:{free_port()}", LANDSCAPE_WEB_WORKERS="2")
    environment.pop("REDIS_URL", None)
    environment.update(env)
    try:
        out = subprocess.run([sys.executable, "-m", *GUNICORN_COMMAND], cwd=ROOT,
                             env=environment, capture_output=True, text=True, timeout=40)
    except subprocess.TimeoutExpired as exc:         # still respawning workers
        pytest.fail(f"gunicorn kept running with {env}: {(exc.stderr or b'')[-500:]!r}")
    lines = [line for line in out.stderr.splitlines() if "configuration error" in line]
    return out.returncode, lines, out.stderr


@pytest.mark.server
@pytest.mark.parametrize("env", [
    {"LANDSCAPE_MAX_JOBS": "abc"}, {"LANDSCAPE_JOB_SECONDS": "-1"},
    {"LANDSCAPE_URL_PREFIX": "nope"}, {"LANDSCAPE_CACHE_DIR": "/etc/passwd"},
    {"REDIS_URL": "redis://127.0.0.1:1/0", "SECRET_KEY": "k" * 64},
])
def test_a_bad_setting_stops_gunicorn_with_one_line(tmp_path, env):
    """Row 8: each worker printed a line and exited; the master respawned it for ever."""
    code, lines, stderr = _gunicorn_refuses(tmp_path, **env)
    assert code == 78 and len(lines) == 1, stderr[-1000:]
    assert "Traceback" not in stderr and "Booting worker" not in stderr


@pytest.mark.server
@pytest.mark.parametrize("env", [
    {"LANDSCAPE_MAX_JOBS": "abc"},
    {"REDIS_URL": "redis://127.0.0.1:1/0", "SECRET_KEY": "k" * 64},     # an open Redis
    {"REDIS_URL": "redis://:pw@127.0.0.1:1/0"},                        # no shared key
])
def test_a_bad_setting_stops_a_celery_worker_with_one_line(tmp_path, env):
    import subprocess
    import sys

    from servers import ROOT, WORKER_COMMAND
    environment = dict(os.environ, LANDSCAPE_CACHE_DIR=str(tmp_path), **env)
    environment.pop("SECRET_KEY", None) if "SECRET_KEY" not in env else None
    try:
        out = subprocess.run([sys.executable, "-m", *WORKER_COMMAND], cwd=ROOT,
                             env=environment, capture_output=True, text=True, timeout=40)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the worker kept running with {env}")
    assert out.returncode == 78
    assert out.stderr.strip().startswith("landscape: configuration error")
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr[-1000:]


# -- item 2: the embedded server's job processes never deadlock -------------------------------

def _one():
    return 1


@pytest.mark.slow
def test_job_processes_forked_under_load_never_hang(tmp_path):
    """Row 5: a job process forked while another thread of the web process is inside
    SQLite (the job store) inherited its mutex locked and hung for ever (4 of 13 jobs
    with 8 users; here 12 of 40 on the old code)."""
    import time

    import psutil

    from landscape.ui import backends

    manager = backends.background_manager(Settings(cache_dir=str(tmp_path)))
    store = manager.handle
    stop = []

    def busy_request_threads():
        i = 0
        while not stop:
            store.set(f"other{i % 50}", {"v": i})
            store.get(f"other{(7 * i) % 50}")
            i += 1

    threads = [threading.Thread(target=busy_request_threads, daemon=True) for _ in range(3)]
    for thread in threads:
        thread.start()
    job = manager.make_job_fn(_one, False)
    pids = []
    try:
        for i in range(40):
            pids.append(manager.call_job_fn(f"result{i}", job, [], {}))
            time.sleep(0.01)
    finally:
        stop.append(True)
    deadline = time.monotonic() + 30
    hung = 0
    for pid in pids:
        try:
            psutil.Process(pid).wait(max(0.1, deadline - time.monotonic()))
        except psutil.TimeoutExpired:
            hung += 1
            psutil.Process(pid).kill()
        except psutil.NoSuchProcess:
            pass
    assert hung == 0
    assert all(store.get(f"result{i}") == 1 for i in range(len(pids)))


def test_a_pickle_planted_in_the_job_store_is_never_run(tmp_path):
    """Row 2 for the embedded server's job store (LANDSCAPE_CACHE_DIR/jobs, Diskcache):
    its values are JSON; a pickle written there by someone else reads as missing."""
    import diskcache

    from landscape.ui import backends

    manager = backends.background_manager(Settings(cache_dir=str(tmp_path)))
    manager.handle.set("result", {"figure": {"data": [], "layout": {"title": "x"}}})
    assert manager.handle.get("result") == {"figure": {"data": [], "layout": {"title": "x"}}}
    marker = tmp_path / "code-ran"
    with diskcache.Cache(str(tmp_path / "jobs")) as planter:     # a pickling writer
        planter.set("result", _RunsCode(marker))
    assert manager.handle.get("result") is None
    assert not marker.exists()


# -- item 1: one view opened by many users at once ---------------------------------------------

@pytest.mark.browser
@pytest.mark.server
@pytest.mark.slow
def test_one_cold_view_opened_in_four_browsers_gives_all_four_the_result(tmp_path):
    """Row 1: every visitor of a view had the same job key and the first poll consumed
    the result (2 of 4 got nothing on a cold view)."""
    from concurrent.futures import ThreadPoolExecutor

    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from conftest import make_browser
    from servers import start_gunicorn, stop

    proc = start_gunicorn(tmp_path, workers=2, LANDSCAPE_WORKERS="1")
    browsers = []
    try:
        with ThreadPoolExecutor(4) as pool:
            browsers = list(pool.map(lambda _: make_browser(), range(4)))
        url = proc.url + "/?students=5&teachers=5&dim=inf&starts=150&seed=1616"

        def summary(driver):
            found = driver.find_elements(By.ID, "summary")
            return found[0].text if found else ""

        def open_and_wait(driver):
            driver.get(url)
            try:
                WebDriverWait(driver, 240, poll_frequency=0.5).until(
                    lambda d: "fixed point" in summary(d))
            except Exception:
                return summary(driver) or "(empty)"
            return "ok"

        with ThreadPoolExecutor(4) as pool:
            outcomes = list(pool.map(open_and_wait, browsers))
        assert outcomes == ["ok"] * 4
    finally:
        for driver in browsers:
            driver.quit()
        stop(proc)


# -- item 4: computations in a web request are bounded inside their loops ---------------------

@pytest.mark.slow
def test_a_heavy_flow_view_stops_at_the_request_budget(monkeypatch):
    """Row 3: Flows 2D with K = M = 20 and lr 0.5 computed for more than 900 s in a web
    request; the budget was checked only between catalog chunks."""
    import json
    import time

    from landscape.ui import guard
    from servers import validate_request

    monkeypatch.setattr(guard, "REQUEST_SECONDS", 3.0, raising=False)
    _, client = _callback_client()
    search = "?students=20&teachers=20&dim=inf&lr=0.5&starts=20&seed=1617"
    validated = client.post("/_dash-update-component", json=validate_request(search)).get_json()
    config = {"id": "config", "property": "data",
              "value": validated["response"]["config"]["data"]}
    body = {"output": "..flow-graph.figure...flow-slider.max...flow-slider.marks..",
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
    out = {}

    def post():
        began = time.monotonic()
        r = client.post("/_dash-update-component", json=body)
        out.update(status=r.status_code, text=r.get_data(as_text=True),
                   seconds=time.monotonic() - began)

    thread = threading.Thread(target=post, daemon=True)
    thread.start()
    thread.join(90)
    assert out, "the request was still computing after 90 s"
    assert out["status"] == 200 and "time budget" in json.dumps(out["text"]), out
    assert out["seconds"] < 30


def test_the_trajectory_and_flow_loops_check_the_deadline():
    """Inside the ODE of the 3D view and the 2D flow, not only between chunks."""
    import time

    from landscape.config import make_flow_config
    from landscape.errors import ComputationLimit, deadline
    from landscape.methods.catalog import find_fixed_points
    from landscape.methods.flows import run_flow
    from landscape.methods.trajectories import catalog_trajectories

    catalog = find_fixed_points(make_catalog_config(3, 3, starts=4))
    flow = make_flow_config(3, 3, lr=0.5, time=20, points=10, simulate=50, runs=2)
    for compute in (lambda: catalog_trajectories(catalog), lambda: run_flow(flow)):
        with deadline(0.01):
            time.sleep(0.02)
            with pytest.raises(ComputationLimit, match="time budget"):
                compute()
        compute()                 # outside the block: no deadline


def test_the_catalog_descent_checks_the_deadline():
    """Row 3: the catalog's descent checked no deadline, so a catalog computed in a web
    request ran to its end. Checked inside one descent (a single chunk), not only
    between chunks, and by the catalog's chunk loop."""
    import time

    import numpy as np

    from landscape.errors import ComputationLimit, deadline
    from landscape.maths.starts import draw_starts
    from landscape.maths.teachers import teacher_vectors
    from landscape.methods.catalog import find_fixed_points
    from landscape.methods.descent import descend

    config = make_catalog_config(3, 3, starts=4)
    n = config.reduced_dim
    V = teacher_vectors(config.teacher.P, n)
    starts = draw_starts(config.seed, np.arange(4), 3, 3, config.start_dim, n)
    with deadline(0.01):
        time.sleep(0.02)
        with pytest.raises(ComputationLimit, match="stopped after the time budget"):
            descend(starts, V)
        with pytest.raises(ComputationLimit, match="stopped after the time budget"):
            find_fixed_points(config)
    assert descend(starts, V).students.shape == starts.shape     # no deadline: it ends


def test_a_download_of_an_uncomputed_catalog_computes_nothing(monkeypatch):
    """Row 9: two downloads of an uncomputed K = M = 20, 2000-start catalog computed for
    172-176 s each in web requests, outside the job cap and budget. A download (and
    every other plain callback) reads the catalog from the cache only."""
    import json

    from landscape.methods import catalog as catalog_module
    from servers import validate_request

    def no_search(*args, **kwargs):
        raise AssertionError("a plain callback ran a catalog search")

    monkeypatch.setattr(service, "find_fixed_points", no_search)
    monkeypatch.setattr(catalog_module, "run_chunk", no_search)
    _, client = _callback_client()
    search = "?students=20&teachers=20&dim=inf&starts=2000&seed=1609"
    validated = client.post("/_dash-update-component", json=validate_request(search)).get_json()
    ready = validated["response"]["config"]["data"]
    for button in ("download-json-button", "download-csv-button"):
        body = {"output": "download.data", "outputs": {"id": "download", "property": "data"},
                "inputs": [{"id": "download-json-button", "property": "n_clicks", "value": 1},
                           {"id": "download-csv-button", "property": "n_clicks", "value": 1}],
                "state": [{"id": "catalog-ready", "property": "data", "value": ready}],
                "changedPropIds": [f"{button}.n_clicks"]}
        r = client.post("/_dash-update-component", json=body)
        assert r.status_code == 200, r.get_data(as_text=True)[:500]
        text = json.dumps(r.get_json())
        assert "compute the view first" in text and "content" not in text, text[:500]
