"""Teacher setups: a spec string -> the validated teacher overlap matrix P = V V^T.

Specs: ``orthonormal``, ``correlated:RHO``, ``norms:n1,...,nM``, ``random:SEED``,
``file:PATH`` (JSON ``{"P": [[...]]}``). See ``parse_teacher``.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass

import numpy as np

# Eigenvalues of P below this fraction of the largest count as zero.
_RANK_TOL = 1e-10
_SYMMETRY_TOL = 1e-10
MAX_FILE_BYTES = 1 << 20


@dataclass(frozen=True)
class TeacherSetup:
    """A validated teacher.

    Attributes
    ----------
    spec : str
        Canonical spec string (numbers normalised, file paths absolute).
    overlaps : tuple of tuple of float
        P, shape (M, M), symmetric positive definite.
    """

    spec: str
    overlaps: tuple

    @property
    def P(self):
        return np.array(self.overlaps, dtype=float)

    @property
    def size(self):
        return len(self.overlaps)

    @property
    def rank(self):
        return self.size  # validated positive definite

    @property
    def kind(self):
        return self.spec.split(":", 1)[0]

    def to_json(self):
        return self.spec


def _number(text, what, error):
    try:
        value = float(text)
    except ValueError:
        raise error(f"{what} must be a number, got {text.strip()!r}") from None
    if not math.isfinite(value):
        raise error(f"{what} must be finite, got {text.strip()!r}")
    return value


def _validated(P, M, source, error):
    P = np.asarray(P, dtype=float)
    if P.shape != (M, M):
        raise error(f"{source}: P must be {M}x{M} for {M} teachers, got shape "
                    f"{'x'.join(map(str, P.shape))}")
    if not np.all(np.isfinite(P)):
        raise error(f"{source}: P has non-finite entries")
    scale = max(np.abs(P).max(), 1e-300)
    if np.abs(P - P.T).max() > _SYMMETRY_TOL * scale:
        raise error(f"{source}: P is not symmetric")
    P = 0.5 * (P + P.T)
    eigenvalues = np.linalg.eigvalsh(P)
    if eigenvalues[0] <= _RANK_TOL * max(eigenvalues[-1], 0.0) or eigenvalues[-1] <= 0:
        raise error(f"{source}: P is not positive definite "
                    f"(smallest eigenvalue {eigenvalues[0]:.3g})")
    return tuple(tuple(float(x) for x in row) for row in P)


def parse_teacher(spec, M, error=ValueError):
    """Validate a teacher spec for M teachers.

    Parameters
    ----------
    spec : str
    M : int
        Number of teachers.
    error : type
        Exception raised (with a one-line message) on invalid input.

    Returns
    -------
    TeacherSetup
    """
    if not isinstance(spec, str):
        raise error(f"teacher must be a string, got {spec!r}")
    kind, _, arg = spec.strip().partition(":")
    kind = kind.strip().lower()
    if kind == "orthonormal" and not arg:
        return TeacherSetup("orthonormal", _validated(np.eye(M), M, "orthonormal", error))
    if kind == "correlated":
        rho = _number(arg, "correlated:RHO", error)
        low = -1.0 / (M - 1) if M > 1 else -math.inf
        if not low < rho < 1.0:
            raise error(f"correlated:RHO needs {low:.4g} < RHO < 1 for {M} teachers, got {rho:g}")
        P = (1 - rho) * np.eye(M) + rho * np.ones((M, M))
        return TeacherSetup(f"correlated:{rho!r}", _validated(P, M, "correlated", error))
    if kind == "norms":
        parts = [p for p in arg.split(",")] if arg else []
        if len(parts) != M:
            raise error(f"norms: needs {M} comma-separated norms, got {len(parts)}")
        norms = [_number(p, "each norm", error) for p in parts]
        if min(norms) <= 0:
            raise error("norms: every norm must be positive")
        P = np.diag(np.square(norms))
        canonical = ",".join(repr(n) for n in norms)
        return TeacherSetup(f"norms:{canonical}", _validated(P, M, "norms", error))
    if kind == "random":
        try:
            seed = int(arg.strip())
        except ValueError:
            raise error(f"random:SEED needs a non-negative integer seed, got {arg.strip()!r}") from None
        if seed < 0:
            raise error(f"random:SEED needs a non-negative integer seed, got {seed}")
        G = np.random.default_rng(seed).standard_normal((M, M))
        return TeacherSetup(f"random:{seed}", _validated(G @ G.T / M, M, "random", error))
    if kind == "file":
        return _from_file(arg.strip(), M, error)
    raise error(f"unknown teacher {spec.strip()!r}; use orthonormal, correlated:RHO, "
                "norms:n1,...,nM, random:SEED or file:PATH")


def read_json_file(path, source, error, max_bytes=MAX_FILE_BYTES):
    """Parsed JSON from a file of at most max_bytes; one-line errors of type ``error``."""
    try:
        if os.path.getsize(path) > max_bytes:
            raise error(f"{source}: larger than {max_bytes} bytes")
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except OSError as exc:
        raise error(f"{source}: cannot read ({exc.strerror or exc})") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise error(f"{source}: not valid JSON ({str(exc).splitlines()[0]})") from None


def _from_file(path, M, error):
    if not path:
        raise error("file:PATH needs a path")
    path = os.path.abspath(os.path.expanduser(path))
    data = read_json_file(path, f"file:{path}", error)
    if not isinstance(data, dict) or "P" not in data:
        raise error(f'file:{path}: expected a JSON object {{"P": [[...]]}}')
    rows = data["P"]
    if (not isinstance(rows, list) or not all(isinstance(r, list) for r in rows)
            or len({len(r) for r in rows}) > 1
            or not all(isinstance(x, (int, float)) and not isinstance(x, bool)
                       for r in rows for x in r)):
        raise error(f"file:{path}: P must be a square list of lists of numbers")
    return TeacherSetup(f"file:{path}", _validated(rows, M, f"file:{path}", error))


def teacher_vectors(P, n):
    """Teacher vectors in reduced coordinates: the Cholesky factor of P, padded.

    Parameters
    ----------
    P : ndarray, shape (M, M)
    n : int
        Reduced dimension, at least M.

    Returns
    -------
    V : ndarray, shape (M, n)
        ``V V^T = P``; teachers span the first M coordinates.
    """
    P = np.asarray(P, dtype=float)
    M = P.shape[0]
    V = np.zeros((M, n))
    V[:, :M] = np.linalg.cholesky(P)
    return V
