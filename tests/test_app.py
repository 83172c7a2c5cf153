"""The dashboard's pure parts and its Flask server (browser tests come with the full UI)."""
import pytest

from landscape.config import ConfigError
from landscape.figures import basin_share_figure
from landscape.ui.catalog_view import compute


def test_health_and_index():
    from app import server
    client = server.test_client()
    assert client.get("/health").status_code == 200
    assert client.get("/").status_code == 200


def test_compute_and_figure():
    catalog = compute(["3", "3", "orthonormal", "inf", "10", "0", "1000"])
    fig = basin_share_figure(catalog)
    shares = [y for trace in fig.data for y in trace.y]
    assert sum(shares) == pytest.approx(100 * sum(p["fraction"] for p in catalog["fixed_points"]))
    assert [t.name for t in fig.data] == ["global minimum"]


def test_ui_limits_are_enforced():
    with pytest.raises(ConfigError, match="between 1 and 20"):
        compute(["21", "3", "orthonormal", "inf", "10", "0", "1000"])
    with pytest.raises(ConfigError, match="starts"):
        compute(["3", "3", "orthonormal", "inf", "2001", "0", "1000"])
