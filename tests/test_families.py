"""Families of minima: the reduced equations against the full engine and the catalog."""
import json
import subprocess
import sys

import numpy as np
import pytest

from landscape.methods import families as F
from landscape.methods.catalog import find_fixed_points
from landscape.config import make_catalog_config
from landscape.methods.flows import drift, loss_of
from landscape.maths.kernels import evaluate

PATTERN = (1.0, 0.0)


@pytest.mark.parametrize("K", [6, 8])
def test_family_members_are_the_catalog_minima(K):
    catalog = find_fixed_points(make_catalog_config(K, K, dim=K, starts=300 if K == 6 else 150))
    members = {m.k1: m for m in F.families(K, np.eye(K), K, range(0, 4))}
    assert any(p.kind == "local_minimum" for p in catalog.fixed_points)
    for point in catalog.fixed_points:
        ordered = F.order_for_family(point.Q, point.M)
        assert ordered is not None
        _, _, k1 = ordered
        m = members[k1]
        assert m.loss == pytest.approx(point.loss, abs=1e-9)
        assert m.kind == point.kind
        assert m.min_eigenvalue == pytest.approx(point.min_eigenvalue, abs=1e-8)
        # the catalog point itself solves the reduced equations
        Q, M, _ = ordered
        fitted = F.fit(Q, M, k1)
        assert np.abs(F.residual(fitted, K, k1, PATTERN)).max() < 1e-9
        np.testing.assert_allclose(F.expand(fitted, K, k1, PATTERN)[1], M, atol=1e-9)
        # same spectrum: realise the member and compare all eigenvalues
        W, V = F.realise_member(m.parameters, K, k1, np.eye(K))
        span = np.linalg.eigvalsh(evaluate(W, V, 2).hessian[0].reshape(K * K, K * K))
        expected = np.repeat(point.spectrum.span_eigenvalues, point.spectrum.span_multiplicities)
        np.testing.assert_allclose(span, expected, atol=1e-8)


@pytest.mark.parametrize("K, k1", [(7, 1), (12, 2), (30, 3), (90, 1)])
def test_expanded_solutions_are_critical_points_of_the_full_engine(K, k1):
    values = F.family_at(K, k1, np.eye(K))
    Q, M = F.expand(values, K, k1, PATTERN)
    dQ, dM = drift(Q, M, np.eye(K), 0.0)
    assert max(np.abs(dQ).max(), np.abs(dM).max()) < 1e-10
    W, V = F.realise_member(values, K, k1, np.eye(K))
    assert np.linalg.norm(evaluate(W, V, 1).gradient) < 1e-10
    assert loss_of(Q, M, np.eye(K)) == pytest.approx(F.family_loss(values, K, k1, PATTERN),
                                                     abs=1e-12)


def test_loss_is_invariant_under_permutations_of_pairs():
    K, k1 = 9, 2
    values = F.family_at(K, k1, np.eye(K))
    Q, M = F.expand(values, K, k1, PATTERN)
    rng = np.random.default_rng(0)
    perm_students, perm_teachers = rng.permutation(K), rng.permutation(K)
    Qp = Q[np.ix_(perm_students, perm_students)]
    Mp = M[np.ix_(perm_students, perm_teachers)]
    assert loss_of(Qp, Mp, np.eye(K)) == pytest.approx(loss_of(Q, M, np.eye(K)), abs=1e-13)
    dQ, dM = drift(Qp, Mp, np.eye(K), 0.0)
    assert max(np.abs(dQ).max(), np.abs(dM).max()) < 1e-10


def test_dense_and_lanczos_smallest_eigenvalues_agree(monkeypatch):
    K, k1 = 24, 1
    values = F.family_at(K, k1, np.eye(K))
    W, V = F.realise_member(values, K, k1, np.eye(K))
    dense = F.smallest_eigenvalues(W, V, np.inf)
    monkeypatch.setattr(F, "DENSE_MAX", 10)
    lanczos = F.smallest_eigenvalues(W, V, np.inf)
    assert (dense[3], lanczos[3]) == ("dense", "lanczos")
    # Lanczos finds the smallest eigenvalue (used for the kind) but need not resolve
    # the multiplicities of a degenerate cluster, so only that is compared.
    assert lanczos[0][0] == pytest.approx(dense[0][0], abs=1e-8)
    assert lanczos[1] == pytest.approx(dense[1], abs=1e-8) and lanczos[2] == dense[2]


@pytest.mark.parametrize("K, k1, rho", [(6, 1, 0.0), (8, 1, 0.0), (10, 2, 0.0), (12, 3, 0.0),
                                        (9, 0, 0.0), (10, 1, 0.3), (16, 5, 0.2), (20, 4, -0.02)])
def test_structured_spectrum_equals_the_dense_hessian(K, k1, rho):
    from landscape.maths.kernels import evaluate, orthogonal_block
    P = (1 - rho) * np.eye(K) + rho * np.ones((K, K))
    values = F.family_at(K, k1, P)
    assert values is not None
    span, orth, grad = F.structured_spectrum(values, K, k1, F.teacher_pattern(P))
    W, V = F.realise_member(values, K, k1, P)
    H = evaluate(W, V, 2).hessian[0].reshape(K * K, K * K)
    assert span == pytest.approx(np.linalg.eigvalsh(0.5 * (H + H.T))[0], abs=1e-10)
    assert orth == pytest.approx(np.linalg.eigvalsh(orthogonal_block(W, V))[0], abs=1e-10)
    assert grad < 1e-10
    assert np.linalg.norm(evaluate(W, V, 1).gradient) < 1e-10


