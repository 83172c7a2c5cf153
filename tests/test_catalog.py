"""The fixed-point catalog: every entry a polished critical point whose classification
is checked independently; symmetric copies merged; nothing dropped."""
import math

import numpy as np
import pytest

from landscape.methods.catalog import (ChunkResult, assemble, find_fixed_points, run_chunk,
                               signature, snap_parallel, summary)
from landscape.config import make_catalog_config
from landscape.methods.descent import DescentOptions, descend
from landscape.maths.kernels import evaluate, loss_with_zero_students
from landscape.maths.teachers import teacher_vectors
from numerics import fd_hessian


def fd_hessian_eigenvalues(W, V):
    # Small h: at aligned pairs the loss is C^2 but not C^3, so the error is O(h).
    return np.linalg.eigvalsh(fd_hessian(W, V, h=1e-7))


def accounted(catalog):
    return (sum(p.hits for p in catalog.fixed_points) + sum(p.hits for p in catalog.dead_points)
            + catalog.unconverged)


@pytest.fixture(scope="module")
def catalog6():
    # K = M = 6 in d = 6: the first width with a spurious minimum (Safran & Shamir 2018).
    return find_fixed_points(make_catalog_config(6, 6, dim=6, starts=600, seed=0))


def test_small_problem_reaches_the_global_minimum_only():
    config = make_catalog_config(3, 3, dim="inf", starts=40)
    catalog = find_fixed_points(config)
    assert [p.kind for p in catalog.fixed_points] == ["global_minimum"]
    point = catalog.fixed_points[0]
    assert point.hits == 40 and catalog.global_fraction == 1.0
    np.testing.assert_allclose(point.M, np.eye(3), atol=1e-9)   # canonical order
    np.testing.assert_allclose(point.Q, np.eye(3), atol=1e-9)
    assert point.grad_norm < 1e-10


@pytest.mark.slow
def test_spurious_minimum_at_six_students(catalog6):
    assert accounted(catalog6) == 600
    kinds = [p.kind for p in catalog6.fixed_points]
    assert kinds[0] == "global_minimum"
    spurious = [p for p in catalog6.fixed_points if p.kind == "local_minimum"]
    assert spurious, "K = M = 6 has a spurious local minimum"
    assert all(p.loss > 1e-3 for p in spurious)
    # Rare at K = 6: a small share of starts.
    assert sum(p.hits for p in spurious) / 600 < 0.05


def test_every_entry_is_critical_and_its_spectrum_matches_finite_differences(catalog6):
    config = catalog6.config
    V = teacher_vectors(config.teacher.P, config.reduced_dim)
    for point in catalog6.fixed_points:
        assert point.grad_norm < 1e-10
        W = point.students
        assert np.linalg.norm(evaluate(W, V, 1).gradient) < 1e-10
        fd = fd_hessian_eigenvalues(W, V)
        span = np.repeat(point.spectrum.span_eigenvalues, point.spectrum.span_multiplicities)
        np.testing.assert_allclose(span, fd, atol=1e-6)
        assert (point.kind == "local_minimum") == (fd.min() > 1e-7 and point.loss > 1e-10)
        assert point.min_eigenvalue == pytest.approx(fd.min(), abs=1e-6)


def test_catalog_is_invariant_under_student_and_teacher_permutations():
    config = make_catalog_config(4, 4, dim=4, starts=20)
    chunk = run_chunk(config, range(20))
    rng = np.random.default_rng(0)
    permuted = chunk.students.copy()
    for s in range(len(permuted)):
        permuted[s] = permuted[s][rng.permutation(4)]
        # A teacher permutation of an orthonormal teacher is a coordinate permutation.
        permuted[s] = permuted[s][:, rng.permutation(4)]
    other = ChunkResult(chunk.indices, permuted, chunk.status, chunk.grad_norm, [])
    a = assemble(config, [chunk])
    b = assemble(config, [other])
    assert len(a.fixed_points) == len(b.fixed_points)
    for p, q in zip(a.fixed_points, b.fixed_points):
        assert p.hits == q.hits and p.kind == q.kind
        assert p.loss == pytest.approx(q.loss, abs=1e-12)
        np.testing.assert_allclose(p.Q, q.Q, atol=1e-9)
        np.testing.assert_allclose(p.M, q.M, atol=1e-9)


