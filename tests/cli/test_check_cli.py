"""``corral check``: the decision ``corral run`` would make, shown and never acted on.

Through the real command line: the exit status is the decision, ``--json``
ends stdout with one object of the documented shape, and nothing the command
names is run.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Home
from tests.support import CorralCLI, Ran

PART_KEYS = {"argv", "category", "decision", "rule", "reason", "scripts", "literal"}


def check(corral: CorralCLI, workspace: Path, *command: str) -> Ran:
    return corral("check", "-C", str(workspace), *command)


def check_json(corral: CorralCLI, workspace: Path, *command: str) -> dict[str, Any]:
    ran = corral("check", "-C", str(workspace), "--json", *command)
    assert ran.returncode in {0, 3, 126}, ran.stderr
    shown: dict[str, Any] = json.loads(ran.stdout.splitlines()[-1])
    return shown


def user_policy(home: Home, text: str) -> Path:
    path = home.config / "corral" / "policy.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


DECIDED = {0: "allow", 3: "prompt", 126: "forbid"}


@pytest.mark.parametrize(
    ("command", "status"),
    [
        (["ls"], 0),
        (["git", "commit", "-qm", "msg"], 3),
        (["cat", "~/.ssh/id_ed25519"], 126),
    ],
    ids=["allow", "prompt", "forbid"],
)
def test_the_exit_status_is_the_decision(
    corral: CorralCLI, workspace: Path, home: Home, command: list[str], status: int
) -> None:
    command = [word.replace("~", str(home.path)) for word in command]

    ran = check(corral, workspace, "--", *command)

    assert ran.returncode == status, ran.stderr
    assert ran.stdout.splitlines()[0].startswith(f"{DECIDED[status]}: {command[0]}")


def test_the_human_output_shows_each_part_with_its_rule_and_reason(
    corral: CorralCLI, workspace: Path
) -> None:
    ran = check(corral, workspace, "--", "git", "commit", "-qm", "msg")

    lines = ran.stdout.splitlines()
    assert lines[0] == "prompt: git commit -qm msg"
    assert lines[1].split() == ["prompt", "git-write", "git", "commit", "-qm", "msg"]
    assert lines[2].strip().endswith("(built-in: git-write)")


def test_json_is_one_object_of_the_documented_shape_ending_stdout(
    corral: CorralCLI, workspace: Path
) -> None:
    shown = check_json(corral, workspace, "--", "git", "commit", "-qm", "msg")

    assert set(shown) == {
        "decision",
        "parts",
        "boundary",
        "fingerprint",
        "workspace",
        "argv",
    }
    assert shown["decision"] == "prompt"
    assert shown["argv"] == ["git", "commit", "-qm", "msg"]
    assert shown["workspace"] == str(workspace.resolve())
    assert shown["boundary"] == {"sandbox": "workspace-write", "network": "offline"}
    assert len(shown["fingerprint"]) == 64
    int(shown["fingerprint"], 16)
    [part] = shown["parts"]
    assert set(part) == PART_KEYS
    assert part == {
        "argv": ["git", "commit", "-qm", "msg"],
        "category": "git-write",
        "decision": "prompt",
        "rule": "built-in: git-write",
        "reason": part["reason"],
        "scripts": [],
        "literal": True,
    }
    assert part["reason"]


def test_a_shell_line_is_decided_by_each_command_in_it(
    corral: CorralCLI, workspace: Path
) -> None:
    shown = check_json(corral, workspace, "--", "bash", "-c", "ls && git push")

    decided = [(p["argv"], p["category"], p["decision"]) for p in shown["parts"]]
    assert (["ls"], "read", "allow") in decided
    assert (["git", "push"], "git-remote", "prompt") in decided
    assert shown["decision"] == "prompt"


@pytest.mark.parametrize(
    ("option", "asked"),
    [
        (["--sandbox", "full-access"], "sandbox mode full-access"),
        (["--network", "online"], "network mode online"),
    ],
    ids=["full-access", "online"],
)
def test_a_weaker_boundary_on_the_command_line_is_an_escalation_to_approve(
    corral: CorralCLI, workspace: Path, option: list[str], asked: str
) -> None:
    ran = check(corral, workspace, *option, "--json", "--", "true")

    shown = json.loads(ran.stdout.splitlines()[-1])
    assert ran.returncode == 3, ran.stderr
    [escalation] = [p for p in shown["parts"] if p["category"] == "escalation"]
    assert escalation["decision"] == "prompt"
    assert escalation["rule"] == "built-in: escalation"
    assert asked in escalation["reason"]
    assert shown["decision"] == "prompt"


def test_without_options_the_same_command_has_no_escalation(
    corral: CorralCLI, workspace: Path
) -> None:
    shown = check_json(corral, workspace, "--", "true")

    assert shown["decision"] == "allow"
    assert {p["category"] for p in shown["parts"]} == {"read"}


def test_an_allow_rule_in_the_user_policy_decides_and_is_named(
    corral: CorralCLI, workspace: Path, home: Home
) -> None:
    policy = user_policy(
        home,
        '[[rules]]\nprogram = "git"\nargs = ["commit"]\ndecision = "allow"\n'
        'reason = "commits are reviewed later"\n',
    )

    ran = corral(
        "check", "-C", str(workspace), "--json", "--", "git", "commit", "-qm", "msg"
    )

    shown = json.loads(ran.stdout.splitlines()[-1])
    assert ran.returncode == 0, ran.stderr
    [part] = shown["parts"]
    assert part["decision"] == "allow"
    assert part["rule"] == f"{policy}: rules[0]"
    assert part["reason"] == "commits are reviewed later"


def test_a_forbid_rule_in_the_user_policy_forbids_what_was_allowed(
    corral: CorralCLI, workspace: Path, home: Home
) -> None:
    policy = user_policy(
        home,
        '[[rules]]\nprogram = "ls"\ndecision = "forbid"\nreason = "not here"\n',
    )

    ran = check(corral, workspace, "--", "ls", "-l")

    assert ran.returncode == 126, ran.stderr
    assert ran.stdout.splitlines()[0] == "forbid: ls -l"
    assert f"not here ({policy}: rules[0])" in ran.stdout


@pytest.mark.parametrize(
    "command",
    [
        ["touch", "created"],
        ["bash", "-c", "echo x > created"],
        ["git", "commit", "--allow-empty", "-qm", "never"],
    ],
    ids=["argv", "shell-line", "needs-approval"],
)
def test_check_runs_nothing_of_the_command(
    corral: CorralCLI, workspace: Path, command: list[str]
) -> None:
    head = _head(workspace)

    ran = check(corral, workspace, "--", *command)

    assert ran.returncode in {0, 3}, ran.stderr
    assert not (workspace / "created").exists()
    assert _head(workspace) == head


def _head(workspace: Path) -> str:
    return subprocess.run(
        ["git", "-C", str(workspace), "rev-parse", "HEAD"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def test_check_records_no_event_and_saves_no_request(
    corral: CorralCLI, workspace: Path, home: Home
) -> None:
    ran = check(corral, workspace, "--", "git", "commit", "-qm", "msg")

    assert ran.returncode == 3
    assert not (home.state / "corral" / "events.jsonl").exists()
    listed = corral("approve", "--json")
    assert json.loads(listed.stdout) == {"requests": []}


def test_no_command_is_a_usage_error(corral: CorralCLI, workspace: Path) -> None:
    ran = check(corral, workspace, "--")

    assert ran.returncode == 2
    assert ran.stderr.startswith("corral: no command given")


@pytest.mark.parametrize(
    ("text", "command"),
    [
        (
            '[[rules]]\nprogram = "git"\ndecision = "allow"\nreason = "mine"\n',
            ["git", "push", "--force"],
        ),
        ('[sandbox]\nwritable_roots = ["HOME/elsewhere"]\n', ["true"]),
        ('[env]\npass = ["*"]\n', ["env"]),
        (
            '[[rules]]\ncategory = "secret"\ndecision = "prompt"\nreason = "ask"\n',
            ["cat", "HOME/.netrc"],
        ),
    ],
    ids=["allow-rule", "writable-root", "env-pass", "forbid-to-prompt"],
)
def test_a_named_policy_file_that_loosens_more_than_the_modes_needs_a_person(
    corral: CorralCLI, workspace: Path, home: Home, text: str, command: list[str]
) -> None:
    """A file an agent could write, named with --policy, is a request like any
    other: its rules and boundary keys loosen nothing without a person."""
    (home.path / "elsewhere").mkdir()
    named = workspace / "agent-policy.toml"
    named.write_text(text.replace("HOME", str(home.path)))

    command = [word.replace("HOME", str(home.path)) for word in command]
    ran = corral(
        "check", "-C", str(workspace), "--policy", str(named), "--json", "--", *command
    )

    shown = json.loads(ran.stdout.splitlines()[-1])
    assert ran.returncode == 3, ran.stdout
    [escalation] = [p for p in shown["parts"] if p["category"] == "escalation"]
    assert str(named) in escalation["reason"]


def test_a_named_policy_file_that_only_tightens_needs_nobody(
    corral: CorralCLI, workspace: Path, home: Home
) -> None:
    named = home.path / "tighter.toml"
    named.write_text('[sandbox]\nhidden_paths = ["~/projects-secret"]\n')

    ran = check(corral, workspace, "--policy", str(named), "--", "true")

    assert ran.returncode == 0, ran.stdout


@pytest.mark.parametrize(
    ("own", "named"),
    [
        ("", '[[rules]]\nprogram = "ls"\ndecision = "allow"\nreason = "ls only"\n'),
        ('[[rules]]\nprogram = "git"\ndecision = "allow"\nreason = "mine"\n', ""),
        ("", '[[rules]]\nprogram = "git"\ndecision = "forbid"\nreason = "never"\n'),
    ],
    ids=["rules-for-other-commands", "fewer-allow-rules", "a-forbid-rule"],
)
def test_named_rules_that_loosen_nothing_for_this_command_need_nobody(
    corral: CorralCLI, workspace: Path, home: Home, own: str, named: str
) -> None:
    user_policy(home, own)
    path = home.path / "named.toml"
    path.write_text(named)

    shown = check_json(corral, workspace, "--policy", str(path), "--", "git", "push")

    assert "escalation" not in {p["category"] for p in shown["parts"]}
