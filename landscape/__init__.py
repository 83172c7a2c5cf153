"""landscape: the loss landscape of two-layer ReLU networks, in closed form.

The engine (everything here except the UI modules) depends on numpy and scipy only.
"""

__version__ = "0.1.0"
# Bump when any result the engine computes may change: it is part of every cache key.
ENGINE_VERSION = "2"
