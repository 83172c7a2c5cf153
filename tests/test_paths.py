"""Paths between minima: known answers (split segments, permuted copies, a textbook
surface), invariances, agreement of NEB and the string method, saddle confirmation."""
import math

import numpy as np
import pytest

from landscape.config import make_paths_config
from landscape.maths.kernels import evaluate
from landscape.maths.teachers import teacher_vectors
from landscape.methods import paths
from landscape.methods.paths import (BandOptions, align, confirm_saddle, dense_scan, fall_off,
                                     initial_band, neb, network_energy, path_connection,
                                     string_method, transform)


# ----------------------------------------------------------------------------- Müller–Brown
# K. Müller and L. D. Brown, Theor. Chim. Acta 53, 75 (1979), Table 1: the three minima
# and the two saddle points (by minimisation of |grad E|^2), coordinates and energies to
# 3 decimals, as transcribed in the docstring of pes/mueller_brown.py of the public
# repository alexei-matveev/pts (commit 003bc32e).
MB_A = np.array([-200.0, -100.0, -170.0, 15.0])
MB_a = np.array([-1.0, -1.0, -6.5, 0.7])
MB_b = np.array([0.0, 0.0, 11.0, 0.6])
MB_c = np.array([-10.0, -10.0, -6.5, 0.7])
MB_x0 = np.array([1.0, 0.0, -0.5, -1.0])
MB_y0 = np.array([0.0, 0.5, 1.5, 1.0])
MB_MINIMA = {"A": (-0.558, 1.442, -146.700), "B": (0.623, 0.028, -108.167),
             "C": (-0.050, 0.467, -80.768)}
MB_SADDLES = {"AC": (-0.822, 0.624, -40.665), "CB": (0.212, 0.293, -72.249)}
MB_DIGITS = 1e-3            # the table's last digit


def muller_brown(X):
    """Energy (B,) and gradient (B, 2) of the Müller–Brown surface at points X (B, 2)."""
    x, y = X[:, :1] - MB_x0, X[:, 1:] - MB_y0
    terms = MB_A * np.exp(MB_a * x * x + MB_b * x * y + MB_c * y * y)
    gx = np.sum(terms * (2 * MB_a * x + MB_b * y), axis=1)
    gy = np.sum(terms * (MB_b * x + 2 * MB_c * y), axis=1)
    return terms.sum(axis=1), np.stack([gx, gy], axis=1)


MB_OPTIONS = BandOptions(spring=100.0, force_tol=1e-6, dt=1e-3, dt_max=0.01, max_step=0.01,
                         climb_force=1.0, string_dt=1e-4, string_max_iter=20000,
                         max_iter=20000, patience=5000)


def test_muller_brown_gradient_matches_finite_differences():
    X = np.array([[0.1, 0.7], [-0.6, 1.2]])
    h = 1e-6
    for i in range(2):
        e = np.zeros(2)
        e[i] = h
        fd = (muller_brown(X + e)[0] - muller_brown(X - e)[0]) / (2 * h)
        np.testing.assert_allclose(muller_brown(X)[1][:, i], fd, rtol=1e-6)


@pytest.mark.parametrize("first, last, saddle", [("A", "C", "AC"), ("C", "B", "CB")])
def test_muller_brown_saddles(first, last, saddle):
    start = np.array(MB_MINIMA[first][:2])
    end = np.array(MB_MINIMA[last][:2])
    # Minima as published to 3 decimals: polish them on the surface first.
    for _ in range(3000):
        start = start - 1e-4 * muller_brown(start[None])[1][0]
        end = end - 1e-4 * muller_brown(end[None])[1][0]
    np.testing.assert_allclose(start, MB_MINIMA[first][:2], atol=1e-3)
    assert muller_brown(start[None])[0][0] == pytest.approx(MB_MINIMA[first][2], abs=MB_DIGITS)
    band = neb(muller_brown, start, end, 16, MB_OPTIONS)
    assert band.converged
    top = band.images[band.top]
    np.testing.assert_allclose(top, MB_SADDLES[saddle][:2], atol=1.5e-3)
    assert band.barrier_energy == pytest.approx(MB_SADDLES[saddle][2], abs=MB_DIGITS)
    assert np.linalg.norm(muller_brown(top[None])[1]) < 1e-5
    # The string's climbing image to the published precision; its agreement with NEB
    # to 1e-6 is tested on the network below.
    string = string_method(muller_brown, start, end, 16, MB_OPTIONS)
    np.testing.assert_allclose(string.images[string.top], MB_SADDLES[saddle][:2], atol=1.5e-3)
    assert string.barrier_energy == pytest.approx(MB_SADDLES[saddle][2], abs=MB_DIGITS)


