"""``program``: the student's own program runs to completion, prints, and draws its figures.

Measurement: the whole program, run as the student would run it (``python file.py``, or every
cell of the notebook), in a fresh sandbox of its own, under the rubric's time budget; its
output and the figures it shows or leaves open (PNG, kept for the report).

Judgement, with the rubric's partial credit: it finishes without an error; it prints the loss
during training; it prints an accuracy; it draws at least two figures (the lab asks for the
prediction-vs-ground-truth comparison and the learning curve).  A training loop that never
ends is a finding ("did not finish in 60 s"), not a grader failure.  The lab template's own
last line crashes on NumPy >= 2.4; that crash gets a precise, friendly explanation.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import re
from typing import Any, Iterator

from grader.checks.base import ERROR, FAIL, PASS, Verdict, register
from grader.checks.context import GradingContext
from grader.load import Loader, error_location
from grader.numpy_names import SCALAR_TRAP, numpy_hint
from grader.rubric import CheckConfig, setting, weights_problems


@dataclass(frozen=True)
class ProgramWeights:
    """``[checks.program.weights]``: partial credit of the program check (sums to 1)."""

    runs: float = setting(0.5, "Share for running to completion within the budget.",
                          minimum=0, maximum=1)
    loss: float = setting(0.15, "Share for printing the training loss.", minimum=0, maximum=1)
    accuracy: float = setting(0.15, "Share for printing the accuracy.", minimum=0, maximum=1)
    figures: float = setting(0.2, "Share for drawing the figures.", minimum=0, maximum=1)


@dataclass(frozen=True)
class ProgramCheck(CheckConfig):
    """``[checks.program]``: the student's own program, run whole."""

    time_budget_s: float = setting(60.0, "Wall-clock seconds the program may run.", above=0)
    require_loss: bool = setting(True, "The program must print the training loss.")
    require_accuracy: bool = setting(True, "The program must print the accuracy.")
    min_figures: int = setting(2, "Figures it must draw (predictions vs ground truth, "
                                  "learning curve).", minimum=0)
    timeout_keeps_run_share: bool = setting(
        True, "A program stopped by the time budget still earns the 'runs' share when it had "
              "printed a training loss by then (it was training, not stuck or broken).")
    weights: ProgramWeights = setting(factory=ProgramWeights, help="Partial credit.")

    def problems(self) -> Iterator[tuple[str, str]]:
        yield from weights_problems(self.weights, {"loss": self.require_loss,
                                                    "accuracy": self.require_accuracy,
                                                    "figures": self.min_figures > 0})


LOSS_LINE = re.compile(r"(loss|損失|误差|誤差)\D{0,20}\d", re.IGNORECASE)
ACCURACY_LINE = re.compile(r"(acc(uracy)?|準確率|准确率|正確率|正确率)\D{0,20}\d",
                           re.IGNORECASE)
"""The course is taught in Taiwan: students print "準確率 100.0 %" as often as "accuracy"."""


OUTPUT_HEAD_LINES, OUTPUT_TAIL_LINES, OUTPUT_LINE_CHARS = 40, 60, 300
"""What the report shows of a program's output: its first and last lines (the set-up and the
final loss and accuracy), each line cut to a readable length."""


def shortened(text: str) -> str:
    """A program's output as a reader wants it: the beginning and the end, with the number of
    lines left out in between said where they were (a training loop prints thousands)."""
    lines = [line if len(line) <= OUTPUT_LINE_CHARS else line[:OUTPUT_LINE_CHARS] + " …"
             for line in text.splitlines()]
    if len(lines) <= OUTPUT_HEAD_LINES + OUTPUT_TAIL_LINES:
        return "\n".join(lines)
    left_out = len(lines) - OUTPUT_HEAD_LINES - OUTPUT_TAIL_LINES
    return "\n".join([*lines[:OUTPUT_HEAD_LINES], f"… {left_out} lines not shown …",
                      *lines[-OUTPUT_TAIL_LINES:]])


LOOP_HINT = ("is the training loop able to stop? `while not done` never ends if the loss never "
             "gets below 0.04")


