"""The canonical, validated configuration: validated once at the edge, then trusted.

A config is a frozen dataclass (hashable, usable as a cache key together with
``ENGINE_VERSION``); ``to_dict`` gives its canonical JSON form.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .teachers import TeacherSetup, parse_teacher

# Limits of the command line; the dashboard applies tighter ones of its own.
MAX_STUDENTS = 64
MAX_TEACHERS = 64
MAX_STARTS = 20000
MAX_DIM = 10**12
MAX_INIT_DIM = 10**7
MAX_SEED = 2**63 - 1

INF = math.inf


class ConfigError(ValueError):
    """Invalid user input; the message is one line meant for the user."""


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


def parse_dim(value, low):
    """Input dimension: an integer >= low, or 'inf' for d -> infinity."""
    if isinstance(value, str) and value.strip().lower() in ("inf", "infinity", "∞"):
        return INF
    if isinstance(value, float) and value == INF:
        return INF
    return parse_int("dim", value, low, MAX_DIM)


def dim_to_json(dim):
    return "inf" if dim == INF else int(dim)


@dataclass(frozen=True)
class CatalogConfig:
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
    def teachers(self):
        return self.teacher.size

    @property
    def reduced_dim(self):
        """n = min(d, K + M), the dimension of the reduced coordinates."""
        return int(min(self.dim, self.students + self.teachers))

    @property
    def start_dim(self):
        """The dimension in which the starts are drawn."""
        return self.init_dim if self.dim == INF else int(self.dim)

    def to_dict(self):
        return {
            "students": self.students,
            "teachers": self.teachers,
            "teacher": self.teacher.to_json(),
            "dim": dim_to_json(self.dim),
            "starts": self.starts,
            "seed": self.seed,
            "init_dim": self.init_dim,
        }


def make_catalog_config(students, teachers, teacher="orthonormal", dim="inf",
                        starts=200, seed=0, init_dim=1000,
                        max_students=MAX_STUDENTS, max_teachers=MAX_TEACHERS,
                        max_starts=MAX_STARTS):
    """Validate raw values (strings or numbers) into a ``CatalogConfig``.

    Raises
    ------
    ConfigError
        With a one-line message naming the offending value.
    """
    K = parse_int("students", students, 1, max_students)
    M = parse_int("teachers", teachers, 1, max_teachers)
    setup = parse_teacher(teacher, M, error=ConfigError)
    d = parse_dim(dim, 1)
    if d < setup.rank:
        raise ConfigError(f"dim must be at least the rank of P ({setup.rank}), got {d}")
    S = parse_int("starts", starts, 1, max_starts)
    seed = parse_int("seed", seed, 0, MAX_SEED)
    init_dim = parse_int("init-dim", init_dim, 1, MAX_INIT_DIM)
    if d == INF and init_dim < setup.rank:
        raise ConfigError(
            f"init-dim must be at least the rank of P ({setup.rank}), got {init_dim}")
    return CatalogConfig(students=K, teacher=setup, dim=d, starts=S, seed=seed,
                         init_dim=init_dim)
