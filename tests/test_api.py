"""The front door: the README's notebook example runs, results round-trip through JSON,
and a teacher given as a matrix is the same problem as its spec."""
import json
import re
from pathlib import Path

import numpy as np
import pytest

import landscape as ls
from landscape.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def readme_example():
    text = (ROOT / "README.md").read_text()
    match = re.search(r"<!-- notebook-example[^>]*-->\s*```python\n(.*?)```", text, re.S)
    assert match, "README has no notebook example"
    return match.group(1)


def test_readme_notebook_example_runs(capsys):
    scope = {}
    exec(compile(readme_example(), "README.md", "exec"), scope)
    cat = scope["cat"]
    assert isinstance(cat, ls.Catalog) and cat.config.students == 8
    assert sum(p.hits for p in cat.fixed_points) + cat.unconverged \
        + sum(p.hits for p in cat.dead_points) == 200
    # The K = M = 8, d = 8 spurious minimum (loss 0.0215; Safran & Shamir 2018) is found.
    assert any(abs(p.loss - 0.0215) < 5e-4 for p in scope["spurious"])
    assert scope["same"].to_json() == cat.to_json()
    assert "global_minimum" in capsys.readouterr().out
    assert scope["fig"].data


def test_results_round_trip_through_json_text():
    results = [ls.find_fixed_points(3, 2, dim=3, starts=20, seed=1),
               ls.flow(3, 3, lr=0.5, time=2, points=4, simulate=20, runs=2),
               ls.families(6, k1=[0, 1], onset=True),
               ls.hierarchy(2, [2, 3], dim=3, starts=10)]
    for result in results:
        data = json.loads(json.dumps(result.to_json()))
        back = type(result).from_json(data)
        assert type(back) is type(result)
        assert back.to_json() == result.to_json()
        assert back.summary() == result.summary()


def test_a_catalog_read_back_identifies_its_own_entries():
    """What the trajectories of a cached catalog rely on: every entry's representative is
    found again in the catalog read back from JSON (the global minimum included)."""
    from landscape.maths.teachers import teacher_vectors
    from landscape.methods.catalog import identify

    cat = ls.find_fixed_points(6, 6, dim=6, starts=60)
    back = ls.Catalog.from_json(json.loads(json.dumps(cat.to_json())))
    V = teacher_vectors(back.config.teacher.P, back.config.reduced_dim)
    kinds = set()
    for entry in back.fixed_points:
        assert identify(back.fixed_points, entry.students, V)[-1] is entry
        kinds.add(entry.kind)
    assert {"global_minimum", "local_minimum"} <= kinds


def test_matrix_teacher_is_its_spec():
    a = ls.find_fixed_points(4, 4, teacher="correlated:0.25", dim=4, starts=30)
    P = 0.75 * np.eye(4) + 0.25
    b = ls.find_fixed_points(4, 4, teacher=P, dim=4, starts=30)
    assert [(p.hits, round(p.loss, 12)) for p in a.fixed_points] == \
        [(p.hits, round(p.loss, 12)) for p in b.fixed_points]


@pytest.mark.parametrize("call, fragment", [
    (lambda: ls.find_fixed_points(0, 3), "students"),
    (lambda: ls.find_fixed_points(3, 3, executor="gpu"), "executor"),
    (lambda: ls.flow(3, 3, lr=-1), "lr"),
    (lambda: ls.families(5, k1=[9]), "k1"),
    (lambda: ls.hierarchy(3, [4, 4]), "distinct"),
])
def test_bad_arguments_raise_one_line_config_errors(call, fragment):
    with pytest.raises(ConfigError, match=fragment) as info:
        call()
    assert "\n" not in str(info.value)


def test_progress_convention():
    seen = []
    ls.hierarchy(2, [2, 3], dim=3, starts=10, progress=lambda *a: seen.append(a))
    assert seen and all(len(a) == 3 and isinstance(a[2], str) for a in seen)
    assert any(a[2] == "catalog at width 3" and a[0] == a[1] == 10 for a in seen)
