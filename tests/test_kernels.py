"""Closed forms against independent computations: Monte Carlo, finite differences,
a plain full-dimensional implementation, and the check values of SCIENCE.md."""
import numpy as np
import pytest

from landscape.maths.kernels import FlowGradient, evaluate, flow_gradient, teacher_constant
from numerics import fd_hessian


def plain_loss(W, V):
    """Loss in full dimension, pair by pair, with nothing shared with the engine."""
    def kappa(a, b):
        na, nb = np.linalg.norm(a), np.linalg.norm(b)
        t = np.arccos(np.clip(a @ b / (na * nb), -1, 1))
        return na * nb * (np.sin(t) + (np.pi - t) * np.cos(t)) / (2 * np.pi)
    total = 0.0
    for a in W:
        for b in W:
            total += 0.5 * kappa(a, b)
        for v in V:
            total -= kappa(a, v)
    for v in V:
        for u in V:
            total += 0.5 * kappa(v, u)
    return total


def fd_gradient(W, V, h=1e-6):
    g = np.zeros_like(W)
    for i in np.ndindex(W.shape):
        e = np.zeros_like(W)
        e[i] = h
        g[i] = (plain_loss(W + e, V) - plain_loss(W - e, V)) / (2 * h)
    return g


@pytest.fixture
def random_point():
    rng = np.random.default_rng(7)
    return rng.standard_normal((3, 6)), rng.standard_normal((2, 6))