def test_chunks_give_the_same_catalog_in_any_split():
    config = make_catalog_config(4, 3, starts=12, seed=5)
    whole = assemble(config, [run_chunk(config, range(12))])
    split = assemble(config, [run_chunk(config, range(7, 12)), run_chunk(config, range(7))])
    assert [(p.hits, round(p.loss, 9)) for p in whole.fixed_points] == \
        [(p.hits, round(p.loss, 9)) for p in split.fixed_points]


def test_split_manifold_is_one_entry():
    V = np.eye(3)[:2]
    points = []
    for alpha in (0.2, 0.5, 0.9):
        W = np.array([V[0], alpha * V[1], (1 - alpha) * V[1]])
        Q, M = summary(W, V)
        points.append(signature(0.0, Q, M))
    assert all(np.allclose(points[0], p) for p in points)
    # ... while a genuinely different point is not merged.
    W = np.array([V[0], 0.5 * V[1], 0.5 * V[0]])
    Q, M = summary(W, V)
    assert not np.allclose(points[0], signature(0.0, Q, M))


def test_snapping_zeroes_the_transverse_curvature():
    V = np.eye(3)[:2]
    W = np.array([V[0], 0.7 * V[1], 0.3 * V[1] + np.array([0, 0, 1e-6])])
    snapped = snap_parallel(W, V)
    np.testing.assert_allclose(np.linalg.norm(snapped, axis=1), np.linalg.norm(W, axis=1))
    values = np.linalg.eigvalsh(evaluate(snapped, V, 2).hessian[0].reshape(9, 9))
    assert np.sum(np.abs(values) < 1e-9) == 3   # split + two openings
    # norms are kept, so the split sums to 1 + 2e-12
    assert np.linalg.norm(evaluate(snapped, V, 1).gradient) < 1e-11
    np.testing.assert_allclose(snapped[2], [0, 0.3, 0], atol=1e-11)


def test_over_parameterised_catalog_accounts_for_every_start():
    catalog = find_fixed_points(make_catalog_config(3, 2, dim=3, starts=60, seed=1))
    assert accounted(catalog) == 60
    # Counted from the chunk's own end points, without the catalog's entries.
    config = catalog.config
    ends = run_chunk(config, range(60))
    V = teacher_vectors(config.teacher.P, config.reduced_dim)
    zero_loss = [loss_with_zero_students(W, V) < 1e-10
                 for W, status in zip(ends.students, ends.status) if status != "unconverged"]
    assert catalog.global_fraction == pytest.approx(sum(zero_loss) / 60)
    globals_ = [p for p in catalog.fixed_points if p.kind == "global_minimum"]
    # All split global minima are one entry, with the split direction flat.
    assert len(globals_) == 1 and globals_[0].flat >= 1


def test_unconverged_starts_are_counted_not_dropped():
    config = make_catalog_config(5, 5, starts=6)
    catalog = find_fixed_points(config, options=DescentOptions(max_time=1.0))
    assert catalog.unconverged == 6
    assert catalog.fixed_points == []
    assert catalog.to_json()["unconverged_reasons"] == {"time budget": 6}
    # A round of too few integrator steps (a stiff plateau) is a different reason.
    catalog = find_fixed_points(config, options=DescentOptions(max_steps=20))
    assert catalog.unconverged_reasons == {"step limit": 6}


def test_saddle_on_the_way_is_escaped_and_recorded():
    # Start exactly on the symmetric subspace w_1 = w_2 (an invariant set of the
    # flow containing a saddle), slightly perturbed so the flow can leave it.
    V = teacher_vectors(np.eye(2), 4)
    w = np.array([0.3, 0.3, 0.1, 0.0])
    start = np.stack([w, w + np.array([0, 0, 0, 1e-9])])[None]
    result = descend(start, V, DescentOptions(switch_gradient=1e-3))
    assert result.status[0] == "converged"
    final = result.students[0]
    assert evaluate(final, V, 0).loss[0] < 1e-10
    assert len(result.saddles) >= 1
    saddle = result.saddles[0][1]
    assert np.linalg.norm(evaluate(saddle, V, 1).gradient) < 1e-10
    assert np.linalg.eigvalsh(evaluate(saddle, V, 2).hessian[0].reshape(8, 8)).min() < 0


