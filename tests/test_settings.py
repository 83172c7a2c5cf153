"""Deployment settings: parsed once, bad values refused with one line."""
import multiprocessing
import subprocess
import sys

import pytest

from landscape.errors import SettingsError
from landscape.settings import Settings, from_env, secret_key
from servers import ROOT


def test_defaults():
    s = from_env({})
    assert s.redis_url is None and s.url_prefix == "/" and not s.auth_enabled
    assert s.max_jobs == 4 and s.job_seconds == 300


@pytest.mark.parametrize("env, words", [
    ({"LANDSCAPE_URL_PREFIX": "landscape"}, "LANDSCAPE_URL_PREFIX"),
    ({"LANDSCAPE_URL_PREFIX": "/a b/"}, "LANDSCAPE_URL_PREFIX"),
    ({"LANDSCAPE_BASIC_AUTH": "nopassword"}, "user:password"),
    ({"LANDSCAPE_BASIC_AUTH": ":pw"}, "user:password"),
    ({"LANDSCAPE_TOKEN": "short"}, "16 characters"),
    ({"REDIS_URL": "localhost:6379"}, "redis://"),
    ({"LANDSCAPE_MAX_JOBS": "0"}, "between"),
    ({"LANDSCAPE_MAX_JOBS": "many"}, "number"),
    ({"LANDSCAPE_JOB_SECONDS": "nan"}, "between"),
    ({"LANDSCAPE_JOB_SECONDS": "600", "LANDSCAPE_VISIBILITY_SECONDS": "900"}, "twice"),
    ({"LANDSCAPE_EXECUTOR": "threads"}, "local or celery"),
    ({"LANDSCAPE_WORKERS": "-2"}, "between"),
])
def test_bad_values_are_refused(env, words):
    with pytest.raises(SettingsError, match=words):
        from_env(env)


def test_redelivery_waits_longer_than_a_job_may_run():
    assert from_env({}).visibility_seconds == 900
    assert from_env({"LANDSCAPE_JOB_SECONDS": "1000"}).visibility_seconds == 2000


def test_values_are_read():
    s = from_env({"REDIS_URL": "redis://:pw@r:6379/1", "SECRET_KEY": "s" * 64,
                  "LANDSCAPE_URL_PREFIX": "/lab/landscape/",
                  "LANDSCAPE_BASIC_AUTH": "lab:pa:ss", "LANDSCAPE_TOKEN": "x" * 20,
                  "LANDSCAPE_MAX_JOBS": "2", "LANDSCAPE_JOB_SECONDS": "30"})
    assert s.basic_auth == ("lab", "pa:ss") and s.url_prefix == "/lab/landscape/"
    assert (s.max_jobs, s.job_seconds, s.redis_url) == (2, 30.0, "redis://:pw@r:6379/1")


def _key(directory, queue):
    queue.put(secret_key(Settings(cache_dir=directory)))


def test_generated_secret_key_is_one_per_cache_dir(tmp_path):
    # processes racing at start-up (gunicorn workers) all get the same key; spawned, since
    # a fork of this test process (threads left by earlier tests) can hang in a held lock
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    procs = [context.Process(target=_key, args=(str(tmp_path), queue)) for _ in range(6)]
    for p in procs:
        p.start()
    keys = {queue.get(timeout=120) for _ in procs}
    for p in procs:
        p.join()
    assert len(keys) == 1 and len(keys.pop()) == 64
    assert oct((tmp_path / "secret_key").stat().st_mode & 0o777) == "0o600"
    assert secret_key(Settings(cache_dir=str(tmp_path / "other"))) != secret_key(
        Settings(cache_dir=str(tmp_path)))
    assert secret_key(Settings(cache_dir=str(tmp_path), secret_key="from-env")) == "from-env"


def test_secret_key_without_hard_links(tmp_path, monkeypatch):
    import os

    def no_links(*args):
        raise PermissionError("hard links are not supported here")

    monkeypatch.setattr(os, "link", no_links)
    key = secret_key(Settings(cache_dir=str(tmp_path)))
    assert len(key) == 64 and secret_key(Settings(cache_dir=str(tmp_path))) == key
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret_key"]


@pytest.mark.slow
def test_the_app_refuses_a_bad_configuration_in_one_line():
    out = subprocess.run([sys.executable, "-c", "import app"], cwd=ROOT, capture_output=True,
                         text=True, timeout=60,
                         env={"PATH": "/usr/bin:/bin", "LANDSCAPE_MAX_JOBS": "-1",
                              "HOME": "/tmp", **{k: v for k, v in __import__("os").environ.items()
                                                 if k.startswith(("PYTHON", "PYENV"))}})
    assert out.returncode != 0
    assert out.stderr.strip().splitlines() == [
        "landscape: configuration error: LANDSCAPE_MAX_JOBS must be between 1 and 1000, got '-1'"]
