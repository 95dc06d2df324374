"""corral ended by a signal still ends its sandbox and closes its record.

SIGTERM and SIGHUP unwind a run as SIGINT does: the command's tree is killed,
the placeholders go, ``command.error`` follows ``command.started``, and corral
exits 128 + the signal's number.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import Home
from tests.support import CORRAL, CorralCLI


def _events(home: Home) -> list[dict[str, object]]:
    path = home.state / "corral" / "events.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def _listing(workspace: Path) -> set[str]:
    return {str(path.relative_to(workspace)) for path in workspace.rglob("*")}


def _running(marker: str) -> bool:
    found = subprocess.run(["pgrep", "-f", marker], capture_output=True, check=False)
    return bool(found.stdout.split())


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_terminating_signal_ends_the_run_and_closes_its_record(
    corral: CorralCLI, workspace: Path, home: Home, signum: signal.Signals
) -> None:
    before = _listing(workspace)
    # A duration unique to this test, so the sandboxed sleep alone matches.
    duration = f"60.{uuid.uuid4().int % 10**6}{os.getpid()}"
    command = ("sh", "-c", "exec sleep $0", duration)
    process = subprocess.Popen(
        [*CORRAL, "run", "-C", str(workspace), "--", *command],
        env=corral.env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    until = time.monotonic() + 15
    while not _running(f"^sleep {duration}") and time.monotonic() < until:
        time.sleep(0.1)
    process.send_signal(signum)
    assert process.wait(timeout=30) == 128 + signum
    kinds = [e["event"] for e in _events(home)]
    assert kinds[-2:] == ["command.started", "command.error"]
    assert "command.finished" not in kinds
    assert not _running(f"^sleep {duration}")
    assert _listing(workspace) == before
