"""Summary-statistic dynamics against independent computations: Monte Carlo for the
SGD second moment, weight-space gradient flow, and weight-space one-pass SGD."""
import numpy as np
import pytest
from scipy.integrate import solve_ivp

from landscape.methods.catalog import find_fixed_points
from landscape.config import make_catalog_config
from landscape.methods.flows import drift, integrate, simulate_sgd
from landscape.maths.kernels import evaluate
from landscape.maths.moments import second_moment
from landscape.methods.trajectories import catalog_trajectories


def monte_carlo_second_moment(U, K, samples, seed=0, chunks=16):
    rng = np.random.default_rng(seed)
    signs = np.r_[np.ones(K), -np.ones(U.shape[0] - K)]
    parts = []
    for _ in range(chunks):
        X = rng.standard_normal((samples // chunks, U.shape[1])) @ U.T
        A = (X[:, :K] > 0) * (np.maximum(X, 0) @ signs)[:, None]
        parts.append(A.T @ A / len(X))
    parts = np.array(parts)
    return parts.mean(0), parts.std(0) / np.sqrt(chunks)


def configurations():
    rng = np.random.default_rng(4)
    V = np.eye(5)[:2]
    return {
        "random": (rng.standard_normal((3, 5)) / 2, rng.standard_normal((2, 5)) / 1.5),
        "aligned (singular Gram)": (np.vstack([V, rng.standard_normal(5) / 2]), V),
        "split (singular Gram)": (np.vstack([V[0], 0.5 * V[1], 0.3 * V[1]]), V),
        "antiparallel": (np.vstack([-0.7 * V[0], V[1], 0.4 * V[0] + 0.2 * V[1]]), V),
    }


@pytest.mark.slow
@pytest.mark.parametrize("name", list(configurations()))
def test_second_moment_matches_monte_carlo(name):
    W, V = configurations()[name]
    U = np.vstack([W, V])
    S = second_moment(U @ U.T, 3)
    mc, se = monte_carlo_second_moment(U, 3, 12_000_000, chunks=24)
    scale = np.abs(mc).max()
    assert se.max() < 1e-3 * scale             # the check resolves 1e-3 relative
    assert np.all(np.abs(S - mc) < 4 * se + 1e-12), (S, mc, se)


@pytest.mark.parametrize("name", list(configurations()))
def test_second_moment_quadrature_is_converged(name):
    W, V = configurations()[name]
    U = np.vstack([W, V])
    omega = U @ U.T
    fine = second_moment(omega, 3, nodes=64)
    assert np.abs(second_moment(omega, 3) - fine).max() < 1e-6 * np.abs(fine).max()


def test_catalog_fixed_points_are_stationary_for_the_gradient_flow_ode():
    catalog = find_fixed_points(make_catalog_config(6, 6, dim=6, starts=300))
    P = catalog.config.teacher.P
    assert len(catalog.fixed_points) >= 2
    for point in catalog.fixed_points:
        dQ, dM = drift(point.Q, point.M, P, 0.0)
        assert max(np.abs(dQ).max(), np.abs(dM).max()) < 1e-9


def test_gradient_flow_ode_matches_weight_space_flow():
    rng = np.random.default_rng(2)
    K, M, n = 3, 2, 5
    W0, V = rng.standard_normal((K, n)) / 2, np.eye(n)[:M]
    times = np.linspace(0, 8, 9)
    weights = solve_ivp(lambda t, y: -evaluate(y.reshape(K, n), V, 1).gradient.ravel(),
                        (0, 8), W0.ravel(), t_eval=times, rtol=1e-10, atol=1e-12)
    ode = integrate(W0 @ W0.T, W0 @ V.T, np.eye(M), 0.0, times, rtol=1e-10, atol=1e-12)
    for i, y in enumerate(weights.y.T):
        W = y.reshape(K, n)
        np.testing.assert_allclose(ode.Q[i], W @ W.T, atol=1e-6)
        np.testing.assert_allclose(ode.M[i], W @ V.T, atol=1e-6)
        assert ode.loss[i] == pytest.approx(evaluate(W, V, 0).loss[0], abs=1e-7)


def test_small_learning_rate_sgd_ode_is_gradient_flow_in_rescaled_time():
    rng = np.random.default_rng(3)
    W0, V = rng.standard_normal((2, 4)) / 2, np.eye(4)[:2]
    lr = 1e-3
    gf = integrate(W0 @ W0.T, W0 @ V.T, np.eye(2), 0.0, np.linspace(0, 4, 5))
    sgd = integrate(W0 @ W0.T, W0 @ V.T, np.eye(2), lr, np.linspace(0, 4 / lr, 5))
    # The lr^2 term is lr times smaller than the drift: O(lr) differences.
    np.testing.assert_allclose(sgd.Q, gf.Q, atol=5 * lr)
    np.testing.assert_allclose(sgd.M, gf.M, atol=5 * lr)


@pytest.fixture(scope="module")
def sgd_setup():
    rng = np.random.default_rng(0)
    W0, V = 0.5 * rng.standard_normal((2, 4)), np.eye(4)[:2]
    return W0 @ W0.T, W0 @ V.T, np.eye(2), np.linspace(0, 2, 5)


@pytest.mark.slow
def test_ode_tracks_the_simulation_with_error_shrinking_like_one_over_sqrt_d(sgd_setup):
    Q0, M0, P, times = sgd_setup
    ode = integrate(Q0, M0, P, 0.5, times)
    rms = {}
    for d in (250, 2000):
        sim = simulate_sgd(Q0, M0, P, 0.5, d, 12, times, seed=d)
        rms[d] = np.sqrt(np.mean((sim.M[:, 1:] - ode.M[None, 1:]) ** 2))
    # sqrt(2000 / 250) = 2.83
    assert 1.8 < rms[250] / rms[2000] < 4.5, rms


def test_sgd_ode_beats_gradient_flow_where_the_learning_rate_matters(sgd_setup):
    Q0, M0, P, times = sgd_setup
    lr = 1.5
    sgd = integrate(Q0, M0, P, lr, times)
    gf = integrate(Q0, M0, P, 0.0, lr * times)           # the lr-linear part alone
    sim = simulate_sgd(Q0, M0, P, lr, 1500, 8, times, seed=7)
    mean = sim.Q.mean(0)
    err_sgd = np.abs(mean - sgd.Q).max()
    err_gf = np.abs(mean - gf.Q).max()
    assert err_sgd < 0.25 * err_gf, (err_sgd, err_gf)


def test_drift_is_finite_and_stationary_at_singular_global_minima():
    V = np.eye(3)[:2]
    for W in (V.copy(), np.vstack([V[0], 0.4 * V[1], 0.6 * V[1]])):
        Q, M = W @ W.T, W @ V.T
        for lr in (0.0, 0.7):
            dQ, dM = drift(Q, M, np.eye(2), lr)
            # S = 0 exactly here (f = f*): what is left is the 8-node quadrature
            # error on O(1) terms that cancel (documented: 1e-6 relative).
            assert np.abs(dQ).max() < 1e-8 and np.abs(dM).max() < 1e-12


def test_trajectories_of_catalog_starts_end_where_the_catalog_says():
    catalog = find_fixed_points(make_catalog_config(6, 6, dim=6, starts=120))
    tr = catalog_trajectories(catalog, points=30)
    S, T = 120, 30
    assert tr.Q.shape == (S, T, 6, 6) and tr.M.shape == (S, T, 6, 6) and tr.loss.shape == (S, T)
    assert tr.Q.dtype == np.float32
    counts = np.bincount(tr.label[tr.label >= 0], minlength=len(catalog.fixed_points))
    assert counts.tolist() == [p.hits for p in catalog.fixed_points]
    # The loss decreases along gradient flow.
    assert np.all(np.diff(tr.loss.astype(float), axis=1) < 1e-6)
    # Trajectory s starts at catalog start s (the starts are integrated in chunks).
    from landscape.maths.starts import draw_starts
    config = catalog.config
    W0 = draw_starts(config.seed, range(S), 6, 6, config.start_dim, config.reduced_dim)
    np.testing.assert_allclose(tr.Q[:, 0], W0 @ W0.transpose(0, 2, 1), rtol=1e-6, atol=1e-6)


def test_divergence_at_a_too_large_learning_rate_is_reported_not_hung():
    Q0, M0, P = 0.3 * np.eye(2), 0.1 * np.eye(2), np.eye(2)
    times = np.linspace(0, 5, 6)
    ode = integrate(Q0, M0, P, 5.0, times)
    sim = simulate_sgd(Q0, M0, P, 5.0, 200, 2, times, seed=0)
    assert ode.diverged_at is not None and ode.diverged_at < 5
    assert sim.diverged_at is not None
    assert ode.t.size == ode.Q.shape[0] < times.size
    # a stable learning rate runs to the end
    assert integrate(Q0, M0, P, 0.5, times).diverged_at is None
