"""The Flows 3D trajectories against an independent integration of each start, and run
on the catalog's executor."""
import json
from types import SimpleNamespace

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from landscape.config import make_catalog_config
from landscape.maths.kernels import evaluate
from landscape.maths.starts import draw_starts
from landscape.maths.teachers import teacher_vectors
from landscape.methods.catalog import find_fixed_points
from landscape.methods.trajectories import (StartTrajectories, TrajectoryChunk,
                                            TrajectoryOptions, catalog_trajectories,
                                            log_times, trajectory_chunk)
from landscape.running import executors

POINTS = 25


@pytest.fixture(scope="module")
def catalog():
    return find_fixed_points(make_catalog_config(5, 5, dim=5, starts=150))


@pytest.fixture(scope="module")
def recorded(catalog):
    """The trajectories, computed on an executor that notes what it was asked to run."""
    calls = []

    def recording(config, parts, options, chunk):
        calls.append((chunk, [list(p) for p in parts], options))
        yield from executors.serial(config, parts, options, chunk)

    recording.workers = 2
    return catalog_trajectories(catalog, points=POINTS, executor=recording), calls


def reference_flow(config, start, times):
    """Start ``start`` of the catalog, drawn on its own and integrated alone with the
    precise closed-form gradient (``evaluate``) by RK45 at rtol 1e-9: Q, M, loss."""
    n = config.reduced_dim
    V = teacher_vectors(config.teacher.P, n)
    W0 = draw_starts(config.seed, [start], config.students, config.teachers,
                     config.start_dim, n)[0]
    shape = W0.shape

    def rhs(_, y):
        return -evaluate(y.reshape(shape), V, 1).gradient[0].ravel()

    solution = solve_ivp(rhs, (0.0, times[-1]), W0.ravel(), method="RK45", t_eval=times,
                         rtol=1e-9, atol=1e-12)
    W = solution.y.T.reshape((times.size,) + shape)
    loss = evaluate(W, V, 0).loss
    return W @ W.transpose(0, 2, 1), W @ V.T, loss


def test_trajectories_agree_with_each_start_integrated_alone(catalog, recorded):
    traj, _ = recorded
    config = catalog.config
    times = log_times(1000.0, POINTS)
    np.testing.assert_allclose(traj.t, times)
    # Drawn: mean diag Q, max M, any Q or M entry (to 1e-4 of the axis range) and the
    # log loss. Agreement to 1e-3 of each quantity's range is a pixel of a 1000 px scene.
    q_range, m_range = np.ptp(traj.Q), np.ptp(traj.M)
    for start in (0, 101, 149):
        Q, M, loss = reference_flow(config, start, times)
        assert np.abs(traj.Q[start] - Q).max() < 1e-3 * q_range, start
        assert np.abs(traj.M[start] - M).max() < 1e-3 * m_range, start
        # the log-loss axis: down to four decades below the start's loss
        floor = 1e-4 * loss[0]
        drawn = np.log10(np.maximum(traj.loss[start], floor))
        assert np.abs(drawn - np.log10(np.maximum(loss, floor))).max() < 1e-3 * np.log10(
            loss[0] / floor), start


def test_the_chunks_run_on_the_executor_given(catalog, recorded):
    traj, calls = recorded
    [(chunk, parts, options)] = calls
    assert chunk is trajectory_chunk and options == TrajectoryOptions(points=POINTS)
    assert sorted(i for part in parts for i in part) == list(range(150)) and len(parts) > 1
    # Local processes give the same trajectories and the same ends.
    local = catalog_trajectories(catalog, points=POINTS,
                                 executor=executors.get("local", workers=2))
    assert local.label.tolist() == traj.label.tolist()
    np.testing.assert_allclose(local.Q, traj.Q, atol=1e-3 * np.ptp(traj.Q))
    # Every start ends at a catalog entry, as its catalog search did.
    counts = np.bincount(traj.label[traj.label >= 0], minlength=len(catalog.fixed_points))
    assert counts.tolist() == [p.hits for p in catalog.fixed_points]


def test_a_trajectory_chunk_and_the_result_round_trip_through_json(catalog, recorded):
    """What a Celery worker sends back, and what the result cache holds."""
    from landscape.running.tasks import run_trajectory_chunk_json

    config = catalog.config
    options = TrajectoryOptions(points=5, t_max=10.0)
    task = SimpleNamespace(request=SimpleNamespace(hostname="here"))
    data = json.loads(json.dumps(run_trajectory_chunk_json(
        task, config.to_dict(), [3, 4], options.to_json())))
    sent = TrajectoryChunk.from_json(data, config)
    direct = trajectory_chunk(config, [3, 4], options)
    assert sent.indices.tolist() == [3, 4] and data["worker"] == "here"
    for name in ("Q", "M", "loss", "end"):
        np.testing.assert_array_equal(getattr(sent, name), getattr(direct, name))
    assert sent.status.tolist() == direct.status.tolist()
    traj, _ = recorded
    back = StartTrajectories.from_json(json.loads(json.dumps(traj.to_json())))
    for name in ("t", "Q", "M", "loss", "label"):
        np.testing.assert_array_equal(getattr(back, name), getattr(traj, name))