def test_orthogonal_block_enters_the_index_with_multiplicity():
    config = make_catalog_config(2, 2, dim=9, starts=4)
    catalog = find_fixed_points(config)
    spectrum = catalog.fixed_points[0].spectrum
    assert spectrum.orthogonal_multiplicity == 9 - 4
    assert spectrum.span_multiplicities.sum() == 2 * 4
    inf = find_fixed_points(make_catalog_config(2, 2, dim="inf", starts=4)).fixed_points[0]
    assert inf.spectrum.orthogonal_multiplicity == math.inf


def spurious_share(K, starts=200):
    catalog = find_fixed_points(make_catalog_config(K, K, dim=K, starts=starts, seed=0))
    spurious = [p for p in catalog.fixed_points if p.kind == "local_minimum"]
    return sum(p.hits for p in spurious) / starts, spurious


@pytest.mark.slow
def test_spurious_minima_become_common_as_width_grows():
    # Safran & Shamir (2018) report the share of runs ending in spurious minima
    # growing from well under 1% at k = 6 to about 30% at k = 10.
    share7, _ = spurious_share(7)
    share10, spurious10 = spurious_share(10)
    assert share7 < 0.1
    assert 0.15 < share10 < 0.6
    assert share10 > 2 * share7
    assert all(p.index == 0 and p.min_eigenvalue > 1e-4 for p in spurious10)


@pytest.mark.slow
def test_process_pool_gives_the_same_catalog_as_serial():
    from landscape.running import executors
    config = make_catalog_config(5, 4, starts=120, seed=3)
    a = find_fixed_points(config, executor=executors.serial)
    b = find_fixed_points(config, executor=executors.processes(2))
    assert [(p.hits, p.kind, round(p.loss, 10)) for p in a.fixed_points] == \
        [(p.hits, p.kind, round(p.loss, 10)) for p in b.fixed_points]
    assert a.unconverged == b.unconverged


@pytest.mark.slow
def test_each_start_ends_where_a_tightly_integrated_flow_ends():
    # The descent's step control (error against the step's displacement) must not
    # change basins: compare start by start with scipy's DOP853 at rtol 1e-10,
    # integrated far enough that only the final polish is left to `descend`.
    from scipy.integrate import solve_ivp

    from landscape.maths.starts import draw_starts
    K, S = 10, 30
    config = make_catalog_config(K, K, dim="inf", starts=S, seed=1)
    n = config.reduced_dim
    V = teacher_vectors(config.teacher.P, n)
    W0 = draw_starts(config.seed, range(S), K, K, config.start_dim, n)
    ours = descend(W0, V)

    def rhs(_, y):
        return -evaluate(y.reshape(W0.shape), V, 1).gradient.ravel()

    far = solve_ivp(rhs, (0.0, 3000.0), W0.ravel(), method="DOP853", rtol=1e-10, atol=1e-12)
    reference = descend(far.y[:, -1].reshape(W0.shape), V)
    assert set(ours.status) == set(reference.status) == {"converged"}

    def ends(students):
        loss = np.maximum(evaluate(students, V, 0).loss, 0.0)
        return np.array([signature(l, *summary(snap_parallel(W, V), V))
                         for l, W in zip(loss, students)])

    expected = ends(reference.students)
    assert np.sum(expected[:, 0] > 1e-6) >= 3       # spurious minima are among the ends
    np.testing.assert_allclose(ends(ours.students), expected, atol=1e-6)


# Starts whose flow passes so close to a saddle's stable manifold that a looser
# integration sends them to the other side. Found by descending 6000 starts (K = M = 10;
# seed 6 at d = inf, seed 5 at d = 10; and 600 at seed 1, d = inf) with a Rosenbrock-W
# flow at error tolerances 1e-2 to 1e-1 and checking the starts that changed basin against
# DOP853 at rtol 1e-10 (benchmarks/RESULTS.md, "Rosenbrock-W flow, tried"): at 1e-2 it
# moved 1698 and 3563 of seed 5, at 3e-2 all of these but 84 and 480, which a
# Runge-Kutta-Chebyshev flow moved even at 3e-3.
SENSITIVE_STARTS = [("inf", 1, (84, 480)), ("inf", 6, (253, 493)),
                    (10, 5, (682, 1698, 3563))]


