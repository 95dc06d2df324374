"""A person's answer in ``corral approve`` is an event, and what it shows a person
cannot steer their terminal."""

from __future__ import annotations

import json
import os
import pty
import select
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from tests.conftest import Home
from tests.support import CORRAL, CorralCLI


def _answer_in_pty(
    argv: Sequence[str], env: Mapping[str, str], answer: str, timeout: float = 30
) -> str:
    """Run `argv` on a fresh terminal and type `answer` once the question shows."""
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child execs at once
        os.execvpe(argv[0], list(argv), dict(env))  # noqa: S606 - the test's own
    output, answered = b"", False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
        if not answered and output.rstrip().endswith(b"]:"):
            os.write(fd, answer.encode() + b"\n")
            answered = True
    os.waitpid(pid, 0)
    os.close(fd)
    return output.decode(errors="replace")


def _events(home: Home) -> list[dict[str, object]]:
    log = home.state / "corral" / "events.jsonl"
    return [json.loads(line) for line in log.read_text().splitlines()]


def _request_id(corral: CorralCLI, workspace: Path, *command: str) -> str:
    refused = corral("run", "--no-input", "-C", str(workspace), "--", *command)
    assert refused.returncode == 126, refused.stderr
    return refused.stderr.split("corral approve ")[1].split()[0]


def test_a_grant_and_a_decline_are_both_recorded(
    corral: CorralCLI, workspace: Path, home: Home
) -> None:
    granted = _request_id(corral, workspace, "git", "fetch")
    _answer_in_pty([*CORRAL, "approve", granted], home.env(), "y")
    declined = _request_id(corral, workspace, "git", "pull")
    _answer_in_pty([*CORRAL, "approve", declined], home.env(), "n")

    answers = [e for e in _events(home) if str(e["event"]).startswith("approval.")]
    assert [(e["event"], e["request"]) for e in answers] == [
        ("approval.granted", granted),
        ("approval.declined", declined),
    ]
    assert answers[0]["argv"] == ["git", "fetch"]
    assert answers[0]["scope"] == "once"
    assert answers[0]["via"] == "corral approve"


def test_control_characters_in_a_request_reach_the_terminal_spelled_out(
    corral: CorralCLI, workspace: Path, home: Home
) -> None:
    hidden = "\x1b[8m"
    request = _request_id(corral, workspace, "git", "fetch", f"origin{hidden}")
    shown = _answer_in_pty([*CORRAL, "approve", request], home.env(), "n")

    assert hidden not in shown
    assert "\\x1b[8m" in shown
