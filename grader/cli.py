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
from typing import Callable, Sequence

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
    from grader.sandbox import isolation
    from grader.settings import SandboxSettings

    if not args.path.exists():
        raise UsageError(f"{args.path} does not exist")
    try:
        settings = SandboxSettings(isolation=args.isolation, step_timeout=args.step_timeout,
                                   cell_timeout=args.cell_timeout)
        isolation.choose(settings.isolation)
    except (ValueError, RuntimeError) as err:  # a bad value, or namespaces unavailable here
        raise UsageError(str(err)) from None
    try:
        return run(args.path, settings=settings, mode=EXECUTE if args.execute else DEFINITIONS,
                   as_json=args.json, roster=args.roster, out=sys.stdout)
    except DiscoveryError as err:
        raise UsageError(str(err)) from None


COMMANDS: list[Command] = [
    Command("inspect", "discover and load submissions safely, and show what they define",
            _inspect_arguments, _inspect_run),
    Command("reference", "train the reference solution of a lab and save its figures",
            _reference_arguments, _reference_run),
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