# ----------------------------------------------------------------------------- the network
def swap_pair():
    """K = M = 2, d = inf: W = V and its student-swapped copy (labels kept)."""
    V = teacher_vectors(np.eye(2), 4)
    return V, V.copy(), V[[1, 0]].copy()


@pytest.fixture(scope="module")
def swap_connection():
    V, A, B = swap_pair()
    return (V, A, B) + path_connection(A, B, V, math.inf, images=12)


def test_permuted_copies_at_K_equal_M_are_separated_by_a_confirmed_saddle(swap_connection):
    V, A, B, band, saddle, direction, string_band, dips = swap_connection
    assert not dips
    assert saddle.confirmed and saddle.index == 1 and saddle.grad_norm < 1e-10
    assert saddle.loss > 0.05                       # a positive barrier
    # Both sides of the saddle fall into the global minimum.
    ends, status = fall_off(saddle, direction, V)
    assert list(status) == ["converged", "converged"]
    losses = evaluate(ends, V, 0).loss
    assert np.all(losses < 1e-12)
    # ... and into different copies: one near A, the other near B.
    distances = [[np.linalg.norm(e - X) for X in (A, B)] for e in ends]
    assert min(distances[0]) < 1e-6 and min(distances[1]) < 1e-6
    assert np.argmin(distances[0]) != np.argmin(distances[1])


def test_dense_scan_of_the_path_never_exceeds_the_saddle(swap_connection):
    V, A, B, band, saddle = swap_connection[:5]
    _, energies, _ = dense_scan(network_energy(V), band.images, per_segment=30)
    assert energies.max() <= saddle.loss + 1e-9


def test_doubling_images_changes_the_barrier_by_less_than_1e_6(swap_connection):
    V, A, B, band = swap_connection[:4]
    doubled = path_connection(A, B, V, math.inf, images=24, string=False)[1]
    assert abs(doubled.loss - band.barrier_energy) < 1e-6


def test_string_from_the_band_agrees_with_neb(swap_connection):
    band, string = swap_connection[3], swap_connection[6]
    assert string is not None
    assert abs(string.barrier_energy - band.barrier_energy) < 1e-6


@pytest.mark.slow
def test_string_from_a_straight_start_agrees_with_neb(swap_connection):
    # About 5000 steps (7 s): the string's own start, independent of the band.
    V, A, B, band = swap_connection[:4]
    string = string_method(network_energy(V), A, B, 24, BandOptions(string_max_iter=20000),
                           initial=initial_band(A, B, 24))
    assert string.converged
    assert abs(string.barrier_energy - band.barrier_energy) < 1e-6


@pytest.mark.slow
def test_string_agrees_with_neb_over_the_shallow_saddle_of_the_K8_d8_catalog():
    # About 10 s: the catalog, NEB from #2 to #0, and a string from the straight line.
    # The saddle lies 2 % of the way along the path from #2 (barrier 7.5e-6): only the
    # climbing image resolves it (a spline's top was 1.8e-4 off).
    config = make_paths_config(8, 8, dim=8, starts=200)
    from landscape.methods.catalog import find_fixed_points
    catalog = find_fixed_points(config.catalog)
    V = teacher_vectors(config.catalog.teacher.P, 8)
    minima = paths.minima_of_catalog(catalog, V)
    assert [m.catalog_index for m in minima][:3] == [0, 1, 2]
    registry = paths._Registry(minima, V, 8, len(catalog.fixed_points))
    found = [c for c in paths.connect_pair(registry, 2, 0, string=False)
             if c.confirmed and {c.source, c.target} == {0, 2}]
    assert found
    neb_connection = found[0]
    assert neb_connection.barrier < 1e-4
    energy = network_energy(V)
    images = neb_connection.images
    string = string_method(energy, images[0], images[-1], 24,
                           BandOptions(string_max_iter=3000), initial=initial_band(images[0], images[-1], 24),
                           refine=lambda W: paths.polish(W, V)[0])
    assert np.linalg.norm(energy(string.images[[string.top]])[1]) < 1e-10
    assert abs(string.barrier_energy - max(neb_connection.loss)) < 1e-6
    assert abs(string.barrier_energy - neb_connection.saddle.loss) < 1e-6


