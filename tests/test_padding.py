"""Padded points (zero students): the first-order change g(u) of the loss, its global
minimum, the classification of padded ends, and the flow that goes on past a dying
student -- each checked against finite differences of the loss or an independent
integration."""
import math

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from landscape.config import make_catalog_config
from landscape.maths.kernels import evaluate
from landscape.maths.padding import (PADDING_TOL, classify_padded, padding_values,
                                     split_curvatures)
from landscape.maths.spectrum import hessian_spectrum
from landscape.maths.starts import draw_starts
from landscape.maths.teachers import teacher_vectors
from landscape.methods.catalog import signature, snap_parallel, summary
from landscape.methods.descent import descend


def loss(W, V):
    return float(evaluate(W, V, 0).loss[0])


def widen(W, V, extra=1):
    """W and V with ``extra`` zero coordinates (directions orthogonal to their space)."""
    return (np.hstack([W, np.zeros((W.shape[0], extra))]),
            np.hstack([V, np.zeros((V.shape[0], extra))]))


def added(W, V, u, s):
    """Loss change when a student s u joins W (u has one coordinate more than W)."""
    Wb, Vb = widen(W, V, u.size - W.shape[1])
    return loss(np.vstack([Wb, s * u]), Vb) - loss(Wb, Vb)


@pytest.fixture(scope="module")
def spurious6():
    """The K = M = 6 spurious minimum in d = 6 (Safran & Shamir 2018), reached from
    catalog start 45 of seed 0."""
    config = make_catalog_config(6, 6, dim=6, starts=60, seed=0)
    V = teacher_vectors(config.teacher.P, config.reduced_dim)
    W0 = draw_starts(0, [45], 6, 6, config.start_dim, config.reduced_dim)
    end = descend(W0, V)
    W = end.students[0]
    assert end.status[0] == "converged" and loss(W, V) > 1e-3
    assert hessian_spectrum(W, V, 6).index == 0          # a local minimum of width 6
    return W, V


def test_an_added_student_changes_the_loss_by_s_g_plus_a_quarter_s_squared():
    rng = np.random.default_rng(0)
    W, V = rng.standard_normal((3, 5)), rng.standard_normal((2, 5))
    U = rng.standard_normal((6, 6))
    U /= np.linalg.norm(U, axis=1, keepdims=True)      # last coordinate orthogonal
    g = padding_values(W, V, U)
    for u, gu in zip(U, g):
        for s in (1e-3, 0.3):
            assert added(W, V, u, s) == pytest.approx(s * gu + s * s / 4, abs=1e-12)
    e = np.zeros(6)
    e[-1] = 1.0
    orthogonal = (np.linalg.norm(W, axis=1).sum() - np.linalg.norm(V, axis=1).sum()) / (2 * np.pi)
    assert padding_values(W, V, e[None])[0] == pytest.approx(orthogonal, abs=1e-14)


def test_spurious_minimum_padded_with_a_zero_student_is_a_saddle(spurious6):
    W, V = spurious6
    n = W.shape[1]
    padded = np.vstack([W, np.zeros((1, n))])
    found = classify_padded(padded, V, dim=6)
    assert found.dead == 1 and found.index == 0
    assert found.loss == pytest.approx(loss(W, V), abs=1e-12)
    assert found.kind == "saddle" and found.padding_min < -1e-3
    u = found.padding_direction
    assert u.size == n                                   # d = n: no orthogonal direction
    # First order along s u, by finite differences of the loss.
    for s in (1e-4, 1e-6):
        assert added(W, V, u, s) / s == pytest.approx(found.padding_min + s / 4, abs=1e-9)
    assert added(W, V, u, 1e-2) < 0                      # a real descent direction
    # The global search is at least as low as dense sampling of the sphere.
    rng = np.random.default_rng(1)
    U = rng.standard_normal((20000, n))
    U /= np.linalg.norm(U, axis=1, keepdims=True)
    assert padding_values(W, V, U).min() >= found.padding_min - 1e-12


def test_the_minimum_of_g_can_use_directions_orthogonal_to_the_span():
    # One student of norm 3 and one teacher: adding a student orthogonal to both
    # raises the loss at rate (3 - 1)/(2 pi); in d = inf the search must consider
    # it, and the result must match the loss along the direction it returns.
    V = np.array([[1.0, 0.0]])
    W = np.array([[0.0, 3.0]])
    found = classify_padded(np.vstack([W, np.zeros((1, 2))]), V, dim=math.inf)
    u = found.padding_direction
    assert u.size == 3
    assert added(W, V, u, 1e-6) / 1e-6 == pytest.approx(found.padding_min + 2.5e-7, abs=1e-9)
    assert found.padding_min < padding_values(W, V, np.array([[1.0, 0.0]]))[0] + 1e-12


