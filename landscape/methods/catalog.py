"""The fixed-point catalog: where gradient flow from random starts ends, classified.

Work is split into chunks of starts (``run_chunk``), each independent and
deterministic given the config, so chunks can run anywhere; ``assemble`` merges
chunk results into a ``Catalog``.

Identification rule (documented in the README):
  1. Merge: students whose directions agree to within ``PARALLEL_COS`` are one
     student (their sum) -- splitting w into a w and (1 - a) w leaves the
     function unchanged, so the whole split manifold maps to one point; students
     of zero norm are dropped.
  2. Two points are the same entry when the merged points have the same loss and
     the same invariants under student permutations and teacher permutations
     (sorted eigenvalues of Q and of M^T M, sorted entries of M and of diag Q), to
     within ``SAME_TOL``. These invariants ignore which teacher permutations
     preserve P; two points related by one that does not differ in loss unless P
     is symmetric under it.
  3. An entry's representative is its member of lowest index (a flat manifold
     that contains a minimum is reported as a minimum), then first found.
  4. Every point at loss < 1e-10 is the one global-minimum entry: for K > M the
     zero-loss set is connected (split segments end in padded points, and those
     join every arrangement), and its points differ only along flat directions.
  5. A padded end (zero students, the living ones at a critical point) whose loss
     is below 1e-10 joins the global-minimum entry, as the split point that fills
     each zero slot with half of a living student (the same function, a critical
     point on the split segment that ends at the padded point). Other padded ends
     are ``DeadPoint`` entries, merged by the same invariants (zero students
     dropped) and classified by ``maths.padding.classify_padded``.
"""
from __future__ import annotations

import math
import time
from contextlib import closing
from dataclasses import dataclass, field

import numpy as np

from ..config import CatalogConfig, inf_or_int
from ..errors import check_deadline
from .descent import CONVERGED, PADDED, DescentOptions, descend
from ..maths.kernels import evaluate, loss_with_zero_students
from ..maths.padding import classify_padded
from ..maths.spectrum import GLOBAL_LOSS, HessianSpectrum, classify, hessian_spectrum
from ..maths.starts import draw_starts
from ..maths.teachers import teacher_vectors
from ..version import ENGINE_VERSION

CHUNK_MIN, CHUNK_MAX = 20, 250
# Students closer in angle than 1e-3 rad are parallel: near a split point the
# loss grows only like the cube of the opening angle, so polishing to
# |grad| < 1e-10 leaves angles up to ~1e-5.
PARALLEL_COS = float(np.cos(1e-3))
SAME_TOL = 1e-6


@dataclass
class ChunkResult:
    """Endpoints of a chunk of starts.

    Attributes
    ----------
    indices : ndarray of int, shape (C,)
    students : ndarray, shape (C, K, n)
        Converged ones snapped (``snap_parallel``), with ``grad_norm`` at the snapped point.
    status : ndarray of str, shape (C,)
    grad_norm : ndarray, shape (C,)
    saddles : list of ndarray (K, n)
        Saddles the chunk's flows passed and escaped from.
    reasons : list of str or None
        Why each unconverged start stopped (``DescentResult.reason``).
    """

    indices: np.ndarray
    students: np.ndarray
    status: np.ndarray
    grad_norm: np.ndarray
    saddles: list
    reasons: list = None

    def to_json(self):
        return {
            "indices": self.indices.tolist(),
            "students": self.students.tolist(),
            "status": [str(s) for s in self.status],
            "grad_norm": [float(g) if np.isfinite(g) else None for g in self.grad_norm],
            "saddles": [s.tolist() for s in self.saddles],
            "reasons": None if self.reasons is None else [str(r) for r in self.reasons],
        }

    @classmethod
    def from_json(cls, data, config):
        return cls(
            indices=np.array(data["indices"], dtype=int),
            students=np.array(data["students"], dtype=float).reshape(
                len(data["indices"]), config.students, config.reduced_dim),
            status=np.array(data["status"], dtype=object),
            grad_norm=np.array([np.inf if g is None else g for g in data["grad_norm"]]),
            saddles=[np.array(s) for s in data["saddles"]], reasons=data.get("reasons"))


