"""The CLI contract: stable JSON keys, one-line errors with exit status 2."""
import json
import subprocess
import sys

import pytest

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]


def run(*args):
    return subprocess.run([sys.executable, "-m", "landscape", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def test_json_output_contract(tmp_path):
    out = tmp_path / "catalog.json"
    proc = run("fixed-points", "--students", "4", "--teachers", "3", "--dim", "9",
               "--starts", "12", "--seed", "2", "--format", "json", "--output", str(out))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    data = json.loads(out.read_text())
    assert {"config", "engine_version", "seconds", "unconverged", "fixed_points",
            "nondifferentiable"} <= set(data)
    assert data["config"] == {"students": 4, "teachers": 3, "teacher": "orthonormal",
                              "dim": 9, "starts": 12, "seed": 2, "init_dim": 1000}
    total = data["unconverged"] + data["nondifferentiable"]["count"]
    for p in data["fixed_points"]:
        assert {"loss", "kind", "index", "flat", "min_eigenvalue", "hits", "fraction",
                "grad_norm", "Q", "M", "hessian"} <= set(p)
        assert p["kind"] in ("global_minimum", "local_minimum", "saddle")
        assert len(p["Q"]) == 4 and len(p["Q"][0]) == 4
        assert len(p["M"]) == 4 and len(p["M"][0]) == 3
        span, orth = p["hessian"]["span"], p["hessian"]["orthogonal"]
        assert sum(span["multiplicities"]) == 4 * 7           # K n, n = min(d, K + M)
        assert orth["multiplicity"] == 9 - 7
        assert len(orth["eigenvalues"]) == len(orth["multiplicities"])
        assert p["grad_norm"] < 1e-10
        total += p["hits"]
    assert total == 12
    losses = [p["loss"] for p in data["fixed_points"]]
    assert losses == sorted(losses)


def test_infinite_dimension_and_table():
    proc = run("fixed-points", "--students", "2", "--teachers", "2", "--starts", "5",
               "--format", "json")
    data = json.loads(proc.stdout)
    assert data["config"]["dim"] == "inf"
    assert data["fixed_points"][0]["hessian"]["orthogonal"]["multiplicity"] == "inf"
    proc = run("fixed-points", "--students", "2", "--teachers", "2", "--starts", "5")
    assert proc.returncode == 0
    assert "global_minimum" in proc.stdout


@pytest.mark.parametrize("args", [
    ["fixed-points", "--students", "0", "--teachers", "3"],
    ["fixed-points", "--students", "-1", "--teachers", "3"],
    ["fixed-points", "--students", "abc", "--teachers", "3"],
    ["fixed-points", "--students", "nan", "--teachers", "3"],
    ["fixed-points", "--students", "65", "--teachers", "3"],
    ["fixed-points", "--students", "3", "--teachers", "3", "--starts", "20001"],
    ["fixed-points", "--students", "3", "--teachers", "3", "--dim", "2"],
    ["fixed-points", "--students", "3", "--teachers", "3", "--dim", "nan"],
    ["fixed-points", "--students", "3", "--teachers", "3", "--teacher", "correlated:1.5"],
    ["fixed-points", "--students", "3", "--teachers", "3", "--teacher", "file:/missing.json"],
    ["fixed-points", "--students", "3", "--teachers", "3", "--format", "xml"],
    ["fixed-points", "--students", "3"],
    ["fixed-points", "--students", "3", "--teachers", "3", "--output", "/no/such/dir/x.json"],
    ["no-such-command"],
    [],
])
def test_bad_input_exits_2_with_one_line(args):
    proc = run(*args)
    assert proc.returncode == 2
    if args:
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
        assert proc.stderr.startswith("landscape: error:")
    assert "Traceback" not in proc.stderr


def test_non_psd_teacher_file(tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"P": [[1, 2], [2, 1]]}))
    proc = run("fixed-points", "--students", "2", "--teachers", "2", "--teacher", f"file:{path}")
    assert proc.returncode == 2
    assert "not positive definite" in proc.stderr
