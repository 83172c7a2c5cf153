"""Imports point one way: maths -> config -> methods -> running -> figures -> front.

Read from the source (AST), so that imports inside functions count as much as those
at the top of a module.
"""
import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "landscape"

# In order: a module may import modules of its own layer or of a lower one.
LAYERS = [
    ("base", ("landscape.version", "landscape.errors")),
    ("maths", ("landscape.maths",)),
    ("config", ("landscape.config",)),
    ("methods", ("landscape.methods",)),
    ("running", ("landscape.running",)),
    ("figures", ("landscape.figures",)),
    ("front", ("landscape.api", "landscape.ui", "landscape.cli", "landscape.settings",
               "landscape.worker", "landscape.__main__", "landscape")),
]
ENGINE_LAYERS = ("base", "maths", "config", "methods")


def module_name(path, root=ROOT):
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module):
    """Index of the layer of ``module`` (the longest matching prefix), or None."""
    best = None
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if module == prefix or module.startswith(prefix + "."):
                if best is None or len(prefix) > best[1]:
                    best = (index, len(prefix))
    return None if best is None else best[0]


def package_imports(root=ROOT):
    """{module: {imported package module}} for every module of the package."""
    paths = sorted((root / "landscape").rglob("*.py"))
    modules = {module_name(p, root): p for p in paths}
    edges = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[:len(base) - node.level + 1]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                # `from a import b` imports the module a.b when there is one.
                targets = [f"{source}.{alias.name}" if f"{source}.{alias.name}" in modules
                           else source for alias in node.names]
            else:
                continue
            found.update(t for t in targets if t.split(".")[0] == "landscape" and t != name)
        edges[name] = found
    return edges


def upward_edges(edges):
    out = []
    for module, targets in edges.items():
        for target in targets:
            here, there = layer_of(module), layer_of(target)
            if here is None or there is None or there > here:
                out.append((module, target))
    return sorted(out)


def cycles(edges):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in edges:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_every_module_has_a_layer():
    assert [m for m in package_imports() if layer_of(m) is None] == []


def test_no_upward_import():
    assert upward_edges(package_imports()) == []


def test_no_import_cycle():
    assert cycles(package_imports()) == []


def test_walker_sees_imports_inside_functions(tmp_path):
    """The checks above fail on a tree that imports upward inside a function and
    on a cycle (the shape the package had before its layers)."""
    pkg = tmp_path / "landscape"
    (pkg / "methods").mkdir(parents=True)
    (pkg / "running").mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "methods" / "__init__.py").write_text("")
    (pkg / "running" / "__init__.py").write_text("")
    (pkg / "methods" / "catalog.py").write_text(
        "def find():\n    from ..running.executors import default\n")
    (pkg / "running" / "executors.py").write_text("from ..methods import catalog\n")
    edges = package_imports(tmp_path)
    assert upward_edges(edges) == [("landscape.methods.catalog", "landscape.running.executors")]
    assert cycles(edges) == [["landscape.methods.catalog", "landscape.running.executors"]]


ENGINE_MODULES = sorted(m for m in package_imports()
                        if LAYERS[layer_of(m)][0] in ENGINE_LAYERS)


def test_engine_imports_no_web_plotting_or_queue_stack():
    """Even with REDIS_URL and a bad deployment setting in the environment, the engine
    imports without dash, plotly, flask, celery, kombu or redis."""
    code = ("import sys\n" + "".join(f"import {m}\n" for m in ENGINE_MODULES)
            + "import landscape\nlandscape.find_fixed_points\n"
            + "bad = sorted({m.split('.')[0] for m in sys.modules} & {'dash', 'plotly', "
              "'flask', 'celery', 'kombu', 'redis'})\nprint(','.join(bad))\n")
    env = os.environ | {"REDIS_URL": "redis://127.0.0.1:1/0", "LANDSCAPE_JOB_SECONDS": "abc"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT, env=env)
    assert out.stdout.strip() == ""
    assert len(ENGINE_MODULES) > 10


@pytest.mark.parametrize("module", ["landscape.running.tasks", "landscape.running.service"])
def test_running_layer_imports_no_dash(module):
    code = (f"import sys, {module}\n"
            "print(','.join(sorted({m.split('.')[0] for m in sys.modules} & {'dash', 'plotly', 'flask'})))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    assert out.stdout.strip() == ""
