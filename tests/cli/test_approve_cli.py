"""``corral approve``: a person at their own terminal lets one waiting command run.

Through the real command line: a run refused for want of approval names its
request, ``corral approve`` lists it, and ``corral approve ID`` answered on a
real pseudo-terminal covers exactly that command, once, for a session, or
always as a rule in the user's policy.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from corral._home import user_name
from tests.conftest import Home
from tests.support import (
    CORRAL,
    Answered,
    CorralCLI,
    Ran,
    answer_in_pty,
    events,
    request_id,
)

TAG = ("git", "tag", "v1")
"""A git write: it needs a person's approval, and leaves a tag when it ran."""


def run(
    corral: CorralCLI,
    directory: Path,
    *command: str,
    env: Mapping[str, str] | None = None,
) -> Ran:
    return corral("run", "--no-input", "-C", str(directory), "--", *command, env=env)


def refused(
    corral: CorralCLI,
    workspace: Path,
    *command: str,
    env: Mapping[str, str] | None = None,
) -> str:
    """Run `command` with nobody to ask; return the request id it is refused with."""
    ran = run(corral, workspace, *command, env=env)
    assert ran.returncode == 126, ran.stderr
    return request_id(ran)


def approve(home: Home, *args: str, answer: str = "y") -> Answered:
    """``corral approve ARGS`` on a fresh terminal, answered `answer`."""
    return answer_in_pty([*CORRAL, "approve", *args], home.env(), answer)


def tags(workspace: Path) -> list[str]:
    listed = subprocess.run(
        ["git", "-C", str(workspace), "tag", "--list"],
        check=True,
        capture_output=True,
        text=True,
    )
    return listed.stdout.split()


def started(home: Home) -> list[dict[str, Any]]:
    return [e for e in events(home.state) if e["event"] == "command.started"]


def test_with_no_id_the_pending_requests_are_listed(
    corral: CorralCLI, workspace: Path
) -> None:
    assert corral("approve").stdout.strip() == "no pending requests"
    request = refused(corral, workspace, *TAG)

    listed = corral("approve")

    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split()[0] == request
    assert lines[0].endswith(str(workspace.resolve()))
    assert lines[1].strip() == "git tag v1"
    assert "git-write" in lines[2]


def test_json_lists_each_request_with_its_command_and_parts(
    corral: CorralCLI, workspace: Path
) -> None:
    request = refused(corral, workspace, *TAG)

    listed = corral("approve", "--json")

    [shown] = json.loads(listed.stdout)["requests"]
    assert set(shown) == {
        "id",
        "argv",
        "cwd",
        "workspace",
        "boundary",
        "requested_by",
        "age_seconds",
        "parts",
    }
    assert shown["id"] == request
    assert shown["argv"] == list(TAG)
    assert shown["cwd"] == shown["workspace"] == str(workspace.resolve())
    assert shown["boundary"] == {"sandbox": "workspace-write", "network": "offline"}
    assert shown["requested_by"] == user_name()
    [part] = shown["parts"]
    assert (part["category"], part["decision"]) == ("git-write", "prompt")


def test_approved_once_the_command_runs_once_and_then_waits_again(
    corral: CorralCLI, workspace: Path, home: Home
) -> None:
    request = refused(corral, workspace, *TAG)

    answered = approve(home, request)

    assert answered.asked
    assert answered.returncode == 0, answered.output
    assert "approved once: git tag v1" in answered.output
    assert corral("approve", "--json").stdout.strip() == '{"requests": []}'
    ran = run(corral, workspace, *TAG)
    assert ran.returncode == 0, ran.stderr
    assert tags(workspace) == ["v1"]
    [event] = started(home)
    approval = event["approval"]
    assert {k: v for k, v in approval.items() if k != "granted"} == {
        "by": "person",
        "scope": "once",
        "approver": user_name(),
        "via": "corral approve",
    }
    again = run(corral, workspace, *TAG)
    assert again.returncode == 126
    assert "needs approval" in again.stderr
    assert request_id(again) == request


def test_an_approval_covers_no_other_argument_or_directory(
    corral: CorralCLI, workspace: Path, home: Home
) -> None:
    request = refused(corral, workspace, *TAG)
    approve(home, request)

    longer = run(corral, workspace, *TAG, "HEAD")
    elsewhere = run(corral, workspace / "src", *TAG)
    exact = run(corral, workspace, *TAG)

    assert longer.returncode == 126, longer.stderr
    assert elsewhere.returncode == 126, elsewhere.stderr
    assert exact.returncode == 0, exact.stderr
    assert tags(workspace) == ["v1"]


def test_a_person_who_answers_no_approves_nothing(
    corral: CorralCLI, workspace: Path, home: Home
) -> None:
    request = refused(corral, workspace, *TAG)

    answered = approve(home, request, answer="n")

    assert answered.asked
    assert "not approved" in answered.output
    assert run(corral, workspace, *TAG).returncode == 126
    assert tags(workspace) == []


def test_a_session_approval_covers_repeated_runs_of_that_session_only(
    corral: CorralCLI, workspace: Path, home: Home
) -> None:
    alpha, beta = {"CORRAL_SESSION": "alpha"}, {"CORRAL_SESSION": "beta"}
    writes = ("git", "commit", "--allow-empty", "-qm", "step")
    _identify(workspace)
    request = refused(corral, workspace, *writes, env=alpha)

    answered = approve(home, "--session", request)

    assert "approved session" in answered.output, answered.output
    for _ in range(3):
        ran = run(corral, workspace, *writes, env=alpha)
        assert ran.returncode == 0, ran.stderr
    assert _commits(workspace) == 4
    other = run(corral, workspace, *writes, env=beta)
    assert other.returncode == 126, other.stderr
    unnamed = run(corral, workspace, *writes)
    assert unnamed.returncode == 126, unnamed.stderr
    assert _commits(workspace) == 4
    approvals = [e["approval"] for e in started(home)]
    assert [a["scope"] for a in approvals] == ["session"] * 3


