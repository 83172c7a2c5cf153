"""The dashboard's pure parts: URL state, validation, service cache, figures."""
import json

import numpy as np
import pytest

from landscape import ENGINE_VERSION, figures
from landscape.methods.trajectories import array_from_json
from landscape.running import service
from landscape.config import make_catalog_config
from landscape.ui import state
from landscape.ui.common import config_from_search
from landscape.ui.tabs.fixed_points import catalog_csv


def test_health_and_index():
    from app import server
    client = server.test_client()
    assert client.get("/health").status_code == 200
    assert client.get("/").status_code == 200


def test_url_round_trip_and_bounds():
    values = state.from_query("?students=7&teachers=5&dim=inf&tab=families&point=2&junk=1")
    assert values["students"] == "7" and values["tab"] == "families" and values["point"] == "2"
    assert "junk" not in values
    again = state.from_query(state.to_query(values))
    assert again == values
    assert len(state.from_query("?students=" + "9" * 10000)["students"]) == 200


@pytest.mark.parametrize("query, fragment", [
    ("?students=21", "between 1 and 20"),
    ("?starts=2001", "starts"),
    ("?teacher=file:/etc/passwd", "command line"),
    ("?students=abc", "integer"),
    ("?lr=-1", "lr"),
    ("?dim=2&teachers=3&students=3", "rank of P"),
])
def test_invalid_urls_give_a_message_not_an_error(query, fragment):
    config, message = config_from_search(query)
    assert config is None and fragment in message


def test_service_cache_keys_carry_engine_version_and_config():
    a = make_catalog_config(3, 3, starts=10)
    b = make_catalog_config(3, 3, starts=11)
    ka, kb = service.cache_key("catalog", a.to_dict()), service.cache_key("catalog", b.to_dict())
    assert ka != kb and ka.startswith(f"landscape:{ENGINE_VERSION}:catalog:")
    assert service.cache_key("catalog", dict(reversed(list(a.to_dict().items())))) == ka


class Recorder(dict):
    """A dict-backed cache that counts calls."""
    def __init__(self):
        super().__init__()
        self.sets = 0

    def set(self, key, value):
        self.sets += 1
        self[key] = value


class Broken:
    def get(self, key):
        raise EOFError("truncated cache file")

    def set(self, key, value):
        raise OSError("disk full")


def test_service_caches_and_survives_broken_caches():
    config = make_catalog_config(3, 3, starts=6)
    cache = Recorder()
    first = service.catalog_result(config, cache)
    second = service.catalog_result(config, cache)
    assert cache.sets == 1 and first == second
    # a stale entry from another engine version is recomputed
    key = next(iter(cache))
    cache[key] = dict(first, engine_version="0")
    assert service.catalog_result(config, cache)["engine_version"] == ENGINE_VERSION
    assert service.catalog_result(config, Broken())["fixed_points"][0]["kind"] == "global_minimum"


def test_real_filesystem_cache_with_a_corrupt_entry(tmp_path):
    from landscape.running.store import FileStore
    cache = FileStore(str(tmp_path), secret=b"k" * 32)
    config = make_catalog_config(3, 3, starts=5)
    result = service.catalog_result(config, cache)
    for path in tmp_path.iterdir():
        path.write_bytes(path.read_bytes()[:20])        # truncate every entry
    again = service.catalog_result(config, cache)
    assert again["fixed_points"][0]["loss"] == pytest.approx(result["fixed_points"][0]["loss"])


@pytest.fixture(scope="module")
def catalog8():
    config = make_catalog_config(8, 8, dim=8, starts=60)
    return config, service.catalog_result(config)


