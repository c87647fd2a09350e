"""Sandbox settings: validation, and the README's table of limits kept equal to the defaults."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from grader.settings import MiB, SandboxSettings

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_row(label: str) -> str:
    for line in README.read_text(encoding="utf-8").splitlines():
        if line.startswith(f"| {label}"):
            return line.split("|")[2].strip()
    raise AssertionError(f"no README row for {label!r}")


def test_readme_limits_are_the_defaults():
    s = SandboxSettings()
    step, submission, cell = re.findall(r"(\d+) s", readme_row("wall clock"))
    assert (float(step), float(submission), float(cell)) == (s.step_timeout,
                                                             s.submission_timeout, s.cell_timeout)
    assert readme_row("CPU time").startswith(f"{s.cpu_seconds} s")
    assert readme_row("address space").startswith(f"{s.memory_bytes / 1024 / MiB:g} GiB")
    assert readme_row("file size").startswith(f"{s.file_size_bytes // MiB} MiB")
    assert readme_row("open files").startswith(str(s.open_files))
    assert readme_row("stdout and stderr").startswith(f"{s.output_bytes // 1024} KiB")
    assert f"the process limit ({s.processes})" in README.read_text(encoding="utf-8")


@pytest.mark.parametrize("changes,error", [
    (dict(isolation="docker"), "isolation must be one of auto, namespaces, rlimits"),
    (dict(step_timeout=0), "step_timeout must be a number >= 0.1"),
    (dict(memory_bytes=10 * MiB), "memory_bytes must be a number >= 268435456"),
    (dict(processes="many"), "processes must be a number >= 1"),
])
def test_bad_values_are_refused_with_the_field_name(changes, error):
    with pytest.raises(ValueError, match=re.escape(error)):
        SandboxSettings(**changes)


def test_replace_validates_and_refuses_unknown_names():
    s = SandboxSettings().replace(step_timeout=5)
    assert s.step_timeout == 5 and SandboxSettings().step_timeout == 60
    with pytest.raises(ValueError, match="unknown sandbox setting"):
        SandboxSettings().replace(stepTimeout=5)
    with pytest.raises(ValueError):
        SandboxSettings().replace(cell_timeout=-1)


def test_every_setting_has_help_text():
    for name, (default, text) in SandboxSettings.help().items():
        assert len(text) > 20, name
