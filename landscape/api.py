"""The front door: one function per computation, validated at the edge."""
from __future__ import annotations

from .config import make_catalog_config
from .running import executors


def find_fixed_points(students, teachers, teacher="orthonormal", dim="inf", starts=200,
                      seed=0, init_dim=1000, executor="serial", progress=None):
    from .methods.catalog import find_fixed_points as run

    config = make_catalog_config(students=students, teachers=teachers, teacher=teacher,
                                 dim=dim, starts=starts, seed=seed, init_dim=init_dim)
    return run(config, progress=progress, executor=executors.get(executor))
