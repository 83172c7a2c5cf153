"""The width hierarchy of minima: catalogs at several widths, linked by embeddings.

Random starts miss minima with small basins. Every minimum and index-1 saddle at
width K is therefore also embedded into width K + 1 in each way that keeps the
network function:

* ``split``: student w becomes a w and (1 - a) w (a = 1/2 and 1/4);
* ``pad``: a student of zero output is added -- a tiny student, pointing along
  the teachers' residual direction or a fresh direction (the zero student itself
  is a non-differentiable point).

Each embedded point is nudged along the negative and flat directions of its
Hessian (both signs) and descended by the same gradient flow + Newton as the
catalog, in chunks through the same executor as the catalogs. What it reaches is
added to the K + 1 catalog under ``embedding_hits`` (kept apart from random-start
``hits``) and linked to where it came from.

Embeddings related by a permutation of students (equal invariants: the split of
any student of W = V, say) drain alike: one of each class is descended and its
ends are counted once per member. Embeddings of a zero-loss point are zero-loss
points, members of the global minimum: they are linked to it without descending.
"""
from __future__ import annotations

import dataclasses
from contextlib import closing
from dataclasses import dataclass

import numpy as np

from ..config import inf_or_int
from .catalog import (Catalog, CatalogBuilder, GivenStarts, chunks, find_fixed_points,
                      run_serially, summary)
from .descent import DescentOptions
from ..maths.kernels import evaluate
from ..maths.spectrum import GLOBAL_LOSS, ZERO_TOL
from ..maths.teachers import teacher_vectors
from ..version import ENGINE_VERSION

SPLIT_RATIOS = (0.5, 0.25)
NUDGE = 1e-3            # relative size of the push off an embedded point
PAD_NORM = 1e-3         # relative norm of a padded student
MAX_NUDGE_DIRECTIONS = 6


@dataclass
class Level:
    """One width of the hierarchy.

    Attributes
    ----------
    catalog : Catalog
        Random-start catalog, extended by what the embedding search reached.
    """

    catalog: object

    @property
    def students(self):
        return self.catalog.config.students


@dataclass
class Hierarchy:
    """Levels in increasing width and the links between them.

    Attributes
    ----------
    levels : list of Level
    links : list of dict
        ``{"from": {"students", "index"}, "to": {"students", "index"}, "relation",
        "count"}``; indices into the levels' ``fixed_points`` lists.
    """

    levels: list
    links: list

    def to_json(self):
        return {
            "engine_version": ENGINE_VERSION,
            "levels": [{"students": level.students,
                        "global_fraction": level.catalog.global_fraction,
                        **{k: v for k, v in level.catalog.to_json().items()
                           if k in ("config", "unconverged", "unconverged_reasons",
                                    "fixed_points", "nondifferentiable", "seconds")}}
                       for level in self.levels],
            "links": self.links,
        }

    @classmethod
    def from_json(cls, data):
        """The hierarchy of ``to_json``'s output."""
        levels = []
        for level in data["levels"]:
            catalog = {"engine_version": data.get("engine_version", ENGINE_VERSION),
                       "global_fraction": level["global_fraction"], **level}
            levels.append(Level(Catalog.from_json(catalog)))
        return cls(levels=levels, links=data["links"])

    def summary(self):
        """Plain text: each level's entries, then the links (what the command line prints)."""
        lines = []
        for level in self.levels:
            lines.append(f"width {level.students}: global fraction "
                         f"{level.catalog.global_fraction:.3f}")
            for i, p in enumerate(level.catalog.fixed_points):
                lines.append(
                    f"  {i:>3} loss {p.loss:<12.6g} {p.kind:<15} "
                    f"index {inf_or_int(p.index):>4} flat {inf_or_int(p.flat):>4}  "
                    f"hits {p.hits:>5}  embedding hits {p.embedding_hits:>4}  ({p.source})")
        lines.append("links:")
        for link in self.links:
            to = link["to"]
            dead = " (dead student)" if to.get("nondifferentiable") else ""
            lines.append(f"  {link['from']['students']}#{link['from']['index']} -> "
                         f"{to['students']}#{to['index']}{dead}  {link['relation']} "
                         f"x{link['count']}")
        return "\n".join(lines) + "\n"


