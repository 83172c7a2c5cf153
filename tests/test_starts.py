"""Starts drawn in reduced coordinates have the law of Gaussian starts in full dimension."""
import numpy as np

from landscape.maths.starts import draw_start, draw_starts


def test_start_depends_only_on_seed_and_index():
    a = draw_starts(4, [0, 1, 2, 3], 3, 2, 50, 5)
    b = draw_starts(4, [2, 3], 3, 2, 50, 5)
    np.testing.assert_array_equal(a[2:], b)
    assert not np.allclose(a[0], a[1])


def test_reduced_starts_have_the_law_of_full_gaussian_starts():
    # Compare the joint law of (Q, M) with direct N(0, I_D / D) sampling in R^D.
    K, M, D, n, S = 3, 2, 12, 5, 20000
    rng = np.random.default_rng(0)
    V = np.eye(D)[:M]
    full = rng.standard_normal((S, K, D)) / np.sqrt(D)
    reduced = draw_starts(1, range(S), K, M, D, n)
    Vr = np.eye(n)[:M]

    def stats(W, V):
        Q = W @ W.T if W.ndim == 2 else np.einsum("skn,sln->skl", W, W)
        Mo = W @ V.T
        return np.concatenate([Q.reshape(len(W), -1), Mo.reshape(len(W), -1)], axis=1)

    a, b = stats(full, V), stats(reduced, Vr)
    # Means and second moments of every entry agree within 5 standard errors.
    for f in (lambda x: x, lambda x: x ** 2):
        fa, fb = f(a), f(b)
        se = np.sqrt(fa.var(0) / S + fb.var(0) / S)
        assert np.all(np.abs(fa.mean(0) - fb.mean(0)) < 5 * se + 1e-12)


def test_rank_deficient_dimension():
    # D - M < K: only D - M directions outside the teacher span exist.
    W = draw_start(0, 0, 4, 2, 4, 6)
    assert np.linalg.matrix_rank(W) == 4
    np.testing.assert_array_equal(W[:, 4:], 0)
