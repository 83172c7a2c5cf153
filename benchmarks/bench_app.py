"""Server time of dashboard interactions: cold computations and cached ones.

Run: python benchmarks/bench_app.py

Times what the callbacks do (service + figure builders) against a real
FileSystemCache in a temporary directory, in one run:
  * cold: the catalog for K = M = 10 (d = 10 and d = inf) with 200 starts;
  * cached: rendering the catalog view, one fixed point (heatmaps + spectrum) and its loss
    surface, from the cache (median of 20).
"""
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cachelib import FileSystemCache  # noqa: E402

from landscape import figures  # noqa: E402
from landscape.running import service  # noqa: E402
from landscape.ui import state  # noqa: E402
from landscape.ui.components import table  # noqa: E402
from landscape.ui.tabs.fixed_points import CATALOG_HEAD, catalog_rows  # noqa: E402


def median_ms(fn, repeats=20):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1000 * statistics.median(times)


def main():
    cache = FileSystemCache(tempfile.mkdtemp())
    for dim in ("10", "inf"):
        values = dict(state.DEFAULTS, students="10", teachers="10", dim=dim, starts="200")
        config = state.catalog_config(values)
        t = time.perf_counter()
        service.catalog_result(config, cache)
        cold = time.perf_counter() - t
        print(f"cold catalog K=M=10 d={dim} 200 starts: {cold:.2f} s")

    def catalog_view():
        c = service.catalog_result(config, cache)
        figures.basin_share_figure(c).to_json()
        table(CATALOG_HEAD, catalog_rows(c))

    def point_view():
        p = service.catalog_result(config, cache)["fixed_points"][-1]
        for fig in (figures.heatmap_figure(p["Q"], "Q", "s", "s"),
                    figures.heatmap_figure(p["M"], "M", "t", "s"), figures.spectrum_figure(p)):
            fig.to_json()

    def surface_view():
        c = service.catalog_result(config, cache)
        s = service.loss_surface(c, len(c["fixed_points"]) - 1, config)
        figures.surface_figure(s).to_json()
        figures.surface_figure(s, contour=True).to_json()

    for name, fn in (("catalog view", catalog_view), ("fixed point view", point_view),
                     ("loss surface view", surface_view)):
        print(f"cached {name}: {median_ms(fn):.0f} ms (median of 20)")


if __name__ == "__main__":
    main()
