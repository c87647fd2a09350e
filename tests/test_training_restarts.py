"""Training a network whose parameters map onto no known layout: it starts from its own
initialisation, with restarts sized from the reference's measured convergence, and a broken
one cannot spend more than the rubric's time for all attempts.  Real sandboxes."""

from __future__ import annotations

import pytest

from grader.batch import rubric_settings
from grader.discover import discover
from grader.grading import grade_submission
from grader.rubric import load_rubric

from tests_support import SAMPLES

FLAT = (SAMPLES.parent / "tests" / "flat_vector_network.py").read_text()


def grade(tmp_path, source: str, only: set[str], **changes) -> dict:
    path = tmp_path / "DLP_LAB1_0900201_Flat.py"
    path.write_text(source)
    [sub] = discover(path, workdir=tmp_path / "work")
    settings = rubric_settings(load_rubric("lab1"))
    for check_id, values in changes.items():
        settings[check_id] = {**settings[check_id], **values}
    return grade_submission(sub, settings=settings, seed=0, only=only).verdicts


@pytest.mark.slow
def test_a_correct_unmappable_network_trains_from_its_own_initialisation(tmp_path):
    verdicts = grade(tmp_path, FLAT, {"interface", "gradient", "train_linear"})
    verdict = verdicts["train_linear"]
    assert verdict.status == "pass", verdict.message
    restarts = verdict.details["restarts"]
    # sized from the shipped measurement of the reference: a correct network fails all
    # attempts less than once in a thousand, and never more attempts than the rubric allows
    assert restarts["failure_probability"] < 1e-3
    assert 1 < restarts["attempts"] <= load_rubric("lab1").settings("train_linear")["attempts"]
    assert "128 measured" in restarts["why"]
    attempts = verdict.details["attempts"]
    assert attempts[0]["from"] == "your own initialisation (seed 0)"
    assert attempts[-1]["converged"] and len(attempts) <= restarts["attempts"]
    assert f"from your own initialisation, attempt {len(attempts)} of up to " \
        f"{restarts['attempts']}" in verdict.message


@pytest.mark.slow
def test_a_broken_unmappable_network_stops_at_the_time_for_all_attempts(tmp_path):
    broken = FLAT.replace("self.theta -= lr * self.g", "self.theta += lr * self.g")
    verdicts = grade(tmp_path, broken, {"interface", "gradient", "train_xor"},
                     train_xor={"time_budget_s": 1.5, "total_time_budget_s": 4.0})
    verdict = verdicts["train_xor"]
    assert verdict.status == "fail"
    details = verdict.details
    planned = details["restarts"]["attempts"]
    assert 2 <= len(details["attempts"]) < planned, "the total budget cut the attempts short"
    assert "the 4 s for all attempts ran out" in details["out_of_time"]
    assert "the 4 s for all attempts ran out" in verdict.message
    assert f"none of the {len(details['attempts'])} attempts from your own initialisation" \
        in verdict.message


def grade_sample(tmp_path, name: str, only: set[str]) -> dict:
    [sub] = discover(SAMPLES / name, workdir=tmp_path / name)
    return grade_submission(sub, settings=rubric_settings(load_rubric("lab1")), seed=0,
                            only=only).verdicts


@pytest.mark.slow
def test_a_network_without_the_true_gradient_gets_the_other_robust_starts(tmp_path):
    """Cross-entropy instead of MSE: not the lab's gradient, so its path is its own, and from
    the first of the reference's starts it gets stuck on XOR; it converges from the next.  A
    TA would not fail its training for that (submissions/README.md: 4 of 6 converge)."""
    verdict = grade_sample(tmp_path, "DLP_LAB1_0856131_Chou.py",
                           {"interface", "gradient", "train_xor"})["train_xor"]
    assert verdict.status == "pass", verdict.message
    attempts = verdict.details["attempts"]
    assert len(attempts) >= 2 and not attempts[0]["converged"] and attempts[-1]["converged"]
    assert all(a["from"].startswith("reference initialisation") for a in attempts)
    assert "the first start got stuck" in verdict.message


@pytest.mark.slow
def test_a_wrong_backprop_fails_from_every_robust_start(tmp_path):
    """W instead of W.T: XOR never converges, from any of the starts the reference converges
    from; the message says so, with the reference's steps."""
    verdict = grade_sample(tmp_path, "DLP_LAB1_0856107_Tseng.py",
                           {"interface", "gradient", "train_xor"})["train_xor"]
    assert verdict.status == "fail"
    attempts = verdict.details["attempts"]
    assert len(attempts) == 3 and not any(a["converged"] for a in attempts)
    low = min(a["reference_steps"] for a in attempts)
    high = max(a["reference_steps"] for a in attempts)
    assert f"nor did it from 2 other starting weights, from each of which the reference " \
        f"converges (in {low}-{high} steps)" in verdict.message
