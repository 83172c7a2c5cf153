"""Versions: of the package, and of the engine's results (part of every cache key)."""

__version__ = "0.2.0"
# Bump when any result the engine computes may change: it is part of every cache key.
ENGINE_VERSION = "3"
