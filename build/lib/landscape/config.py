"""The canonical, validated configuration: validated once at the edge, then trusted.

A config is a frozen dataclass (hashable, usable as a cache key together with
``ENGINE_VERSION``); ``to_dict`` gives its canonical JSON form.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .errors import ConfigError
from .maths.teachers import TeacherSetup, parse_teacher, read_json_file

# Limits of the command line; the dashboard applies tighter ones of its own.
MAX_STUDENTS = 64
MAX_TEACHERS = 64
MAX_STARTS = 20000
MAX_DIM = 10**12
MAX_INIT_DIM = 10**7
MAX_SEED = 2**63 - 1

# Limits of the flow command.
MAX_LR = 10.0
MAX_TIME = 1e5
MAX_POINTS = 10000
MAX_SIM_DIM = 10**5
MAX_RUNS = 1000
# Bound on a simulation's work: steps * dim * runs * K multiply-adds.
MAX_SIM_WORK = 5 * 10**10
MAX_INIT_BYTES = 1 << 20

# Limits of the families command: the families need only the teachers' pattern, so
# teachers wider than MAX_WRITTEN_TEACHERS are read at a small width.
MAX_FAMILY_WIDTH = 100000
MAX_WRITTEN_TEACHERS = 2000
DEFAULT_FAMILIES = 8

INF = math.inf




def parse_int(name, value, low, high):
    """An integer in [low, high] from an int or a decimal string."""
    if isinstance(value, bool):
        raise ConfigError(f"{name} must be an integer, got {value!r}")
    if isinstance(value, str):
        text = value.strip()
        try:
            value = int(text)
        except ValueError:
            raise ConfigError(f"{name} must be an integer, got {text!r}") from None
    elif isinstance(value, float):
        if not math.isfinite(value) or value != int(value):
            raise ConfigError(f"{name} must be an integer, got {value!r}")
        value = int(value)
    elif not isinstance(value, int):
        raise ConfigError(f"{name} must be an integer, got {value!r}")
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, got {value}")
    return value


def parse_float(name, value, low, high, low_open=False):
    """A finite float in [low, high] (or (low, high] with low_open)."""
    if isinstance(value, bool):
        raise ConfigError(f"{name} must be a number, got {value!r}")
    try:
        number = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise ConfigError(f"{name} must be finite, got {value!r}")
    if number < low or number > high or (low_open and number == low):
        bound = "(" if low_open else "["
        raise ConfigError(f"{name} must be in {bound}{low:g}, {high:g}], got {number:g}")
    return number


def parse_dim(value, low):
    """Input dimension: an integer >= low, or 'inf' for d -> infinity."""
    if isinstance(value, str) and value.strip().lower() in ("inf", "infinity", "∞"):
        return INF
    if isinstance(value, float) and value == INF:
        return INF
    return parse_int("dim", value, low, MAX_DIM)


def inf_or_int(value):
    """JSON form of a dimension or count that may be infinite."""
    return "inf" if value == INF else int(value)


class _StartDrawing:
    """What catalog and flow configs share: the teacher width and where starts are drawn."""

    @property
    def teachers(self):
        return self.teacher.size

    @property
    def start_dim(self):
        """The dimension in which the starts are drawn."""
        return self.init_dim if self.dim == INF else int(self.dim)


@dataclass(frozen=True)
class CatalogConfig(_StartDrawing):
    """What defines a fixed-point catalog.

    Attributes
    ----------
    students : int
        K, the student width.
    teacher : TeacherSetup
        The teacher (its spec and overlap matrix P, shape (M, M)).
    dim : int or math.inf
        Input dimension d.
    starts : int
        Number of random starts.
    seed : int
    init_dim : int
        Dimension in which starts are drawn when ``dim`` is infinite.
    """

    students: int
    teacher: TeacherSetup
    dim: float
    starts: int = 200
    seed: int = 0
    init_dim: int = 1000

    @property
    def reduced_dim(self):
        """n = min(d, K + M), the dimension of the reduced coordinates."""
        return int(min(self.dim, self.students + self.teachers))

    def to_dict(self):
        return {
            "students": self.students,
            "teachers": self.teachers,
            "teacher": self.teacher.to_json(),
            "dim": inf_or_int(self.dim),
            "starts": self.starts,
            "seed": self.seed,
            "init_dim": self.init_dim,
        }

    @classmethod
    def from_dict(cls, data):
        """The config of ``to_dict``'s output, validated again (it may come from a file,
        a queue or a cache)."""
        return make_catalog_config(**{key: data[key] for key in (
            "students", "teachers", "teacher", "dim", "starts", "seed", "init_dim")})


def _problem(students, teachers, teacher, dim, max_students, max_teachers, allow_files=True):
    """(K, M, teacher setup, d), validated; what every config is made of."""
    K = parse_int("students", students, 1, max_students)
    M = parse_int("teachers", teachers, 1, max_teachers)
    setup = parse_teacher(teacher, M, error=ConfigError, allow_files=allow_files)
    d = parse_dim(dim, 1)
    if d < setup.rank:
        raise ConfigError(f"dim must be at least the rank of P ({setup.rank}), got {d}")
    return K, M, setup, d


def make_catalog_config(students, teachers, teacher="orthonormal", dim="inf",
                        starts=200, seed=0, init_dim=1000,
                        max_students=MAX_STUDENTS, max_teachers=MAX_TEACHERS,
                        max_starts=MAX_STARTS, allow_files=True):
    """Validate raw values (strings or numbers) into a ``CatalogConfig``.

    ``allow_files=False`` refuses teacher files (see ``parse_teacher``).

    Raises
    ------
    ConfigError
        With a one-line message naming the offending value.
    """
    K, M, setup, d = _problem(students, teachers, teacher, dim, max_students, max_teachers,
                              allow_files)
    S = parse_int("starts", starts, 1, max_starts)
    seed = parse_int("seed", seed, 0, MAX_SEED)
    init_dim = parse_int("init-dim", init_dim, 1, MAX_INIT_DIM)
    if d == INF and init_dim < setup.rank:
        raise ConfigError(
            f"init-dim must be at least the rank of P ({setup.rank}), got {init_dim}")
    return CatalogConfig(students=K, teacher=setup, dim=d, starts=S, seed=seed,
                         init_dim=init_dim)


MAX_WIDTHS = 8


def make_hierarchy_config(teachers, widths, teacher="orthonormal", dim="inf", starts=200,
                          seed=0, init_dim=1000):
    """Validate raw values into (a CatalogConfig at the smallest width, sorted widths)."""
    if isinstance(widths, (str, bytes)) or not hasattr(widths, "__len__"):
        raise ConfigError("widths must be a list of student widths")
    if not 1 <= len(widths) <= MAX_WIDTHS:
        raise ConfigError(f"between 1 and {MAX_WIDTHS} widths, got {len(widths)}")
    parsed = [parse_int("widths", w, 1, MAX_STUDENTS) for w in widths]
    if len(set(parsed)) != len(parsed):
        raise ConfigError("widths must be distinct")
    parsed.sort()
    config = make_catalog_config(students=parsed[0], teachers=teachers, teacher=teacher,
                                 dim=dim, starts=starts, seed=seed, init_dim=init_dim)
    return config, tuple(parsed)


@dataclass(frozen=True)
class FlowConfig(_StartDrawing):
    """What defines a summary-statistic trajectory (and optionally its simulation).

    Attributes
    ----------
    students : int
    teacher : TeacherSetup
    dim : int or math.inf
        Only used to draw the start (as a catalog start).
    lr : float
        Learning rate; 0 means gradient flow.
    time : float
        Final time T (SGD time steps/d, or gradient-flow time when lr = 0).
    points : int
        Number of intervals: the output has points + 1 equally spaced times.
    seed : int
    init_dim : int
    init : tuple or None
        (Q, M) as nested tuples when given explicitly.
    start : int
        Without ``init``: which catalog start (same seed) the trajectory begins at.
    simulate_dim : int or None
    runs : int
    """

    students: int
    teacher: TeacherSetup
    dim: float
    lr: float
    time: float
    points: int
    seed: int = 0
    init_dim: int = 1000
    init: tuple = None
    simulate_dim: int = None
    runs: int = 1
    start: int = 0

    def to_dict(self):
        out = {"students": self.students, "teachers": self.teachers,
               "teacher": self.teacher.to_json(), "dim": inf_or_int(self.dim),
               "lr": self.lr, "time": self.time, "points": self.points}
        if self.init is None:
            out.update(seed=self.seed, init_dim=self.init_dim, start=self.start)
        else:
            out["init"] = {"Q": [list(r) for r in self.init[0]], "M": [list(r) for r in self.init[1]]}
        if self.simulate_dim is not None:
            out.update(simulate=self.simulate_dim, runs=self.runs)
        return out

    @classmethod
    def from_dict(cls, data):
        """The config of ``to_dict``'s output, validated again."""
        keys = ("students", "teachers", "teacher", "dim", "lr", "time", "points", "seed",
                "init_dim", "init", "simulate", "runs", "start")
        return make_flow_config(**{key: data[key] for key in keys if key in data})


