"""Every preset runs only tools outside the writable roots, and never waits on one.

An unknown preset name is refused; a tool that fails or hangs is noted, with
no user information of a URL it printed.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from corral.network.presets import PRESETS, _common
from tests.network.presets.preset_support import Machine, fake_tool


def test_an_unknown_preset_is_refused_with_the_known_names(machine: Machine) -> None:
    with pytest.raises(ValueError, match="pip, npm, git-remotes"):
        machine.read("cargo")
    assert PRESETS == ("pip", "npm", "git-remotes")


def test_a_tool_in_the_workspace_is_never_run(machine: Machine) -> None:
    marker = machine.workspace / "ran"
    fake = machine.write(
        machine.workspace / "bin" / "npm", f"#!/bin/sh\ntouch {marker}\n"
    )
    fake.chmod(0o755)
    machine.environ["PATH"] = str(fake.parent)
    preset = machine.read("npm")
    assert not marker.exists()
    assert preset.patterns == ()
    assert any(str(fake) in note for note in preset.notes)


def test_a_failing_tool_is_noted_without_user_information(
    machine: Machine, tmp_path: Path
) -> None:
    tools = tmp_path / "tools"
    fake_tool(tools, "npm", "echo 'cannot reach https://u:pw0rd@reg.test/' >&2; exit 3")
    machine.environ["PATH"] = str(tools)
    preset = machine.read("npm")
    assert preset.patterns == ()
    assert len(preset.notes) == 1
    assert "status 3" in preset.notes[0]
    assert "pw0rd" not in preset.notes[0]


def test_a_tool_that_hangs_is_killed_with_its_children(
    machine: Machine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_common, "TOOL_TIMEOUT", 0.3)
    tools, child = tmp_path / "tools", tmp_path / "child.pid"
    fake_tool(tools, "git", f"/bin/sleep 60 & echo $! > {child}; exec /bin/sleep 60")
    machine.environ["PATH"] = str(tools)
    (machine.workspace / ".git").mkdir()
    started = time.monotonic()
    preset = machine.read("git-remotes")
    assert time.monotonic() - started < 10
    assert preset.patterns == ()
    assert preset.notes == (
        f"no remotes read from {machine.workspace}: no answer within 0.3 s",
    )
    assert not is_running(int(child.read_text()))


def is_running(pid: int) -> bool:
    """Whether `pid` lives on, waiting a moment for a killed one to be reaped."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except FileNotFoundError:
            return False
        if state[0] in ("Z", "X"):
            return False
        time.sleep(0.05)
    return True