@dataclass
class FixedPoint:
    """One entry of the catalog (a class of equivalent critical points).

    Attributes
    ----------
    loss : float
    kind : str
        ``global_minimum``, ``local_minimum`` or ``saddle``.
    spectrum : HessianSpectrum
    hits : int
        Starts whose flow ended here.
    visits : int
        Flows that passed this saddle and escaped (0 for minima).
    grad_norm : float
    students : ndarray, shape (K, n)
        Representative in reduced coordinates, students in canonical order.
    Q : ndarray, shape (K, K)
    M : ndarray, shape (K, M)
    """

    loss: float
    kind: str
    spectrum: HessianSpectrum
    hits: int
    visits: int
    grad_norm: float
    students: np.ndarray
    Q: np.ndarray
    M: np.ndarray
    signature: np.ndarray = field(repr=False, default=None)
    embedding_hits: int = 0

    @property
    def source(self):
        """``random`` if random starts found it, else ``embedding``."""
        return "random" if self.hits or self.visits else "embedding"

    @property
    def index(self):
        return self.spectrum.index

    @property
    def flat(self):
        return self.spectrum.flat

    @property
    def min_eigenvalue(self):
        return self.spectrum.min_eigenvalue

    def to_json(self, starts):
        return {
            "loss": self.loss,
            "kind": self.kind,
            "index": inf_or_int(self.index),
            "flat": inf_or_int(self.flat),
            "min_eigenvalue": self.min_eigenvalue,
            "hits": self.hits,
            "fraction": self.hits / starts,
            "visits": self.visits,
            "source": self.source,
            "embedding_hits": self.embedding_hits,
            "grad_norm": self.grad_norm,
            "Q": self.Q.tolist(),
            "M": self.M.tolist(),
            "students": self.students.tolist(),
            "hessian": self.spectrum.to_json(),
        }

    @classmethod
    def from_json(cls, data):
        return cls(loss=data["loss"], kind=data["kind"],
                   spectrum=HessianSpectrum.from_json(data["hessian"]), hits=data["hits"],
                   visits=data["visits"], grad_norm=data["grad_norm"],
                   students=np.array(data["students"], dtype=float),
                   Q=np.array(data["Q"], dtype=float), M=np.array(data["M"], dtype=float),
                   embedding_hits=data.get("embedding_hits", 0),
                   signature=entry_signature(data["loss"], np.array(data["Q"]),
                                             np.array(data["M"])))


@dataclass
class DeadPoint:
    """A class of padded ends: zero (dead) students, the living ones at a polished
    critical point. The loss is not differentiable there.

    Attributes
    ----------
    loss : float
    dead : int
        Number of zero students.
    hits : int
    grad_norm : float
        Over the living students (polished like any critical point).
    Q : ndarray, shape (K, K)
    M : ndarray, shape (K, M)
    kind : str
        ``local_minimum``, ``saddle`` or ``flat`` (see ``maths.padding.PaddedClass``).
    index : int or math.inf
        Index of the living students' Hessian.
    padding_min : float
        min over unit u of g(u), the first-order change of the loss per unit norm
        of a student added along u (<= 0: it vanishes at the living directions).
    split_curvature : float
        Smallest curvature of g on the sphere at the living students' directions.
    students : ndarray, shape (K, n)
        Representative, zero rows for the dead students.
    """

    loss: float
    dead: int
    hits: int
    grad_norm: float
    Q: np.ndarray
    M: np.ndarray
    signature: np.ndarray = field(repr=False, default=None)
    embedding_hits: int = 0
    kind: str = "flat"
    index: float = 0
    padding_min: float = 0.0
    split_curvature: float = 0.0
    students: np.ndarray = field(repr=False, default=None)

    def to_json(self, starts):
        return {"loss": self.loss, "reason": "dead_student", "dead": self.dead,
                "kind": self.kind, "index": inf_or_int(self.index),
                "padding_min": self.padding_min, "split_curvature": self.split_curvature,
                "hits": self.hits, "fraction": self.hits / starts,
                "embedding_hits": self.embedding_hits, "grad_norm": self.grad_norm,
                "Q": self.Q.tolist(), "M": self.M.tolist()}

    @classmethod
    def from_json(cls, data):
        return cls(loss=data["loss"], dead=data["dead"], hits=data["hits"],
                   grad_norm=data["grad_norm"], Q=np.array(data["Q"], dtype=float),
                   M=np.array(data["M"], dtype=float),
                   embedding_hits=data.get("embedding_hits", 0),
                   kind=data["kind"],
                   index=math.inf if data["index"] == "inf" else data["index"],
                   padding_min=data["padding_min"], split_curvature=data["split_curvature"],
                   signature=signature(data["loss"], np.array(data["Q"]), np.array(data["M"])))


