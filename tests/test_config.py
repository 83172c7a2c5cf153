"""Teacher specs and the canonical config: every bad input is refused in one line."""
import json
import math

import numpy as np
import pytest

from landscape.config import make_catalog_config
from landscape.errors import ConfigError


def P_of(spec, M):
    return make_catalog_config(2, M, teacher=spec).teacher.P


def test_orthonormal_and_correlated():
    np.testing.assert_array_equal(P_of("orthonormal", 3), np.eye(3))
    P = P_of("correlated:0.25", 4)
    np.testing.assert_allclose(P, 0.75 * np.eye(4) + 0.25)


def test_norms_and_random():
    np.testing.assert_allclose(P_of("norms:1,2,0.5", 3), np.diag([1, 4, 0.25]))
    P = P_of("random:3", 5)
    np.testing.assert_array_equal(P, P_of("random:3", 5))     # the seed fixes it
    assert not np.allclose(P, P_of("random:4", 5))
    np.testing.assert_array_equal(P, P.T)
    assert np.linalg.eigvalsh(P).min() > 0
    assert 0.2 < np.trace(P) / 5 < 5                        # G G^T / M: unit diagonal on average


def test_file_teacher(tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"P": [[1.0, 0.3], [0.3, 2.0]]}))
    config = make_catalog_config(2, 2, teacher=f"file:{path}")
    np.testing.assert_allclose(config.teacher.P, [[1, 0.3], [0.3, 2]])
    assert config.teacher.spec == f"file:{path}"


@pytest.mark.parametrize("spec, M, fragment", [
    ("orthonormal:3", 3, "unknown teacher"),
    ("banana", 3, "unknown teacher"),
    ("correlated:1", 3, "RHO < 1"),
    ("correlated:-0.5", 3, "-0.5 < RHO"),
    ("correlated:nan", 3, "finite"),
    ("correlated:abc", 3, "number"),
    ("norms:1,2", 3, "needs 3"),
    ("norms:1,0,2", 3, "positive"),
    ("norms:1,inf,2", 3, "finite"),
    ("random:-1", 3, "non-negative"),
    ("random:x", 3, "non-negative integer"),
    ("file:/no/such/file.json", 3, "cannot read"),
])
def test_bad_teacher_specs(spec, M, fragment):
    with pytest.raises(ConfigError) as err:
        make_catalog_config(2, M, teacher=spec)
    assert fragment in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("content, fragment", [
    ("{not json", "not valid JSON"),
    ('{"Q": [[1]]}', "expected a JSON object"),
    ('{"P": [[1, 0], [0.5, 1]]}', "not symmetric"),
    ('{"P": [[1, 2], [2, 1]]}', "not positive definite"),
    ('{"P": [[1, 0, 0], [0, 1, 0], [0, 0, 1]]}', "must be 2x2"),
    ('{"P": [[1, "a"], ["a", 1]]}', "list of lists of numbers"),
    ('{"P": [[1, 0], [0]]}', "list of lists of numbers"),
])
def test_bad_teacher_files(tmp_path, content, fragment):
    path = tmp_path / "p.json"
    path.write_text(content)
    with pytest.raises(ConfigError) as err:
        make_catalog_config(2, 2, teacher=f"file:{path}")
    assert fragment in str(err.value)


@pytest.mark.parametrize("kwargs, fragment", [
    (dict(students=0), "students"),
    (dict(students=-2), "students"),
    (dict(students="2.5"), "integer"),
    (dict(students=float("nan")), "integer"),
    (dict(students=True), "integer"),
    (dict(students=65), "between 1 and 64"),
    (dict(teachers="three"), "teachers"),
    (dict(dim=2), "rank of P"),
    (dict(dim="-inf"), "dim"),
    (dict(dim="nan"), "dim"),
    (dict(starts=0), "starts"),
    (dict(starts=20001), "starts"),
    (dict(seed=-1), "seed"),
    (dict(init_dim=2), "init-dim"),
])
def test_bad_numbers(kwargs, fragment):
    raw = dict(students=3, teachers=3) | kwargs
    with pytest.raises(ConfigError) as err:
        make_catalog_config(**raw)
    assert fragment in str(err.value)


def test_config_is_canonical_and_hashable():
    a = make_catalog_config("3", "3", teacher=" correlated:0.50 ", dim="INF", starts="10")
    b = make_catalog_config(3, 3, teacher="correlated:0.5", dim=math.inf, starts=10)
    assert a == b and hash(a) == hash(b)
    assert a.to_dict() == {"students": 3, "teachers": 3, "teacher": "correlated:0.5",
                           "dim": "inf", "starts": 10, "seed": 0, "init_dim": 1000}
    assert make_catalog_config(3, 3, dim=5).reduced_dim == 5
    assert make_catalog_config(3, 3, dim=50).reduced_dim == 6