def _matrix(name, rows, shape, source):
    if (not isinstance(rows, list) or not all(isinstance(r, list) for r in rows)
            or not all(isinstance(x, (int, float)) and not isinstance(x, bool)
                       for r in rows for x in r)):
        raise ConfigError(f"{source}: {name} must be a list of lists of numbers")
    if len(rows) != shape[0] or any(len(r) != shape[1] for r in rows):
        raise ConfigError(f"{source}: {name} must be {shape[0]}x{shape[1]}")
    array = np.array(rows, dtype=float)
    if not np.all(np.isfinite(array)):
        raise ConfigError(f"{source}: {name} has non-finite entries")
    return array


def validate_overlaps(Q, M, P, source="init"):
    """Check (Q, M) against P: Q symmetric and the joint Gram matrix PSD.

    Returns
    -------
    tuple
        (Q, M) as nested tuples of floats.
    """
    K, Mt = len(Q), P.shape[0]
    Q = _matrix("Q", Q, (K, K), source) if isinstance(Q, list) else np.asarray(Q, float)
    M = _matrix("M", M, (K, Mt), source) if isinstance(M, list) else np.asarray(M, float)
    scale = max(np.abs(Q).max(initial=0.0), np.abs(P).max(), 1e-300)
    if np.abs(Q - Q.T).max() > 1e-10 * scale:
        raise ConfigError(f"{source}: Q is not symmetric")
    Q = 0.5 * (Q + Q.T)
    smallest = np.linalg.eigvalsh(np.block([[Q, M], [M.T, P]]))[0]
    if smallest < -1e-9 * scale:
        raise ConfigError(f"{source}: [[Q, M], [M^T, P]] is not positive semidefinite "
                          f"(smallest eigenvalue {smallest:.3g}): no weights have these overlaps")
    as_tuple = lambda a: tuple(tuple(float(x) for x in row) for row in a)
    return as_tuple(Q), as_tuple(M)