@dataclass
class Catalog:
    """Everything a fixed-point search found.

    Attributes
    ----------
    config : CatalogConfig
    fixed_points : list of FixedPoint
        Sorted by loss.
    dead_points : list of DeadPoint
        Padded ends above zero loss, sorted by loss.
    unconverged : int
        Starts that did not reach a critical point within the budget.
    seconds : float
    padded_global : int
        Random starts that ended at a padded point of zero loss (counted in the
        global-minimum entry's hits).
    unconverged_reasons : dict
        Unconverged random starts by reason (see ``DescentResult.reason``).
    """

    config: object
    fixed_points: list
    dead_points: list
    unconverged: int
    seconds: float
    padded_global: int = 0
    unconverged_reasons: dict = field(default_factory=dict)

    @property
    def global_fraction(self):
        """Share of starts ending at loss < 1e-10 (padded ends included: they are
        counted in the global-minimum entry)."""
        hits = sum(p.hits for p in self.fixed_points if p.kind == "global_minimum")
        return hits / self.config.starts

    def to_json(self):
        """The command line's JSON (documented in the README)."""
        starts = self.config.starts
        return {
            "config": self.config.to_dict(),
            "engine_version": ENGINE_VERSION,
            "seconds": round(self.seconds, 4),
            "unconverged": self.unconverged,
            "unconverged_reasons": dict(self.unconverged_reasons),
            "global_fraction": self.global_fraction,
            "fixed_points": [p.to_json(starts) for p in self.fixed_points],
            "nondifferentiable": {
                "count": sum(p.hits for p in self.dead_points),
                "in_global_minimum": self.padded_global,
                "points": [p.to_json(starts) for p in self.dead_points],
            },
        }

    @classmethod
    def from_json(cls, data):
        """The catalog of ``to_json``'s output (its config validated again)."""
        if data.get("engine_version") != ENGINE_VERSION:
            raise ValueError(f"a catalog of engine version {data.get('engine_version')!r} "
                             f"cannot be read by engine version {ENGINE_VERSION}")
        return cls(config=CatalogConfig.from_dict(data["config"]),
                   fixed_points=[FixedPoint.from_json(p) for p in data["fixed_points"]],
                   dead_points=[DeadPoint.from_json(p)
                                for p in data["nondifferentiable"]["points"]],
                   unconverged=data["unconverged"], seconds=data["seconds"],
                   padded_global=data["nondifferentiable"]["in_global_minimum"],
                   unconverged_reasons=dict(data["unconverged_reasons"]))

    def summary(self):
        """A plain-text table of the entries (what the command line prints)."""
        c = self.config
        lines = [
            f"K={c.students} M={c.teachers} teacher={c.teacher.spec} d={inf_or_int(c.dim)}"
            f" starts={c.starts} seed={c.seed}"
            + (f" init-dim={c.init_dim}" if c.dim == math.inf else ""),
            f"{len(self.fixed_points)} fixed points, global fraction "
            f"{self.global_fraction:.3f}, unconverged {self.unconverged}, dead-student "
            f"endpoints {sum(p.hits for p in self.dead_points)}, {round(self.seconds, 4):.2f} s",
            "",
            f"{'#':>3} {'loss':>12} {'kind':<15} {'index':>5} {'flat':>5} {'min eig':>11} "
            f"{'hits':>6} {'share':>7} {'visits':>6}",
        ]
        for i, p in enumerate(self.fixed_points):
            lines.append(
                f"{i:>3} {p.loss:>12.6g} {p.kind:<15} {inf_or_int(p.index):>5} "
                f"{inf_or_int(p.flat):>5} {p.min_eigenvalue:>11.4g} {p.hits:>6} "
                f"{100 * p.hits / c.starts:>6.1f}% {p.visits:>6}")
        if self.dead_points:
            lines += ["", "endpoints with dead (zero) students, where the loss is not "
                          "differentiable:"]
        for p in self.dead_points:
            lines.append(f"  - loss {p.loss:.6g}, {p.dead} dead, {p.hits} hits "
                         f"({100 * p.hits / c.starts:.1f}%)")
        return "\n".join(lines) + "\n"