def embeddings(W, V, rng):
    """Points of width K + 1 with the same network function as W (K, n), padded to
    one more coordinate column if needed by the caller.

    Returns
    -------
    list of (relation, ndarray (K + 1, n))
    """
    K, n = W.shape
    out = []
    for k in range(K):
        for a in SPLIT_RATIOS:
            split = np.vstack([W, (1 - a) * W[k]])
            split[k] = a * W[k]
            out.append(("split", split))
    scale = np.sqrt(np.mean(np.einsum("mn,mn->m", V, V)))
    # Pad along the residual: the direction u that most increases E[(f* - f) ReLU(u.x)]
    # is where a new student helps first; and along a fresh random direction.
    residual = -evaluate(np.vstack([W, 1e-6 * rng.standard_normal(n)]), V, 1).gradient[0][-1]
    for direction in (residual, rng.standard_normal(n)):
        direction = direction / max(np.linalg.norm(direction), 1e-300)
        out.append(("pad", np.vstack([W, PAD_NORM * scale * direction])))
    return out


def _nudged(W, V, rng):
    """W and small pushes along its negative and flat Hessian directions."""
    K, n = W.shape
    H = evaluate(W, V, 2).hessian[0].reshape(K * n, K * n)
    values, vectors = np.linalg.eigh(0.5 * (H + H.T))
    soft = np.nonzero(values < ZERO_TOL)[0][:MAX_NUDGE_DIRECTIONS]
    scale = np.sqrt(np.mean(np.einsum("mn,mn->m", V, V)))
    points = []
    for i in soft:
        for sign in (1.0, -1.0):
            points.append(W + sign * NUDGE * scale * vectors[:, i].reshape(K, n))
    if not points:
        # A strict minimum of the embedding: a random push shows where it drains.
        points.append(W + NUDGE * scale * rng.standard_normal(W.shape) / np.sqrt(W.size))
    return points


def _invariants(W, V):
    """Invariants of a point under student and teacher permutations (no merging)."""
    Q, M = summary(W, V)
    return np.concatenate([np.linalg.eigvalsh(Q), np.linalg.eigvalsh(M.T @ M),
                           np.sort(M.ravel()), np.sort(np.diag(Q))])


def _distinct(points, V):
    """Classes of points with equal invariants: [(representative, members)]."""
    classes = []
    for relation, W in points:
        key = _invariants(W, V)
        for c in classes:
            if c[0] == relation and np.allclose(c[1], key, rtol=1e-9, atol=1e-12):
                c[3] += 1
                break
        else:
            classes.append([relation, key, W, 1])
    return [(relation, W, count) for relation, _, W, count in classes]


def descend_given(config, starts, options, executor=None, progress=None):
    """Descend explicit starts (S, K, n) in chunks through ``executor``.

    Returns
    -------
    students : ndarray, shape (S, K, n)
        Ends, converged ones snapped (as ``catalog.run_chunk`` leaves them).
    status : ndarray of str, shape (S,)
    grad_norm : ndarray, shape (S,)
    """
    run = executor or run_serially
    parts = [GivenStarts.of(list(r), starts[r.start:r.stop])
             for r in chunks(len(starts), getattr(run, "workers", 1))]
    students = np.zeros(starts.shape)
    status = np.empty(len(starts), dtype=object)
    grad_norm = np.zeros(len(starts))
    done = 0
    with closing(run(config, parts, options)) as running:
        for result in running:
            students[result.indices] = result.students
            status[result.indices] = result.status
            grad_norm[result.indices] = result.grad_norm
            done += len(result.indices)
            if progress is not None:
                progress(done, len(starts), "embedded starts")
    return students, status, grad_norm