def _read_init(path, K, P):
    source = f"init {path}"
    data = read_json_file(path, source, ConfigError, MAX_INIT_BYTES)
    if not isinstance(data, dict) or "Q" not in data or "M" not in data:
        raise ConfigError(f'{source}: expected a JSON object {{"Q": [[...]], "M": [[...]]}}')
    return _overlaps(data["Q"], data["M"], K, P, source)


def _overlaps(Q, M, K, P, source):
    as_lists = lambda a: a.tolist() if isinstance(a, np.ndarray) else [list(r) for r in a]
    Q = _matrix("Q", as_lists(Q), (K, K), source)
    M = _matrix("M", as_lists(M), (K, P.shape[0]), source)
    return validate_overlaps(Q, M, P, source)


def make_flow_config(students, teachers, lr, time, points, teacher="orthonormal", dim="inf",
                     seed=0, init_dim=1000, init=None, simulate=None, runs=1, start=0,
                     max_students=MAX_STUDENTS, max_teachers=MAX_TEACHERS, allow_files=True):
    """Validate raw values into a ``FlowConfig``.

    ``init`` is None (start at catalog start ``start``), a path to a JSON file
    ``{"Q": [[...]], "M": [[...]]}``, or such a dict or a (Q, M) pair."""
    K, M, setup, d = _problem(students, teachers, teacher, dim, max_students, max_teachers,
                              allow_files)
    lr = parse_float("lr", lr, 0.0, MAX_LR)
    T = parse_float("time", time, 0.0, MAX_TIME, low_open=True)
    points = parse_int("points", points, 1, MAX_POINTS)
    seed = parse_int("seed", seed, 0, MAX_SEED)
    init_dim = parse_int("init-dim", init_dim, 1, MAX_INIT_DIM)
    if d == INF and init_dim < setup.rank:
        raise ConfigError(f"init-dim must be at least the rank of P ({setup.rank}), got {init_dim}")
    if init is None:
        overlaps = None
    elif isinstance(init, (dict, tuple, list)):
        Q, Mo = (init["Q"], init["M"]) if isinstance(init, dict) else init
        overlaps = _overlaps(Q, Mo, K, setup.P, "init")
    else:
        overlaps = _read_init(str(init), K, setup.P)
    sim_dim, R = None, 1
    if simulate is not None:
        if lr == 0:
            raise ConfigError("simulate needs a learning rate lr > 0 (SGD)")
        sim_dim = parse_int("simulate", simulate, K + M, MAX_SIM_DIM)
        R = parse_int("runs", runs, 1, MAX_RUNS)
        work = T * sim_dim * sim_dim * R * K
        if work > MAX_SIM_WORK:
            raise ConfigError(f"simulation too large ({work:.2g} operations; the limit is "
                              f"{MAX_SIM_WORK:.0g}): lower simulate, runs or time")
    start = parse_int("start", start, 0, MAX_STARTS - 1)
    return FlowConfig(students=K, teacher=setup, dim=d, lr=lr, time=T, points=points,
                      seed=seed, init_dim=init_dim, init=overlaps, simulate_dim=sim_dim, runs=R,
                      start=start)