def chunks(starts, workers=1):
    """Index ranges of the chunks a search of ``starts`` starts is split into.

    About two chunks per worker, of 20 to 250 starts. Inside a chunk the flow keeps
    a window of starts busy, refilled as starts finish, so a chunk costs about its
    total flow, not its slowest start times its size; larger chunks keep the window
    full for longer (the last starts of a chunk and its later rounds run in thin
    windows). Measured (K = M = 10, d = 10, 1000 starts, one process, window 48):
    8.6 s CPU with chunks of 250 against 9.2 s with chunks of 100. The catalog does
    not depend on it.
    """
    size = int(np.clip(np.ceil(starts / (2 * max(workers, 1))), CHUNK_MIN, CHUNK_MAX))
    return [range(i, min(i + size, starts)) for i in range(0, starts, size)]


@dataclass(frozen=True)
class GivenStarts:
    """A part of a search made of explicit starting points rather than random
    starts (the embedded points of the width hierarchy).

    Attributes
    ----------
    indices : tuple of int
        Positions of these starts in the whole search.
    students : tuple
        The starts, shape (C, K, n) as nested tuples (hashable, JSON-ready).
    """

    indices: tuple
    students: tuple

    @classmethod
    def of(cls, indices, students):
        return cls(tuple(int(i) for i in indices),
                   tuple(map(tuple, np.asarray(students, dtype=float).reshape(
                       len(indices), -1).tolist())))

    def __len__(self):
        return len(self.indices)

    def to_json(self):
        return {"indices": list(self.indices), "students": [list(s) for s in self.students]}

    @classmethod
    def from_json(cls, data):
        return cls.of(data["indices"], data["students"])


def part_json(part):
    """A part (a range of random-start indices, or ``GivenStarts``) as JSON."""
    return part.to_json() if isinstance(part, GivenStarts) else [int(i) for i in part]


def part_from_json(data):
    return GivenStarts.from_json(data) if isinstance(data, dict) else data


def run_chunk(config, part, options=DescentOptions()):
    """Descend from a part of a search: random starts with the given indices
    (deterministic per index), or ``GivenStarts``."""
    n = config.reduced_dim
    V = teacher_vectors(config.teacher.P, n)
    if isinstance(part, GivenStarts):
        indices = np.array(part.indices, dtype=int)
        W0 = np.array(part.students, dtype=float).reshape(len(part), config.students, n)
    else:
        indices = np.asarray(list(part), dtype=int)
        W0 = draw_starts(config.seed, indices, config.students, config.teachers,
                         config.start_dim, n)
    result = descend(W0, V, options)
    students, grad_norm = result.students, result.grad_norm
    # Snap here rather than in ``assemble``: chunks run in parallel, assembling does not.
    for i in np.nonzero(result.status == CONVERGED)[0]:
        students[i], grad_norm[i] = snapped_point(students[i], V, grad_norm[i])
    return ChunkResult(indices=indices, students=students, status=result.status,
                       grad_norm=grad_norm, saddles=[point for _, point in result.saddles],
                       reasons=[str(r) for r in result.reason])


