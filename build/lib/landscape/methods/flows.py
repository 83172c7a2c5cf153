"""Dynamics of the summary statistics (Q, M): gradient-flow and one-pass SGD ODEs,
and a weight-space one-pass SGD simulator to check them against.

Gradient flow dW/dt = -grad L gives dQ/dt = -(G W^T + W G^T), dM/dt = -G V^T.
One-pass SGD, w_k <- w_k + (lr/d) 1[w_k.x > 0] (f* - f) x with t = steps/d, gives in
the limit d -> inf the same drift times lr plus lr^2 E[delta_k delta_l] in dQ/dt
(``moments.second_moment``). Everything is computed from the joint Gram matrix
Omega = [[Q, M], [M^T, P]] realised by an eigendecomposition, so singular Omega
(students aligned with teachers) is fine.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from scipy.integrate import solve_ivp

from ..config import FlowConfig
from ..errors import ComputationLimit, check_deadline
from ..maths.kernels import evaluate, loss_with_zero_students
from ..maths.moments import second_moment
from ..maths.starts import draw_start
from ..maths.teachers import teacher_vectors
from ..version import ENGINE_VERSION

# Students with a smaller norm are dead: they neither move nor contribute.
DEAD_NORM = 1e-12
# Overlaps this many times larger than at the start mean SGD diverged.
BLOWUP = 1e6
# Bound on the work of one integration (drift evaluations).
MAX_EVALUATIONS = 20000


def joint_gram(Q, M, P):
    """Omega = [[Q, M], [M^T, P]], shape (K + M, K + M)."""
    return np.block([[Q, M], [M.T, P]])


def realise(Q, M, P):
    """Vectors with the given overlaps: W, shape (K, N), and V, shape (M, N), N = K + M.

    Any factorisation of Omega works, as the loss and the drift depend on inner
    products only; an eigendecomposition copes with a singular (PSD) Omega.
    """
    K = Q.shape[0]
    values, vectors = np.linalg.eigh(joint_gram(Q, M, P))
    U = vectors * np.sqrt(np.maximum(values, 0.0))
    return U[:K], U[K:]


def loss_of(Q, M, P):
    """L(Q, M) for one point."""
    W, V = realise(Q, M, P)
    W[np.linalg.norm(W, axis=1) <= DEAD_NORM] = 0.0
    return loss_with_zero_students(W, V)


def drift(Q, M, P, lr):
    """(dQ/dt, dM/dt) of gradient flow (lr = 0) or of the one-pass SGD ODE (lr > 0).

    Parameters
    ----------
    Q : ndarray, shape (K, K)
    M : ndarray, shape (K, M)
    P : ndarray, shape (M, M)
    lr : float

    Returns
    -------
    dQ : ndarray, shape (K, K)
    dM : ndarray, shape (K, M)
    """
    K = Q.shape[0]
    W, V = realise(Q, M, P)
    alive = np.linalg.norm(W, axis=1) > DEAD_NORM
    G = np.zeros_like(W)
    if alive.any():
        G[alive] = evaluate(W[alive], V, 1).gradient[0]
    GW = G @ W.T
    rate = lr if lr > 0 else 1.0
    dQ = -rate * (GW + GW.T)
    dM = -rate * (G @ V.T)
    if lr > 0 and alive.any():
        idx = np.nonzero(alive)[0]
        keep = np.concatenate([idx, K + np.arange(P.shape[0])])
        # The PSD projection that was realised: integrator trial steps may leave
        # the PSD cone slightly, and the moment needs a covariance.
        U = np.vstack([W, V])
        omega = (U @ U.T)[np.ix_(keep, keep)]
        dQ[np.ix_(idx, idx)] += lr * lr * second_moment(omega, idx.size)
    return dQ, dM


@dataclass
class Trajectory:
    """Summary statistics along a trajectory.

    Attributes
    ----------
    t : ndarray, shape (T,)
    Q : ndarray, shape (T, K, K)
    M : ndarray, shape (T, K, M)
    loss : ndarray, shape (T,)
    """

    t: np.ndarray
    Q: np.ndarray
    M: np.ndarray
    loss: np.ndarray
    diverged_at: float = None

    def to_json(self):
        out = {"t": self.t.tolist(), "Q": self.Q.tolist(), "M": self.M.tolist(),
               "loss": self.loss.tolist()}
        if self.diverged_at is not None:
            out["diverged_at"] = self.diverged_at
        return out


def integrate(Q0, M0, P, lr, times, rtol=1e-6, atol=1e-9):
    """Integrate the ODE of ``drift`` and report it at the given times.

    Parameters
    ----------
    Q0 : ndarray, shape (K, K)
    M0 : ndarray, shape (K, M)
    P : ndarray, shape (M, M)
    lr : float
        0 for gradient flow (then t is gradient-flow time).
    times : ndarray, shape (T,)
        Increasing, starting at 0.

    Returns
    -------
    Trajectory
        Cut short, with ``diverged_at`` set, if the overlaps blow up (SGD at too
        large a learning rate).

    Raises
    ------
    ComputationLimit
        After ``MAX_EVALUATIONS`` drift evaluations.
    """
    K, Mt = M0.shape
    evaluations = 0
    limit = BLOWUP * max(1.0, np.abs(Q0).max(), np.abs(P).max())

    def unpack(y):
        Q = y[:K * K].reshape(K, K)
        return 0.5 * (Q + Q.T), y[K * K:].reshape(K, Mt)

    def rhs(_, y):
        nonlocal evaluations
        evaluations += 1
        if evaluations > MAX_EVALUATIONS:
            raise ComputationLimit(f"the ODE needed more than {MAX_EVALUATIONS} evaluations")
        check_deadline()
        dQ, dM = drift(*unpack(y), P, lr)
        return np.concatenate([dQ.ravel(), dM.ravel()])

    def blowup(_, y):
        return limit - np.abs(y[:K * K]).max()
    blowup.terminal = True

    y0 = np.concatenate([np.asarray(Q0, float).ravel(), np.asarray(M0, float).ravel()])
    times = np.asarray(times, dtype=float)
    solution = solve_ivp(rhs, (times[0], times[-1]), y0, method="RK45", t_eval=times,
                         rtol=rtol, atol=atol, events=blowup)
    if solution.status < 0:
        raise ComputationLimit(f"ODE integration failed: {solution.message}")
    count = solution.t.size
    Qs = np.empty((count, K, K))
    Ms = np.empty((count, K, Mt))
    for i, y in enumerate(solution.y.T):
        Qs[i], Ms[i] = unpack(y)
    loss = np.array([loss_of(Q, M, P) for Q, M in zip(Qs, Ms)])
    diverged = float(solution.t_events[0][0]) if solution.status == 1 else None
    return Trajectory(t=times[:count], Q=Qs, M=Ms, loss=loss, diverged_at=diverged)


@dataclass
class Simulation:
    """Independent one-pass SGD runs in weight space.

    Attributes
    ----------
    dim : int
    t : ndarray, shape (T,)
    Q : ndarray, shape (R, T, K, K)
    M : ndarray, shape (R, T, K, M)
    loss : ndarray, shape (R, T)
    """

    dim: int
    t: np.ndarray
    Q: np.ndarray
    M: np.ndarray
    loss: np.ndarray
    diverged_at: float = None

    def statistics(self):
        """Means and standard deviations over the runs."""
        return SimulationStatistics(
            dim=self.dim, runs=int(self.Q.shape[0]), t=self.t,
            Q_mean=self.Q.mean(0), Q_std=self.Q.std(0), M_mean=self.M.mean(0),
            M_std=self.M.std(0), loss_mean=self.loss.mean(0), loss_std=self.loss.std(0),
            diverged_at=self.diverged_at)

    def to_json(self):
        return self.statistics().to_json()


@dataclass
class SimulationStatistics:
    """Run means and standard deviations of a Simulation (what its JSON keeps).

    Attributes
    ----------
    dim, runs : int
    t : ndarray, shape (T,)
    Q_mean, Q_std : ndarray, shape (T, K, K)
    M_mean, M_std : ndarray, shape (T, K, M)
    loss_mean, loss_std : ndarray, shape (T,)
    """

    dim: int
    runs: int
    t: np.ndarray
    Q_mean: np.ndarray
    Q_std: np.ndarray
    M_mean: np.ndarray
    M_std: np.ndarray
    loss_mean: np.ndarray
    loss_std: np.ndarray
    diverged_at: float = None

    ARRAYS = ("t", "Q_mean", "Q_std", "M_mean", "M_std", "loss_mean", "loss_std")

    def statistics(self):
        return self

    def to_json(self):
        out = {"dim": self.dim, "runs": self.runs,
               **{name: np.asarray(getattr(self, name)).tolist() for name in self.ARRAYS}}
        if self.diverged_at is not None:
            out["diverged_at"] = self.diverged_at
        return out

    @classmethod
    def from_json(cls, data):
        return cls(dim=data["dim"], runs=data["runs"], diverged_at=data.get("diverged_at"),
                   **{name: np.array(data[name], dtype=float) for name in cls.ARRAYS})


def simulate_sgd(Q0, M0, P, lr, dim, runs, times, seed=0, block=256):
    """One-pass SGD in dimension ``dim`` from weights with overlaps (Q0, M0).

    Every run starts from the same weights and sees its own fresh samples;
    ``runs`` runs advance together (vectorised). Time t corresponds to
    round(t * dim) steps.

    Parameters
    ----------
    Q0 : ndarray, shape (K, K)
    M0 : ndarray, shape (K, M)
    P : ndarray, shape (M, M)
    lr : float
    dim : int
        Input dimension, at least K + M.
    runs : int
    times : ndarray, shape (T,)

    Returns
    -------
    Simulation
        Cut short, with ``diverged_at`` set, if the weights blow up.
    """
    K, Mt = M0.shape
    W0, V0 = realise(np.asarray(Q0, float), np.asarray(M0, float), np.asarray(P, float))
    n = W0.shape[1]
    W = np.zeros((runs, K, dim))
    W[:, :, :n] = W0
    V = np.zeros((Mt, dim))
    V[:, :n] = V0
    steps_at = np.round(np.asarray(times) * dim).astype(np.int64)
    rng = np.random.default_rng(seed)
    Qs = np.empty((runs, steps_at.size, K, K))
    Ms = np.empty((runs, steps_at.size, K, Mt))
    step, record = 0, 0
    scale = lr / dim
    limit = np.sqrt(BLOWUP) * max(1.0, np.abs(W0).max(), np.abs(V0).max())
    diverged = None
    while record < steps_at.size:
        while record < steps_at.size and steps_at[record] == step:
            Qs[:, record] = W @ W.transpose(0, 2, 1)
            Ms[:, record] = W @ V.T
            record += 1
        if record == steps_at.size:
            break
        todo = min(block, steps_at[record] - step)
        X = rng.standard_normal((todo, runs, dim))
        teacher = np.maximum(X @ V.T, 0.0).sum(-1)                # (todo, runs)
        check_deadline()
        for x, target in zip(X, teacher):
            pre = np.einsum("rkd,rd->rk", W, x)
            error = target - np.maximum(pre, 0.0).sum(-1)          # f* - f
            W += (scale * (pre > 0) * error[:, None])[:, :, None] * x[:, None, :]
        step += todo
        if not np.all(np.abs(W).max(axis=(1, 2)) < limit):    # also catches NaN
            diverged = step / dim
            break
    Qs, Ms = Qs[:, :record], Ms[:, :record]
    loss = np.array([[loss_of(Q, M, P) for Q, M in zip(Qr, Mr)] for Qr, Mr in zip(Qs, Ms)])
    return Simulation(dim=dim, t=np.asarray(times, float)[:record], Q=Qs, M=Ms, loss=loss,
                      diverged_at=diverged)


def start_overlaps(config):
    """(Q0, M0) of a FlowConfig: given explicitly, or catalog start ``config.start``."""
    P = config.teacher.P
    if config.init is not None:
        return np.array(config.init[0]), np.array(config.init[1])
    K, Mt = config.students, config.teachers
    n = int(min(config.dim, K + Mt))
    W = draw_start(config.seed, config.start, K, Mt, config.start_dim, n)
    V = teacher_vectors(P, n)
    return W @ W.T, W @ V.T


@dataclass
class FlowResult:
    """A trajectory of a FlowConfig, and its simulation if one was asked for.

    Attributes
    ----------
    config : FlowConfig
    trajectory : Trajectory
    simulation : Simulation, SimulationStatistics (read back from JSON) or None
    seconds : float
    """

    config: object
    trajectory: Trajectory
    simulation: Simulation = None
    seconds: float = 0.0

    def to_json(self):
        """The command line's JSON (documented in the README)."""
        out = {"config": self.config.to_dict(), "engine_version": ENGINE_VERSION,
               "seconds": round(self.seconds, 4), **self.trajectory.to_json()}
        if self.simulation is not None:
            out["simulation"] = self.simulation.to_json()
        return out

    @classmethod
    def from_json(cls, data):
        """The result of ``to_json``'s output. A simulation comes back as its run
        means (``to_json`` keeps no single runs): Q and M of shape (1, T, ...)."""
        if data.get("engine_version") != ENGINE_VERSION:
            raise ValueError(f"a flow of engine version {data.get('engine_version')!r} "
                             f"cannot be read by engine version {ENGINE_VERSION}")
        trajectory = Trajectory(t=np.array(data["t"]), Q=np.array(data["Q"]),
                                M=np.array(data["M"]), loss=np.array(data["loss"]),
                                diverged_at=data.get("diverged_at"))
        simulation = (SimulationStatistics.from_json(data["simulation"])
                      if "simulation" in data else None)
        return cls(config=FlowConfig.from_dict(data["config"]), trajectory=trajectory,
                   simulation=simulation, seconds=data["seconds"])

    def summary(self):
        """A plain-text table along the trajectory (what the command line prints)."""
        trajectory = self.trajectory
        simulation = self.simulation.statistics() if self.simulation is not None else None
        lines = [f"{'t':>10} {'loss':>12} {'mean diag Q':>12} {'max M':>9}"
                 + (f" {'sim loss':>12}" if simulation is not None else "")]
        for i, t in enumerate(trajectory.t):
            row = (f"{t:>10.4g} {trajectory.loss[i]:>12.6g} "
                   f"{np.mean(np.diag(trajectory.Q[i])):>12.6g} {trajectory.M[i].max():>9.4f}")
            if simulation is not None and i < simulation.t.size:
                row += f" {simulation.loss_mean[i]:>12.6g}"
            lines.append(row)
        for name, result in (("ODE", trajectory), ("simulation", simulation)):
            if result is not None and result.diverged_at is not None:
                lines.append(f"{name} diverged at t = {result.diverged_at:.4g} "
                             "(learning rate too large for this width)")
        return "\n".join(lines) + f"\n({round(self.seconds, 4):.2f} s)\n"


def run_flow(config):
    """Trajectory (and simulation, if asked for) of a FlowConfig.

    Returns
    -------
    FlowResult
    """
    began = time.perf_counter()
    P = config.teacher.P
    Q0, M0 = start_overlaps(config)
    times = np.linspace(0.0, config.time, config.points + 1)
    trajectory = integrate(Q0, M0, P, config.lr, times)
    simulation = None
    if config.simulate_dim is not None:
        simulation = simulate_sgd(Q0, M0, P, config.lr, config.simulate_dim, config.runs,
                                  times, seed=config.seed)
    return FlowResult(config=config, trajectory=trajectory, simulation=simulation,
                      seconds=time.perf_counter() - began)
