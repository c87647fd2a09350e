"""The ``labgrade`` command line.

Subcommands register themselves in :data:`COMMANDS` with a function that adds their arguments
and a function that runs them, so a new command is one entry, not an edit of a long ``if``.
Every command returns its exit code; errors meant for the user are :class:`UsageError` and are
printed as one line, never as a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from grader import __version__


class UsageError(Exception):
    """A problem with what the user asked for, reported as ``labgrade: error: ...``."""


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


# --- labgrade reference -----------------------------------------------------------------------

REFERENCE_LABS = ("lab1",)


def _reference_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("lab", choices=REFERENCE_LABS, help="which lab's reference to run")
    parser.add_argument("--out", type=Path, default=Path("reference-demo"),
                        help="folder for the figures (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0,
                        help="first initialisation seed; the next ones are used if a run gets "
                             "stuck in a local minimum (default: %(default)s)")
    parser.add_argument("--data-seed", type=int, default=0,
                        help="seed of generate_linear's 100 points (default: %(default)s)")


def _reference_run(args: argparse.Namespace) -> int:
    from reference.demo import run_lab1

    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out {args.out} exists and is not a folder")
    runs = run_lab1(args.out, seed=args.seed, data_seed=args.data_seed)
    print()
    for run in runs:
        print(f"{run.dataset}: accuracy {run.result.accuracy} after {run.result.steps} steps")
    return 0


# --- labgrade inspect -------------------------------------------------------------------------

def _inspect_arguments(parser: argparse.ArgumentParser) -> None:
    from grader.settings import ISOLATION_CHOICES, SandboxSettings

    defaults = SandboxSettings()
    parser.add_argument("path", type=Path,
                        help="a .py, .ipynb or .zip submission, a submission folder, or a "
                             "folder of submissions")
    parser.add_argument("--json", action="store_true",
                        help="one JSON object per submission on stdout")
    parser.add_argument("--execute", action="store_true",
                        help="run each program as the student would (its training, prints "
                             "and figures) instead of loading only its definitions")
    parser.add_argument("--roster", type=Path, help="CSV with columns id,name")
    parser.add_argument("--rubric", default="lab1",
                        help="the rubric whose class and method names mark a submission's main "
                             "file, as grading does (default: %(default)s)")
    parser.add_argument("--isolation", choices=ISOLATION_CHOICES, default=defaults.isolation,
                        help=SandboxSettings.help()["isolation"][1])
    for name in ("step_timeout", "cell_timeout"):
        default, text = SandboxSettings.help()[name]
        parser.add_argument("--" + name.replace("_", "-"), type=float, default=default,
                            help=f"{text} (default: %(default)s)")


def _inspect_run(args: argparse.Namespace) -> int:
    from grader.discover import DiscoveryError
    from grader.inspection import run
    from grader.load import DEFINITIONS, EXECUTE
    from grader.rubric import RubricError, load_rubric
    from grader.sandbox import isolation
    from grader.settings import SandboxSettings

    if not args.path.exists():
        raise UsageError(f"{args.path} does not exist")
    try:
        settings = SandboxSettings(isolation=args.isolation, step_timeout=args.step_timeout,
                                   cell_timeout=args.cell_timeout)
        isolation.choose(settings.isolation)
        names = load_rubric(args.rubric).discovery_names()
    except (ValueError, RuntimeError, RubricError, OSError) as err:
        raise UsageError(str(err)) from None  # a bad value, a bad rubric, no namespaces here
    try:
        return run(args.path, settings=settings, mode=EXECUTE if args.execute else DEFINITIONS,
                   as_json=args.json, roster=args.roster, out=sys.stdout, names=names)
    except DiscoveryError as err:
        raise UsageError(str(err)) from None


# --- labgrade grade / check ---------------------------------------------------------------------

def _grading_arguments(parser: argparse.ArgumentParser, *, batch: bool) -> None:
    from grader.settings import ISOLATION_CHOICES

    parser.add_argument("paths" if batch else "path", type=Path, nargs="+" if batch else None,
                        help="submissions: .py, .ipynb, .zip, a submission folder, or a folder "
                             "of them")
    parser.add_argument("--rubric", default="lab1",
                        help="a shipped rubric's name or a rubric TOML file (default: %(default)s)")
    parser.add_argument("--isolation", choices=ISOLATION_CHOICES, default="auto",
                        help="sandbox isolation (default: %(default)s)")
    if batch:
        parser.add_argument("--out", type=Path, default=Path("grades"),
                            help="output folder (default: %(default)s)")
        parser.add_argument("--manual", type=Path,
                            help="CSV of manual scores: id,report,questions,comment")
        parser.add_argument("--seed", type=int,
                            help="hidden seed for TA grading (or the LABGRADE_SEED variable); "
                                 "default: the rubric's public seed")
        parser.add_argument("--layout", choices=("auto", "single", "batch"), default="auto",
                            help="each path is one student's submission (single), a folder of "
                                 "submissions (batch), or let labgrade tell (default: "
                                 "%(default)s); single suits a Gradescope autograder or a "
                                 "student's repository")
        parser.add_argument("--format", dest="formats", type=_formats, metavar="LIST",
                            default=None,
                            help="comma-separated files to write (default: html,json,csv). "
                                 + _formats_help())
        parser.add_argument("--executor", choices=("local", "dask"), default="local",
                            help="where submissions are graded: in this process's threads "
                                 "(default), or as tasks of a Dask cluster (needs "
                                 "labgrade[dask]; see docs/design.md)")
        parser.add_argument("--scheduler", metavar="ADDRESS",
                            help="with --executor dask: the cluster's scheduler, such as "
                                 "tcp://host:8786 (default: a cluster of --jobs local "
                                 "processes)")
        parser.add_argument("--scheduler-timeout", type=float, default=30.0, metavar="S",
                            help="with --scheduler: seconds to wait for the scheduler to "
                                 "answer (default: %(default)s)")
        parser.add_argument("--force", action="store_true",
                            help="grade every submission again (by default a result already in "
                                 "--out for the same file contents, rubric, seed and grader "
                                 "version is kept)")
        parser.add_argument("--jobs", "-j", type=_positive_int, metavar="N",
                            help="grade N submissions at once (default: one per CPU available "
                                 "to labgrade; 1: one after the other).  The rubric's time "
                                 "budgets are wall-clock seconds: on a busy machine use fewer "
                                 "jobs, or slow but correct code may run out of time.")
    else:
        parser.add_argument("--json", action="store_true",
                            help="print the result as JSON instead of a summary")
        parser.add_argument("--html", type=Path, metavar="FILE",
                            help="also write the HTML report, as the TA's grading does")
        parser.add_argument("--junit", type=Path, metavar="FILE",
                            help="also write JUnit XML (one test case per check), for CI")
        parser.add_argument("--markdown", type=Path, metavar="FILE",
                            help="also write a Markdown summary (for $GITHUB_STEP_SUMMARY)")


def _formats(text: str) -> tuple[str, ...]:
    """``--format``: known names only, refused by argparse with the list otherwise."""
    from grader.render.formats import parse_formats

    try:
        return parse_formats(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _formats_help() -> str:
    from grader.render.formats import formats_help

    return formats_help()


def _positive_int(text: str) -> int:
    """``--jobs``: a whole number >= 1, refused by argparse with a clear message otherwise."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1, not {value}")
    return value


