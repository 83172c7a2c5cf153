"""Teacher setups: a spec -> the validated teacher overlap matrix P = V V^T.

Specs: ``orthonormal``, ``correlated:RHO``, ``norms:n1,...,nM``, ``random:SEED``,
``file:PATH`` (JSON ``{"P": [[...]]}``), or P itself (an ndarray, a list of lists or
``{"P": [[...]]}``). See ``parse_teacher``.

The range the engine is checked on (starts are drawn with norms near 1, so the teacher's
scale is the ratio of teacher to initial weights): every teacher norm sqrt(P_mm) in
[MIN_NORM, MAX_NORM], at most MAX_NORM_RATIO between the largest and the smallest, and
P's condition number at most MAX_CONDITION. Outside it the descent either stops at its
flow-time budget for most starts (measured at K = M = 6: norms 0.1 and 3 together leave
85 % of the starts unconverged; norms 1e5 or 1e-3 mark every start dead) or loses the
loss to rounding (P = 1e308 I). Teachers outside it are refused with a message.
"""
from __future__ import annotations

import json
import math
import os
import re
import stat
from dataclasses import dataclass

import numpy as np

_SYMMETRY_TOL = 1e-10
MAX_FILE_BYTES = 1 << 20
MAX_JSON_DEPTH = 8
MIN_NORM = 0.1
MAX_NORM = 10.0
MAX_NORM_RATIO = 10.0
MAX_CONDITION = 1e4
KINDS = ("orthonormal", "correlated", "norms", "random", "file")


