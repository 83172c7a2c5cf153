"""Flows 3D on a cached view: the first build of the animated figure in a process (read
the cached trajectories and catalog back, build the figure) against the same view again
(the process keeps built figures), and the JSON encoding Dash does either way.

    python3 benchmarks/bench_flows3d_figure.py [--students 8] [--dim 8] [--starts 200]
"""
import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cachelib import FileSystemCache  # noqa: E402
from plotly.utils import PlotlyJSONEncoder  # noqa: E402

from landscape.running import service  # noqa: E402
from landscape.ui import state  # noqa: E402
from landscape.ui.common import ViewContext, config_from_search  # noqa: E402
from landscape.ui.tabs import flows_3d  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--students", default="8")
    parser.add_argument("--dim", default="8")
    parser.add_argument("--starts", default="200")
    args = parser.parse_args()
    context = ViewContext(cache=FileSystemCache(tempfile.mkdtemp(), threshold=0))
    raw, _ = config_from_search(f"?students={args.students}&teachers={args.students}"
                                f"&dim={args.dim}&starts={args.starts}")
    # The catalog job's part, as on the page: the view itself never computes a catalog.
    service.catalog_result(state.catalog_config(raw), context.cache)
    began = time.perf_counter()
    flows_3d.show_flows_3d(context, raw, "flows-3d", None, None, None)
    cold = time.perf_counter() - began
    first, again, encode = [], [], []
    for _ in range(3):
        flows_3d._BUILT.clear()                  # a fresh process: nothing built yet
        began = time.perf_counter()
        flows_3d.show_flows_3d(context, raw, "flows-3d", None, None, None)
        first.append(time.perf_counter() - began)
        began = time.perf_counter()
        figure = flows_3d.show_flows_3d(context, raw, "flows-3d", None, None, None)
        again.append(time.perf_counter() - began)
        began = time.perf_counter()
        text = json.dumps(figure, cls=PlotlyJSONEncoder)
        encode.append(time.perf_counter() - began)
    print(f"K = M = {args.students}, d = {args.dim}, {args.starts} starts: cold (trajectories "
          f"computed on the cached catalog) {cold:.1f} s; from the cache, first build "
          f"{statistics.median(first):.2f} s, again {1000 * statistics.median(again):.1f} ms; "
          f"JSON encoding {statistics.median(encode):.2f} s ({len(text) / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
