"""Independent numerical checks shared by the tests."""
import numpy as np

from landscape.maths.kernels import evaluate


def fd_hessian(W, V, h=1e-5):
    """Central differences of the engine's gradient, symmetrised, shape (K*n, K*n)."""
    K, n = W.shape
    H = np.zeros((K * n, K * n))
    for j, i in enumerate(np.ndindex(W.shape)):
        e = np.zeros_like(W)
        e[i] = h
        H[:, j] = ((evaluate(W + e, V, 1).gradient[0] - evaluate(W - e, V, 1).gradient[0])
                   / (2 * h)).ravel()
    return 0.5 * (H + H.T)
