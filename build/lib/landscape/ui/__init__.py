"""Dash layout and callbacks (the only modules that import dash)."""
