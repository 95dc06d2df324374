"""However many protected paths a workspace holds, the sandbox starts.

bubblewrap gets its options through a file descriptor rather than its command
line, whose size the kernel bounds (ARG_MAX); and the warning about new git
directories stays a few lines however many the command created.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import CorralCLI, sh

# These tests check what the kernel holds once a command is let through.
pytestmark = pytest.mark.boundary_only

# Nested .git files beneath one deep directory: their read-only binds (and the
# binds pinning their parents) need several megabytes of arguments, more than
# ARG_MAX on a default 8 MiB stack, in fewer arguments than bubblewrap takes.
_DEPTH = 14
_NESTED = 600
_LONG_NAME = "n" * 250


def test_long_protected_paths_do_not_overflow_the_command_line(
    corral: CorralCLI, workspace: Path
) -> None:
    deep = workspace.joinpath(*[_LONG_NAME] * _DEPTH)
    for number in range(_NESTED):
        nested = deep / f"{number:04d}"
        nested.mkdir(parents=True)
        (nested / ".git").write_text("gitdir: /nonexistent\n")
    ran = corral.run(workspace, *sh("echo started"), timeout=120)
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert ran.stdout == "started\n"


def test_more_protected_paths_than_bubblewrap_takes_is_a_clear_setup_error(
    corral: CorralCLI, workspace: Path
) -> None:
    """Exit 125 with corral's own message, and the command does not run."""
    for number in range(3100):
        nested = workspace / f"d{number}"
        nested.mkdir()
        (nested / ".git").write_text("gitdir: /nonexistent\n")
    ran = corral.run(workspace, *sh("echo started"), timeout=120)
    assert ran.returncode == 125
    assert ran.stdout == ""
    assert ran.stderr.startswith("corral: ")
    assert "protected paths" in ran.stderr
    assert "Traceback" not in ran.stderr


def test_the_warning_about_many_new_git_directories_is_capped(
    corral: CorralCLI, workspace: Path
) -> None:
    """A few lines name some of them and say where the full list is."""
    ran = corral.run(
        workspace, *sh("for i in $(seq 40); do mkdir -p r$i/.git; done"), timeout=120
    )
    assert ran.returncode == 0, ran.stderr
    warnings = [line for line in ran.stderr.splitlines() if "git director" in line]
    assert 1 < len(warnings) <= 12
    assert any("more" in line and "--json" in line for line in warnings)
