"""Server time of the dashboard's views, preset by preset and tab by tab.

Run: python benchmarks/bench_app.py [--preset NAME ...] [--tab TAB ...]

Calls the views' own functions (``landscape.ui.tabs``: what each callback runs, service
and figures, without the browser) against a real FileSystemCache in a temporary
directory, with the dashboard's job executor (local processes), in one run:
  * cold: the catalog job, then each tab's view, on an empty cache;
  * cached: each view again (median of 5), as after ``precompute``.
The Hierarchy tab is timed showing a cached result or its explanation; computing a
hierarchy is the job of bench_paper.py and the hierarchy rows of RESULTS.md. The
Connections tab is timed cold as its job (all connections, on the cached catalog) and
its views, cached as the tab opened again. Flows 3D cached is also timed as in a fresh
server process (which keeps no built figure: it reads the cached trajectories back and
builds the animated figure), median of 3.
"""
import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cachelib import FileSystemCache  # noqa: E402

from landscape.running import executors  # noqa: E402
from landscape.ui import callbacks, state  # noqa: E402
from landscape.ui.common import ViewContext, config_from_search  # noqa: E402
from landscape.ui.tabs import (connections, families, fixed_points, flows_2d, flows_3d,  # noqa: E402
                               hierarchy)


def views(context, raw, search):
    """Each tab's callbacks for a view, as the page runs them when the tab opens."""
    point = state.from_query(search)["point"]
    return {
        "fixed-points": lambda: (fixed_points.show_catalog(context, raw, search),
                                 fixed_points.show_point(context, point, raw),
                                 fixed_points.show_surface(context, point, "soft", None, raw)),
        "flows-2d": lambda: (flows_2d.show_flow(context, raw, state.FLOW_VIEW["time"],
                                                state.FLOW_VIEW["simulate"], "0", "flows-2d"),
                             flows_2d.show_flow_heatmaps(context, 100, raw, state.FLOW_VIEW["time"],
                                                         state.FLOW_VIEW["simulate"], "0")),
        "flows-3d": lambda: flows_3d.show_flows_3d(context, raw, "flows-3d", None, None, None),
        "families": lambda: families.show_families(context, raw, "families"),
        "hierarchy": lambda: hierarchy.show_hierarchy(context, None, raw,
                                                      state.from_query(search)["widths"],
                                                      "hierarchy"),
        # Cold: the connections job (the button) on a cached catalog, then the tree and
        # the first connection; cached: the tab opened again (the job finds the result).
        "connections": lambda: connections_view(context, raw, search),
    }


def connections_view(context, raw, search):
    connections.compute_connections(context, 1, "connections", raw, lambda *a: None)
    _, _, index = connections.show_tree(context, raw, [], None, search)
    return connections.show_connection(context, index, raw)


def seconds(fn, repeats=1):
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        fn()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--preset", action="append", default=[])
    parser.add_argument("--tab", action="append", default=[],
                        help="only these tabs (default: every tab)")
    args = parser.parse_args()
    tabs = args.tab or ["fixed-points", "flows-2d", "flows-3d", "families", "hierarchy",
                        "connections"]
    print("| preset | catalog job (cold) | " + " | ".join(
        "flows-3d cold / fresh process / cached" if tab == "flows-3d" else
        f"{tab} cold / cached" for tab in tabs) + " |")
    for name in args.preset or state.LIGHT_PRESETS:
        context = ViewContext(cache=FileSystemCache(tempfile.mkdtemp(), threshold=0),
                              executor=executors.get("local"))
        search = state.to_query(state.DEFAULTS | state.VIEW_DEFAULTS | state.PRESETS[name])
        raw, _ = config_from_search(search)
        job = seconds(lambda: callbacks.run_catalog_job(context, raw, lambda *a: None))
        cells = []
        for tab, view in views(context, raw, search).items():
            if tab not in tabs:
                continue
            cold = seconds(view)
            fresh = ""
            if tab == "flows-3d":
                def fresh_view():
                    flows_3d._BUILT.clear()
                    view()
                fresh = f"{seconds(fresh_view, repeats=3):.2f} s / "
            cached = seconds(view, repeats=5)
            cells.append(f"{cold:.2f} s / {fresh}{1000 * cached:.0f} ms")
        print(f"| {name} | {job:.2f} s | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