def _rubric_and_seed(args: argparse.Namespace):
    from grader.rubric import RubricError, SeedError, effective_seed, load_rubric
    from grader.sandbox import isolation
    from grader.settings import SandboxSettings

    try:
        rubric = load_rubric(args.rubric)
        seed, source = effective_seed(rubric, getattr(args, "seed", None), os.environ)
        sandbox = SandboxSettings(isolation=args.isolation)
        isolation.choose(sandbox.isolation)
    except (RubricError, SeedError, ValueError, RuntimeError, OSError) as err:
        raise UsageError(str(err)) from None
    return rubric, seed, source, sandbox


def _grade_run(args: argparse.Namespace) -> int:
    from grader.batch import default_jobs, grade_batch
    from grader.discover import DiscoveryError
    from grader.distributed import ExecutorError
    from grader.progress import needs_work, progress_display
    from grader.render.formats import DEFAULT_FORMATS
    from grader.score import ManualError

    rubric, seed, source, sandbox = _rubric_and_seed(args)
    for path in args.paths:
        if not path.exists():
            raise UsageError(f"{path} does not exist")
    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out {args.out} exists and is not a folder")
    jobs = args.jobs or default_jobs()
    executor = None
    if args.executor == "dask":
        from grader.distributed import DaskExecutor

        executor = DaskExecutor(args.scheduler, workers=jobs,
                                connect_timeout=args.scheduler_timeout)
        where = f"on the Dask cluster at {args.scheduler}" if args.scheduler else \
            f"on a local Dask cluster of {jobs} workers"
    elif args.scheduler:
        raise UsageError("--scheduler needs --executor dask")
    else:
        where = f"{jobs} at a time"
    print(f"labgrade {__version__}: grading with rubric {rubric.id} v{rubric.version}, "
          f"seed from {source}, {where}, into {args.out}", flush=True)
    display = progress_display(sys.stdout,
                               sum(s.points for s in rubric.auto_sections.values()))
    try:
        with display:
            outcome = grade_batch(args.paths, rubric, args.out, seed=seed, sandbox=sandbox,
                                  manual=args.manual, jobs=jobs, progress=display,
                                  formats=args.formats or DEFAULT_FORMATS,
                                  layout=args.layout, force=args.force, executor=executor)
    except (DiscoveryError, ManualError, ExecutorError) as err:
        raise UsageError(str(err)) from None
    except OSError as err:
        raise UsageError(f"cannot write the results: {err}") from None
    for failure in outcome.grader_failures:
        print(f"labgrade: the grader failed on {failure.rstrip()}", file=sys.stderr)
    for problem in outcome.problems:
        print(f"manual scores: {problem}", file=sys.stderr)
    reused = f" ({outcome.reused} unchanged, reused)" if outcome.reused else ""
    ungraded = sum(not r.get("graded") for r in outcome.results)
    failing = sum(needs_work(r) for r in outcome.results) - ungraded
    print(f"graded {len(outcome.results)} submission(s){reused} into {args.out}: "
          + ", ".join(_written(args.formats or DEFAULT_FORMATS)))
    print(f"{len(outcome.results) - ungraded - failing} with every check passed, {failing} "
          f"with failed checks, {ungraded} not graded")
    return 0


