"""The screenshot gallery (``python -m landscape gallery``) in real headless Chromium."""
import json
import struct

import pytest

from landscape.cli import main


def png_size(path):
    with open(path, "rb") as handle:
        head = handle.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


@pytest.mark.browser
def test_gallery_photographs_each_view_at_the_asked_size(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LANDSCAPE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("REDIS_URL", raising=False)
    out = tmp_path / "gallery"
    preset = "one-pass SGD, lr = 0.5, K = M = 3"
    assert main(["gallery", "--output", str(out), "--preset", preset, "--tab", "theory",
                 "--tab", "fixed-points", "--size", "640x480"]) == 0
    records = json.loads((out / "gallery.json").read_text())
    assert [r["tab"] for r in records] == ["theory", "fixed-points"]
    for record in records:
        assert png_size(out / record["file"]) == (640, 480)
        assert record["seconds"] is not None            # drawn, not timed out
        assert record["horizontal_scroll_px"] == 0
    assert "2 screenshots" in capsys.readouterr().out
    assert "fixed-points" in (out / "index.html").read_text()


def test_gallery_refuses_unknown_names_in_one_line(tmp_path, capsys):
    assert main(["gallery", "--output", str(tmp_path), "--tab", "nope"]) == 2
    assert main(["gallery", "--output", str(tmp_path), "--preset", "nope"]) == 2
    assert main(["gallery", "--output", str(tmp_path), "--size", "big"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("landscape: error:") for line in err)