def test_barrier_does_not_depend_on_order_or_labels(swap_connection):
    V, A, B, band = swap_connection[:4]
    backwards = path_connection(B, A, V, math.inf, images=12, string=False)[1]
    assert backwards.loss == pytest.approx(band.barrier_energy, abs=1e-9)
    # Relabel both endpoints the same way and rotate outside the teacher span.
    rng = np.random.default_rng(3)
    R = np.linalg.qr(rng.standard_normal((2, 2)))[0]
    moved = [transform(X[[1, 0]], V, np.array([1, 0]), R) for X in (A, B)]
    relabelled = path_connection(*moved, V, math.inf, images=12, string=False)[1]
    assert relabelled.loss == pytest.approx(band.barrier_energy, abs=1e-9)


def test_permuted_copies_at_K_equal_M_plus_one_are_joined_at_zero_loss():
    # K = 3, M = 2: student 3 takes over half of teacher 2, so the students can swap
    # roles along segments of zero loss (each slide passes a zero student).
    V = teacher_vectors(np.eye(2), 5)
    A = np.zeros((3, 5))
    A[0], A[1], A[2] = V[0], 0.5 * V[1], 0.5 * V[1]
    B = A[[1, 0, 2]]
    band = neb(network_energy(V), A, B, 24, BandOptions(climb=False))
    assert band.converged
    assert band.energy.max() < 1e-9
    # The straight band starts high: the zero comes from the relaxation.
    assert network_energy(V)(initial_band(A, B, 24, 0.0).reshape(24, 3, 5))[0].max() > 0.01


def test_points_on_one_split_segment_are_joined_at_zero_barrier():
    V = teacher_vectors(np.eye(2), 5)
    A = np.zeros((3, 5))
    A[0], A[1], A[2] = 0.3 * V[0], 0.7 * V[0], V[1]
    B = A.copy()
    B[0], B[1] = 0.8 * V[0], 0.2 * V[0]
    # Relabelled and rotated outside the span: alignment must bring it back.
    rng = np.random.default_rng(1)
    R = np.linalg.qr(rng.standard_normal((3, 3)))[0]
    moved = transform(B[[2, 0, 1]], V, np.arange(2), R)
    aligned = align(A, moved, V).students
    band, saddle, direction, string_band, dips = path_connection(A, aligned, V, math.inf, 12,
                                                                 string=False)
    # Zero up to the band's force tolerance (1e-7; the loss grows like the cube of the
    # distance from the segment).
    assert not dips and band.energy.max() < 1e-9
    assert saddle.index == 0 and saddle.loss < 1e-9


def test_alignment_undoes_every_symmetry():
    rng = np.random.default_rng(0)
    V = teacher_vectors(np.eye(3), 7)
    W = rng.standard_normal((4, 7))
    R = np.linalg.qr(rng.standard_normal((4, 4)))[0]
    copy = transform(W[[2, 0, 3, 1]], V, np.array([1, 2, 0]), R)
    # A symmetry: the loss is unchanged ...
    assert evaluate(copy, V, 0).loss[0] == pytest.approx(evaluate(W, V, 0).loss[0], rel=1e-12)
    result = align(W, copy, V)
    assert result.distance < 1e-10
    # ... and a teacher permutation that does not keep P is never used.
    P = np.diag([1.0, 2.0, 3.0])
    U = teacher_vectors(P, 7)
    moved = transform(W[[1, 0, 2, 3]], U, np.array([1, 0, 2]), np.eye(4))
    assert evaluate(moved, U, 0).loss[0] != pytest.approx(evaluate(W, U, 0).loss[0], rel=1e-6)
    assert np.array_equal(align(W, moved, U).teacher_order, np.arange(3))


def test_confirmation_rejects_a_minimum():
    V = teacher_vectors(np.eye(2), 4)
    saddle, direction = confirm_saddle(V.copy() + 1e-4, V, math.inf)
    assert not saddle.confirmed and direction is None and saddle.index == 0


def test_disconnectivity_tree_merges_at_the_highest_saddle_on_the_tree_path():
    def minimum(i, loss):
        W = np.zeros((1, 1))
        return paths.Minimum(i, loss, "local_minimum", 0.0, W, W, W)

    def edge(a, b, level):
        c = paths.Connection.__new__(paths.Connection)
        c.source, c.target = a, b
        c.saddle = paths.Saddle(level, 1, 0, -1.0, 0.0, None, None, None, True)
        c.ends = [a, b]
        return c

    minima = [minimum(0, 0.0), minimum(1, 0.2), minimum(2, 0.1), minimum(3, 0.3)]
    edges = [edge(1, 0, 0.5), edge(2, 0, 0.4), edge(1, 2, 0.45), edge(3, 1, 0.9),
             edge(3, 0, 1.2)]
    tree = paths.disconnectivity_tree(minima, edges)
    assert [m["loss"] for m in tree["merges"]] == [0.4, 0.45, 0.9]
    assert paths.merge_level(tree, 0, 1) == 0.45      # via 2, not the direct 0.5
    assert paths.merge_level(tree, 3, 0) == 0.9
    assert sorted(tree["leaves"]) == [0, 1, 2, 3]