def test_structured_spectrum_equals_lanczos_beyond_dense_widths():
    K, k1 = 64, 2
    values = F.family_at(K, k1, np.eye(K))
    span, orth, _ = F.structured_spectrum(values, K, k1, PATTERN)
    W, V = F.realise_member(values, K, k1, np.eye(K))
    lanczos, smallest, index, method = F.smallest_eigenvalues(W, V, np.inf)
    assert method == "lanczos"
    assert span == pytest.approx(lanczos[0], abs=1e-8)
    assert min(span, orth) == pytest.approx(smallest, abs=1e-8)


def test_wide_members_are_classified():
    rows = F.families(1000, np.eye(1000), np.inf, [0, 1, 2])
    assert [r.kind for r in rows] == ["global_minimum", "local_minimum", "local_minimum"]
    assert all(r.index == 0 and r.min_eigenvalue > 0 for r in rows[1:])
    assert all(r.grad_norm < 1e-10 for r in rows)
    # a saddle stays a saddle at any width: k1 = 1 is one for K = M = 5, and the
    # structured path (forced here) says so too
    five = F.family_at(5, 1, np.eye(5))
    span, orth, _ = F.structured_spectrum(five, 5, 1, (1.0, 0.0))
    assert min(span, orth) < 0


@pytest.mark.slow
@pytest.mark.parametrize("pattern, dim, saddles", [((1.0, 0.0), np.inf, False),
                                                   ((1.0, 0.3), np.inf, True),
                                                   ((1.0, 0.0), 16, False)])
def test_members_over_widths_are_the_members_width_by_width(monkeypatch, pattern, dim, saddles):
    """One continuation walked for all widths, and the structured spectrum standing in for
    the dense one where it decides the index, give the members of the dense, width-by-width
    computation: kinds and indices exactly, saddles beyond DENSE_CHEAP_MAX included."""
    widths, k1s, cheap = [13, 14, 15, 16], [0, 2, 3], F.DENSE_CHEAP_MAX
    over = F.families_over_widths(widths, pattern, dim, k1s)
    monkeypatch.setattr(F, "DENSE_CHEAP_MAX", 10 ** 9)
    alone = [(K, m) for K in widths for m in F.families(K, F.pattern_matrix(pattern, K), dim,
                                                         k1s)]
    assert [(K, m.k1, m.kind, m.index) for K, m in over] == \
        [(K, m.k1, m.kind, m.index) for K, m in alone]
    assert any(K > cheap and m.kind == "saddle" for K, m in over) == saddles
    for (_, a), (_, b) in zip(over, alone):
        assert a.parameters == b.parameters
        assert a.min_eigenvalue == pytest.approx(b.min_eigenvalue, abs=1e-9)


def test_k1_one_loss_decays_like_one_over_width():
    losses = {K: F.family_loss(F.family_at(K, 1, np.eye(K)), K, 1, PATTERN)
              for K in (250, 500, 1000)}
    # K L(K) converges: successive doublings change it less and less
    a, b, c = (K * losses[K] for K in (250, 500, 1000))
    assert abs(c - b) < abs(b - a) and abs(c - b) / c < 0.05
    assert losses[1000] / losses[500] == pytest.approx(0.5, rel=0.05)


def test_first_spurious_family_turns_into_a_minimum_at_six():
    # Type A minima (k1 = 1) exist from k = 6 (Safran & Shamir 2018; Arjevani & Field).
    assert F.onset(1, PATTERN, dim=np.inf) == 6
    five = F.member(F.family_at(5, 1, np.eye(5)), 5, 1, np.eye(5), 5)
    assert five.kind == "saddle"


@pytest.mark.slow
def test_families_cli_json_and_errors():
    root = __import__("pathlib").Path(__file__).parents[1]
    run = lambda *a: subprocess.run([sys.executable, "-m", "landscape", "families", *a],
                                    capture_output=True, text=True, timeout=120, cwd=root)
    proc = run("--students", "1000", "--teachers", "1000", "--k1", "0", "1", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    rows = data["families"]
    assert [r["k1"] for r in rows] == [0, 1]
    assert {"k1", "loss", "kind", "min_eigenvalue", "grad_norm", "parameters"} <= set(rows[0])
    assert rows[0]["kind"] == "global_minimum" and rows[1]["drift_norm"] < 1e-10
    proc = run("--students", "8", "--teachers", "8", "--k1", "1", "--format", "json")
    row = json.loads(proc.stdout)["families"][0]
    assert row["kind"] == "local_minimum" and row["grad_norm"] < 1e-10
    assert set(row["parameters"]) == {"q_gd", "q_go", "q_bd", "q_gb", "m_gd", "m_go", "m_gs",
                                      "m_bg", "m_bd"}
    for args, fragment in ((["--students", "3", "--teachers", "4"], "K = M"),
                           (["--students", "4", "--teachers", "4", "--teacher", "random:1"],
                            "invariant under permuting"),
                           (["--students", "4", "--teachers", "4", "--dim", "3"], "dim"),
                           (["--students", "3000", "--teachers", "3000", "--teacher",
                             "norms:1,1"], "orthonormal or correlated")):
        proc = run(*args)
        assert proc.returncode == 2 and fragment in proc.stderr
