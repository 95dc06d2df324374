"""A person's answer in ``corral approve`` is an event, and what it shows a person
cannot steer their terminal."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Home
from tests.support import CORRAL, CorralCLI, answer_in_pty, events, request_id


def _request_id(corral: CorralCLI, workspace: Path, *command: str) -> str:
    refused = corral("run", "--no-input", "-C", str(workspace), "--", *command)
    assert refused.returncode == 126, refused.stderr
    return request_id(refused)


def test_a_grant_and_a_decline_are_both_recorded(
    corral: CorralCLI, workspace: Path, home: Home
) -> None:
    granted = _request_id(corral, workspace, "git", "fetch")
    answer_in_pty([*CORRAL, "approve", granted], home.env(), "y")
    declined = _request_id(corral, workspace, "git", "pull")
    answer_in_pty([*CORRAL, "approve", declined], home.env(), "n")

    answered = ("approval.granted", "approval.declined")
    answers = [e for e in events(home.state) if e["event"] in answered]
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
    shown = answer_in_pty([*CORRAL, "approve", request], home.env(), "n").output

    assert hidden not in shown
    assert "\\x1b[8m" in shown
