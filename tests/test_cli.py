"""The CLI contract: stable JSON keys, one-line errors with exit status 2."""
import contextlib
import io
import json
import subprocess
import sys

import numpy as np
import pytest

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]


def run(*args):
    return subprocess.run([sys.executable, "-m", "landscape", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def run_in_process(*args):
    """`main()` in this interpreter: the same exit status and streams as `run`, without
    an interpreter start-up per case (the refusals below never start a computation)."""
    from landscape import cli

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(list(args))
    return subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())


def test_a_refusal_through_the_real_entry_point_is_one_line_and_exit_2():
    proc = run("fixed-points", "--students", "abc", "--teachers", "3")
    assert proc.returncode == 2
    assert proc.stderr.startswith("landscape: error:") and len(proc.stderr.splitlines()) == 1


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
    proc = run_in_process(*args)
    assert proc.returncode == 2
    if args:
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
        assert proc.stderr.startswith("landscape: error:")
    assert "Traceback" not in proc.stderr


def test_non_psd_teacher_file(tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"P": [[1, 2], [2, 1]]}))
    proc = run_in_process("fixed-points", "--students", "2", "--teachers", "2",
                          "--teacher", f"file:{path}")
    assert proc.returncode == 2
    assert "not positive definite" in proc.stderr


def test_flow_json_contract(tmp_path):
    init = tmp_path / "init.json"
    init.write_text(json.dumps({"Q": [[0.5, 0.1], [0.1, 0.4]], "M": [[0.3, 0.1], [0.0, 0.2]]}))
    proc = run("flow", "--students", "2", "--teachers", "2", "--lr", "0.5", "--time", "1",
               "--points", "4", "--init", str(init), "--simulate", "200", "--runs", "3",
               "--format", "json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["t"] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert len(data["Q"]) == 5 and len(data["Q"][0]) == 2 and len(data["Q"][0][0]) == 2
    assert len(data["M"]) == 5 and len(data["M"][0][0]) == 2 and len(data["loss"]) == 5
    assert data["Q"][0] == [[0.5, 0.1], [0.1, 0.4]]
    sim = data["simulation"]
    assert {"dim", "runs", "t", "Q_mean", "M_mean", "M_std", "loss_mean"} <= set(sim)
    assert sim["dim"] == 200 and sim["runs"] == 3 and sim["t"] == data["t"]
    assert abs(sim["loss_mean"][0] - data["loss"][0]) < 1e-12


def test_flow_from_seed_is_a_catalog_start():
    proc = run("flow", "--students", "3", "--teachers", "3", "--lr", "0", "--time", "300",
               "--points", "3", "--dim", "3", "--format", "json")
    data = json.loads(proc.stdout)
    from landscape.methods.flows import drift
    dQ, dM = drift(np.array(data["Q"][-1]), np.array(data["M"][-1]), np.eye(3), 0.0)
    assert max(np.abs(dQ).max(), np.abs(dM).max()) < 1e-6          # reached a fixed point
    assert data["config"]["seed"] == 0


@pytest.mark.parametrize("extra, fragment", [
    (["--lr", "-1"], "lr"),
    (["--lr", "nan"], "lr"),
    (["--time", "0"], "time"),
    (["--points", "0"], "points"),
    (["--lr", "0", "--simulate", "100"], "lr > 0"),
    (["--simulate", "3"], "simulate"),
    (["--simulate", "90000", "--runs", "1000", "--time", "1000"], "too large"),
    (["--init", "/missing.json"], "cannot read"),
])
def test_flow_bad_input(extra, fragment):
    base = {"--students": "2", "--teachers": "2", "--lr": "0.5", "--time": "1", "--points": "2"}
    args = ["flow"]
    for key, value in base.items():
        if key not in extra:
            args += [key, value]
    proc = run_in_process(*(args + extra))
    assert proc.returncode == 2
    assert fragment in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("content, fragment", [
    ({"Q": [[1, 0], [0, 1]], "M": [[2, 0], [0, 0]]}, "not positive semidefinite"),
    ({"Q": [[1, 0.5], [0, 1]], "M": [[0, 0], [0, 0]]}, "not symmetric"),
    ({"Q": [[1]], "M": [[0, 0]]}, "must be 2x2"),
    ({"Q": [[1, 0], [0, 1]]}, "expected a JSON object"),
])
def test_flow_bad_init_files(tmp_path, content, fragment):
    path = tmp_path / "init.json"
    path.write_text(json.dumps(content))
    proc = run_in_process("flow", "--students", "2", "--teachers", "2", "--lr", "0.5",
                          "--time", "1", "--points", "2", "--init", str(path))
    assert proc.returncode == 2 and fragment in proc.stderr


def test_flow_start_index_selects_the_catalog_start():
    from landscape.maths.starts import draw_start
    from landscape.maths.teachers import teacher_vectors
    import numpy as np
    proc = run("flow", "--students", "3", "--teachers", "2", "--lr", "0", "--time", "1",
               "--points", "1", "--dim", "5", "--seed", "4", "--start", "7", "--format", "json")
    data = json.loads(proc.stdout)
    W = draw_start(4, 7, 3, 2, 5, 5)
    V = teacher_vectors(np.eye(2), 5)
    np.testing.assert_allclose(data["Q"][0], W @ W.T, atol=1e-12)
    np.testing.assert_allclose(data["M"][0], W @ V.T, atol=1e-12)
    assert data["config"]["start"] == 7


@pytest.mark.parametrize("args, words", [
    (["precompute", "--preset", "no such preset"], "unknown preset"),
    (["precompute", "--view", "?students=0"], "students"),
    (["precompute", "--view", "?students=50&teachers=3"], "between 1 and 20"),
])
def test_precompute_refuses_bad_views_in_one_line(args, words):
    out = run_in_process(*args)
    assert out.returncode == 2 and words in out.stderr and len(out.stderr.splitlines()) == 1