def build_hierarchy(config, widths, progress=None, options=DescentOptions(), executor=None):
    """Catalogs at each width plus the embedding search between consecutive widths.

    Parameters
    ----------
    config : CatalogConfig
        Teacher, dim, starts, seed and init_dim; its ``students`` is ignored.
    widths : sequence of int
        Distinct widths; sorted here.
    progress : callable(done, total, stage) or None
        After every chunk of starts (stage "catalog at width K") and every embedded
        point (stage "embedding search K -> K + 1"); it may raise to stop.
    executor : callable or None
        Where the catalogs' chunks and the embedding search's chunks run (see
        ``catalog.find_fixed_points``).

    Returns
    -------
    Hierarchy
    """
    widths = sorted(set(int(k) for k in widths))
    rng = np.random.default_rng([config.seed, 7919])
    levels, links = [], []
    for K in widths:
        level_config = dataclasses.replace(config, students=K)
        starts_done = (lambda done, total, _, K=K: progress(
            done, total, f"catalog at width {K}")) if progress else None
        levels.append(Level(find_fixed_points(level_config, options=options,
                                              progress=starts_done, executor=executor)))
    for lower, upper in zip(levels, levels[1:]):
        if upper.students != lower.students + 1:
            continue
        step = f"embedding search {lower.students} -> {upper.students}"
        up_config = upper.catalog.config
        n_low, n_up = lower.catalog.config.reduced_dim, up_config.reduced_dim
        V = teacher_vectors(up_config.teacher.P, n_up)
        builder = CatalogBuilder(up_config, upper.catalog)
        counts = {}

        def reached(i, relation, entry, weight):
            if entry is not None:
                counts.setdefault((i, id(entry), relation), [entry, 0])[1] += weight

        starts, origin = [], []          # origin: (point, relation, weight) per start
        for i, point in enumerate(lower.catalog.fixed_points):
            if not (point.index == 0 or point.index == 1):
                continue
            W = np.zeros((lower.students, n_up))
            W[:, :n_low] = point.students
            if point.loss < GLOBAL_LOSS:
                # The same function: a zero-loss point of width K + 1 (the pad exactly
                # so with a zero student), the global minimum.
                for relation, embedded in embeddings(W, V, rng):
                    if relation == "pad":
                        embedded = np.vstack([W, np.zeros((1, n_up))])
                        entry = builder.add_padded(embedded, 0.0, "embedding_hits")
                    else:
                        entry = builder.add_critical(embedded, 0.0, "embedding_hits")
                    reached(i, relation, entry, 1)
                continue
            for relation, embedded, weight in _distinct(embeddings(W, V, rng), V):
                for nudged in _nudged(embedded, V, rng):
                    starts.append(nudged)
                    origin.append((i, relation, weight))
        if progress:
            progress(0, len(starts), step)
        if starts:
            done = (lambda d, total, _: progress(d, total, step)) if progress else None
            ends = descend_given(up_config, np.stack(starts), options, executor, done)
            for (i, relation, weight), Wend, status, g in zip(origin, *ends):
                entry = builder.add(Wend, status, g, counter="embedding_hits",
                                    snapped=True, weight=weight)
                reached(i, relation, entry, weight)
        upper.catalog = builder.finish(seconds=upper.catalog.seconds)
        fixed, dead = upper.catalog.fixed_points, upper.catalog.dead_points
        for (i, _, relation), (entry, count) in counts.items():
            to = {"students": upper.students}
            if any(entry is e for e in dead):
                to.update(index=next(j for j, e in enumerate(dead) if e is entry),
                          nondifferentiable=True)
            else:
                to["index"] = next(j for j, e in enumerate(fixed) if e is entry)
            links.append({"from": {"students": lower.students, "index": i}, "to": to,
                          "relation": relation, "count": count})
    return Hierarchy(levels=levels, links=links)