@dataclass(frozen=True)
class TeacherSetup:
    """A validated teacher.

    Attributes
    ----------
    spec : str
        Canonical spec string for display (numbers normalised, file paths absolute;
        ``matrix`` for a P given as data).
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
        """The canonical form of the teacher in configs and cache keys: the spec of a
        named teacher, ``{"P": rows}`` for a file or matrix teacher (so that a key
        depends on P, never on a path whose file may change)."""
        if self.kind in ("file", "matrix"):
            return {"P": [list(row) for row in self.overlaps]}
        return self.spec


def _number(text, what, error):
    try:
        value = float(text)
    except ValueError:
        raise error(f"{what} must be a number, got {text.strip()[:40]!r}") from None
    if not math.isfinite(value):
        raise error(f"{what} must be finite, got {text.strip()[:40]!r}")
    return value


def _validated(P, M, source, error):
    P = np.asarray(P, dtype=float)
    if P.shape != (M, M):
        raise error(f"{source}: P must be {M}x{M} for {M} teachers, got shape "
                    f"{'x'.join(map(str, P.shape))}")
    if not np.all(np.isfinite(P)):
        raise error(f"{source}: P has non-finite entries")
    norms = np.sqrt(np.maximum(np.diag(P), 0.0))
    if norms.min() < MIN_NORM or norms.max() > MAX_NORM:
        raise error(f"{source}: teacher norms sqrt(P_mm) must be between {MIN_NORM:g} and "
                    f"{MAX_NORM:g}, got {norms.min():.3g} to {norms.max():.3g}")
    if norms.max() > MAX_NORM_RATIO * norms.min():
        raise error(f"{source}: the largest teacher norm may be at most {MAX_NORM_RATIO:g} "
                    f"times the smallest, got {norms.max():.3g} and {norms.min():.3g}")
    scale = np.abs(P).max()
    if np.abs(P - P.T).max() > _SYMMETRY_TOL * scale:
        raise error(f"{source}: P is not symmetric")
    P = 0.5 * (P + P.T)
    eigenvalues = np.linalg.eigvalsh(P)
    if eigenvalues[0] <= 0:
        raise error(f"{source}: P is not positive definite "
                    f"(smallest eigenvalue {eigenvalues[0]:.3g})")
    condition = eigenvalues[-1] / eigenvalues[0]
    if condition > MAX_CONDITION:
        raise error(f"{source}: P's condition number is {condition:.3g}, above "
                    f"{MAX_CONDITION:g}: the teachers are too close to linearly dependent")
    return tuple(tuple(float(x) for x in row) for row in P)


def _rows(data, source, error):
    """P as a list of lists of finite numbers from an ndarray, list or {"P": ...}."""
    if isinstance(data, dict):
        if set(data) != {"P"}:
            raise error(f'{source}: expected a JSON object {{"P": [[...]]}}')
        data = data["P"]
    if isinstance(data, np.ndarray):
        if data.ndim != 2 or not np.issubdtype(data.dtype, np.number) \
                or np.iscomplexobj(data):
            raise error(f"{source}: P must be a real 2-d array")
        data = data.tolist()
    if (not isinstance(data, (list, tuple)) or not data
            or not all(isinstance(r, (list, tuple)) for r in data)
            or len({len(r) for r in data}) > 1):
        raise error(f"{source}: P must be a square list of lists of numbers")
    out = []
    for row in data:
        values = []
        for x in row:
            if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)):
                raise error(f"{source}: P must be a square list of lists of numbers")
            try:
                value = float(x)
            except OverflowError:
                value = math.inf
            if not math.isfinite(value):
                raise error(f"{source}: P has non-finite or huge entries")
            values.append(value)
        out.append(values)
    return out


def parse_teacher(spec, M, error=ValueError, allow_files=True):
    """Validate a teacher for M teachers, parsing its spec once.

    Parameters
    ----------
    spec : str, TeacherSetup, ndarray, list of lists, or dict {"P": [[...]]}
        A spec string (see the module doc) or P itself.
    M : int
        Number of teachers.
    error : type
        Exception raised (with a one-line message) on invalid input.
    allow_files : bool
        False refuses ``file:`` teachers, whatever their spelling, before the file
        system is touched (the dashboard).

    Returns
    -------
    TeacherSetup
    """
    if isinstance(spec, TeacherSetup):
        spec = spec.to_json() if spec.kind in ("file", "matrix") else spec.spec
    if isinstance(spec, (dict, list, tuple, np.ndarray)):
        return TeacherSetup("matrix", _validated(_rows(spec, "teacher P", error), M,
                                                 "teacher P", error))
    if not isinstance(spec, str):
        raise error(f"teacher must be a spec string or a matrix P, got {type(spec).__name__}")
    kind, _, arg = spec.strip().partition(":")
    kind = kind.strip().lower()
    if kind == "file" and not allow_files:
        raise error("teacher files are for the command line; here use orthonormal, "
                    "correlated:RHO, norms:n1,...,nM or random:SEED")
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
            raise error("random:SEED needs a non-negative integer seed, got "
                        f"{arg.strip()[:40]!r}") from None
        if not 0 <= seed < 2**63:
            raise error("random:SEED needs a non-negative integer seed below 2**63")
        G = np.random.default_rng(seed).standard_normal((M, M))
        return TeacherSetup(f"random:{seed}", _validated(G @ G.T / M, M, "random", error))
    if kind == "file":
        return _from_file(arg.strip(), M, error)
    raise error(f"unknown teacher {spec.strip()[:60]!r}; use orthonormal, correlated:RHO, "
                "norms:n1,...,nM, random:SEED or file:PATH")


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_BRACKET = re.compile(r"[\[\]{}]")


def json_depth(text):
    """Deepest nesting of arrays and objects in JSON text (strings skipped)."""
    depth = deepest = 0
    for match in _BRACKET.finditer(_STRING.sub('""', text)):
        depth += 1 if match.group() in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def _finite(text):
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number out of range: {text[:20]}...")
    return value


def _refuse_constant(name):
    raise ValueError(f"{name} is not a number here")


def read_json_file(path, source, error, max_bytes=MAX_FILE_BYTES, max_depth=MAX_JSON_DEPTH):
    """Parsed JSON from a regular file; one-line errors of type ``error``.

    Only regular files are read (a FIFO or a device would hang or never end), at most
    ``max_bytes`` of them, nested at most ``max_depth`` deep; every number is a finite
    float (integers included, so that a 400-digit one is refused, not overflowed later).
    """
    try:
        # O_NONBLOCK: opening a FIFO without a writer returns at once instead of waiting
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise error(f"{source}: cannot read ({exc.strerror or exc})") from None
    try:
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise error(f"{source}: not a regular file")
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise error(f"{source}: cannot read ({exc.strerror or exc})") from None
    if len(data) > max_bytes:
        raise error(f"{source}: larger than {max_bytes} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise error(f"{source}: not valid JSON (not UTF-8 text)") from None
    if json_depth(text) > max_depth:
        raise error(f"{source}: JSON nested deeper than {max_depth} levels")
    try:
        return json.loads(text, parse_int=_finite, parse_float=_finite,
                          parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise error(f"{source}: not valid JSON ({first})") from None


def _from_file(path, M, error):
    if not path:
        raise error("file:PATH needs a path")
    path = os.path.abspath(os.path.expanduser(path))
    source = f"file:{path}"
    data = read_json_file(path, source, error)
    if not isinstance(data, dict) or "P" not in data:
        raise error(f'{source}: expected a JSON object {{"P": [[...]]}}')
    return TeacherSetup(source, _validated(_rows(data["P"], source, error), M, source, error))


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
