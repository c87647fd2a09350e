"""The reference runs the training checks are sized from: restart plans, the shipped records,
the on-disk cache and its behaviour under threads."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from grader import reference_runs as rr
from reference.convergence import wilson_interval


def profile(converged_steps: list[int], stuck: int, max_steps: int = 200_000
            ) -> rr.ConvergenceProfile:
    return rr.ConvergenceProfile(np.array(converged_steps + [-1] * stuck, dtype=np.int64),
                                 max_steps)


def test_a_plan_fails_a_correct_network_less_often_than_asked():
    # 90 of 100 initialisations converge, all within 30k steps
    p = profile([20_000 + 100 * i for i in range(90)], stuck=10)
    plan = rr.plan_restarts(p, 1e-3, max_attempts=10)
    low, _ = wilson_interval(90, 100)
    assert plan.steps_per_attempt == 28_900 and plan.rate == pytest.approx(0.9)
    assert plan.rate_low == pytest.approx(low)
    assert plan.failure_probability == pytest.approx((1 - low) ** plan.attempts)
    assert plan.failure_probability < 1e-3 <= (1 - low) ** (plan.attempts - 1)


def test_the_cheapest_plan_wins_short_attempts_against_long_ones():
    # XOR-like: a third converge, most of them early, a few very late
    early = list(range(10_000, 40_000, 1_000))     # 30 runs
    late = list(range(150_000, 190_000, 4_000))    # 10 runs
    p = profile(early + late, stuck=80)
    plan = rr.plan_restarts(p, 1e-3, max_attempts=100)
    assert plan.steps_per_attempt < 150_000, "late convergers are not worth waiting for"
    assert plan.failure_probability < 1e-3
    costs = []
    for steps in sorted(set(early + late)):
        low, _ = wilson_interval(p.converged_within(steps), p.trials)
        costs.append(rr._restarts(low, 1e-3) * steps)
    assert plan.attempts * plan.steps_per_attempt == min(costs)


def test_a_capped_plan_says_how_often_a_correct_network_still_fails():
    p = profile([50_000] * 10, stuck=90)
    plan = rr.plan_restarts(p, 1e-3, max_attempts=5)
    assert plan.attempts == 5 and plan.failure_probability > 1e-3
    assert f"{plan.failure_probability:.2g}" in plan.describe()


def test_a_reference_that_never_converges_gets_every_allowed_attempt():
    plan = rr.plan_restarts(profile([], stuck=20, max_steps=1_000), 1e-3, max_attempts=4)
    assert (plan.attempts, plan.steps_per_attempt, plan.rate) == (4, 1_000, 0.0)


def test_the_shipped_records_cover_the_public_self_check():
    """A self-check must not measure anything: every record it needs is shipped, under the
    current CACHE_VERSION and the shipped rubric's numbers (regenerate with
    ``python -m grader.reference_runs`` when this fails)."""
    records = rr.public_records(["lab1"])
    # 2 tasks x (run without bias, run with bias, profile, and profiles of the common widths
    # with and without bias)
    assert len(records) == 2 * (3 + 2 * len(rr.COMMON_WIDTHS))
    shipped = {p.name for p in rr.SHIPPED.glob("*.npz")}
    assert {f"{name}.npz" for name, _, _ in records} == shipped


@pytest.mark.slow
def test_a_shipped_record_is_the_reference_measured_again():
    from grader.rubric import load_rubric

    conf = load_rubric("lab1").settings("train_linear")
    args = ("train_linear", 0, int(conf["training_points"]), float(conf["lr"]), False,
            int(conf["max_steps"]))
    with np.load(rr.SHIPPED / f"{rr.run_name(*args)}.npz") as data:
        shipped = rr._decode_run(dict(data))
    fresh = rr.measure_reference_run(*args)
    assert shipped is not None and fresh is not None
    assert (shipped.init_seed, shipped.steps, shipped.worst_steps) == \
        (fresh.init_seed, fresh.steps, fresh.worst_steps)
    np.testing.assert_array_equal(shipped.curve, fresh.curve)
    for a, b in zip(shipped.initial, fresh.initial):
        np.testing.assert_array_equal(a, b)


@pytest.mark.slow
def test_a_shipped_profile_is_the_reference_measured_again():
    from grader.rubric import load_rubric

    conf = load_rubric("lab1").settings("train_xor")
    name = rr.profile_name("train_xor", 7, 21, float(conf["lr"]), int(conf["max_steps"]))
    assert name == rr.profile_name("train_xor", 0, 21, float(conf["lr"]),
                                   int(conf["max_steps"])), "XOR's profile is seed-free"
    with np.load(rr.SHIPPED / f"{name}.npz") as data:
        shipped = np.asarray(data["steps"])
    assert shipped.size == rr.PROFILE_TRIALS
    # measuring the first few initialisations again gives their shipped steps
    fresh = rr.measure_profile("train_xor", 0, 21, float(conf["lr"]), 60_000, trials=12)
    expected = np.where((shipped[:12] >= 0) & (shipped[:12] <= 60_000), shipped[:12], -1)
    np.testing.assert_array_equal(fresh.steps, expected)


@pytest.mark.slow
def test_a_profile_of_a_wide_network_costs_at_most_the_work_allowed():
    """2-100-100-1 networks at the lab's rate do not converge on XOR in the steps its
    PROFILE_WORK allows: the profile stops there and says how far it looked."""
    profile = rr.measure_profile("train_xor", 0, 21, 0.8, 200_000, dims=(2, 100, 100, 1))
    weights = 2 * 100 + 100 * 100 + 100
    assert profile.trials == rr.MIN_PROFILE_TRIALS
    assert profile.max_steps < 200_000
    assert profile.trials * profile.max_steps * weights <= rr.PROFILE_WORK + 21 * 32 * weights


def test_a_record_is_computed_once_while_other_threads_wait(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    calls = []

    def compute():
        calls.append(threading.get_ident())
        time.sleep(0.3)
        return rr.ConvergenceProfile(np.array([5, -1], dtype=np.int64), 10)

    def encode(p):
        return {"steps": p.steps, "max_steps": p.max_steps}

    def decode(d):
        return rr.ConvergenceProfile(np.asarray(d["steps"]), int(d["max_steps"]))

    name = f"test-{tmp_path.name}"
    got = []
    threads = [threading.Thread(target=lambda: got.append(rr._kept(name, compute, encode,
                                                                    decode)))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len(got) == 4
    assert all(g is got[0] for g in got)
    # a new process (an empty memory) reads it from the user's cache instead of measuring
    rr._memory.pop(name)
    again = rr._kept(name, compute, encode, decode)
    assert len(calls) == 1 and again.steps.tolist() == [5, -1]
    assert (tmp_path / "labgrade" / f"{name}.npz").is_file()
    assert not list((tmp_path / "labgrade").glob("*.tmp*")), "no temporary file left behind"


def test_an_unreadable_cached_record_is_measured_again(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    name = f"test-broken-{tmp_path.name}"
    (tmp_path / "labgrade").mkdir()
    (tmp_path / "labgrade" / f"{name}.npz").write_bytes(b"not a numpy file")
    value = rr._kept(name, lambda: rr.ConvergenceProfile(np.array([3]), 4),
                     lambda p: {"steps": p.steps, "max_steps": p.max_steps},
                     lambda d: rr.ConvergenceProfile(np.asarray(d["steps"]), int(d["max_steps"])))
    assert value.steps.tolist() == [3]
    with np.load(tmp_path / "labgrade" / f"{name}.npz") as data:
        assert data["steps"].tolist() == [3]


def test_the_shipped_runs_keep_other_robust_starts():
    """A network that does not apply the reference's gradient gets these starts too."""
    from grader.rubric import load_rubric

    for task in rr.TASKS:
        conf = load_rubric("lab1").settings(task)
        for bias in (False, True):
            run = rr.reference_run(task, 0, int(conf["training_points"]), float(conf["lr"]),
                                   bias, int(conf["max_steps"]))
            starts = run.starts()
            assert len(starts) == 1 + rr.ALTERNATIVES, (task, bias)
            assert len({init.seed for init, _ in starts}) == len(starts)
            assert starts[0][0].seed == run.init_seed
            for init, weights in starts:
                assert [w.shape for w in weights] == [(2, 3), (3, 3), (3, 1)]
                assert init.steps <= init.worst_steps
            with pytest.raises(ValueError):
                run.initial[0][0, 0] = 1.0  # shared by every thread of a batch: read-only


def test_linear_training_points_keep_away_from_the_diagonal():
    """Seed 7 of generate_linear puts a point 0.0003 from the diagonal, where a correct
    network with biases never gets its loss below 0.04; the grader's points keep away from it,
    the held-out points are the lab's own."""
    X, Y, X_eval, Y_eval = rr.task_data("train_linear", 7, 100, 100)
    assert X.shape == (100, 2) and Y.shape == (100, 1)
    assert np.abs(X[:, 0] - X[:, 1]).min() >= rr.DIAGONAL_MARGIN
    np.testing.assert_array_equal(Y.ravel(), (X[:, 0] <= X[:, 1]).astype(float))
    assert X_eval.shape == (100, 2) and set(np.unique(Y_eval)) <= {0, 1}
    again = rr.task_data("train_linear", 7, 100, 100)
    np.testing.assert_array_equal(again[0], X)  # the same seed, the same points
    assert not np.array_equal(rr.task_data("train_linear", 8, 100, 0)[0], X)