@pytest.mark.slow
@pytest.mark.parametrize("dim, seed, indices", SENSITIVE_STARTS)
def test_starts_next_to_a_basin_boundary_end_where_a_tight_integration_ends(dim, seed,
                                                                            indices):
    from scipy.integrate import solve_ivp

    from landscape.maths.starts import draw_starts
    K = 10
    config = make_catalog_config(K, K, dim=dim, starts=max(indices) + 1, seed=seed)
    n = config.reduced_dim
    V = teacher_vectors(config.teacher.P, n)
    W0 = draw_starts(config.seed, indices, K, K, config.start_dim, n)
    ours = descend(W0, V)

    def rhs(_, y):
        return -evaluate(y.reshape(W0.shape), V, 1).gradient.ravel()

    far = solve_ivp(rhs, (0.0, 5000.0), W0.ravel(), method="DOP853", rtol=1e-10, atol=1e-12)
    reference = descend(far.y[:, -1].reshape(W0.shape), V)
    ours_loss = np.maximum(evaluate(ours.students, V, 0).loss, 0.0)
    reference_loss = np.maximum(evaluate(reference.students, V, 0).loss, 0.0)
    np.testing.assert_allclose(ours_loss, reference_loss, atol=1e-8)


def test_zero_loss_ends_split_or_padded_are_one_global_entry():
    # K = M + 1: a split of the teacher, the same split left slightly open (angle
    # 2e-3 rad, loss ~1e-11 < 1e-10, beyond the snapping angle), and padded ends with
    # the zero student in different slots; all one global minimum, every hit counted.
    config = make_catalog_config(4, 3, dim="inf", starts=5, seed=0)
    V = teacher_vectors(config.teacher.P, config.reduced_dim)
    split = np.vstack([V, 0.0 * V[0]])
    split[0], split[3] = 0.6 * V[0], 0.4 * V[0]
    tilt = np.zeros(config.reduced_dim)
    tilt[5] = 1.0
    opened = split.copy()
    opened[0] = 0.6 * (np.cos(1e-3) * V[0] + np.sin(1e-3) * tilt)
    opened[3] = 0.4 * (np.cos(1e-3) * V[0] - np.sin(1e-3) * tilt * 1.5)
    assert 0 < evaluate(opened, V, 0).loss[0] < 1e-10
    padded = np.vstack([V, np.zeros((1, config.reduced_dim))])
    padded_first = padded[[3, 1, 0, 2]]
    students = np.stack([split, opened, padded, padded_first, split[[1, 0, 3, 2]]])
    status = np.array(["converged", "converged", "padded", "padded", "converged"], dtype=object)
    chunk = ChunkResult(np.arange(5), students, status, np.zeros(5), [])
    catalog = assemble(config, [chunk])
    assert [p.kind for p in catalog.fixed_points] == ["global_minimum"]
    assert catalog.fixed_points[0].hits == 5 and catalog.global_fraction == 1.0
    assert catalog.dead_points == [] and catalog.padded_global == 2
    data = catalog.to_json()["nondifferentiable"]
    assert data["count"] == 0 and data["in_global_minimum"] == 2


def test_padded_ends_above_zero_loss_merge_and_are_classified():
    # The K = M = 6 spurious minimum with a zero student, in two student orders.
    config = make_catalog_config(7, 6, dim=6, starts=3, seed=0)
    n = config.reduced_dim
    V = teacher_vectors(config.teacher.P, n)
    W0 = __import__("landscape.maths.starts", fromlist=["draw_starts"]).draw_starts(
        0, [45], 6, 6, config.start_dim, n)
    W = descend(W0, V).students[0]
    padded = np.vstack([W, np.zeros((1, n))])
    students = np.stack([padded, padded[[6, 2, 0, 1, 5, 4, 3]], padded])
    chunk = ChunkResult(np.arange(3), students,
                        np.array(["padded", "padded", "unconverged"], dtype=object),
                        np.zeros(3), [])
    catalog = assemble(config, [chunk])
    assert catalog.fixed_points == [] and catalog.unconverged == 1
    [entry] = catalog.dead_points
    assert entry.hits == 2 and entry.dead == 1 and entry.kind == "saddle"
    assert entry.index == 0 and entry.padding_min < -1e-3
    assert entry.loss == pytest.approx(evaluate(W, V, 0).loss[0], abs=1e-12)
    assert catalog.global_fraction == 0.0
    [point] = catalog.to_json()["nondifferentiable"]["points"]
    assert {"dead", "padding_min", "kind", "index", "loss", "hits", "fraction",
            "split_curvature"} <= set(point)