def test_confirmation_rejects_an_index_two_point():
    # K = M = 2, d = n = 4: both students equal to a (v1 + v2), a critical point by
    # symmetry with several negative curvatures.
    from scipy.optimize import brentq

    from landscape.maths.spectrum import hessian_spectrum

    V = teacher_vectors(np.eye(2), 4)
    u = V.sum(axis=0) / np.linalg.norm(V.sum(axis=0))
    a = brentq(lambda s: evaluate(np.tile(s * u, (2, 1)), V, 1).gradient[0][0] @ u, 0.05, 3.0)
    W = np.tile(a * u, (2, 1))
    assert hessian_spectrum(W, V, 4).index >= 2
    saddle, direction = confirm_saddle(W, V, 4)
    assert saddle.confirmed == (hessian_spectrum(saddle.students, V, 4).index == 1)
    assert saddle.confirmed == (direction is not None)


def test_figures_draw_the_tree_and_the_profile_from_json():
    from landscape.figures import disconnectivity_figure, path_profile_figure

    def minimum(i, loss, kind, fraction):
        return {"catalog_index": i, "loss": loss, "kind": kind, "fraction": fraction,
                "Q": [[1.0]], "M": [[1.0]], "students": [[1.0]]}

    result = {"minima": [minimum(0, 0.0, "global_minimum", 0.9),
                         minimum(3, 0.02, "local_minimum", 0.1),
                         minimum(5, 0.04, "local_minimum", 0.0)],
              "tree": {"leaves": [0, 3, 5],
                       "merges": [{"loss": 0.03, "joins": [[0], [3]]},
                                  {"loss": 0.05, "joins": [[0, 3], [5]]}]},
              "connections": [{
                  "from": 3, "to": 0, "barrier": 0.01, "confirmed": True, "flat": False,
                  "saddle": {"loss": 0.03, "index": 1},
                  "path": {"arc_length": [0.0, 0.5, 1.0], "loss": [0.02, 0.03, 0.0],
                           "norms": [[1.0, 0.9], [1.0, 0.95], [1.0, 1.0]],
                           "overlaps": [[[1.0, 0.0], [0.2, 0.8]], [[1.0, 0.0], [0.5, 0.5]],
                                        [[1.0, 0.0], [0.0, 1.0]]],
                           "saddle_arc_length": 0.5}}]}
    fig = disconnectivity_figure(result)
    lines = fig.data[0]
    # Merge levels are drawn at the merge losses: horizontal segments at 0.03 and 0.05.
    horizontal = {round(y0, 12) for x0, x1, y0, y1 in zip(lines.x, lines.x[1:], lines.y,
                                                          lines.y[1:])
                  if None not in (x0, x1, y0, y1) and x0 != x1 and y0 == y1}
    assert horizontal == {0.03, 0.05}
    leaves = {round(x): size for trace in fig.data[2:] for x, size in
              zip(trace.x, trace.marker.size)}
    assert leaves[0] > leaves[1] > leaves[2]          # sized by basin share
    assert disconnectivity_figure(result, log=True).layout.yaxis.type == "log"
    profile = path_profile_figure(result, 0)
    assert list(profile.data[1].x) == [0.5] and list(profile.data[1].y) == [0.03]


# ----------------------------------------------------------------------------- command line
def run_cli(args, capsys):
    from landscape.cli import main

    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("args", [
    ["--students", "x", "--teachers", "3"],
    ["--students", "3", "--teachers", "3", "--images", "2"],
    ["--students", "30", "--teachers", "3"],
    ["--students", "3", "--teachers", "3", "--dim", "1"],
    ["--students", "3"],
])
def test_paths_command_rejects_bad_input_with_one_line(args, capsys):
    code, out, err = run_cli(["paths"] + args, capsys)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("landscape: error:")


def test_paths_command_json_keys(capsys, tmp_path):
    import json

    target = tmp_path / "paths.json"
    code, out, err = run_cli(["paths", "--students", "3", "--teachers", "3", "--starts", "8",
                              "--format", "json", "--output", str(target)], capsys)
    assert code == 0
    data = json.loads(target.read_text())
    assert set(data) == {"config", "engine_version", "seconds", "minima", "connections", "tree"}
    assert data["config"]["images"] == 24
    assert [m["kind"] for m in data["minima"]] == ["global_minimum"]
    assert set(data["minima"][0]) >= {"catalog_index", "loss", "kind", "Q", "M"}
    assert data["connections"] == [] and data["tree"] == {"leaves": [0], "merges": []}