def run_serially(config, parts, options, chunk=run_chunk):
    """The in-process executor: ``chunk`` (a catalog's by default) of each part, one
    after the other."""
    for part in parts:
        yield chunk(config, part, options)


def find_fixed_points(config, progress=None, options=DescentOptions(), executor=None):
    """The fixed-point catalog of a config.

    Parameters
    ----------
    config : CatalogConfig
    progress : callable(done, total, stage) or None
        Called after each chunk with the number of starts done (stage "starts"); it
        may raise to stop the search.
    executor : callable or None
        ``executor(config, parts, options)`` yielding chunk results (see
        ``landscape.running.executors``); default: every chunk in this process.

    Returns
    -------
    Catalog
    """
    began = time.perf_counter()
    run = executor or run_serially
    parts = chunks(config.starts, getattr(run, "workers", 1))
    results = []
    done = 0
    # closing(): if progress raises (a cancel, a time budget), the executor drops the
    # chunks still queued at once.
    with closing(run(config, parts, options)) as running:
        for result in running:
            results.append(result)
            done += len(result.indices)
            if progress is not None:
                progress(done, config.starts, "starts")
            check_deadline()        # chunks in other processes do not see the deadline
    # Assemble in start order, so the catalog does not depend on where chunks ran.
    results.sort(key=lambda r: int(r.indices[0]) if len(r.indices) else 0)
    catalog = assemble(config, results)
    catalog.seconds = time.perf_counter() - began
    return catalog


def summary(students, teachers):
    """Q = W W^T, shape (K, K), and M = W V^T, shape (K, M)."""
    return students @ students.T, students @ teachers.T


def canonical_order(M):
    """Students ordered by the teacher they overlap most with, then by that overlap."""
    best = np.argmax(M, axis=1)
    return np.lexsort((-M[np.arange(M.shape[0]), best], best))


def parallel_groups(Q):
    """Groups of parallel students (lists of indices); zero students are left out."""
    norms = np.sqrt(np.maximum(np.diag(Q), 0.0))
    groups = []
    for k in np.nonzero(norms > 0)[0]:
        for group in groups:
            l = group[0]
            if Q[k, l] > PARALLEL_COS * norms[k] * norms[l]:
                group.append(k)
                break
        else:
            groups.append([k])
    return groups


def snap_parallel(W, V):
    """Make nearly parallel students exactly parallel (keeping their norms).

    A group of parallel students takes the direction of a teacher it is parallel
    to, else the direction of its sum. On such points the Hessian is only
    continuous (the loss grows like the cube of the opening angle), so polished
    points are left up to ~1e-5 off them with spurious curvatures of that size;
    snapping makes signs and flat counts reliable.

    Parameters
    ----------
    W : ndarray, shape (K, n)
    V : ndarray, shape (M, n)

    Returns
    -------
    ndarray, shape (K, n)
    """
    W = W.copy()
    K = W.shape[0]
    U = np.vstack([W, V])
    for group in parallel_groups(U @ U.T):
        students = [k for k in group if k < K]
        teachers = [k for k in group if k >= K]
        if not students or len(group) < 2:
            continue
        direction = U[teachers[0]] if teachers else W[students].sum(axis=0)
        direction = direction / np.linalg.norm(direction)
        W[students] = np.linalg.norm(W[students], axis=1)[:, None] * direction
    return W


def snapped_point(W, V, grad_norm):
    """``snap_parallel(W, V)`` and the gradient norm there (unchanged if nothing moved)."""
    snapped = snap_parallel(W, V)
    if np.array_equal(snapped, W):
        return W, grad_norm
    return snapped, evaluate_gradient_norm(snapped, V)


