"""landscape: the loss landscape of two-layer ReLU networks, in closed form.

The front door for notebooks and scripts (``landscape.api``)::

    import landscape as ls
    catalog = ls.find_fixed_points(students=8, teachers=8, dim=8, starts=200)

Names are loaded on first use, so importing a submodule (``landscape.maths.kernels``)
costs only that submodule. The engine (``maths``, ``config``, ``methods``) needs numpy
and scipy only.
"""
from .version import ENGINE_VERSION, __version__

_FRONT_DOOR = ("find_fixed_points", "flow", "families", "hierarchy", "dashboard",
               "Catalog", "Flow", "Families", "Hierarchy")

__all__ = ["ENGINE_VERSION", "__version__", *_FRONT_DOOR]


def __getattr__(name):
    if name in _FRONT_DOOR:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'landscape' has no attribute {name!r}")
