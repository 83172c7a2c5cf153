"""The width hierarchy: over-parameterisation makes the global minimum accessible;
the embedding search finds what random starts miss, and its links are consistent."""
import json
import subprocess
import sys

import numpy as np
import pytest

from landscape.config import make_catalog_config
from landscape.methods.hierarchy import build_hierarchy, embeddings
from landscape.maths.kernels import evaluate
from landscape.maths.teachers import teacher_vectors


@pytest.fixture(scope="module")
def hierarchy8():
    config = make_catalog_config(8, 8, dim="inf", starts=120, seed=0)
    return build_hierarchy(config, [9, 8])


def test_embeddings_keep_the_network_function():
    rng = np.random.default_rng(0)
    V = teacher_vectors(np.eye(3), 6)
    W = rng.standard_normal((3, 6))
    f = evaluate(W, V, 0).loss[0]
    for relation, E in embeddings(W, V, rng):
        assert E.shape == (4, 6)
        loss = evaluate(E, V, 0).loss[0]
        # splits are exact; pads add a student of norm 1e-3
        assert loss == pytest.approx(f, abs=1e-12 if relation == "split" else 5e-3)


@pytest.mark.slow
def test_global_minimum_becomes_accessible_past_the_teacher_width(hierarchy8):
    level8, level9 = hierarchy8.levels
    assert (level8.students, level9.students) == (8, 9)
    spurious8 = [p for p in level8.catalog.fixed_points if p.kind == "local_minimum"]
    assert spurious8 and level8.catalog.global_fraction < 0.97
    assert level9.catalog.global_fraction > level8.catalog.global_fraction + 0.05
    # The k1 = 1 minimum of width 8, split into width 9, is no longer a minimum:
    # the embedding search drains it into the global minimum.
    k1 = min(spurious8, key=lambda p: p.loss)
    i = level8.catalog.fixed_points.index(k1)
    targets = [link["to"] for link in hierarchy8.links if link["from"]["index"] == i]
    reached = [level9.catalog.fixed_points[t["index"]].kind for t in targets
               if not t.get("nondifferentiable")]
    assert "global_minimum" in reached
    assert not any(p.kind == "local_minimum" and abs(p.loss - k1.loss) < 1e-6
                   for p in level9.catalog.fixed_points)


@pytest.mark.slow
def test_embedding_entries_are_critical_points_counted_apart(hierarchy8):
    level9 = hierarchy8.levels[1]
    V = teacher_vectors(np.eye(8), level9.catalog.config.reduced_dim)
    for p in level9.catalog.fixed_points:
        assert np.linalg.norm(evaluate(p.students, V, 1).gradient) < 1e-9
        if p.source == "embedding":
            assert p.hits == 0 and p.visits == 0 and p.embedding_hits > 0
    total = sum(p.hits for p in level9.catalog.fixed_points) + \
        sum(p.hits for p in level9.catalog.dead_points) + level9.catalog.unconverged
    assert total == 120            # random-start accounting untouched by the search


@pytest.mark.slow
def test_links_point_at_existing_entries(hierarchy8):
    sizes = {lv.students: lv.catalog for lv in hierarchy8.levels}
    assert hierarchy8.links
    for link in hierarchy8.links:
        assert link["relation"] in ("split", "pad") and link["count"] > 0
        src = sizes[link["from"]["students"]].fixed_points[link["from"]["index"]]
        assert src.index in (0, 1)
        to = link["to"]
        pool = sizes[to["students"]]
        entries = pool.dead_points if to.get("nondifferentiable") else pool.fixed_points
        assert 0 <= to["index"] < len(entries)


def test_hierarchy_cli_json():
    proc = subprocess.run(
        [sys.executable, "-m", "landscape", "hierarchy", "--teachers", "2", "--widths", "2",
         "3", "--starts", "10", "--format", "json"],
        capture_output=True, text=True, timeout=300,
        cwd=__import__("pathlib").Path(__file__).parents[1])
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert [lv["students"] for lv in data["levels"]] == [2, 3]
    for level in data["levels"]:
        assert 0 <= level["global_fraction"] <= 1
        for p in level["fixed_points"]:
            assert p["source"] in ("random", "embedding")
            assert {"loss", "kind", "index", "flat", "hits", "embedding_hits", "Q", "M"} <= set(p)
    assert all(link["relation"] in ("split", "pad") for link in data["links"])
    assert "embedding search 2 -> 3" in proc.stderr         # progress on stderr


@pytest.mark.parametrize("widths, fragment", [(["3", "3"], "distinct"),
                                              (["0"], "widths"), (["x"], "widths")])
def test_hierarchy_cli_bad_widths(widths, fragment):
    proc = subprocess.run([sys.executable, "-m", "landscape", "hierarchy", "--teachers", "2",
                           "--widths", *widths], capture_output=True, text=True, timeout=60,
                          cwd=__import__("pathlib").Path(__file__).parents[1])
    assert proc.returncode == 2 and fragment in proc.stderr


@pytest.mark.slow
def test_zero_loss_ends_of_every_origin_are_one_global_entry(hierarchy8):
    level9 = hierarchy8.levels[1].catalog
    globals_ = [p for p in level9.fixed_points if p.kind == "global_minimum"]
    assert len(globals_) == 1
    assert all(p.loss >= 1e-10 for p in level9.fixed_points + level9.dead_points
               if p is not globals_[0])
    assert globals_[0].embedding_hits > 0 and globals_[0].hits > 0


def test_embedded_starts_run_through_the_executor_as_json_parts():
    from landscape.methods.catalog import GivenStarts, part_from_json, part_json, run_chunk
    from landscape.methods.hierarchy import descend_given
    from landscape.running import executors
    config = make_catalog_config(3, 2, dim="inf", starts=4, seed=0)
    rng = np.random.default_rng(3)
    starts = rng.standard_normal((42, 3, config.reduced_dim))   # three chunks
    serial = descend_given(config, starts, config_options(), executors.serial)
    pooled = descend_given(config, starts, config_options(), executors.processes(2))
    np.testing.assert_allclose(serial[0], pooled[0], atol=1e-12)
    assert list(serial[1]) == list(pooled[1])
    # A part survives JSON (the Celery task's only format) and gives the same chunk.
    part = GivenStarts.of(range(2), starts[:2])
    again = part_from_json(json.loads(json.dumps(part_json(part))))
    a, b = run_chunk(config, part), run_chunk(config, again)
    np.testing.assert_array_equal(a.students, b.students)
    from landscape.methods.catalog import ChunkResult
    back = ChunkResult.from_json(json.loads(json.dumps(a.to_json())), config)
    assert back.reasons == a.reasons and list(back.status) == list(a.status)
    assert part_from_json(part_json(range(3, 6))) == [3, 4, 5]


def config_options():
    from landscape.methods.descent import DescentOptions
    return DescentOptions()