@dataclass(frozen=True)
class FamiliesConfig:
    """What defines the families of critical points at one width K = M.

    Attributes
    ----------
    students : int
        K = M.
    teacher : TeacherSetup
        Written out at width M, or at width 3 when M > MAX_WRITTEN_TEACHERS (only
        its pattern (p, p') is used then).
    dim : int or math.inf
    k1 : tuple of int
        The families to solve.
    onset : bool
        Also find the width from which each family stays a minimum.
    """

    students: int
    teacher: TeacherSetup
    dim: float
    k1: tuple
    onset: bool = False

    @property
    def teachers(self):
        return self.students

    def to_dict(self):
        return {"students": self.students, "teachers": self.students,
                "teacher": self.teacher.to_json(), "dim": inf_or_int(self.dim),
                "k1": list(self.k1), "onset": self.onset}

    @classmethod
    def from_dict(cls, data):
        return make_families_config(data["students"], data["teachers"], data["teacher"],
                                    data["dim"], data["k1"], data.get("onset", False))


def make_families_config(students, teachers, teacher="orthonormal", dim="inf", k1=None,
                         onset=False):
    """Validate raw values into a ``FamiliesConfig`` (``k1`` None: 0..min(K, 8))."""
    K = parse_int("students", students, 1, MAX_FAMILY_WIDTH)
    M = parse_int("teachers", teachers, 1, MAX_FAMILY_WIDTH)
    if K != M:
        raise ConfigError(f"families need K = M, got students {K} and teachers {M}")
    if M <= MAX_WRITTEN_TEACHERS:
        setup = parse_teacher(teacher, M, error=ConfigError)
    elif not (isinstance(teacher, str)
              and teacher.strip().lower().startswith(("orthonormal", "correlated:"))):
        raise ConfigError(f"for more than {MAX_WRITTEN_TEACHERS} teachers, families take "
                          f"orthonormal or correlated:RHO")
    else:
        setup = parse_teacher(teacher, 3, error=ConfigError)
    d = parse_dim(dim, 1)
    if d < K:
        raise ConfigError(f"dim must be at least K = {K} for families, got {d}")
    k1s = (tuple(parse_int("k1", k, 0, K) for k in k1) if k1
           else tuple(range(0, min(K, DEFAULT_FAMILIES) + 1)))
    return FamiliesConfig(students=K, teacher=setup, dim=d, k1=k1s, onset=bool(onset))


# Limits of the paths command.
MAX_IMAGES = 200
MAX_NEIGHBOURS = 8
# Widths beyond this make the dense Hessians of saddle confirmation too costly.
MAX_PATH_STUDENTS = 24


@dataclass(frozen=True)
class PathsConfig:
    """What defines the connections of a catalog.

    Attributes
    ----------
    catalog : CatalogConfig
    images : int
        Images of the band (endpoints included).
    neighbours : int
        Each spurious minimum is connected to the global minimum and to this many
        nearest other minima (aligned distance).
    """

    catalog: CatalogConfig
    images: int = 24
    neighbours: int = 2

    def to_dict(self):
        return self.catalog.to_dict() | {"images": self.images, "neighbours": self.neighbours}

    @classmethod
    def from_dict(cls, data):
        return make_paths_config(**{key: data[key] for key in (
            "students", "teachers", "teacher", "dim", "starts", "seed", "init_dim", "images",
            "neighbours")})


def make_paths_config(students, teachers, teacher="orthonormal", dim="inf", starts=200,
                      seed=0, init_dim=1000, images=24, neighbours=2,
                      max_students=MAX_PATH_STUDENTS, max_teachers=MAX_TEACHERS,
                      max_starts=MAX_STARTS, allow_files=True):
    """Validate raw values into a ``PathsConfig`` (ConfigError with one line otherwise)."""
    catalog = make_catalog_config(students, teachers, teacher=teacher, dim=dim,
                                  starts=starts, seed=seed, init_dim=init_dim,
                                  max_students=min(max_students, MAX_PATH_STUDENTS),
                                  max_teachers=max_teachers, max_starts=max_starts,
                                  allow_files=allow_files)
    return PathsConfig(catalog=catalog, images=parse_int("images", images, 5, MAX_IMAGES),
                       neighbours=parse_int("neighbours", neighbours, 0, MAX_NEIGHBOURS))
