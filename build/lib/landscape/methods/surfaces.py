"""The loss on a plane through a critical point, for pictures of the landscape."""
from __future__ import annotations

import numpy as np

from ..maths.kernels import evaluate
from ..maths.teachers import teacher_vectors


def loss_surface(W, P, directions="soft", target=None, size=41, span=None,
                 target_label="the other point"):
    """Loss on a plane through the point W.

    Parameters
    ----------
    W : ndarray, shape (K, n)
        Students in reduced coordinates.
    P : ndarray, shape (M, M)
    directions : {"soft", "flat", "segment"}
        The two softest Hessian eigenvectors; the flattest one and the next; or the
        segment towards ``target`` and the softest direction orthogonal to it.
    target : ndarray, shape (K, n), optional
        The other end of the segment (``directions="segment"``).
    size : int
        Grid points per axis.
    span : float, optional
        Half-width of the grid along the eigenvector axes (default: half the mean
        teacher norm).

    Returns
    -------
    dict with ``a`` (size,), ``b`` (size,), ``loss`` (size, size), ``labels`` (2,).
    """
    K, n = W.shape
    V = teacher_vectors(P, n)
    H = evaluate(W, V, 2).hessian[0].reshape(K * n, K * n)
    values, vectors = np.linalg.eigh(0.5 * (H + H.T))
    scale = np.sqrt(np.mean(np.sum(V * V, axis=1)))
    if directions == "segment" and target is not None and not np.array_equal(target, W):
        d1 = (target - W).ravel()
        length = np.linalg.norm(d1)
        d1 /= length
        rest = vectors - np.outer(d1, d1 @ vectors)
        d2 = rest[:, np.argmin(values)]
        d2 /= np.linalg.norm(d2)
        a = np.linspace(-0.25, 1.25, size) * length
        b = np.linspace(-1, 1, size) * (span or 0.5 * scale)
        labels = (f"towards {target_label}", "softest orthogonal direction")
    else:
        order = np.argsort(np.abs(values)) if directions == "flat" else np.argsort(values)
        d1, d2 = vectors[:, order[0]], vectors[:, order[1]]
        a = b = np.linspace(-1, 1, size) * (span or 0.5 * scale)
        names = ("flattest", "next") if directions == "flat" else ("softest", "second softest")
        labels = tuple(f"{nm} direction (eigenvalue {values[o]:.3g})"
                       for nm, o in zip(names, order[:2]))
    grid = (W.ravel()[None, None, :] + a[:, None, None] * d1[None, None, :]
            + b[None, :, None] * d2[None, None, :])
    loss = evaluate(grid.reshape(size * size, K, n), V, 0).loss.reshape(size, size)
    return {"a": a.tolist(), "b": b.tolist(), "loss": np.maximum(loss, 0).tolist(),
            "labels": list(labels)}


def path_plane(connection, P, size=41, margin=0.25):
    """Loss on the plane through both ends of a connection and its saddle.

    Parameters
    ----------
    connection : dict
        One of ``Connectivity.to_json()["connections"]``.
    P : ndarray, shape (M, M)

    Returns
    -------
    dict with ``a`` (size,), ``b`` (size,), ``loss`` (size, size), ``path`` ({"a", "b",
    "loss"}: the band projected on the plane), ``saddle`` ({"a", "b", "loss"}) and
    ``labels``. Coordinates: ``a`` along the segment from the ``from`` end to the ``to``
    end, ``b`` orthogonal to it towards the saddle (both in reduced coordinates).
    """
    images = np.array(connection["path"]["students"])
    start, end = images[0], images[-1]
    saddle = np.array(connection["saddle"]["students"])
    K, n = start.shape
    V = teacher_vectors(P, n)
    d1 = (end - start).ravel()
    length = np.linalg.norm(d1)
    d1 /= length
    rest = (saddle - start).ravel()
    rest -= d1 * (d1 @ rest)
    height = np.linalg.norm(rest)
    if height < 1e-12 * max(length, 1.0):      # the saddle on the segment: any normal
        rest = np.random.default_rng(0).standard_normal(d1.size)
        rest -= d1 * (d1 @ rest)
        height = 0.0
    d2 = rest / np.linalg.norm(rest)
    span_b = max(height, 0.1 * length)
    a = np.linspace(-margin, 1 + margin, size) * length
    b = np.linspace(-1.0 - margin, 1.0 + margin, size) * span_b
    grid = (start.ravel()[None, None] + a[:, None, None] * d1 + b[None, :, None] * d2)
    loss = evaluate(grid.reshape(size * size, K, n), V, 0).loss.reshape(size, size)
    flat = images.reshape(len(images), -1) - start.ravel()
    return {"a": a.tolist(), "b": b.tolist(), "loss": np.maximum(loss, 0).tolist(),
            "path": {"a": (flat @ d1).tolist(), "b": (flat @ d2).tolist(),
                     "loss": connection["path"]["loss"]},
            "saddle": {"a": float((saddle - start).ravel() @ d1),
                       "b": float((saddle - start).ravel() @ d2),
                       "loss": connection["saddle"]["loss"]},
            "labels": [f"towards minimum #{connection['to']}", "towards the saddle"]}