def timeout_message(budget: float, kind: str, cells: list[dict[str, Any]]) -> str:
    """Why the run was stopped.  A notebook has its budget as a whole: say whether one cell
    ran most of it (a loop that does not stop) or the cells together took longer (many
    experiments one after another), and which cells were not run."""
    stopped = next((c for c in cells if c.get("status") == "timeout"), None)
    if kind != "notebook" or stopped is None:
        return f"your program did not finish in {budget:g} s ({LOOP_HINT})"
    alone = float(stopped.get("seconds") or 0.0)
    if alone >= budget / 2:
        text = (f"your notebook did not finish in {budget:g} s: cell {stopped['number']} was "
                f"still running after {alone:.0f} s ({LOOP_HINT})")
    else:
        spent = (f"the cells before cell {stopped['number']} took all of it" if alone < 0.5
                 else f"its cells took {budget - alone:.0f} s before cell "
                      f"{stopped['number']}, which was stopped after {alone:.0f} s")
        text = (f"your notebook did not finish in {budget:g} s, the time for the whole "
                f"notebook: {spent} (each cell finishing is not enough: together they must "
                "keep within the time)")
    left = [c["number"] for c in cells if c.get("status") == "skipped"
            and c["number"] > stopped["number"]]
    if left:
        text += (f"; cell {left[0]} was not run" if len(left) == 1 else
                 f"; cells {left[0]}-{left[-1]} were not run")
    return text


@register("program", config=ProgramCheck, writes=("program_figures",),
          summary="the student's own program runs, prints loss and accuracy, draws")
def check_program(ctx: GradingContext) -> Verdict:
    conf: ProgramCheck = ctx.config("program")
    weights = asdict(conf.weights)
    child = ctx.child_for_fresh_runs()
    # the run counts towards the submission's whole budget: a submission that spent most of
    # it gets what is left, and the messages say so
    budget = round(max(0.1, min(float(conf.time_budget_s), child.remaining_budget() - 5)), 1)
    settings = child.settings.replace(step_timeout=budget, cell_timeout=budget)
    entry, kind = ctx.program
    run = Loader(child, entry, kind, seed=ctx.seed, numpy_as_is=True, settings=settings,
                 time_limit=budget).run_fresh()
    ctx.facts.program_figures = list(run.figures)
    stdout = run.stdout
    problems: list[str] = []
    trap = [e for e in run.error_details if SCALAR_TRAP in str(e.get("message", ""))]
    timed_out = [e for e in run.errors if "did not finish within" in e]
    raised = [e for e in run.errors if e not in timed_out]
    if trap:
        where = f" ({error_location(trap[0])})" if trap[0].get("line") else ""
        hint = numpy_hint(SCALAR_TRAP, trap[0].get("source_line"))
        problems.append(f"your program crashed{where}: \"{SCALAR_TRAP}\"{hint}")
    else:
        if raised:  # a notebook's cells go on after an error: it may also have run out of time
            detail = next((d for d in run.error_details
                           if str(d.get("message", "")) in raised[0]), {})
            problems.append("your program stopped with an error: " + raised[0]
                            + numpy_hint(raised[0], detail.get("source_line")))
        if timed_out:
            problems.append(timeout_message(budget, kind, run.cells))
    # the lab's own `while not done` loop never ends from many XOR initialisations: with
    # timeout_keeps_run_share, a program that was training and printing when time ran out
    # keeps the share for running (not one that also raised an error)
    printing = bool(LOSS_LINE.search(stdout))
    runs = not problems or (timed_out and not trap and not raised and printing
                            and bool(conf.timeout_keeps_run_share))
    earned: dict[str, float] = {"runs": weights["runs"] if runs else 0.0}
    if printing or not conf.require_loss:
        earned["loss"] = weights["loss"]
    else:
        problems.append("it does not print the loss during training")
    if ACCURACY_LINE.search(stdout) or not conf.require_accuracy:
        earned["accuracy"] = weights["accuracy"]
    else:
        problems.append("it does not print the accuracy")
    wanted = int(conf.min_figures)
    if len(run.figures) >= wanted:
        earned["figures"] = weights["figures"]
    else:
        problems.append(f"it drew {len(run.figures)} figure(s); the lab asks for {wanted} "
                        "(prediction vs ground truth, and the learning curve)")
    fraction = round(min(1.0, sum(earned.values()) / max(sum(weights.values()), 1e-9)), 4)
    details: dict[str, Any] = {"seconds": round(run.seconds, 2), "figures": len(run.figures),
                               "earned": earned, "mode": run.mode,
                               "stdout_tail": stdout[-2000:], "stdout": shortened(stdout),
                               "errors": run.errors}
    shown = next((d.get("traceback") for d in run.error_details if d.get("traceback")), None)
    if shown:
        details["traceback"] = shown
    if not problems:
        return Verdict(PASS, f"runs to completion within {budget:g} s, prints the loss and "
                       f"the accuracy, and draws {len(run.figures)} figures", 1.0, details)
    # docs/design.md: ``error`` when the student's code raised, hung or crashed during the check
    status = ERROR if (trap or timed_out or run.errors) else FAIL
    return Verdict(status, "; ".join(problems), fraction, details)
