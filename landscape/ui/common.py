"""What the tabs share: the context their callbacks run in, and the validated config."""
from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

from dash import no_update
from dash.exceptions import PreventUpdate

from .. import figures
from ..errors import ComputationLimit, ConfigError
from ..running import executors, service
from . import state
from .guard import describe_error

log = logging.getLogger(__name__)

# Computations in a web request (not a background job) must end well inside the
# gunicorn worker timeout.
REQUEST_SECONDS = 60.0
NOT_COMPUTED = ("this view's catalog is not in the result cache (not computed yet, or "
                "evicted): compute the view first (reload the page to run its job)")


@dataclass(frozen=True)
class ViewContext:
    """Where the views' results live and how their jobs run.

    Attributes
    ----------
    cache : object
        The result cache (``get``/``set``).
    manager : object
        Dash's background-callback manager (None in unit tests of plain callbacks).
    job_seconds : float
        Time budget of one background job.
    executor : callable
        Where a job runs its search.
    """

    cache: object
    manager: object = None
    job_seconds: float = 300.0
    executor: object = executors.serial

    def catalog(self, raw):
        """The catalog JSON of validated controls ``raw``, from the result cache, where
        the catalog job put it. A plain callback never computes a catalog: that is the
        job's, within the job cap and budget. An entry that is gone (evicted, or the
        job has not run) raises ComputationLimit with what to do."""
        found = service.cached_catalog(state.catalog_config(raw), self.cache)
        if found is None:
            raise ComputationLimit(NOT_COMPUTED)
        return found


def config_from_search(search):
    """(validated control values with their canonical config, error message)."""
    values = state.from_query(search)
    raw = {cid: values[cid] for cid in state.CONTROL_IDS}
    try:
        config = state.catalog_config(raw)
        state.flow_config(raw, time="1")
    except ConfigError as exc:
        return None, str(exc)
    return raw | {"canonical": config.to_dict()}, ""


def reason_in_figures(*kinds):
    """Wrap a view callback whose outputs are ``kinds`` ("figure" or anything else): if
    it fails (a time budget, a busy server, a bug), its figures say why in words instead
    of staying blank axes, and its other outputs stay as they are."""
    def wrap(view):
        @functools.wraps(view)
        def wrapped(*args):
            try:
                return view(*args)
            except PreventUpdate:
                raise
            except Exception as exc:            # noqa: BLE001 -- shown to the user
                log.warning("view failed: %s: %s", type(exc).__name__, str(exc)[:500])
                text = describe_error(exc)
                out = [figures.empty_figure(text) if kind == "figure" else no_update
                       for kind in kinds]
                return out[0] if len(out) == 1 else tuple(out)
        return wrapped
    return wrap
