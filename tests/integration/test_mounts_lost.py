"""A protection the host takes away while a command runs ends the command.

Renaming a file over a path, or removing it, detaches every mount on that path
in every other mount namespace, the sandbox's too: the command would then reach
what the mount kept from it.
"""

from __future__ import annotations

import os
import subprocess
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


def test_a_protected_file_moved_away_on_the_host_mid_run_ends_the_command(
    home: Home, workspace: Path
) -> None:
    """The mount goes along with a moved file (an editor keeping a backup), and
    the path left behind would be the command's to create."""
    env = home.env()
    envrc = workspace / ".envrc"
    envrc.write_text("export A=1\n")
    box = Sandbox(workspace, load_policy(workspace, environ=env), environ=env)

    def move_then_create() -> None:
        time.sleep(0.7)
        envrc.rename(workspace / ".envrc~")
        envrc.write_text("export A=2\n")

    moving = threading.Thread(target=move_then_create)
    moving.start()
    result = box.run(["sh", "-c", _WRITE_LATER], capture=True)
    moving.join()

    assert result.signal == 9
    assert result.mounts_lost == [str(envrc)]
    assert envrc.read_text() == "export A=2\n"


@pytest.mark.root_only
@pytest.mark.skipif(os.geteuid() != 0, reason="mounting on the host needs root")
def test_an_unrelated_mount_going_on_the_host_does_not_end_the_command(
    home: Home, workspace: Path, tmp_path: Path
) -> None:
    """Only what corral covers is guarded: a host mount elsewhere that reaches the
    sandbox (shared propagation) may come and go."""
    shared, inner = tmp_path / "shared", tmp_path / "shared" / "a"
    shared.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "corral-test", str(shared)], check=True)
    try:
        subprocess.run(["mount", "--make-shared", str(shared)], check=True)
        inner.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "corral-test", str(inner)], check=True)
        env = home.env()
        box = Sandbox(workspace, load_policy(workspace, environ=env), environ=env)

        def unmount_soon() -> None:
            time.sleep(0.5)
            subprocess.run(["umount", str(inner)], check=True)

        unmounting = threading.Thread(target=unmount_soon)
        unmounting.start()
        result = box.run(["sh", "-c", "sleep 1.2; echo done"], capture=True)
        unmounting.join()
    finally:
        subprocess.run(["umount", "-R", str(shared)], check=False)

    assert result.exit_status == 0, result.mounts_lost
    assert result.stdout == b"done\n"