def _written(formats: Sequence[str]) -> list[str]:
    """What the batch left in the output folder, for its last line."""
    names = {"html": "index.html and a report.html per student", "json":
             "a result.json per student", "csv": "grades.csv", "gradescope":
             "a Gradescope results.json per student", "junit": "junit.xml",
             "markdown": "summary.md"}
    return [names[f] for f in formats if f in names]


def _check_run(args: argparse.Namespace) -> int:
    import json
    import tempfile

    if not args.path.exists():
        raise UsageError(f"{args.path} does not exist")
    # the sandbox's child (an interpreter, NumPy, the worker) starts now, while the grader
    # imports its checks, reads the rubric and finds the submission, which it gets afterwards
    early = _early_sandbox(args)
    try:
        from grader.batch import grade_one
        from grader.discover import DiscoveryError, discover
        from grader.render import terminal  # noqa: F401  (rich: imported while the child starts)

        rubric, seed, _, sandbox = _rubric_and_seed(args)
        with tempfile.TemporaryDirectory(prefix="labgrade-check-") as work:
            try:
                subs = discover(args.path, workdir=work, layout="single",
                                **rubric.discovery_names())
            except DiscoveryError as err:
                raise UsageError(str(err)) from None
            if not subs:
                raise UsageError(f"no submission found in {args.path}")
            started = None
            if early is not None and not subs[0].errors:
                early.give_files(subs[0].root)
                started = early
            result, figures = grade_one(subs[0], rubric, seed=seed, sandbox=sandbox,
                                        self_check=True, started=started)
            _write_check_files(args, result, figures, subs[0], rubric, seed)
    finally:
        if early is not None:
            early.close()
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        from grader.sandbox import isolation

        _print_check(result, rubric, isolation.choose(sandbox.isolation).describe())
    public = [c for c in result["checks"] if c["id"] in rubric.public_check_ids]
    return 0 if result["graded"] and all(c["status"] == "pass" for c in public) else 1


def _early_sandbox(args: argparse.Namespace) -> Any:
    """A sandbox (:class:`grader.sandbox.Sandbox`) started without its files, or None where
    the settings are refused (the rubric's reading says why, as it does without an early
    start)."""
    from grader.sandbox.runner import Sandbox
    from grader.settings import SandboxSettings

    try:
        early = Sandbox(None, SandboxSettings(isolation=args.isolation))
        early.start()
    except (ValueError, RuntimeError, OSError):
        return None
    return early


