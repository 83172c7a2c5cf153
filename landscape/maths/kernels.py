"""Closed forms of the population loss of a two-layer ReLU network.

The loss of a student ``f(x) = sum_k ReLU(w_k . x)`` against a teacher
``f*(x) = sum_r ReLU(v_r . x)`` under ``x ~ N(0, I)`` is

    L = 1/2 sum_{ij} s_i s_j kappa(u_i, u_j),

where ``u = (w_1..w_K, v_1..v_M)``, ``s = (+1,..,+1, -1,..,-1)`` and ``kappa`` is
the arc-cosine kernel ``kappa(a, b) = |a||b| (sin t + (pi - t) cos t) / (2 pi)``.
Everything here works in any coordinate dimension ``n``; the catalog uses
reduced coordinates ``n = min(d, K + M)`` (see ``../shared/SCIENCE.md``).

All functions are vectorised over a leading batch axis of students.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TWO_PI = 2.0 * np.pi
# Pairs with |cos| above this get their angle from the well-conditioned
# formula t = 2 atan2(|a - b|, |a + b|); arccos loses half the digits there.
_NEAR_PARALLEL = 0.9


@dataclass
class Evaluation:
    """Loss and derivatives at a batch of student configurations.

    Attributes
    ----------
    loss : ndarray, shape (B,)
    gradient : ndarray, shape (B, K, n) or None
        ``dL/dW`` in the same coordinates as the students.
    hessian : ndarray, shape (B, K, n, K, n) or None
        Second derivatives inside the coordinate space.
    orthogonal : ndarray, shape (B, K, K) or None
        The block ``A`` acting on perturbations ``dw_k = a_k e`` with ``e``
        orthogonal to the coordinate space (each of its eigenvalues is
        repeated ``d - n`` times in the full Hessian).
    """

    loss: np.ndarray
    gradient: np.ndarray | None = None
    hessian: np.ndarray | None = None
    orthogonal: np.ndarray | None = None


def _geometry(students, teachers, precise):
    """Norms, unit vectors, and cosines and angles of students against all vectors."""
    B, K, n = students.shape
    vectors = np.concatenate(
        [students, np.broadcast_to(teachers, (B,) + teachers.shape)], axis=1)
    norms = np.sqrt(np.einsum("bin,bin->bi", vectors, vectors))
    units = vectors / np.where(norms > 0, norms, 1.0)[..., None]
    cosines = units[:, :K] @ units.transpose(0, 2, 1)           # (B, K, N)
    np.clip(cosines, -1.0, 1.0, out=cosines)
    angles = np.arccos(cosines)
    # sqrt(1 - c^2) is far cheaper than sin(arccos c); it is inexact only for
    # nearly (anti)parallel pairs, which the precise path recomputes.
    sines = np.sqrt(np.maximum(1.0 - cosines * cosines, 0.0))
    if precise:
        b, i, j = np.nonzero(np.abs(cosines) > _NEAR_PARALLEL)
        if b.size:
            ua, ub = units[b, i], units[b, j]
            exact = 2.0 * np.arctan2(np.linalg.norm(ua - ub, axis=-1),
                                     np.linalg.norm(ua + ub, axis=-1))
            angles[b, i, j] = exact
            sines[b, i, j] = np.sin(exact)
    idx = np.arange(K)
    angles[:, idx, idx] = 0.0
    sines[:, idx, idx] = 0.0
    cosines[:, idx, idx] = 1.0
    signs = np.concatenate([np.ones(K), -np.ones(teachers.shape[0])])
    return vectors, norms, units, cosines, angles, sines, signs


def kernel_rows(norms, cosines, angles, sines):
    """``kappa(w_k, u_j)`` for students k against all vectors j, shape (B, K, N)."""
    K = cosines.shape[1]
    return (norms[:, :K, None] * norms[:, None, :]
            * (sines + (np.pi - angles) * cosines) / TWO_PI)


def evaluate(students, teachers, order=1, precise=True):
    """Loss (order 0), gradient (order 1) and Hessian blocks (order 2).

    Parameters
    ----------
    students : ndarray, shape (B, K, n) or (K, n)
        Student weight vectors, one row per student; no row may be zero.
    teachers : ndarray, shape (M, n)
        Teacher weight vectors in the same coordinates.
    order : {0, 1, 2}
    precise : bool
        Compute angles of nearly (anti)parallel pairs to full precision (needed
        to polish gradients to 1e-10; costs a little).

    Returns
    -------
    Evaluation
        With a batch axis of length 1 added if ``students`` had none. The loss
        is computed only when ``order`` is 0 or 2.
    """
    students = np.asarray(students, dtype=float)
    if students.ndim == 2:
        students = students[None]
    teachers = np.asarray(teachers, dtype=float)
    B, K, n = students.shape
    vectors, norms, units, cosines, angles, sines, signs = _geometry(
        students, teachers, precise)
    result = Evaluation(loss=None)
    if order != 1:
        # L = sum_k [1/2 sum_l kappa_kl - sum_r kappa_kr] + 1/2 sum_rs kappa_rs
        kappa = kernel_rows(norms, cosines, angles, sines)
        weights = np.where(signs > 0, 0.5, -1.0)
        result.loss = (np.einsum("bkj,j->b", kappa, weights)
                       + teacher_constant(teachers @ teachers.T))
    if order < 1:
        return result

    signed_norms = signs * norms                            # (B, N)
    radial = np.einsum("bkj,bj->bk", sines, signed_norms)   # sum_j s_j |u_j| sin t_kj
    weights = signs * (np.pi - angles)                      # (B, K, N)
    result.gradient = (radial[..., None] * units[:, :K]
                       + weights @ vectors) / TWO_PI
    if order < 2:
        return result

    student_norms = norms[:, :K]
    result.orthogonal = _orthogonal_block(radial, student_norms, angles)
    idx = np.arange(K)

    # E_kj = u_j/|u_j| - cos t_kj w_k/|w_k| has length sin t_kj; writing the
    # n n^T terms as E E^T / sin keeps them finite at (anti)parallel pairs.
    student_units = units[:, :K]
    E = units[:, None, :, :] - cosines[..., None] * student_units[:, :, None, :]
    safe_sines = np.where(sines > 1e-300, sines, np.inf)
    eye = np.eye(n)
    # Diagonal blocks: 1/2 I + sum_{j != k} s_j h1(w_k, u_j).
    coef = signed_norms[:, None, :] / (TWO_PI * student_norms[:, :, None])   # (B, K, N)
    coef_sin = np.einsum("bkj,bkj->bk", coef, sines)
    projector = eye - np.einsum("bkp,bkq->bkpq", student_units, student_units)
    scaled_E = (coef / safe_sines)[..., None] * E                         # (B, K, N, n)
    diag_blocks = (0.5 * eye + coef_sin[..., None, None] * projector
                   + scaled_E.transpose(0, 1, 3, 2) @ E)
    # Off-diagonal blocks: h2(w_k, w_l) = ((pi - t) I + sin t w_k w_l^T
    #                                      + E_kl E_lk^T / sin t) / (2 pi),
    # the identity part plus a rank-two product, built as (B, K, K, n, 2) @ (B, K, K, 2, n).
    Es = E[:, :, :K, :]                                     # E_kl, (B, K, K, n)
    left = np.stack([np.broadcast_to(student_units[:, :, None, :], Es.shape),
                     Es / safe_sines[:, :, :K, None]], axis=-1)
    right = np.stack([sines[:, :, :K, None] * student_units[:, None, :, :],
                      Es.transpose(0, 2, 1, 3)], axis=-2)
    blocks = left @ right                                   # (B, K, K, n, n)
    blocks.reshape(B, K, K, n * n)[..., ::n + 1] += (np.pi - angles[:, :, :K])[..., None]
    blocks /= TWO_PI
    blocks[:, idx, idx] = diag_blocks
    hessian = blocks.transpose(0, 1, 3, 2, 4)               # (B, K, n, K, n)
    result.hessian = hessian
    return result


def flow_gradient(students, teachers):
    """``dL/dW`` at a batch of students, lean: for integrating the flow.

    The same closed form as ``evaluate(..., order=1, precise=False)`` with less
    around it (measured: 20 % faster for 32 points at K = M = 10); angles come
    from arccos, so it is not for polishing to 1e-10.

    Parameters
    ----------
    students : ndarray, shape (B, K, n)
        Rows that are exactly zero are dead students: they add nothing to the
        network and their gradient is returned as zero (they stay dead).
    teachers : ndarray, shape (M, n)

    Returns
    -------
    ndarray, shape (B, K, n)
    """
    K = students.shape[1]
    teacher_norms = np.sqrt(np.einsum("mn,mn->m", teachers, teachers))
    norms = np.sqrt(np.einsum("bkn,bkn->bk", students, students))
    alive = norms > 0
    units = students / np.where(alive, norms, 1.0)[..., None]
    cosines = np.concatenate([units @ units.transpose(0, 2, 1),
                              units @ (teachers / teacher_norms[:, None]).T], axis=2)
    idx = np.arange(K)
    cosines[:, idx, idx] = 1.0
    np.clip(cosines, -1.0, 1.0, out=cosines)
    weights = np.pi - np.arccos(cosines)
    sines = np.sqrt(1.0 - cosines * cosines)
    radial = np.einsum("bkl,bl->bk", sines[:, :, :K], norms) - sines[:, :, K:] @ teacher_norms
    gradient = (radial[..., None] * units + weights[:, :, :K] @ students
                - weights[:, :, K:] @ teachers) / TWO_PI
    if not alive.all():
        gradient *= alive[..., None]
    return gradient


def _orthogonal_block(radial, student_norms, angles):
    """The K x K block A: the identity parts of the Hessian blocks, shape (B, K, K)."""
    K = student_norms.shape[1]
    A = (np.pi - angles[:, :, :K]) / TWO_PI
    idx = np.arange(K)
    A[:, idx, idx] = 0.5 + (radial / student_norms) / TWO_PI
    return A


def orthogonal_block(students, teachers):
    """The orthogonal block A of one point, shape (K, K), in O(K (K + M)) work
    (no Hessian): perturbations orthogonal to the coordinate space."""
    W = np.asarray(students, dtype=float)[None]
    vectors, norms, units, cosines, angles, sines, signs = _geometry(W, teachers, True)
    radial = np.einsum("bkj,bj->bk", sines, signs * norms)
    return _orthogonal_block(radial, norms[:, :W.shape[1]], angles)[0]


def loss_with_zero_students(students, teachers):
    """Loss of one point in which some students may be exactly zero (they add
    nothing to f); clipped at 0, as a mean square."""
    W = np.asarray(students, dtype=float)
    alive = W[np.linalg.norm(W, axis=1) > 0]
    if not alive.size:
        return float(teacher_constant(teachers @ teachers.T))
    return max(float(evaluate(alive, teachers, 0).loss[0]), 0.0)


def kappa_matrix(gram):
    """The arc-cosine kernel kappa(a, b) = E[ReLU(a.x) ReLU(b.x)] of all pairs of
    vectors with Gram matrix ``gram``, shape (..., N, N); zero vectors give zero rows.
    The diagonal is exactly |a|^2 / 2."""
    gram = np.asarray(gram, dtype=float)
    sq = np.maximum(np.diagonal(gram, axis1=-2, axis2=-1), 0.0)
    norms = np.sqrt(sq)
    outer = norms[..., :, None] * norms[..., None, :]
    cosines = np.clip(gram / np.where(outer > 0, outer, 1.0), -1.0, 1.0)
    diagonal = np.arange(gram.shape[-1])
    cosines[..., diagonal, diagonal] = 1.0
    angles = np.arccos(cosines)
    sines = np.sqrt(np.maximum(1.0 - cosines * cosines, 0.0))
    return outer * (sines + (np.pi - angles) * cosines) / TWO_PI


def teacher_constant(P):
    """``1/2 sum_rs kappa(v_r, v_s)``: the loss at W = 0, from P alone."""
    return 0.5 * kappa_matrix(P).sum()


def hessian_operator(students, teachers):
    """Matrix-free in-span Hessian of one point: a function delta (K, n) -> H delta.

    Costs O(K (K + M) n) memory once and per product, against O(K^2 n^2) for the
    dense Hessian; used with Lanczos for wide students.
    """
    W = np.asarray(students, dtype=float)[None]
    teachers = np.asarray(teachers, dtype=float)
    K, n = W.shape[1:]
    vectors, norms, units, cosines, angles, sines, signs = _geometry(W, teachers, True)
    units, cosines, angles, sines, norms = units[0], cosines[0], angles[0], sines[0], norms[0]
    student_units = units[:K]
    E = units[None, :, :] - cosines[..., None] * student_units[:, None, :]   # (K, N, n)
    inv_sin = np.where(sines > 1e-300, 1.0 / np.where(sines > 1e-300, sines, 1.0), 0.0)
    coef = signs * norms / (TWO_PI * norms[:K, None])                       # (K, N)
    coef_sin = np.sum(coef * sines, axis=1)                                 # (K,)
    weights_E = coef * inv_sin                                              # (K, N)
    Es = E[:, :K, :]                                                        # E_kl
    off_identity = (np.pi - angles[:, :K]) / TWO_PI
    np.fill_diagonal(off_identity, 0.0)
    off_sin = sines[:, :K] / TWO_PI
    off_E = inv_sin[:, :K] / TWO_PI

    def apply(delta):
        delta = delta.reshape(K, n)
        # diagonal blocks: 1/2 d + c (I - w w^T) d + sum_j coef/sin E (E . d)
        radial = np.einsum("kn,kn->k", student_units, delta)
        out = 0.5 * delta + coef_sin[:, None] * (delta - radial[:, None] * student_units)
        out += np.einsum("kj,kjn,kj->kn", weights_E, E, np.einsum("kjn,kn->kj", E, delta))
        # off-diagonal blocks: ((pi - t) d_l + sin w_k (w_l . d_l) + E_kl (E_lk . d_l) / sin) / 2 pi
        out += off_identity @ delta
        out += student_units * (off_sin @ radial)[:, None]
        proj = np.einsum("lkn,ln->kl", Es, delta)      # E_lk . d_l, indexed [k, l]
        out += np.einsum("kl,kln,kl->kn", off_E, Es, proj)
        return out.ravel()

    return apply


class FlowGradient:
    """``flow_gradient`` for one teacher, with the teacher's part computed once.

    ``gradient(students)`` returns dL/dW like ``flow_gradient(students, teachers)``
    (dead, exactly zero students get zero) and ``velocity(students, out)`` returns
    -dL/dW, the right-hand side of gradient flow, optionally into ``out``. Fewer
    temporaries than ``flow_gradient``: the cosines against students and against
    teachers go into one buffer, the teacher products are single matrix products over
    all B K students, and the sines are formed in place. At K = M = 10 a flow step is
    a few such calls on a few dozen points, where numpy's per-call overhead counts.

    Parameters
    ----------
    teachers : ndarray, shape (M, n)
    """

    def __init__(self, teachers):
        teachers = np.asarray(teachers, dtype=float)
        self.teachers = teachers
        self.teacher_norms = np.sqrt(np.einsum("mn,mn->m", teachers, teachers))
        self.teacher_units_T = np.ascontiguousarray((teachers / self.teacher_norms[:, None]).T)

    def gradient(self, students, out=None):
        """dL/dW, shape (B, K, n)."""
        return self._evaluate(students, 1.0 / TWO_PI, out)

    def velocity(self, students, out=None):
        """-dL/dW, shape (B, K, n)."""
        return self._evaluate(students, -1.0 / TWO_PI, out)

    def _evaluate(self, students, factor, out):
        B, K, n = students.shape
        M = self.teachers.shape[0]
        norms = np.sqrt(np.einsum("bkn,bkn->bk", students, students))
        alive = norms > 0
        all_alive = alive.all()
        units = students / (norms if all_alive else np.where(alive, norms, 1.0))[..., None]
        cosines = np.empty((B, K, K + M))
        np.matmul(units, units.transpose(0, 2, 1), out=cosines[:, :, :K])
        cosines[:, :, K:] = (units.reshape(B * K, n) @ self.teacher_units_T).reshape(B, K, M)
        idx = np.arange(K)
        cosines[:, idx, idx] = 1.0
        np.clip(cosines, -1.0, 1.0, out=cosines)
        sines = cosines * cosines
        np.subtract(1.0, sines, out=sines)
        np.sqrt(sines, out=sines)
        weights = np.arccos(cosines, out=cosines)
        np.subtract(np.pi, weights, out=weights)
        radial = (np.einsum("bkl,bl->bk", sines[:, :, :K], norms)
                  - (sines[:, :, K:].reshape(B * K, M) @ self.teacher_norms).reshape(B, K))
        gradient = np.matmul(weights[:, :, :K], students, out=out)
        gradient -= (weights[:, :, K:].reshape(B * K, M) @ self.teachers).reshape(B, K, n)
        units *= radial[..., None]
        gradient += units
        gradient *= factor
        if not all_alive:
            gradient *= alive[..., None]
        return gradient
