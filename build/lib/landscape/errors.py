"""The package's exceptions, in one place, and the deadline that raises one.

Each carries a one-line message meant for the user: the CLI and the dashboard show
it as it is.
"""
import contextvars
import time
from contextlib import contextmanager


class ConfigError(ValueError):
    """Invalid user input (a config value, a teacher, a file)."""


class ComputationLimit(RuntimeError):
    """A computation exceeded its budget; the message says which."""


class ExecutorUnavailable(RuntimeError):
    """The chosen executor cannot run chunks (no Redis, no worker)."""


class FamilyError(ValueError):
    """A family member cannot be computed for this teacher or width."""


class SettingsError(ValueError):
    """A deployment variable has an invalid value."""


# The deadline of whatever is computing in this context (a web request sets one): loops
# that may run long call ``check_deadline`` in their inner steps, so a computation
# stops within one step of its budget, not only between chunks.
_DEADLINE = contextvars.ContextVar("landscape_deadline", default=None)


@contextmanager
def deadline(seconds):
    """Computations in this block raise ComputationLimit after ``seconds``."""
    token = _DEADLINE.set((time.monotonic() + seconds, seconds))
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def set_deadline(seconds):
    """Start a deadline for the rest of this context; returns the token to reset."""
    return _DEADLINE.set((time.monotonic() + seconds, seconds))


def clear_deadline(token):
    _DEADLINE.reset(token)


def drop_deadline():
    """No deadline from here on in this context (a job process forked from a request
    keeps its own budget, not the request's)."""
    _DEADLINE.set(None)


def check_deadline():
    """Raise ComputationLimit if this context's deadline has passed."""
    current = _DEADLINE.get()
    if current is not None and time.monotonic() > current[0]:
        raise ComputationLimit(f"stopped after the time budget of {current[1]:g} s of a "
                               "request; ask for fewer students, starts or a shorter time")