def test_catalog_figures(catalog8):
    config, catalog = catalog8
    fig = figures.basin_share_figure(catalog)
    assert sum(sum(t.y) for t in fig.data) == pytest.approx(
        100 * sum(p["fraction"] for p in catalog["fixed_points"]))
    point = catalog["fixed_points"][-1]
    spectrum = figures.spectrum_figure(point)
    assert sum(spectrum.data[0].y) == 8 * 8
    heat = figures.heatmap_figure(point["Q"], "Q", "student", "student")
    assert np.array(heat.data[0].z).shape == (8, 8)
    surface = service.loss_surface(catalog, len(catalog["fixed_points"]) - 1, config, size=11)
    z = np.array(surface["loss"])
    assert z.shape == (11, 11) and z[5, 5] == pytest.approx(point["loss"], abs=1e-9)
    if point["kind"] == "local_minimum":
        assert z.min() >= point["loss"] - 1e-9        # a minimum is lowest nearby
    csv = catalog_csv(catalog).splitlines()
    assert len(csv) == len(catalog["fixed_points"]) + 1


def test_trajectory_figure_draws_one_trace_per_class(catalog8):
    config, catalog = catalog8
    traj = service.trajectories_result(config, points=20)
    fig = figures.trajectories_figure(traj, catalog)
    lines = [t for t in fig.data if t.mode == "lines"]
    labels = sorted(set(traj["label"]))
    assert len(lines) == len(labels)
    T = len(traj["t"])
    Q = array_from_json(traj["Q"])
    diag_q = np.trace(Q, axis1=2, axis2=3) / Q.shape[-1]       # the default x axis
    tolerance = 1e-4 * np.ptp(diag_q)                          # the drawing's precision
    for label, trace in zip(labels, lines):
        # one trajectory per start of this class, from its start to its end, each of at
        # most T points (points where the flow rests are left out) and a NaN break
        members = [s for s, mine in enumerate(traj["label"]) if mine == label]
        x = np.array(trace.x, dtype=float)
        assert np.isnan(x).sum() == len(members) and x.size <= len(members) * (T + 1)
        breaks = np.nonzero(np.isnan(x))[0]
        firsts, lasts = x[np.concatenate([[0], breaks[:-1] + 1])], x[breaks - 1]
        assert firsts == pytest.approx(diag_q[members, 0], abs=tolerance)
        assert lasts == pytest.approx(diag_q[members, -1], abs=tolerance)
    for axes in (("PC1", "PC2", "PC3"), ("Q[0,1]", "M[2,3]", "mean off-diag Q")):
        figures.trajectories_figure(traj, catalog, axes)


def test_flow_families_and_hierarchy_figures():
    from landscape.config import make_flow_config
    from landscape.methods.hierarchy import build_hierarchy
    flow_config = make_flow_config(2, 2, lr=0.5, time=2, points=4, simulate=100, runs=2)
    flow = service.flow_result(flow_config)
    fig = figures.flow_figure(flow)
    assert fig.layout.yaxis3.type == "log"
    assert any("simulation" in (t.name or "") for t in fig.data)
    setup = make_catalog_config(6, 6).teacher
    fam = service.families_result(setup, np.inf, range(4, 9), range(0, 3))
    fig = figures.families_figure(fam, current=6)
    assert {t.line.dash for t in fig.data if t.mode == "lines+markers"} <= {"solid", "dash"}
    hierarchy = build_hierarchy(make_catalog_config(2, 2, starts=6), [2, 3]).to_json()
    fig = figures.hierarchy_figure(json.loads(json.dumps(hierarchy)))
    assert fig.layout.barmode == "stack"


def test_hierarchy_widths_from_the_text_box():
    from landscape.errors import ConfigError
    from landscape.ui import state

    config = state.catalog_config(state.DEFAULTS | {"teachers": "5"})
    assert state.hierarchy_widths("", config) == [5, 6, 7]
    assert state.hierarchy_widths("7, 5 6 6", config) == [5, 6, 7]
    for bad in ("5 x", "0 1", "19 20 21", "1 2 3 4 5 6"):
        with pytest.raises(ConfigError):
            state.hierarchy_widths(bad, config)