def signature(loss, Q, M):
    """Invariants of the merged point under student/teacher permutations (see module doc)."""
    K = Q.shape[0]
    groups = parallel_groups(Q)
    merge = np.zeros((len(groups), K))
    for g, members in enumerate(groups):
        merge[g, members] = 1.0
    Qm, Mm = merge @ Q @ merge.T, merge @ M
    return np.concatenate([
        [loss, len(groups)],
        np.linalg.eigvalsh(Qm),
        np.linalg.eigvalsh(Mm.T @ Mm),
        np.sort(Mm.ravel()),
        np.sort(np.diag(Qm)),
    ])


def _same(a, b):
    return a.shape == b.shape and np.all(np.abs(a - b) <= SAME_TOL * (1.0 + np.abs(a)))


def _find(entries, sig):
    for entry in entries:
        if _same(entry.signature, sig):
            return entry
    return None


def identify(fixed_points, W, V, loss=None):
    """Where a polished, snapped critical point W belongs among catalog entries
    (``loss``: its loss, when already computed).

    Returns
    -------
    loss, Q, M, signature, entry
        ``entry`` is None if no entry matches.
    """
    if loss is None:
        loss = float(evaluate(W, V, 0).loss[0])
    loss = max(loss, 0.0)  # a mean square; drop round-off
    Q, M = summary(W, V)
    sig = entry_signature(loss, Q, M)
    return loss, Q, M, sig, _find(fixed_points, sig)


# Every zero-loss point is the one global-minimum entry (rule 4 of the module doc).
GLOBAL_SIGNATURE = np.array([-1.0])


def entry_signature(loss, Q, M):
    """The signature of the catalog entry of a critical point of this loss and overlaps."""
    return GLOBAL_SIGNATURE if loss < GLOBAL_LOSS else signature(loss, Q, M)


def unpadded(W):
    """The padded point W (zero rows dead) with each zero row filled by half of the
    largest living student: the same function, on the split segment that ends at W."""
    W = W.copy()
    for k in np.nonzero(np.einsum("kn,kn->k", W, W) == 0)[0]:
        largest = int(np.argmax(np.einsum("kn,kn->k", W, W)))
        W[k] = W[largest] = 0.5 * W[largest]
    return W


