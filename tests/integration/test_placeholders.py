"""Placeholders held by concurrent runs: never removed under a sandbox relying on them.

Real ``corral run`` processes overlap in time; the host is checked afterwards.
A process outside corral holding a lock must make a run fail, not hang.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from corral.errors import CorralError
from corral.policy import load_policy
from corral.sandbox import Sandbox
from tests.conftest import Home
from tests.support import CORRAL, CorralCLI

# What corral waits at most for a lock held by someone else, plus start-up.
_FAILS_WITHIN_SECONDS = 20


def _start(
    env: Mapping[str, str], workspace: Path, script: str
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*CORRAL, "run", "-C", str(workspace), "--", "sh", "-c", script],
        env=dict(env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@contextmanager
def _exclusively_locked(path: Path) -> Iterator[None]:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _wait_for(path: Path) -> None:
    deadline = time.monotonic() + 30
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def test_a_placeholder_of_a_nested_workspace_stays_while_an_outer_run_relies_on_it(
    corral: CorralCLI, tmp_path: Path
) -> None:
    """The inner run creates inner/.git; the outer run binds it; inner ends first.

    The outer run must still see it read-only: removing it would detach the
    outer sandbox's mount and let it create a writable inner/.git.
    """
    outer = tmp_path / "outer"
    inner = outer / "inner"
    inner.mkdir(parents=True)

    inner_run = _start(corral.env, inner, "sleep 2")
    _wait_for(inner / ".git")
    outer_run = _start(
        corral.env,
        outer,
        "sleep 4; mkdir -p inner/.git/hooks; echo pwned > inner/.git/hooks/pre-commit",
    )
    assert inner_run.wait(timeout=60) == 0
    outer_run.wait(timeout=60)

    assert not (inner / ".git" / "hooks").exists()
    assert not (inner / ".git").exists() or not any((inner / ".git").iterdir())


def test_both_nested_runs_leave_no_placeholder_behind(
    corral: CorralCLI, tmp_path: Path
) -> None:
    outer = tmp_path / "outer"
    inner = outer / "inner"
    inner.mkdir(parents=True)

    inner_run = _start(corral.env, inner, "sleep 2")
    _wait_for(inner / ".git")
    outer_run = _start(corral.env, outer, "sleep 3")
    assert inner_run.wait(timeout=60) == 0
    assert outer_run.wait(timeout=60) == 0

    assert sorted(p.name for p in outer.iterdir()) == ["inner"]
    assert list(inner.iterdir()) == []


def test_a_foreign_exclusive_lock_on_a_placeholder_fails_the_run_promptly(
    corral: CorralCLI, workspace: Path
) -> None:
    """An empty protected directory may be a placeholder; a lock on it stops the run."""
    vscode = workspace / ".vscode"
    vscode.mkdir()
    with _exclusively_locked(vscode):
        started = time.monotonic()
        ran = corral.run(workspace, "true", timeout=_FAILS_WITHIN_SECONDS * 2)
        took = time.monotonic() - started
    assert ran.returncode == 125, ran.stderr
    assert took < _FAILS_WITHIN_SECONDS
    assert str(vscode) in ran.stderr
    assert "another process holds" in ran.stderr


def test_a_foreign_exclusive_lock_on_the_workspace_does_not_stop_the_run(
    corral: CorralCLI, workspace: Path
) -> None:
    with _exclusively_locked(workspace):
        ran = corral.run(workspace, "true", timeout=_FAILS_WITHIN_SECONDS * 2)
    assert ran.returncode == 0, ran.stderr


def test_placeholders_a_killed_run_left_are_removed_by_the_next_run(
    corral: CorralCLI, workspace: Path
) -> None:
    killed = _start(corral.env, workspace, "sleep 30")
    _wait_for(workspace / ".vscode")
    time.sleep(0.5)
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=60)
    assert (workspace / ".vscode").is_dir()

    ran = corral.run(workspace, "true")
    assert ran.returncode == 0, ran.stderr
    for name in (".vscode", ".envrc", ".mcp.json", ".claude"):
        assert not (workspace / name).exists(), name


_CHURNED = (".corral", ".codex", ".vscode")


def test_protected_paths_coming_and_going_during_resolution_never_crash_a_run(
    workspace: Path, home: Home
) -> None:
    """Another run's placeholders appear and vanish at any moment: a run resolving
    the protected paths meanwhile runs, or fails with corral's own error."""
    env = home.env()
    sandbox = Sandbox(workspace, load_policy(workspace, environ=env), environ=env)
    stop = threading.Event()

    def churn() -> None:  # what other runs' placeholders and sweeps do
        while not stop.is_set():
            for name in _CHURNED:
                with contextlib.suppress(OSError):
                    (workspace / name).mkdir()
                with contextlib.suppress(OSError):
                    (workspace / name).rmdir()

    churning = threading.Thread(target=churn)
    churning.start()
    failures: list[BaseException] = []
    try:
        for _ in range(30):
            try:
                sandbox.run(["true"], capture=True)
            except CorralError:
                pass
            except Exception as exc:  # noqa: BLE001 - collected, asserted below
                failures.append(exc)
    finally:
        stop.set()
        churning.join()

    assert failures == []
