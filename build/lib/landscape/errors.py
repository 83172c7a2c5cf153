"""The package's exceptions, in one place.

Each carries a one-line message meant for the user: the CLI and the dashboard show
it as it is.
"""


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
