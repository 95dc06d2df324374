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
from collections.abc import Callable
from pathlib import Path

import pytest

from corral.policy import load_policy
from corral.sandbox import Sandbox
from tests.conftest import Home
from tests.support import CorralCLI, Listener, events

# The command says it runs, then waits for the host to have acted.
_STARTED_THEN_WAIT = "touch started; while [ ! -e go ]; do sleep 0.05; done; "
_WRITE_LATER = _STARTED_THEN_WAIT + "echo evil >> .envrc; echo wrote"
# How long the command waits after the host acted: the guard ends it sooner.
_GUARD_SECONDS = 1.5
# How long the host waits for the command to start, on a loaded machine.
_START_SECONDS = 60


def _once_started(workspace: Path, act: Callable[[], None]) -> threading.Thread:
    """Once the command in `workspace` runs, `act` on the host, then let it go on."""

    def wait_then_act() -> None:
        deadline = time.monotonic() + _START_SECONDS
        try:
            while not (workspace / "started").exists():
                if time.monotonic() > deadline:
                    return
                time.sleep(0.02)
            act()
            time.sleep(_GUARD_SECONDS)
        finally:
            (workspace / "go").touch()

    thread = threading.Thread(target=wait_then_act)
    thread.start()
    return thread


def _replace_once_started(workspace: Path, path: Path, text: str) -> threading.Thread:
    def replace() -> None:
        saved = path.with_name(path.name + ".new")
        saved.write_text(text)
        saved.rename(path)  # as an editor saves a file

    return _once_started(workspace, replace)


def test_a_protected_file_replaced_on_the_host_mid_run_ends_the_command(
    home: Home, workspace: Path
) -> None:
    env = home.env()
    (workspace / ".envrc").write_text("export A=1\n")
    box = Sandbox(workspace, load_policy(workspace, environ=env), environ=env)
    replacing = _replace_once_started(workspace, workspace / ".envrc", "export A=2\n")

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
    replacing = _replace_once_started(workspace, workspace / ".envrc", "export A=2\n")

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
        envrc.rename(workspace / ".envrc~")
        envrc.write_text("export A=2\n")

    moving = _once_started(workspace, move_then_create)
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

        def unmount() -> None:
            subprocess.run(["umount", str(inner)], check=True)

        unmounting = _once_started(workspace, unmount)
        result = box.run(["sh", "-c", _STARTED_THEN_WAIT + "echo done"], capture=True)
        unmounting.join()
    finally:
        subprocess.run(["umount", "-R", str(shared)], check=False)

    assert result.exit_status == 0, result.mounts_lost
    assert result.stdout == b"done\n"


def test_a_host_socket_removed_mid_run_does_not_end_the_command(
    home: Home, workspace: Path, tmp_path: Path
) -> None:
    """Programs remove their sockets as they please: what is bound there later is
    a socket bound after the command started, which Landlock ABI 9 refuses and
    the snapshot of host sockets, by policy, does not cover."""
    path = tmp_path / "s.sock"
    listener = Listener.unix(path)
    env = home.env()
    box = Sandbox(workspace, load_policy(workspace, environ=env), environ=env)
    try:
        removing = _once_started(workspace, path.unlink)
        result = box.run(["sh", "-c", _STARTED_THEN_WAIT + "echo done"], capture=True)
        removing.join()
    finally:
        listener.close()

    assert result.exit_status == 0, result.mounts_lost
    assert result.mounts_lost == []
    assert result.stdout == b"done\n"
