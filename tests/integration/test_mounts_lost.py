"""A protection the host takes away while a command runs ends the command.

Renaming a file over a path, or removing it, detaches every mount on that path
in every other mount namespace, the sandbox's too: the command would then reach
what the mount kept from it.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from corral.policy import load_policy
from corral.sandbox import Sandbox
from tests.conftest import Home
from tests.support import CorralCLI, events

_WRITE_LATER = "sleep 2; echo evil >> .envrc; echo wrote"


def _replace_soon(path: Path, text: str) -> threading.Thread:
    def replace() -> None:
        time.sleep(0.7)
        saved = path.with_name(path.name + ".new")
        saved.write_text(text)
        saved.rename(path)  # as an editor saves a file

    thread = threading.Thread(target=replace)
    thread.start()
    return thread


def test_a_protected_file_replaced_on_the_host_mid_run_ends_the_command(
    home: Home, workspace: Path
) -> None:
    env = home.env()
    (workspace / ".envrc").write_text("export A=1\n")
    box = Sandbox(workspace, load_policy(workspace, environ=env), environ=env)
    replacing = _replace_soon(workspace / ".envrc", "export A=2\n")

    result = box.run(["sh", "-c", _WRITE_LATER], capture=True)
    replacing.join()

    assert result.signal == 9
    assert result.stdout == b""
    assert result.mounts_lost == [str(workspace / ".envrc")]
    assert (workspace / ".envrc").read_text() == "export A=2\n"


def test_a_run_whose_mounts_stay_ends_as_it_would(home: Home, workspace: Path) -> None:
    env = home.env()
    box = Sandbox(workspace, load_policy(workspace, environ=env), environ=env)

    result = box.run(["sh", "-c", "sleep 0.3; exit 4"], capture=True)

    assert result.exit_status == 4
    assert result.mounts_lost == []


@pytest.mark.boundary_only
def test_corral_run_says_why_it_killed_the_command(
    corral: CorralCLI, workspace: Path
) -> None:
    (workspace / ".envrc").write_text("export A=1\n")
    replacing = _replace_soon(workspace / ".envrc", "export A=2\n")

    ran = corral.run(workspace, "sh", "-c", _WRITE_LATER)
    replacing.join()

    assert ran.returncode == 137
    assert f"{workspace / '.envrc'} was renamed over or removed" in ran.stderr
    state = Path(corral.env["XDG_STATE_HOME"])
    finished = [e for e in events(state) if e["event"] == "command.finished"]
    assert finished[-1]["mounts_lost"] == [str(workspace / ".envrc")]
