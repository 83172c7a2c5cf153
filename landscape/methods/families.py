"""Families of critical points for any width: the block-symmetric ansatz.

For K = M and a teacher invariant under permuting teachers (P = p I + p' (J - I):
orthonormal, correlated, equal norms), the family k1 has k1 "bad" students B, each
paired with a special teacher S (typically anti-aligned with it), and K - k1 "good"
students G, each paired with a teacher G'. The fixed-point subspace of the symmetry
group S_{K-k1} x S_{k1} (permuting pairs) is

    Q_GG = q_gd I + q_go (J - I),  Q_BB = q_bd I + q_bo (J - I),  Q_GB = q_gb J,
    M_GG' = m_gd I + m_go (J - I), M_GS = m_gs J,  M_BG' = m_bg J,
    M_BS = m_bd I + m_bo (J - I),

eleven numbers for any K. By the principle of symmetric criticality a zero of the
gradient-flow drift inside this subspace is a critical point of the full loss.
The drift is evaluated on a representative model: at most three members per group,
the third standing for all the others with a weight, so each evaluation costs the
same for K = 6 and K = 10^6.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import root

from ..config import FamiliesConfig, inf_or_int
from ..errors import FamilyError
from ..maths.kernels import evaluate, hessian_operator, kappa_matrix, orthogonal_block
from ..maths.spectrum import ZERO_TOL, hessian_spectrum, kind_of
from ..maths.symmetric import invariant_eigenvalues, orbit_labels, representative
from ..version import ENGINE_VERSION

PARAMETERS = ("q_gd", "q_go", "q_bd", "q_bo", "q_gb",
              "m_gd", "m_go", "m_gs", "m_bg", "m_bd", "m_bo")
TWO_PI = 2 * np.pi
# |drift| of a solution, and the tolerance of the root finder.
SOLVE_TOL = 1e-12



def teacher_pattern(P):
    """(p, p') with P = p I + p' (J - I), or raise FamilyError. ``P`` is the M x M
    matrix, or already the pair (p, p'): wide teachers need not be written out."""
    if isinstance(P, tuple) and len(P) == 2:
        return float(P[0]), float(P[1])
    P = np.asarray(P, dtype=float)
    M = P.shape[0]
    p = P[0, 0]
    q = P[0, 1] if M > 1 else 0.0
    if not np.allclose(P, (p - q) * np.eye(M) + q * np.ones((M, M)), atol=1e-12, rtol=0):
        raise FamilyError("families need a teacher invariant under permuting teachers "
                          "(orthonormal, correlated:RHO or equal norms)")
    return p, q


def active(K, k1):
    """Which of the eleven parameters exist for K = M students and k1 bad ones."""
    g = K - k1
    present = {
        "q_gd": g >= 1, "q_go": g >= 2, "q_bd": k1 >= 1, "q_bo": k1 >= 2,
        "q_gb": g >= 1 and k1 >= 1,
        "m_gd": g >= 1, "m_go": g >= 2, "m_gs": g >= 1 and k1 >= 1,
        "m_bg": g >= 1 and k1 >= 1, "m_bd": k1 >= 1, "m_bo": k1 >= 2,
    }
    return [name for name in PARAMETERS if present[name]]


@dataclass
class _Model:
    """Representative model: members of G, G', B, S (at most 3 each) with weights."""

    omega: np.ndarray       # (R, R) Gram matrix of the representatives
    signs: np.ndarray       # +1 students, -1 teachers
    weights: np.ndarray     # how many members each representative stands for
    group: np.ndarray       # 0 = G, 1 = G', 2 = B, 3 = S
    slot: np.ndarray        # position within the group (pairs share a slot)
    sizes: tuple


def _model(values, K, k1, P_pattern):
    """Build the representative model from a dict of parameter values."""
    g = K - k1
    v = {name: 0.0 for name in PARAMETERS} | values
    p, pq = P_pattern
    groups, slots, weights = [], [], []
    for group, size in ((0, g), (1, g), (2, k1), (3, k1)):
        reps = min(size, 3)
        for s in range(reps):
            groups.append(group)
            slots.append(s)
            weights.append(size - 2 if s == 2 else 1)
    group, slot = np.array(groups), np.array(slots)
    R = group.size
    omega = np.zeros((R, R))

    def block(a, b, diag, off):
        """Entries between groups a and b: diag on equal slots, off otherwise."""
        mask = (group[:, None] == a) & (group[None, :] == b)
        same = slot[:, None] == slot[None, :]
        omega[mask & same] = diag
        omega[mask & ~same] = off

    block(0, 0, v["q_gd"], v["q_go"])
    block(2, 2, v["q_bd"], v["q_bo"])
    block(0, 2, v["q_gb"], v["q_gb"])
    block(2, 0, v["q_gb"], v["q_gb"])
    block(0, 1, v["m_gd"], v["m_go"])
    block(1, 0, v["m_gd"], v["m_go"])
    block(0, 3, v["m_gs"], v["m_gs"])
    block(3, 0, v["m_gs"], v["m_gs"])
    block(2, 1, v["m_bg"], v["m_bg"])
    block(1, 2, v["m_bg"], v["m_bg"])
    block(2, 3, v["m_bd"], v["m_bo"])
    block(3, 2, v["m_bd"], v["m_bo"])
    for a in (1, 3):
        for b in (1, 3):
            block(a, b, p if a == b else pq, pq)
    signs = np.where((group == 0) | (group == 2), 1.0, -1.0)
    return _Model(omega, signs, np.array(weights, float), group, slot, (g, k1))


def _angles(omega):
    norms = np.sqrt(np.maximum(np.diag(omega), 1e-300))
    cos = np.clip(omega / np.outer(norms, norms), -1, 1)
    theta = np.arccos(cos)
    np.fill_diagonal(theta, 0.0)
    return norms, cos, theta


def _drift_entries(model):
    """X = G U^T between representatives (only rows/cols of weight-1 members are exact)."""
    omega, s, w = model.omega, model.signs, model.weights
    norms, cos, theta = _angles(omega)
    sin = np.sqrt(np.maximum(1 - cos * cos, 0.0))
    np.fill_diagonal(sin, 0.0)
    # c_k = sum_j w_j s_j |u_j| sin t_kj ; X_kl = (c_k omega_kl / |u_k|
    #        + sum_j w_j s_j (pi - t_kj) omega_jl) / (2 pi)
    c = sin @ (w * s * norms)
    return (c[:, None] * omega / norms[:, None] + (w * s * (np.pi - theta)) @ omega) / TWO_PI


def _index(model, group, slot):
    return int(np.nonzero((model.group == group) & (model.slot == slot))[0][0])


# (parameter, kind, row group/slot, column group/slot)
_EQUATIONS = {
    "q_gd": ("Q", (0, 0), (0, 0)), "q_go": ("Q", (0, 0), (0, 1)),
    "q_bd": ("Q", (2, 0), (2, 0)), "q_bo": ("Q", (2, 0), (2, 1)),
    "q_gb": ("Q", (0, 0), (2, 0)),
    "m_gd": ("M", (0, 0), (1, 0)), "m_go": ("M", (0, 0), (1, 1)),
    "m_gs": ("M", (0, 0), (3, 0)), "m_bg": ("M", (2, 0), (1, 0)),
    "m_bd": ("M", (2, 0), (3, 0)), "m_bo": ("M", (2, 0), (3, 1)),
}


def residual(values, K, k1, P_pattern):
    """Gradient-flow drift of each active parameter (zero at a family member)."""
    model = _model(values, K, k1, P_pattern)
    X = _drift_entries(model)
    out = []
    for name in active(K, k1):
        kind, (ga, sa), (gb, sb) = _EQUATIONS[name]
        i, j = _index(model, ga, sa), _index(model, gb, sb)
        out.append(-(X[i, j] + X[j, i]) if kind == "Q" else -X[i, j])
    return np.array(out)


def family_loss(values, K, k1, P_pattern):
    """The loss at a family member, by block sums."""
    model = _model(values, K, k1, P_pattern)
    kappa = kappa_matrix(model.omega)
    # Every member of a group looks alike: group size x (sum over all partners).
    first = model.slot == 0
    sizes = np.array([model.sizes[0], model.sizes[0], model.sizes[1], model.sizes[1]])
    rows = first * sizes[model.group] * model.signs
    return 0.5 * rows @ kappa @ (model.weights * model.signs)


def expand(values, K, k1, P_pattern):
    """Full (Q, M), shapes (K, K) and (K, K): students G then B, teachers G' then S."""
    g = K - k1
    v = {name: 0.0 for name in PARAMETERS} | values
    def sym(n, d, o):
        return (d - o) * np.eye(n) + o * np.ones((n, n))
    Q = np.zeros((K, K))
    M = np.zeros((K, K))
    Q[:g, :g] = sym(g, v["q_gd"], v["q_go"])
    Q[g:, g:] = sym(k1, v["q_bd"], v["q_bo"])
    Q[:g, g:] = v["q_gb"]
    Q[g:, :g] = v["q_gb"]
    M[:g, :g] = sym(g, v["m_gd"], v["m_go"])
    M[:g, g:] = v["m_gs"]
    M[g:, :g] = v["m_bg"]
    M[g:, g:] = sym(k1, v["m_bd"], v["m_bo"])
    return Q, M


def fit(Q, M, k1):
    """Ansatz parameters closest to a point (Q, M) in the family's block order.

    The point must be ordered like ``expand``: good students first, each paired
    with the teacher of the same index.
    """
    K = Q.shape[0]
    g = K - k1
    def mean(block, diagonal):
        if block.size == 0:
            return 0.0
        if block.shape[0] != block.shape[1]:
            return float(block.mean())
        mask = np.eye(block.shape[0], dtype=bool)
        picked = block[mask] if diagonal else block[~mask]
        return float(picked.mean()) if picked.size else 0.0
    full = {
        "q_gd": mean(Q[:g, :g], True), "q_go": mean(Q[:g, :g], False),
        "q_bd": mean(Q[g:, g:], True), "q_bo": mean(Q[g:, g:], False),
        "q_gb": mean(Q[:g, g:], False) if g and k1 else 0.0,
        "m_gd": mean(M[:g, :g], True), "m_go": mean(M[:g, :g], False),
        "m_gs": float(M[:g, g:].mean()) if g and k1 else 0.0,
        "m_bg": float(M[g:, :g].mean()) if g and k1 else 0.0,
        "m_bd": mean(M[g:, g:], True), "m_bo": mean(M[g:, g:], False),
    }
    return {name: full[name] for name in active(K, k1)}


def order_for_family(Q, M):
    """Reorder a K = M catalog point into family form; returns (Q, M, k1) or None.

    Each student is paired with the teacher of largest |overlap|; students whose
    pair overlap is negative are the bad ones.
    """
    K = Q.shape[0]
    partner = np.argmax(np.abs(M), axis=1)
    if len(set(partner.tolist())) != K:
        return None
    bad = M[np.arange(K), partner] < 0
    order = np.concatenate([np.nonzero(~bad)[0], np.nonzero(bad)[0]])
    teachers = partner[order]
    return Q[np.ix_(order, order)], M[np.ix_(order, teachers)], int(bad.sum())


M_PARAMETERS = ("m_gd", "m_go", "m_gs", "m_bg", "m_bd", "m_bo")


def in_span_q(values, K, k1, P_pattern):
    """Q = M P^{-1} M^T by block sums: students inside the teachers' span (d = K).

    With P = (p - p') I + p' J, P^{-1} = a I + b J, so Q = a M M^T + b (M 1)(M 1)^T.
    """
    g = K - k1
    v = {name: 0.0 for name in PARAMETERS} | values
    p, pq = P_pattern
    a = 1.0 / (p - pq)
    b = -pq / ((p - pq) * (p - pq + K * pq))
    gd, go, gs, bg, bd, bo = (v[n] for n in M_PARAMETERS)
    row_g = gd + (g - 1) * go + k1 * gs
    row_b = g * bg + bd + (k1 - 1) * bo
    mm = {
        "q_gd": gd ** 2 + (g - 1) * go ** 2 + k1 * gs ** 2,
        "q_go": 2 * gd * go + (g - 2) * go ** 2 + k1 * gs ** 2,
        "q_bd": g * bg ** 2 + bd ** 2 + (k1 - 1) * bo ** 2,
        "q_bo": g * bg ** 2 + 2 * bd * bo + (k1 - 2) * bo ** 2,
        "q_gb": gd * bg + (g - 1) * go * bg + gs * (bd + (k1 - 1) * bo),
    }
    rows = {"q_gd": row_g * row_g, "q_go": row_g * row_g, "q_bd": row_b * row_b,
            "q_bo": row_b * row_b, "q_gb": row_g * row_b}
    names = active(K, k1)
    return {n: a * mm[n] + b * rows[n] for n in mm if n in names}


def solve(K, k1, P_pattern, guess):
    """Root of the M-drift with Q = M P^{-1} M^T, from a guess; returns (values, ok).

    Students inside the teacher span make dQ/dt a function of dM/dt, so the M
    equations alone determine the point (and the full system would be degenerate).
    """
    names = [n for n in active(K, k1) if n in M_PARAMETERS]
    x0 = np.array([guess.get(name, 0.0) for name in names])

    def full(x):
        m = dict(zip(names, x))
        return m | in_span_q(m, K, k1, P_pattern)

    def fun(x):
        values = full(x)
        res = residual(values, K, k1, P_pattern)
        return res[[active(K, k1).index(n) for n in names]]

    sol = root(fun, x0, method="hybr", tol=1e-14)
    values = full(sol.x)
    ok = bool(np.all(np.isfinite(sol.x))
              and np.abs(residual(values, K, k1, P_pattern)).max() < 1e-11)
    return values, ok


# --------------------------------------------------------------------------- members
# Stability comes from the full Hessian of the expanded point: dense up to DENSE_MAX
# students, from the symmetry of permuting pairs beyond (``structured_spectrum``,
# cross-checked in the tests against dense Hessians and against Lanczos on the
# matrix-free Hessian, ``smallest_eigenvalues``). The engine's own gradient of the
# expanded point is checked up to ENGINE_CHECK_MAX students.
DENSE_MAX = 40
# Beyond this width the structured spectrum is cheaper than the dense one; a member
# it shows to be a minimum needs no dense Hessian (its index is 0).
DENSE_CHEAP_MAX = 14
ENGINE_CHECK_MAX = 400
# Guess from which each family is found at the seed width (what the catalog shows
# at K = 8: good students near their teachers, bad ones anti-aligned).
GUESS = dict(m_gd=1.0, m_go=-0.03, m_gs=0.2, m_bg=0.15, m_bd=-0.65, m_bo=0.2)
SEED_WIDTH = 20


def pattern_matrix(pattern, K):
    """P = p I + p' (J - I) at width K."""
    p, q = pattern
    return (p - q) * np.eye(K) + q * np.ones((K, K))


def realise_member(values, K, k1, P):
    """Students W, shape (K, K), and teachers V, shape (K, K), in reduced coordinates
    (students inside the teacher span: W V^T = M and W W^T = Q)."""
    pattern = teacher_pattern(P)
    Q, M = expand(values, K, k1, pattern)
    L = np.linalg.cholesky(pattern_matrix(pattern, K))
    W = np.linalg.solve(L, M.T).T          # W L^T = M
    return W, L


@dataclass
class FamilyMember:
    """One family at one width.

    Attributes
    ----------
    k1 : int
    students : int
    parameters : dict
    loss : float
    kind : str
        ``global_minimum``, ``local_minimum`` or ``saddle``.
    min_eigenvalue : float
    index : int, float or None
        Negative Hessian eigenvalues with multiplicity (inf: along infinitely many
        orthogonal directions); None for a saddle beyond DENSE_MAX students, where
        the multiplicities are not computed.
    grad_norm : float
        |grad L| of the expanded point: the engine's up to ENGINE_CHECK_MAX students,
        the same closed form summed over the symmetry beyond.
    drift_norm : float
        Largest drift of the reduced equations.
    """

    k1: int
    students: int
    parameters: dict
    loss: float
    kind: str
    min_eigenvalue: float
    index: object
    grad_norm: float
    drift_norm: float

    def to_json(self):
        return {"k1": self.k1, "loss": self.loss, "kind": self.kind,
                "min_eigenvalue": self.min_eigenvalue,
                "index": None if self.index is None else inf_or_int(self.index),
                "grad_norm": self.grad_norm, "drift_norm": self.drift_norm,
                "parameters": {k: float(v) for k, v in self.parameters.items()}}


def smallest_eigenvalues(W, V, dim, count=4):
    """Smallest eigenvalues of the full Hessian (span block and orthogonal block),
    dense for small K and by Lanczos beyond; returns (values, index, method)."""
    from scipy.sparse.linalg import LinearOperator, eigsh


    K, n = W.shape
    if K <= DENSE_MAX:
        spectrum = hessian_spectrum(W, V, dim)
        values = np.repeat(spectrum.span_eigenvalues, spectrum.span_multiplicities)[:count]
        return values, spectrum.min_eigenvalue, spectrum.index, "dense"
    op = hessian_operator(W, V)
    linear = LinearOperator((K * n, K * n), matvec=op, dtype=float)
    start = np.random.default_rng(0).standard_normal(K * n)      # reproducible
    values = np.sort(eigsh(linear, k=count, which="SA", tol=1e-10, v0=start,
                           return_eigenvectors=False))
    orth = orthogonal_block(W, V)
    smallest = values[0]
    negative = int(np.sum(values < -ZERO_TOL))
    if dim > n:
        orth_values = np.linalg.eigvalsh(orth)
        smallest = min(smallest, orth_values[0])
        k = int(np.sum(orth_values < -ZERO_TOL))
        if k:
            negative = np.inf if dim == np.inf else negative + k * int(dim - n)
    return values, float(smallest), negative, "lanczos"


class _Structure:
    """A family member's vectors in a frame that commutes with permuting pairs.

    Classes 0 (good: students G, teachers G') and 1 (bad: students B, teachers S);
    an index is (class, slot). Coordinates are those of V = P^(1/2) (symmetric, so
    permuting pairs permutes coordinates too) and W = M P^(-1/2), which puts the
    students inside the teachers' span with W W^T = Q and W V^T = M.
    """

    def __init__(self, values, K, k1, P_pattern):
        v = {name: 0.0 for name in PARAMETERS} | values
        self.v, self.sizes = v, (K - k1, k1)
        g = K - k1
        p, pq = P_pattern
        self.p, self.pq = p, pq
        low, top = p - pq, p - pq + K * pq          # eigenvalues of P
        self.root = (np.sqrt(low), (np.sqrt(top) - np.sqrt(low)) / K)       # P^(1/2)
        self.inverse_root = (1 / np.sqrt(low), (1 / np.sqrt(top) - 1 / np.sqrt(low)) / K)
        self.row_sums = (v["m_gd"] + (g - 1) * v["m_go"] + k1 * v["m_gs"],
                         g * v["m_bg"] + v["m_bd"] + (k1 - 1) * v["m_bo"])

    def M(self, student, teacher):
        cs, ct = student[0], teacher[0]
        v, same = self.v, student == teacher
        return {(0, 0): v["m_gd"] if same else v["m_go"], (0, 1): v["m_gs"],
                (1, 0): v["m_bg"], (1, 1): v["m_bd"] if same else v["m_bo"]}[cs, ct]

    def Q(self, a, b):
        v, same = self.v, a == b
        return {(0, 0): v["q_gd"] if same else v["q_go"], (0, 1): v["q_gb"],
                (1, 0): v["q_gb"], (1, 1): v["q_bd"] if same else v["q_bo"]}[a[0], b[0]]

    def inner(self, x, y):
        """u_x . u_y for x, y = (kind, (class, slot)); kind 0 student, 1 teacher."""
        (kx, ix), (ky, iy) = x, y
        if kx == ky == 0:
            return self.Q(ix, iy)
        if kx == ky == 1:
            return self.p if ix == iy else self.pq
        return self.M(ix, iy) if kx == 0 else self.M(iy, ix)

    def coordinate(self, x, a):
        """Coordinate a = (class, slot) of u_x."""
        kind, index = x
        if kind == 1:
            return self.root[0] * (index == a) + self.root[1]
        return self.inverse_root[0] * self.M(index, a) + self.inverse_root[1] * \
            self.row_sums[index[0]]

    def partners(self, fixed):
        """Every vector j, as (j, how many vectors are like it), given the indices
        ``fixed``: vectors on a fixed index, and one standing for the rest."""
        for kind in (0, 1):
            for c, n in enumerate(self.sizes):
                taken = sorted({s for k, s in fixed if k == c})
                for s in taken:
                    yield (kind, (c, s)), 1
                if n > len(taken):
                    yield (kind, (c, len(taken))), n - len(taken)

    def geometry(self, x, y):
        """|u_x|, |u_y|, cos, sin and angle between u_x and u_y."""
        nx, ny = np.sqrt(self.inner(x, x)), np.sqrt(self.inner(y, y))
        cos = float(np.clip(self.inner(x, y) / (nx * ny), -1.0, 1.0))
        return nx, ny, cos, np.sqrt(max(1.0 - cos * cos, 0.0)), np.arccos(cos)

    def unit(self, x, a):
        return self.coordinate(x, a) / np.sqrt(self.inner(x, x))

    def radial(self, k):
        """sum_j s_j |u_j| sin t_kj for student k."""
        total = 0.0
        for j, count in self.partners([k[1]]):
            if j != k:
                _, nj, _, sin, _ = self.geometry(k, j)
                total += count * (1 - 2 * j[0]) * nj * sin
        return total

    def gradient(self, k, a):
        """dL/dW_ka: (radial_k u_k/|u_k| + sum_j s_j (pi - t_kj) u_j)_a / 2 pi."""
        total = self.radial(k) * self.unit(k, a)
        for j, count in self.partners([k[1], a]):
            t = 0.0 if j == k else self.geometry(k, j)[4]
            total += count * (1 - 2 * j[0]) * (np.pi - t) * self.coordinate(j, a)
        return total / TWO_PI

    def hessian(self, k, a, l, b):
        """d^2 L / dW_ka dW_lb (the closed forms of ``kernels.evaluate``)."""
        delta = float(a == b)
        if k != l:
            _, _, cos, sin, t = self.geometry(k, l)
            uka, ukb, ula, ulb = (self.unit(k, a), self.unit(k, b), self.unit(l, a),
                                  self.unit(l, b))
            value = (np.pi - t) * delta + sin * uka * ulb
            if sin > 1e-14:
                value += (ula - cos * uka) * (ukb - cos * ulb) / sin
            return value / TWO_PI
        nk = np.sqrt(self.inner(k, k))
        uka, ukb = self.unit(k, a), self.unit(k, b)
        c_k = self.radial(k) / (TWO_PI * nk)
        value = 0.5 * delta + c_k * (delta - uka * ukb)
        for j, count in self.partners([k[1], a, b]):
            if j == k:
                continue
            _, nj, cos, sin, _ = self.geometry(k, j)
            if sin > 1e-14:
                coef = (1 - 2 * j[0]) * nj / (TWO_PI * nk)
                value += count * coef / sin * ((self.unit(j, a) - cos * uka)
                                               * (self.unit(j, b) - cos * ukb))
        return value

    def orthogonal(self, k, l):
        """The block A acting on perturbations outside the span."""
        if k == l:
            return 0.5 + self.radial(k) / (TWO_PI * np.sqrt(self.inner(k, k)))
        return (np.pi - self.geometry(k, l)[4]) / TWO_PI


def structured_spectrum(values, K, k1, P_pattern):
    """Smallest eigenvalues of the span block and of the orthogonal block, and |grad L|,
    of a family member at any width, from the symmetry of permuting pairs
    (``symmetric``): the cost does not depend on K.

    Returns
    -------
    (span_min, orthogonal_min, grad_norm) : floats
    """

    st = _Structure(values, K, k1, P_pattern)
    span = invariant_eigenvalues(
        lambda idx: st.hessian((0, idx[0]), idx[1], (0, idx[2]), idx[3]), 2, st.sizes)
    orth = invariant_eigenvalues(
        lambda idx: st.orthogonal((0, idx[0]), (0, idx[1])), 1, st.sizes)
    squares = 0.0
    for label in orbit_labels(2, st.sizes):       # the gradient is constant on orbits
        (k, a) = representative(label)
        members = 1
        for c, n in enumerate(st.sizes):
            distinct = len({q for cls, q in zip(*label) if cls == c})
            for i in range(distinct):
                members *= n - i
        squares += members * st.gradient((0, k), a) ** 2
    return float(span[0]), float(orth[0]), float(np.sqrt(squares))


def member(values, K, k1, P, dim):
    """Classify a solved family member by its full Hessian.

    Up to DENSE_CHEAP_MAX students the dense spectrum is cheapest. Beyond, the symmetry
    of permuting pairs gives every eigenvalue at a cost that does not depend on K, but
    not their multiplicities: the index is known from it when it is 0, or infinite (a
    negative orthogonal eigenvalue at d = inf); otherwise it is counted on the dense
    spectrum up to DENSE_MAX students and left unknown beyond. |grad L| comes from the
    engine itself up to ENGINE_CHECK_MAX students.
    """
    pattern = teacher_pattern(P)
    loss = max(float(family_loss(values, K, k1, pattern)), 0.0)
    drift_norm = float(np.abs(residual(values, K, k1, pattern)).max())
    index = None
    if K > DENSE_CHEAP_MAX:
        span_min, orth_min, grad_norm = structured_spectrum(values, K, k1, pattern)
        smallest = span_min if dim <= K else min(span_min, orth_min)
        if smallest >= -ZERO_TOL:
            index = 0
        elif dim == np.inf and orth_min < -ZERO_TOL:
            index = np.inf
    if K <= ENGINE_CHECK_MAX:               # DENSE_MAX < ENGINE_CHECK_MAX: one realisation
        W, V = realise_member(values, K, k1, P)
        grad_norm = float(np.linalg.norm(evaluate(W, V, 1).gradient))
        if K <= DENSE_MAX and (K <= DENSE_CHEAP_MAX or index is None):
            _, smallest, index, _ = smallest_eigenvalues(W, V, dim)
    return FamilyMember(k1, K, values, loss, kind_of(loss, index), float(smallest), index,
                        grad_norm, drift_norm)


def _seed_width(k1):
    return max(SEED_WIDTH, k1 + 4)


def family_at(K, k1, P):
    """Parameters of family k1 at width K, or None if it is not found there.

    The family is identified once, from ``GUESS`` at its seed width (20, or k1 + 4),
    and followed by continuation in width to K: downwards one width at a time,
    upwards with strides that double while the solve converges. Following one
    branch keeps the family's identity across widths.
    """
    pattern = teacher_pattern(P)
    if not 0 <= k1 < K:
        return None
    seed = _seed_width(k1)
    values, ok = solve(seed, k1, pattern, GUESS)
    if not ok or (k1 and values.get("m_bd", 0) >= 0):
        return None
    width, stride = seed, 1
    while width != K:
        step = -1 if K < width else min(stride, K - width)
        trial, ok = solve(width + step, k1, pattern, values)
        if ok:
            width, values = width + step, trial
            stride = stride * 2 if step > 0 else 1
        elif step > 1:
            stride = max(1, stride // 2)
        else:
            return None
    return values


def family_branch(widths, k1, P_pattern):
    """Parameters of family k1 at each of ``widths``, as ``family_at`` finds them, with
    the downward continuation from the seed width walked once for all smaller widths.

    Returns
    -------
    dict of int to dict
        Width to parameters, for the widths at which the family is found.
    """
    seed = _seed_width(k1)
    found = {}
    below = sorted((K for K in widths if k1 < K < seed), reverse=True)
    if below:
        values, ok = solve(seed, k1, P_pattern, GUESS)
        if ok and not (k1 and values.get("m_bd", 0) >= 0):
            for width in range(seed - 1, below[-1] - 1, -1):
                values, ok = solve(width, k1, P_pattern, values)
                if not ok:
                    break
                found[width] = values
    for K in widths:
        if K >= seed:
            values = family_at(K, k1, P_pattern)
            if values is not None:
                found[K] = values
    return {K: found[K] for K in widths if K in found}


def _check_width(K, P_pattern, dim):
    p, q = P_pattern
    if not (p - q > 0 and p + (K - 1) * q > 0):
        raise FamilyError(f"the teacher overlaps p = {p:g}, p' = {q:g} are not positive "
                          f"definite at width {K}")
    if dim != np.inf and dim < K:
        raise FamilyError(f"dim must be at least K = {K}")


def families_over_widths(widths, P_pattern, dim, k1s):
    """The family members that exist at each width K = M of ``widths``, for a teacher
    pattern (p, p'); the same members as ``families`` width by width.

    Returns
    -------
    list of (int, FamilyMember)
        (width, member), by width and then k1.
    """
    for K in widths:
        _check_width(K, P_pattern, dim)
    branches = {k1: family_branch([K for K in widths if k1 < K], k1, P_pattern)
                for k1 in k1s}
    out = []
    for K in widths:
        P = pattern_matrix(P_pattern, K)
        for k1 in k1s:
            if K in branches[k1]:
                out.append((K, member(branches[k1][K], K, k1, P, dim)))
    return out


def families(K, P, dim, k1s=None):
    """The family members that exist as critical points at width K.

    Parameters
    ----------
    P : ndarray, shape (K, K), or (p, p')
        The teachers' overlaps, or their pattern (for widths too large to write out).

    Returns
    -------
    list of FamilyMember
    """
    p, q = teacher_pattern(P)
    if not isinstance(P, tuple) and np.shape(P)[0] != K:
        raise FamilyError(f"families need as many students as teachers (K = M), "
                          f"got K = {K}, M = {np.shape(P)[0]}")
    _check_width(K, (p, q), dim)
    out = []
    for k1 in (range(0, K + 1) if k1s is None else k1s):
        values = family_at(K, k1, P)
        if values is not None:
            out.append(member(values, K, k1, P, dim))
    return out


def onset(k1, P_pattern, dim=np.inf):
    """Smallest width from which on family k1 is a local minimum, up to its seed width.

    Walks the branch down from the seed width (where the family is defined) while
    it exists and stays a minimum. None if it is not a minimum at the seed width.
    """
    seed = _seed_width(k1)
    branch = family_branch(range(seed, k1, -1), k1, P_pattern)
    first = None
    for K in range(seed, k1, -1):
        if K not in branch or member(branch[K], K, k1, pattern_matrix(P_pattern, K),
                                     dim).kind not in ("local_minimum", "global_minimum"):
            break
        first = K
    return first


@dataclass
class FamiliesResult:
    """The family members of a FamiliesConfig.

    Attributes
    ----------
    config : FamiliesConfig
    members : list of FamilyMember
    onsets : dict of int to (int or None)
        Per k1, the width from which the family stays a minimum (when asked for).
    """

    config: object
    members: list
    onsets: dict = field(default_factory=dict)

    def to_json(self):
        """The command line's JSON (documented in the README)."""
        rows = []
        for m in self.members:
            row = m.to_json()
            if self.config.onset:
                row["onset"] = self.onsets[m.k1]
            rows.append(row)
        return {"config": self.config.to_dict(), "engine_version": ENGINE_VERSION,
                "families": rows}

    @classmethod
    def from_json(cls, data):
        config = FamiliesConfig.from_dict(data["config"])
        members = [FamilyMember(
            k1=r["k1"], students=config.students, parameters=r["parameters"], loss=r["loss"],
            kind=r["kind"], min_eigenvalue=r["min_eigenvalue"],
            index=None if r["index"] is None else (np.inf if r["index"] == "inf" else r["index"]),
            grad_norm=r["grad_norm"], drift_norm=r["drift_norm"]) for r in data["families"]]
        onsets = {r["k1"]: r["onset"] for r in data["families"] if "onset" in r}
        return cls(config=config, members=members, onsets=onsets)

    def summary(self):
        """A plain-text table (what the command line prints)."""
        onset = self.config.onset
        lines = [f"{'k1':>3} {'loss':>12} {'kind':<15} {'min eig':>11} {'grad norm':>10}"
                 + (f" {'onset':>6}" if onset else "")]
        for m in self.members:
            eig = "-" if m.min_eigenvalue is None else f"{m.min_eigenvalue:.4g}"
            grad = "-" if m.grad_norm is None else f"{m.grad_norm:.1e}"
            lines.append(f"{m.k1:>3} {m.loss:>12.6g} {m.kind:<15} {eig:>11} {grad:>10}"
                         + (f" {str(self.onsets[m.k1]):>6}" if onset else ""))
        return "\n".join(lines) + "\n"


def compute_families(config):
    """The families of a FamiliesConfig (and their onsets when asked for).

    Returns
    -------
    FamiliesResult
    """
    K = config.students
    pattern = teacher_pattern(config.teacher.P)
    written = config.teacher.size == K
    members = families(K, config.teacher.P if written else pattern, config.dim,
                       list(config.k1))
    onsets = ({m.k1: onset(m.k1, pattern, config.dim) for m in members}
              if config.onset else {})
    return FamiliesResult(config=config, members=members, onsets=onsets)
