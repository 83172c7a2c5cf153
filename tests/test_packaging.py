"""`pip install .` in a fresh venv gives the engine with numpy and scipy only.

Marked `server`: it builds a venv and installs from the package registry (about a
minute), so it stays out of the fast tier.
"""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.server

ROOT = Path(__file__).resolve().parents[1]

CHECK = """
import sys
import landscape as ls
cat = ls.find_fixed_points(students=3, teachers=3, dim=3, starts=10, executor="local")
assert cat.global_fraction > 0, cat.summary()
print(sorted({m.split('.')[0] for m in sys.modules}
             & {'dash', 'plotly', 'flask', 'celery', 'redis', 'kombu'}))
import importlib.metadata as md
print(sorted(r.split(';')[0].split('>')[0].split('=')[0].strip()
             for r in md.requires('landscape') if 'extra' not in r))
"""


def test_engine_installs_and_runs_with_numpy_and_scipy_only(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    # Installed from a copy: setuptools builds in the source tree (build/, *.egg-info).
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", "build", "*.egg-info", "cache", "__pycache__", ".pytest_cache"))
    install = subprocess.run([str(python), "-m", "pip", "install", "-q", str(source)],
                             capture_output=True, text=True, timeout=900)
    assert install.returncode == 0, install.stderr[-2000:]
    out = subprocess.run([str(python), "-c", CHECK], capture_output=True, text=True,
                         cwd=tmp_path, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    web, requirements = out.stdout.strip().splitlines()
    assert web == "[]"
    assert requirements == "['numpy', 'scipy']"
    freeze = subprocess.run([str(python), "-m", "pip", "freeze"], capture_output=True,
                            text=True).stdout.lower()
    assert "dash" not in freeze and "celery" not in freeze
