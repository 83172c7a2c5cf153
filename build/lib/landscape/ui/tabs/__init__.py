"""The dashboard's tabs: one module each, with its ``layout()``, its view functions
(plain functions of callback inputs, testable without a browser) and ``register(app,
context)`` wiring them to the page. Their order and labels are ``state.TABS``."""
from . import connections, families, fixed_points, flows_2d, flows_3d, hierarchy, theory

MODULES = {"fixed-points": fixed_points, "flows-2d": flows_2d, "flows-3d": flows_3d,
           "families": families, "hierarchy": hierarchy, "connections": connections,
           "theory": theory}