class CatalogBuilder:
    """Adds classified endpoints to the entries of a catalog, merging equivalent ones.

    Each addition counts towards ``hits`` (a random start ended there), ``visits``
    (a random start's flow passed this saddle) or ``embedding_hits`` (reached by
    the embedding search of the width hierarchy).
    """

    def __init__(self, config, catalog=None):
        self.config = config
        self.V = teacher_vectors(config.teacher.P, config.reduced_dim)
        self.fixed_points = catalog.fixed_points if catalog else []
        self.dead_points = catalog.dead_points if catalog else []
        self.unconverged = catalog.unconverged if catalog else 0
        self.padded_global = catalog.padded_global if catalog else 0
        self.unconverged_reasons = dict(catalog.unconverged_reasons) if catalog else {}

    def add_critical(self, W, grad_norm, counter="hits", snapped=False, weight=1, loss=None):
        """Add a polished critical point (``snapped``: already through
        ``snapped_point``; ``loss``: its loss, if known) ``weight`` times; returns
        its entry."""
        V = self.V
        if not snapped:
            W, grad_norm, loss = *snapped_point(W, V, grad_norm), None
        loss, Q, M, sig, entry = identify(self.fixed_points, W, V, loss)
        if entry is not None and (entry.flat == 0 or entry.index == 0):
            # An isolated critical point: every member has the entry's spectrum;
            # or a minimum: no member can lower its index.
            setattr(entry, counter, getattr(entry, counter) + weight)
            return entry
        spectrum = hessian_spectrum(W, V, self.config.dim)
        if entry is None:
            entry = FixedPoint(loss=loss, kind=classify(loss, spectrum), spectrum=spectrum,
                               hits=0, visits=0, grad_norm=float(grad_norm),
                               students=W, Q=Q, M=M, signature=sig)
            self.fixed_points.append(entry)
        elif spectrum.index < entry.index:
            entry.spectrum, entry.kind = spectrum, classify(loss, spectrum)
            entry.students, entry.Q, entry.M = W, Q, M
            entry.grad_norm = float(grad_norm)
        setattr(entry, counter, getattr(entry, counter) + weight)
        return entry

    def add_padded(self, W, grad_norm, counter="hits", weight=1):
        """Add a padded end (zero rows dead, the living students polished); returns its
        entry: the global minimum's at zero loss, else a ``DeadPoint``."""
        V = self.V
        loss = loss_with_zero_students(W, V)
        if loss < GLOBAL_LOSS:
            if counter == "hits":
                self.padded_global += weight
            split = unpadded(W)
            return self.add_critical(split, evaluate_gradient_norm(split, V), counter,
                                     weight=weight)
        Q, M = summary(W, V)
        sig = signature(loss, Q, M)
        entry = _find(self.dead_points, sig)
        if entry is None:
            found = classify_padded(W, V, self.config.dim)
            entry = DeadPoint(loss=loss, dead=found.dead, hits=0, grad_norm=float(grad_norm),
                              Q=Q, M=M, signature=sig, kind=found.kind, index=found.index,
                              padding_min=found.padding_min,
                              split_curvature=found.split_curvature, students=W.copy())
            self.dead_points.append(entry)
        setattr(entry, counter, getattr(entry, counter) + weight)
        return entry

    def add(self, W, status, grad_norm, counter="hits", snapped=False, weight=1, reason=None,
            loss=None):
        """Add any descent endpoint ``weight`` times; returns its entry, or None if
        unconverged (then counted, with ``reason``, for random starts)."""
        if status == CONVERGED:
            return self.add_critical(W, grad_norm, counter, snapped, weight, loss)
        if status == PADDED:
            return self.add_padded(W, grad_norm, counter, weight)
        if counter == "hits":
            self.unconverged += weight
            reason = reason or "unknown"
            self.unconverged_reasons[reason] = self.unconverged_reasons.get(reason, 0) + weight
        return None

    def finish(self, seconds=0.0):
        """Canonical student order, entries sorted by loss."""
        for entry in self.fixed_points:
            order = canonical_order(entry.M)
            entry.students = entry.students[order]
            entry.Q, entry.M = summary(entry.students, self.V)
        for entry in self.dead_points:
            order = canonical_order(entry.M)
            entry.Q, entry.M = entry.Q[np.ix_(order, order)], entry.M[order]
            if entry.students is not None:
                entry.students = entry.students[order]
        self.fixed_points.sort(key=lambda p: (p.loss, -p.hits))
        self.dead_points.sort(key=lambda p: (p.loss, -p.hits))
        return Catalog(config=self.config, fixed_points=self.fixed_points,
                       dead_points=self.dead_points, unconverged=self.unconverged,
                       seconds=seconds, padded_global=self.padded_global,
                       unconverged_reasons=self.unconverged_reasons)


def assemble(config, results):
    """Classify the endpoints of all chunks and merge equivalent ones."""
    builder = CatalogBuilder(config)
    for result in results:
        reasons = result.reasons or [None] * len(result.status)
        # The losses of a chunk's critical points in one batched evaluation.
        losses = np.full(len(result.status), np.nan)
        critical = np.nonzero(result.status == CONVERGED)[0]
        if critical.size:
            losses[critical] = evaluate(result.students[critical], builder.V, 0).loss
        for W, status, g, reason, loss in zip(result.students, result.status,
                                              result.grad_norm, reasons, losses):
            builder.add(W, status, g, snapped=True, reason=reason,
                        loss=None if np.isnan(loss) else float(loss))
        for W in result.saddles:
            builder.add_critical(W, evaluate_gradient_norm(W, builder.V), counter="visits")
    return builder.finish()


def evaluate_gradient_norm(W, V):
    return float(np.linalg.norm(evaluate(W, V, 1).gradient[0]))