@pytest.mark.slow
def test_every_minimum_of_the_K8_d8_catalog_is_connected_through_confirmed_saddles():
    # About a minute: the catalog of the lecture example and all its connections.
    from landscape.methods.paths import Connectivity, find_connections
    from landscape.maths.spectrum import hessian_spectrum

    config = make_paths_config(8, 8, dim=8, starts=200)
    result = find_connections(config)
    data = result.to_json()
    again = Connectivity.from_json(data, config)
    assert again.to_json()["connections"] == data["connections"]
    assert sorted(set(x for m in data["tree"]["merges"] for side in m["joins"] for x in side)) \
        == sorted(m["catalog_index"] for m in data["minima"])
    V = teacher_vectors(config.catalog.teacher.P, 8)
    losses = {m.catalog_index: m.loss for m in result.minima}
    for c in result.connections:
        if not c.confirmed:
            continue
        assert hessian_spectrum(c.saddle.students, V, 8).index == 1
        assert c.barrier == pytest.approx(c.saddle.loss - losses[c.source], abs=1e-15)
        assert c.barrier > 0 and max(c.loss) <= c.saddle.loss + 1e-9
    # The barrier out of the spurious minimum does not depend on how the global minimum
    # is labelled: relabel its students and teachers at random, align, connect again.
    from dataclasses import replace

    rng = np.random.default_rng(7)

    def barrier(minima):
        registry = paths._Registry(minima, V, 8, len(minima))
        found = paths.connect_pair(registry, 1, 0, string=False)
        return min(c.saddle.loss for c in found
                   if c.confirmed and {c.source, c.target} == {0, 1})

    minima = result.minima[:2]
    B = minima[0].students
    moved = transform(B[rng.permutation(8)], V, rng.permutation(8), np.eye(0))
    relabelled = [replace(minima[0], students=moved), minima[1]]
    assert barrier(relabelled) == pytest.approx(barrier(minima), abs=1e-9)


def test_network_energy_is_the_engine_loss_and_gradient():
    rng = np.random.default_rng(5)
    V = teacher_vectors(np.array([[1.0, 0.3], [0.3, 2.0]]), 5)
    X = rng.standard_normal((4, 3, 5))
    X[0, 1] = 2.0 * X[0, 0]                     # a parallel pair
    loss, gradient = network_energy(V)(X)
    np.testing.assert_allclose(loss, evaluate(X, V, 0).loss, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(gradient, evaluate(X, V, 1).gradient, rtol=1e-13, atol=1e-15)


def test_path_plane_passes_through_both_ends_and_the_saddle(swap_connection):
    from landscape.figures import path_plane_figure
    from landscape.running.service import path_plane

    V, A, B, band, saddle, direction, string_band, dips = swap_connection
    connection = paths._connection(0, 0, band, saddle, string_band, [0, 0], V, {0: 0.0})
    result = {"connections": [connection.to_json()]}
    config = make_paths_config(2, 2, dim="inf")
    plane = path_plane(result, 0, config, size=5, margin=0.0)
    loss = np.array(plane["loss"])
    # Grid corners a = 0 and a = |B - A| at b = 0 are not on the grid unless the grid
    # holds b = 0: with margin 0 and 5 points, b runs -h, -h/2, 0, h/2, h.
    assert loss[0, 2] == pytest.approx(0.0, abs=1e-12)
    assert loss[-1, 2] == pytest.approx(0.0, abs=1e-12)
    s = plane["saddle"]
    W = (A.ravel() + s["a"] * (B - A).ravel() / np.linalg.norm(B - A)).reshape(A.shape)
    # The saddle is where the plane's coordinates say it is.
    normal = (saddle.students - W).ravel()
    assert abs(np.linalg.norm(normal) - abs(s["b"])) < 1e-12
    assert len(path_plane_figure(plane).data) == 3


def test_natural_spline_matches_scipy():
    from scipy.interpolate import CubicSpline

    rng = np.random.default_rng(2)
    s = np.concatenate([[0.0], np.cumsum(rng.uniform(0.1, 0.5, 11))])
    Y = rng.standard_normal((12, 3))
    ours = paths.NaturalSpline(s, Y)
    theirs = CubicSpline(s, Y, axis=0, bc_type="natural")
    t = np.linspace(0.0, s[-1], 97)
    np.testing.assert_allclose(ours(t), theirs(t), atol=1e-13)
    np.testing.assert_allclose(ours(t, 1), theirs(t, 1), atol=1e-12)