def test_always_writes_an_exact_rule_that_allows_the_command_from_then_on(
    corral: CorralCLI, workspace: Path, home: Home
) -> None:
    policy = home.config / "corral" / "policy.toml"
    request = refused(corral, workspace, *TAG)

    answered = approve(home, "--always", request)

    assert f"a rule was added to {policy}" in answered.output, answered.output
    text = policy.read_text()
    assert 'program = "git"' in text
    assert 'args = ["tag", "v1"]' in text
    assert "exact = true" in text
    assert 'decision = "allow"' in text
    ran = corral("run", "--no-input", "-C", str(workspace), "--json", "--", *TAG)
    assert ran.returncode == 0, ran.stderr
    [event] = started(home)
    assert event["approval"] == {"by": "policy"}
    [part] = event["parts"]
    assert part["decision"] == "allow"
    assert part["rule"] == f"{policy}: rules[0]"
    shown = corral("policy", "-C", str(workspace))
    assert "allow git tag v1 (exactly), category git-write" in shown.stdout
    assert f"({policy}: rules[0])" in shown.stdout
    longer = corral("check", "-C", str(workspace), "--", *TAG, "HEAD")
    assert longer.returncode == 3, longer.stdout


def test_always_leaves_a_policy_with_inline_rules_valid_and_says_how_to_add_it(
    corral: CorralCLI, workspace: Path, home: Home
) -> None:
    policy = home.config / "corral" / "policy.toml"
    policy.parent.mkdir(parents=True)
    policy.write_text('rules = [{program = "ls", decision = "allow", reason = "x"}]\n')
    request = refused(corral, workspace, *TAG)

    answered = approve(home, "--always", request)

    assert "write them as [[rules]] tables" in answered.output
    assert corral("policy", "-C", str(workspace)).returncode == 0
    assert run(corral, workspace, "ls").returncode == 0


def test_without_a_terminal_approve_refuses_and_the_request_waits(
    corral: CorralCLI, workspace: Path
) -> None:
    request = refused(corral, workspace, *TAG)

    ran = corral("approve", request)

    assert ran.returncode == 125
    assert ran.stderr.startswith("corral: ")
    assert "run it in your own terminal" in ran.stderr
    assert request in corral("approve").stdout
    assert run(corral, workspace, *TAG).returncode == 126


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ("0123456789abcdef", "no pending request 0123456789abcdef; "),
        ("../requests/x", "'../requests/x' is not a request id; "),
        ("ABC", "'ABC' is not a request id; 'corral approve' with no id lists"),
    ],
    ids=["unknown", "path", "upper-case"],
)
def test_an_unknown_or_malformed_id_is_refused_clearly(
    home: Home, given: str, said: str
) -> None:
    answered = approve(home, given)

    assert answered.returncode == 125
    assert not answered.asked
    assert f"corral: {said}" in answered.output


def test_always_is_refused_for_a_weaker_boundary_before_anyone_is_asked(
    corral: CorralCLI, workspace: Path, home: Home
) -> None:
    refusal = corral(
        "run",
        "--no-input",
        "-C",
        str(workspace),
        "--sandbox",
        "full-access",
        "--",
        "true",
    )
    assert refusal.returncode == 126, refusal.stderr
    request = request_id(refusal)
    assert "(or with --session)" in refusal.stderr

    answered = approve(home, "--always", request)

    assert answered.returncode == 125
    assert not answered.asked
    assert "cannot be approved always" in answered.output
    assert not (home.config / "corral" / "policy.toml").exists()
    assert request in corral("approve").stdout


def test_a_command_cannot_approve_itself_through_corral_run(
    corral: CorralCLI, workspace: Path, home: Home
) -> None:
    request = refused(corral, workspace, *TAG)

    ran = run(corral, workspace, "corral", "approve", request)

    assert ran.returncode == 126
    assert "refused: corral approve" in ran.stderr
    assert request in corral("approve").stdout
    assert run(corral, workspace, *TAG).returncode == 126


def test_inside_the_sandbox_the_waiting_requests_are_out_of_reach(
    corral: CorralCLI, workspace: Path, home: Home
) -> None:
    """Past the classifier (as ``python -m corral``), approve still finds nothing:
    corral's state directory is hidden from every command."""
    request = refused(corral, workspace, *TAG)
    command = ["env", f"XDG_STATE_HOME={home.state}", *CORRAL, "approve", request]

    answered = answer_in_pty(
        [*CORRAL, "run", "-C", str(workspace), "--", *command], home.env(), "y"
    )

    assert answered.returncode in {125, 126}, answered.output
    assert "approved" not in answered.output
    assert request in corral("approve").stdout
    assert run(corral, workspace, *TAG).returncode == 126
    assert tags(workspace) == []


def _identify(workspace: Path) -> None:
    for key, value in (("user.name", "t"), ("user.email", "t@example.invalid")):
        subprocess.run(["git", "-C", str(workspace), "config", key, value], check=True)


def _commits(workspace: Path) -> int:
    counted = subprocess.run(
        ["git", "-C", str(workspace), "rev-list", "--count", "HEAD"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(counted.stdout)