def test_loss_matches_monte_carlo():
    rng = np.random.default_rng(1)
    W, V = rng.standard_normal((3, 5)) / 2, rng.standard_normal((2, 5)) / 2
    samples = 1_000_000
    total, total_sq = 0.0, 0.0
    for _ in range(10):
        x = rng.standard_normal((samples // 10, 5))
        err = np.maximum(x @ W.T, 0).sum(1) - np.maximum(x @ V.T, 0).sum(1)
        sq = 0.5 * err ** 2
        total += sq.sum()
        total_sq += (sq ** 2).sum()
    mean = total / samples
    stderr = np.sqrt((total_sq / samples - mean ** 2) / samples)
    assert abs(evaluate(W, V, 0).loss[0] - mean) < 4 * stderr


def test_loss_matches_plain_full_dimensional_computation(random_point):
    W, V = random_point
    assert evaluate(W, V, 0).loss[0] == pytest.approx(plain_loss(W, V), rel=1e-12)


def test_gradient_matches_finite_differences(random_point):
    W, V = random_point
    g = evaluate(W, V, 1).gradient[0]
    np.testing.assert_allclose(g, fd_gradient(W, V), atol=1e-8)


def test_flow_gradient_matches_finite_differences(random_point):
    W, V = random_point
    np.testing.assert_allclose(flow_gradient(W[None], V)[0], fd_gradient(W, V), atol=1e-8)
    # and the full kernel, over a batch with teachers of any norm
    rng = np.random.default_rng(3)
    batch, V = rng.standard_normal((5, 4, 7)), rng.standard_normal((3, 7))
    np.testing.assert_allclose(flow_gradient(batch, V), evaluate(batch, V, 1).gradient,
                               atol=1e-12)


def test_teacher_flow_gradient_is_the_closed_form_gradient():
    rng = np.random.default_rng(5)
    for K, M, n in ((4, 3, 7), (6, 6, 6), (3, 5, 9)):
        batch, V = rng.standard_normal((5, K, n)), rng.standard_normal((M, n))
        kernel = FlowGradient(V)
        expected = evaluate(batch, V, 1).gradient
        np.testing.assert_allclose(kernel.gradient(batch), expected, atol=1e-12)
        out = np.empty_like(batch)
        kernel.velocity(batch, out=out)
        np.testing.assert_allclose(out, -expected, atol=1e-12)
        # a dead (zero) student gets zero; the others see the network without it
        batch[2, 1] = 0.0
        alive = np.delete(batch[2], 1, axis=0)[None]
        got = kernel.gradient(batch)[2]
        assert np.all(got[1] == 0.0)
        np.testing.assert_allclose(np.delete(got, 1, axis=0),
                                   evaluate(alive, V, 1).gradient[0], atol=1e-12)


def test_hessian_matches_finite_differences(random_point):
    W, V = random_point
    H = evaluate(W, V, 2).hessian[0].reshape(18, 18)
    np.testing.assert_allclose(H, fd_hessian(W, V), atol=1e-7)


def test_hessian_is_continuous_at_parallel_and_antiparallel_students():
    # The loss is C^2 there; the formula must give the limit, not NaN or junk.
    V = np.eye(3)
    W = np.array([[0.6, 0.2, 0.0], [0.3, 0.1, 0.0], [-0.5, 0.0, 0.9], [0.0, 0.0, -0.7]])
    H = evaluate(W, V, 2).hessian[0].reshape(12, 12)
    assert np.all(np.isfinite(H))
    np.testing.assert_allclose(H, fd_hessian(W, V, h=1e-6), atol=2e-5)


def test_batch_evaluation_equals_single(random_point):
    W, V = random_point
    rng = np.random.default_rng(3)
    batch = np.stack([W, rng.standard_normal(W.shape), 2 * W])
    ev = evaluate(batch, V, 2)
    for b in range(3):
        one = evaluate(batch[b], V, 2)
        np.testing.assert_allclose(ev.loss[b], one.loss[0], rtol=1e-14)
        np.testing.assert_allclose(ev.gradient[b], one.gradient[0], atol=1e-14)
        np.testing.assert_allclose(ev.hessian[b], one.hessian[0], atol=1e-13)


def reduce(W, V):
    """Orthonormal coordinates of span{V, W}: the reduced coordinates."""
    basis, _ = np.linalg.qr(np.vstack([V, W]).T)
    return W @ basis, V @ basis


def test_reduced_coordinates_give_the_full_loss_gradient_and_spectrum():
    rng = np.random.default_rng(11)
    K, M, d = 2, 2, 7
    W, V = rng.standard_normal((K, d)), rng.standard_normal((M, d))
    Wr, Vr = reduce(W, V)
    n = Wr.shape[1]
    assert n == K + M
    assert evaluate(Wr, Vr, 0).loss[0] == pytest.approx(plain_loss(W, V), rel=1e-12)
    np.testing.assert_allclose(np.linalg.norm(evaluate(Wr, Vr, 1).gradient[0]),
                               np.linalg.norm(fd_gradient(W, V)), rtol=1e-6)
    # Full Hessian on R^{K d} by finite differences vs the span block plus the
    # orthogonal block repeated d - n times.
    full = np.linalg.eigvalsh(fd_hessian(W, V))
    ev = evaluate(Wr, Vr, 2)
    span = np.linalg.eigvalsh(ev.hessian[0].reshape(K * n, K * n))
    orth = np.linalg.eigvalsh(ev.orthogonal[0])
    predicted = np.sort(np.concatenate([span] + [orth] * (d - n)))
    np.testing.assert_allclose(predicted, full, atol=1e-6)


def test_orthogonal_block_matches_finite_differences_in_an_embedding(random_point):
    W, V = random_point
    K, n = W.shape
    A = evaluate(W, V, 2).orthogonal[0]
    We, Ve = np.hstack([W, np.zeros((K, 1))]), np.hstack([V, np.zeros((V.shape[0], 1))])
    h = 1e-6
    fd = np.zeros((K, K))
    for k in range(K):
        e = np.zeros_like(We)
        e[k, -1] = h
        fd[:, k] = (evaluate(We + e, Ve, 1).gradient[0][:, -1]
                    - evaluate(We - e, Ve, 1).gradient[0][:, -1]) / (2 * h)
    np.testing.assert_allclose(A, fd, atol=1e-8)


@pytest.mark.parametrize("k", [3, 4, 5, 7])
def test_check_values_at_the_global_minimum(k):
    I = np.eye(k)
    values = np.linalg.eigvalsh(evaluate(I, I, 2).hessian[0].reshape(k * k, k * k))
    low, high = 0.25 - 1 / (2 * np.pi), 0.25 + 1 / (2 * np.pi)
    assert values.min() == pytest.approx(low, abs=1e-12)
    assert np.sum(np.abs(values - low) < 1e-9) == k * (k - 1) // 2
    assert np.sum(np.abs(values - high) < 1e-9) == k * (k - 3) // 2


def test_gradient_vanishes_to_machine_precision_at_the_global_minimum():
    rng = np.random.default_rng(5)
    P = rng.standard_normal((4, 4))
    V = np.linalg.qr(P)[0] * np.array([1.0, 2.0, 0.5, 1.5])[:, None]
    W = V[[2, 0, 3, 1]]
    ev = evaluate(W, V, 1)
    assert np.abs(ev.gradient).max() < 1e-14


def test_teacher_constant_orthonormal():
    M = 5
    assert teacher_constant(np.eye(M)) == pytest.approx(M / 4 + M * (M - 1) / (4 * np.pi))
