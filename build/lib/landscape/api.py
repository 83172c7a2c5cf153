"""The front door for notebooks and scripts: ``import landscape as ls``.

One function per computation, validated at the edge exactly like the command line
(the same configs, the same one-line ``ConfigError`` messages)::

    cat = ls.find_fixed_points(students=8, teachers=8, dim=8, starts=200, executor="local")
    cat.summary()                # the command line's table
    cat.to_json()                # the command line's JSON; Catalog.from_json reads it back
    cat.figure()                 # the dashboard's plotly figure

Every result is the engine's result object with a ``figure`` added; ``progress`` is
``progress(done, total, stage)`` everywhere. ``executor`` is "serial" (this process,
the default), "local" (a process per core), "celery" (workers on ``REDIS_URL``) or an
executor callable (``landscape.running.executors``).
"""
from __future__ import annotations

from dataclasses import fields

from .config import (make_catalog_config, make_families_config, make_flow_config,
                     make_hierarchy_config)
from .methods import catalog as _catalog
from .methods import families as _families
from .methods import flows as _flows
from .methods import hierarchy as _hierarchy
from .running import executors


def _executor(executor):
    """"local" and "celery" take their settings (LANDSCAPE_WORKERS, REDIS_URL) from the
    environment, as on the command line."""
    if executor in ("local", "celery"):
        from .settings import executor_from_env

        return executor_from_env(executor)
    return executors.get(executor)


def _as(cls, result):
    """The engine's result as ``cls`` (a subclass that adds ``figure``)."""
    return cls(**{f.name: getattr(result, f.name) for f in fields(result)})


class Catalog(_catalog.Catalog):
    __doc__ = _catalog.Catalog.__doc__

    def figure(self, kind="shares", point=0):
        """The dashboard's figure: ``"shares"`` (where gradient flow ends),
        ``"spectrum"``, ``"Q"`` or ``"M"`` of entry ``point``."""
        from . import figures

        data = self.to_json()
        if kind == "shares":
            return figures.basin_share_figure(data)
        entry = data["fixed_points"][point]
        if kind == "spectrum":
            return figures.spectrum_figure(entry)
        if kind == "Q":
            return figures.heatmap_figure(entry["Q"], "Q = W Wᵀ", "student", "student")
        if kind == "M":
            return figures.heatmap_figure(entry["M"], "M = W Vᵀ", "teacher", "student")
        raise ValueError(f"kind must be shares, spectrum, Q or M, got {kind!r}")


class Flow(_flows.FlowResult):
    __doc__ = _flows.FlowResult.__doc__

    def figure(self):
        """The dashboard's Flows 2D figure (overlaps and loss against time)."""
        from . import figures

        return figures.flow_figure(self.to_json())


class Families(_families.FamiliesResult):
    __doc__ = _families.FamiliesResult.__doc__

    def figure(self):
        """The dashboard's Families figure at this width."""
        from . import figures

        rows = [{"students": self.config.students, **m.to_json()} for m in self.members]
        return figures.families_figure({"rows": rows}, current=self.config.students)


class Hierarchy(_hierarchy.Hierarchy):
    __doc__ = _hierarchy.Hierarchy.__doc__

    def figure(self):
        """The dashboard's Hierarchy figure."""
        from . import figures

        return figures.hierarchy_figure(self.to_json())


def find_fixed_points(students, teachers, teacher="orthonormal", dim="inf", starts=200,
                      seed=0, init_dim=1000, executor="serial", progress=None):
    """The fixed-point catalog: gradient flow from random starts, Newton-polished and
    classified by the exact Hessian (``python -m landscape fixed-points``).

    ``teacher`` is a spec ("orthonormal", "correlated:0.5", "norms:1,2", "random:3",
    "file:PATH") or the teachers' overlap matrix P itself (an ndarray, shape (M, M)).

    Returns
    -------
    Catalog
    """
    config = make_catalog_config(students=students, teachers=teachers, teacher=teacher,
                                 dim=dim, starts=starts, seed=seed, init_dim=init_dim)
    return _as(Catalog, _catalog.find_fixed_points(config, progress=progress,
                                                   executor=_executor(executor)))


def flow(students, teachers, lr=0.0, time=100.0, points=100, teacher="orthonormal",
         dim="inf", seed=0, init_dim=1000, init=None, start=0, simulate=None, runs=1):
    """The summary statistics (Q, M) along gradient flow (``lr=0``) or one-pass SGD,
    optionally against a weight-space simulation in dimension ``simulate``
    (``python -m landscape flow``). ``init`` is (Q, M), a dict with "Q" and "M", or
    a JSON file; without it the flow starts at catalog start ``start`` of ``seed``.

    Returns
    -------
    Flow
    """
    config = make_flow_config(students=students, teachers=teachers, lr=lr, time=time,
                              points=points, teacher=teacher, dim=dim, seed=seed,
                              init_dim=init_dim, init=init, simulate=simulate, runs=runs,
                              start=start)
    return _as(Flow, _flows.run_flow(config))


def families(students, teacher="orthonormal", dim="inf", k1=None, onset=False):
    """The k1 families of critical points at width K = M = ``students``
    (``python -m landscape families``).

    Returns
    -------
    Families
    """
    config = make_families_config(students, students, teacher, dim, k1, onset)
    return _as(Families, _families.compute_families(config))


def hierarchy(teachers, widths, teacher="orthonormal", dim="inf", starts=200, seed=0,
              init_dim=1000, executor="serial", progress=None):
    """Catalogs at several student widths linked by function-preserving embeddings
    (``python -m landscape hierarchy``).

    Returns
    -------
    Hierarchy
    """
    config, widths = make_hierarchy_config(teachers, widths, teacher, dim, starts, seed,
                                           init_dim)
    return _as(Hierarchy, _hierarchy.build_hierarchy(config, widths, progress=progress,
                                                     executor=_executor(executor)))


def dashboard(mode="inline", port=8050, cache_dir=None, **run_options):
    """Run the dashboard in Jupyter (``mode``: "inline", "tab", "jupyterlab" or
    "external"; Dash's ``jupyter_mode``), with results cached in ``cache_dir``
    (default: ``LANDSCAPE_CACHE_DIR`` or ./cache). Returns the Dash app."""
    from .settings import from_env
    from .ui.dashboard import create_app

    settings = from_env()
    if cache_dir is not None:
        from dataclasses import replace

        settings = replace(settings, cache_dir=str(cache_dir))
    app = create_app(settings)
    app.run(jupyter_mode=mode, port=port, **run_options)
    return app