def _write_check_files(args: argparse.Namespace, result: dict, figures: list[bytes], sub,
                       rubric, seed: int) -> None:
    """``--html``, ``--junit``, ``--markdown``: the self-check's result in those forms."""
    from grader.results import write_text_atomic

    try:
        if args.html:
            from grader.render.student import student_report

            write_text_atomic(args.html, student_report(
                result, files_root=sub.root, figures=figures, rubric=rubric, seed=seed,
                main=sub.main, self_check=True))
        if args.junit:
            from grader.render.junit import write_junit

            write_junit(args.junit, [result])
        if args.markdown:
            from grader.render.markdown import write_markdown

            write_markdown(args.markdown, [result], title=rubric.title)
    except OSError as err:
        raise UsageError(f"cannot write the report: {err}") from None


def _print_check(result: dict, rubric, isolation_level: str) -> None:
    from grader.render.terminal import print_rubric_check

    print_rubric_check(result, rubric, isolation_level, sys.stdout)


def _rubric_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("rubric", nargs="?", default="lab1",
                        help="a shipped rubric's name or a rubric TOML file (default: "
                             "%(default)s)")
    parser.add_argument("--schema", action="store_true",
                        help="list every key a rubric may have, with its type, default and help "
                             "text, instead of showing the rubric")


def _rubric_run(args: argparse.Namespace) -> int:
    from grader.rubric import RubricError, load_rubric, schema_help

    if args.schema:
        print(schema_help())
        return 0
    try:
        rubric = load_rubric(args.rubric)
    except (RubricError, OSError) as err:
        raise UsageError(str(err)) from None
    print(rubric.describe())
    return 0


# --- labgrade release -----------------------------------------------------------------------

def _release_arguments(parser: argparse.ArgumentParser) -> None:
    from reference.exercises.notebooks import EXERCISES

    parser.add_argument("exercise", choices=sorted(EXERCISES),
                        help="the notebook exercise (its rubric has the same name)")
    parser.add_argument("--out", type=Path, default=Path("release"),
                        help="folder for the notebook (default: %(default)s)")
    parser.add_argument("--solution", action="store_true",
                        help="write the solution instead of the student's starter")
    parser.add_argument("--execute", action="store_true",
                        help="run the notebook in a Jupyter kernel so that it has its outputs "
                             "(needs ipykernel: pip install 'labgrade[notebooks]')")


def _release_run(args: argparse.Namespace) -> int:
    import nbformat

    from reference.exercises.notebooks import EXERCISES, executed, notebook

    exercise = EXERCISES[args.exercise]
    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out {args.out} exists and is not a folder")
    nb = notebook(exercise, starter=not args.solution)
    if args.execute:
        try:
            nb = executed(nb)
        except Exception as err:  # no kernel, or a cell failed: say which  # noqa: BLE001
            raise UsageError(f"could not run the notebook: {type(err).__name__}: "
                             f"{str(err).strip().splitlines()[-1] if str(err).strip() else ''}"
                             ) from None
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / exercise.filename
    nbformat.write(nb, str(path))
    what = "solution" if args.solution else "starter"
    print(f"{exercise.title}: the {what} notebook is {path}")
    return 0


COMMANDS: list[Command] = [
    Command("grade", "grade submissions: result.json per student and grades.csv",
            lambda p: _grading_arguments(p, batch=True), _grade_run),
    Command("check", "check your own lab before the deadline (the public checks)",
            lambda p: _grading_arguments(p, batch=False), _check_run),
    Command("inspect", "discover and load submissions safely, and show what they define",
            _inspect_arguments, _inspect_run),
    Command("reference", "train the reference solution of a lab and save its figures",
            _reference_arguments, _reference_run),
    Command("rubric", "show a rubric's sections, checks and points, or every key (--schema)",
            _rubric_arguments, _rubric_run),
    Command("release", "write a notebook exercise's starter (or its solution) for students",
            _release_arguments, _release_run),
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="labgrade",
        description="Grade NumPy neural-network labs (DLP Lab1 - Backpropagation) safely.",
    )
    parser.add_argument("--version", action="version", version=f"labgrade {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        p = sub.add_parser(command.name, help=command.help, description=command.help)
        command.add_arguments(p)
        p.set_defaults(run=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except UsageError as err:
        parser.exit(2, f"labgrade: error: {err}\n")
    except KeyboardInterrupt:
        print("labgrade: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `labgrade inspect ... | head`: the reader has seen enough
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's final flush is silent
        return 141


if __name__ == "__main__":
    sys.exit(main())