def test_zero_loss_padded_point_is_global_and_g_vanishes():
    V = teacher_vectors(np.eye(3), 6)
    padded = np.vstack([V, np.zeros((1, 6))])
    found = classify_padded(padded, V, dim=math.inf)
    assert found.kind == "global_minimum" and found.loss < 1e-12
    assert abs(found.padding_min) < PADDING_TOL
    rng = np.random.default_rng(2)
    for u in rng.standard_normal((20, 7)):
        u /= np.linalg.norm(u)
        s = 1e-2
        assert added(V, V, u, s) == pytest.approx(s * s / 4, abs=1e-12)


def test_split_curvature_is_the_second_derivative_of_g_at_a_living_direction(spurious6):
    W, V = spurious6
    k = 2
    u0 = W[k] / np.linalg.norm(W[k])
    assert padding_values(W, V, u0[None])[0] == pytest.approx(0.0, abs=1e-9)   # critical
    basis = np.linalg.svd(np.eye(6) - np.outer(u0, u0))[0][:, :5]
    # g is C^2 but not C^3 at u0 (the |w_k| t^3 term of kappa(w_k, u)): error O(h).
    h = 1e-5

    def g(a):
        u = u0 + basis @ a
        return padding_values(W, V, (u / np.linalg.norm(u))[None])[0]

    H = np.zeros((5, 5))
    for i in range(5):
        for j in range(5):
            ei, ej = np.eye(5)[i] * h, np.eye(5)[j] * h
            H[i, j] = (g(ei + ej) - g(ei - ej) - g(ej - ei) + g(-ei - ej)) / (4 * h * h)
    expected = np.linalg.eigvalsh(0.5 * (H + H.T)).min()
    assert split_curvatures(W, V, orthogonal=False)[k] == pytest.approx(expected, abs=1e-5)


def test_flow_goes_on_past_a_dying_student():
    # Student 3 starts small and nearly parallel to student 1; students 1 and 2
    # overshoot their teachers (norms 2 and 1.5 against 1), so g > 0 around student
    # 1's direction: student 3 shrinks to zero in finite time, while students 1 and
    # 2 are still far from rest. (Where g < 0 nearby, a small student turns there
    # faster than it shrinks.)
    V = teacher_vectors(np.eye(2), 5)
    w1 = np.array([2.0, 0.0, 0.1, 0.0, 0.0])
    W0 = np.array([w1, [0.2, 1.5, 0.0, 0.0, 0.0], 0.025 * w1 + [0, 0, 0, 5e-4, 0]])
    end = descend(W0[None], V)
    assert end.status[0] == "padded"
    W = end.students[0]
    assert np.all(W[2] == 0.0) and np.all(np.linalg.norm(W[:2], axis=1) > 0.1)
    assert np.linalg.norm(evaluate(W[:2], V, 1).gradient) < 1e-10
    assert end.grad_norm[0] < 1e-10

    # Independent: DOP853 on all three students until student 3 is below the dead
    # norm, then on the two living ones; the end polished by descend must agree.
    def rhs(K):
        return lambda _, y: -evaluate(y.reshape(K, 5), V, 1).gradient.ravel()

    def dies(_, y):
        return np.linalg.norm(y[10:15]) - 1e-4
    dies.terminal = True
    first = solve_ivp(rhs(3), (0.0, 200.0), W0.ravel(), method="DOP853", rtol=1e-10,
                      atol=1e-12, events=dies)
    assert first.status == 1 and first.t[-1] < 50          # it died, early
    living = first.y[:, -1].reshape(3, 5)[:2]
    rest = solve_ivp(rhs(2), (0.0, 500.0), living.ravel(), method="DOP853", rtol=1e-10,
                     atol=1e-12)
    reference = descend(rest.y[:, -1].reshape(1, 2, 5), V).students[0]

    def ends(X):
        X = snap_parallel(X, V)
        return signature(max(loss(X, V), 0.0), *summary(X, V))

    np.testing.assert_allclose(ends(W[:2]), ends(reference), atol=1e-6)
