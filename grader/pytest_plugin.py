"""The pytest plugin: a submission's self-check as pytest tests, for CI on students' repositories.

``pytest --labgrade lab1`` (or a ``[tool.labgrade]`` table in the repository's
``pyproject.toml``: ``rubric = "lab1"``, and ``path``, the submission, by default the
repository itself) adds one test per public check of the rubric.  The submission is graded
once, as ``labgrade check`` grades it (sandboxed child processes; nothing of it runs in the
pytest process), and each test passes or fails with its check, the check's message and where to
look as the failure text.  A submission that cannot be graded fails every test with the reason.

Installed with labgrade (entry point ``pytest11``); without ``--labgrade`` or a
``[tool.labgrade]`` table it adds nothing to a test run.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest

KEY = pytest.StashKey[dict]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("labgrade", "labgrade self-check")
    group.addoption("--labgrade", metavar="RUBRIC", default=None,
                    help="add one test per public check of RUBRIC (lab1, and-or, a TOML file) "
                         "on the submission in --labgrade-path")
    group.addoption("--labgrade-path", metavar="PATH", default=None,
                    help="the submission to check (default: [tool.labgrade] path, else the "
                         "repository's root)")


def _settings(config: pytest.Config) -> dict[str, Any] | None:
    """The rubric and the path, from the command line or ``[tool.labgrade]``; None: off."""
    import tomllib

    table: dict[str, Any] = {}
    pyproject = Path(config.rootpath) / "pyproject.toml"
    if pyproject.is_file():
        try:
            table = tomllib.loads(pyproject.read_text(encoding="utf-8")).get(
                "tool", {}).get("labgrade", {})
        except tomllib.TOMLDecodeError:
            table = {}
    rubric = config.getoption("--labgrade") or table.get("rubric")
    if not rubric:
        return None
    path = config.getoption("--labgrade-path") or table.get("path") or "."
    return {"rubric": str(rubric), "path": Path(config.rootpath) / path}


def pytest_configure(config: pytest.Config) -> None:
    settings = _settings(config)
    if settings is not None:
        config.stash[KEY] = settings


class CheckItem(pytest.Item):
    """One public check of the rubric, passed or failed as the self-check says."""

    def __init__(self, *, check_id: str, points: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check_id, self.points = check_id, points
        self.user_properties.append(("points", points))

    def runtest(self) -> None:
        graded = _graded(self.config)
        if not graded["result"].get("graded"):
            raise CheckFailed(f"not graded: {graded['result'].get('error')}")
        check = next((c for c in graded["result"]["checks"] if c["id"] == self.check_id), None)
        if check is None:
            raise CheckFailed(f"the check {self.check_id} did not run")
        if check["status"] == "skip":
            pytest.skip(check["message"])
        if check["status"] != "pass":
            from grader.render.terminal import where_to_look

            sub = graded["result"].get("submission") or {}
            look = where_to_look(check, sub.get("files") or [], None)
            raise CheckFailed(f"{check['status'].upper()} {check['points']:g}/"
                              f"{check['max_points']:g}: {check['message']}"
                              + (f"\nwhere to look: {look}" if look else ""))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style=None) -> Any:
        if isinstance(excinfo.value, CheckFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"labgrade {self.check_id} ({self.points:g} points)"


class CheckFailed(Exception):
    """A check that did not pass: its message is the test's failure text."""


def _graded(config: pytest.Config) -> dict[str, Any]:
    """The submission graded once per test run, as ``labgrade check`` grades it."""
    settings = config.stash[KEY]
    if "result" in settings:
        return settings
    from grader.batch import grade_one
    from grader.discover import discover
    from grader.rubric import effective_seed, load_rubric
    from grader.settings import SandboxSettings

    rubric = load_rubric(settings["rubric"])
    seed, _ = effective_seed(rubric)
    with tempfile.TemporaryDirectory(prefix="labgrade-pytest-") as work:
        subs = discover(settings["path"], workdir=work, layout="single",
                        **rubric.discovery_names())
        if not subs:
            settings["result"] = {"graded": False,
                                  "error": f"no submission found in {settings['path']}"}
            return settings
        settings["result"], _ = grade_one(subs[0], rubric, seed=seed,
                                          sandbox=SandboxSettings(), self_check=True)
    return settings


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config,
                                  items: list[pytest.Item]) -> None:
    settings = config.stash.get(KEY, None)
    if settings is None:
        return
    from grader.rubric import load_rubric

    rubric = load_rubric(settings["rubric"])
    for check_id in rubric.public_check_ids:
        items.append(CheckItem.from_parent(session, name=check_id,
                                           nodeid=f"labgrade::{check_id}", check_id=check_id,
                                           points=rubric.checks[check_id].points))
