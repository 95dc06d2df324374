"""Decisions in ``corral run``: refused, asked at the terminal, or let through.

End to end through the real command line, the real sandbox and real
pseudo-terminals where a person answers: what an approval lets run, what it
does not, and that an approved command still runs inside the boundary.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from corral._home import user_name
from tests.conftest import Home
from tests.support import (
    CORRAL,
    IS_ROOT,
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
    workspace: Path,
    *command: str,
    options: tuple[str, ...] = (),
    env: Mapping[str, str] | None = None,
) -> Ran:
    """``corral run --no-input``: nobody is there to ask."""
    return corral(
        "run", "--no-input", "-C", str(workspace), *options, "--", *command, env=env
    )


def run_at_terminal(
    home: Home,
    workspace: Path,
    *command: str,
    answer: str,
    typed_ahead: str | None = None,
    options: tuple[str, ...] = (),
    env: Mapping[str, str] | None = None,
) -> Answered:
    """``corral run`` on a fresh terminal, where a person answers its question."""
    return answer_in_pty(
        [*CORRAL, "run", "-C", str(workspace), *options, "--", *command],
        home.env(env),
        answer,
        typed_ahead=typed_ahead,
    )


def approve(home: Home, request: str) -> None:
    answered = answer_in_pty([*CORRAL, "approve", request], home.env(), "y")
    assert "approved once" in answered.output, answered.output


def git(workspace: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(workspace), *args], check=True, capture_output=True, text=True
    )
    return done.stdout


def recorded(home: Home, event: str) -> list[dict[str, Any]]:
    return [e for e in events(home.state) if e["event"] == event]


# -- nobody to ask -----------------------------------------------------------


def test_with_no_input_a_command_needing_approval_is_refused_with_its_request(
    corral: CorralCLI, workspace: Path, home: Home
) -> None:
    ran = run(corral, workspace, *TAG)

    assert ran.returncode == 126
    request = request_id(ran)
    assert f"a person runs in their own terminal: corral approve {request}" in (
        ran.stderr
    )
    assert git(workspace, "tag", "--list") == ""
    [refusal] = recorded(home, "command.refused")
    assert refusal["request"] == request
    assert refusal["fingerprint"].startswith(request)
    assert refusal["decision"] == "prompt"
    assert refusal["argv"] == list(TAG)
    [part] = refusal["parts"]
    assert (part["argv"], part["category"], part["decision"]) == (
        list(TAG),
        "git-write",
        "prompt",
    )
    assert recorded(home, "command.started") == []
    assert request in corral("approve").stdout
    listed = json.loads(corral("approve", "--json").stdout)["requests"]
    assert [r["id"] for r in listed] == [request]


def test_with_json_the_refusal_ends_stdout_as_one_object_naming_the_request(
    corral: CorralCLI, workspace: Path
) -> None:
    ran = run(corral, workspace, *TAG, options=("--json",))

    shown = json.loads(ran.stdout.splitlines()[-1])
    assert ran.returncode == shown["exit_status"] == 126
    assert shown["request"] == request_id(ran)
    assert shown["decision"] == "prompt"
    assert shown["argv"] == list(TAG)
    assert [p["category"] for p in shown["parts"]] == ["git-write"]


# -- the question at the terminal -------------------------------------------


def test_answered_once_at_the_terminal_the_command_runs_that_time_only(
    corral: CorralCLI, workspace: Path, home: Home
) -> None:
    before = time.time()
    answered = run_at_terminal(home, workspace, *TAG, answer="o")
    after = time.time()

    assert answered.asked
    assert "this command needs your approval: git tag v1" in answered.output
    assert "[o]nce, [s]ession, [a]lways, [N]o" in answered.output
    assert answered.returncode == 0, answered.output
    assert git(workspace, "tag", "--list").split() == ["v1"]
    [event] = recorded(home, "command.started")
    approval = event["approval"]
    assert approval["by"] == "person"
    assert (approval["scope"], approval["via"]) == ("once", "terminal")
    assert approval["approver"] == user_name()
    assert before <= approval["granted"] <= after
    [asked] = recorded(home, "approval.asked")
    [granted] = recorded(home, "approval.granted")
    assert asked["run"] == granted["run"] == event["run"]
    assert (granted["scope"], granted["via"]) == ("once", "terminal")
    git(workspace, "tag", "-d", "v1")
    assert run(corral, workspace, *TAG).returncode == 126


@pytest.mark.parametrize("answer", ["n", "", "yes please", "x" * 100])
def test_anything_but_yes_at_the_terminal_refuses_with_126(
    workspace: Path, home: Home, answer: str
) -> None:
    answered = run_at_terminal(home, workspace, *TAG, answer=answer)

    assert answered.asked
    assert answered.returncode == 126
    assert "not run: git tag v1: declined at the terminal" in answered.output
    assert git(workspace, "tag", "--list") == ""
    [refusal] = recorded(home, "command.refused")
    assert refusal["refused"] == "declined by the person asked"
    [declined] = recorded(home, "approval.declined")
    assert declined["run"] == refusal["run"]
    assert declined["via"] == "terminal"


def test_answered_session_the_same_session_is_not_asked_again(
    corral: CorralCLI, workspace: Path, home: Home
) -> None:
    session = {"CORRAL_SESSION": "terminal-session"}
    command = ("git", "commit", "--allow-empty", "-qm", "step")
    _identify(workspace)

    first = run_at_terminal(home, workspace, *command, answer="s", env=session)
    second = run_at_terminal(home, workspace, *command, answer="n", env=session)

    assert first.asked
    assert first.returncode == 0, first.output
    assert not second.asked
    assert second.returncode == 0, second.output
    assert run(corral, workspace, *command, env=session).returncode == 0
    assert run(corral, workspace, *command).returncode == 126
    assert git(workspace, "rev-list", "--count", "HEAD").strip() == "4"


def test_answered_always_the_rule_is_written_and_allows_later_runs(
    corral: CorralCLI, workspace: Path, home: Home
) -> None:
    policy = home.config / "corral" / "policy.toml"

    answered = run_at_terminal(home, workspace, *TAG, answer="a")

    assert answered.returncode == 0, answered.output
    assert 'args = ["tag", "v1"]' in policy.read_text()
    assert "exact = true" in policy.read_text()
    git(workspace, "tag", "-d", "v1")
    ran = run(corral, workspace, *TAG)
    assert ran.returncode == 0, ran.stderr
    last = recorded(home, "command.started")[-1]
    assert last["approval"] == {"by": "policy"}
    assert last["parts"][0]["rule"] == f"{policy}: rules[0]"


def test_a_line_typed_before_the_question_does_not_answer_it(
    workspace: Path, home: Home
) -> None:
    answered = run_at_terminal(home, workspace, *TAG, answer="n", typed_ahead="o")

    assert answered.asked
    assert answered.returncode == 126
    assert "declined at the terminal" in answered.output
    assert git(workspace, "tag", "--list") == ""


def test_the_rest_of_an_over_long_answer_is_not_left_for_the_shell(
    workspace: Path, home: Home
) -> None:
    """Whatever reads the terminal after corral (the person's shell) must not
    get what was typed past the longest answer, to run as a command."""
    waiting = (
        "import fcntl, struct, termios; "
        "queued = fcntl.ioctl(0, termios.FIONREAD, bytes(4)); "
        "print('left on the terminal:', struct.unpack('i', queued)[0])"
    )
    line = " ; ".join(
        [
            shlex.join([*CORRAL, "run", "-C", str(workspace), "--", *TAG]),
            shlex.join([sys.executable, "-c", waiting]),
        ]
    )

    answered = answer_in_pty(["sh", "-c", line], home.env(), "n" * 70 + "touch x")

    assert answered.asked
    assert "declined at the terminal" in answered.output
    assert "left on the terminal: 0" in answered.output


def test_with_corral_no_input_set_nobody_is_asked(workspace: Path, home: Home) -> None:
    answered = run_at_terminal(
        home, workspace, *TAG, answer="o", env={"CORRAL_NO_INPUT": "1"}
    )

    assert not answered.asked
    assert answered.returncode == 126
    assert "corral approve " in answered.output
    assert git(workspace, "tag", "--list") == ""


def test_a_forbidden_command_is_refused_at_the_terminal_without_a_question(
    workspace: Path, home: Home
) -> None:
    answered = run_at_terminal(
        home, workspace, "cat", str(home.path / ".ssh" / "id_ed25519"), answer="o"
    )

    assert not answered.asked
    assert answered.returncode == 126
    assert "refused: cat" in answered.output
    assert "PRIVATE KEY" not in answered.output


def test_for_a_weaker_boundary_the_terminal_offers_no_always(
    workspace: Path, home: Home
) -> None:
    answered = run_at_terminal(
        home, workspace, "true", answer="a", options=("--sandbox", "full-access")
    )

    assert answered.asked
    assert "[o]nce, [s]ession, [N]o: " in answered.output
    assert "[a]lways" not in answered.output
    assert answered.returncode == 126
    assert not (home.config / "corral" / "policy.toml").exists()


# -- approved git writes -----------------------------------------------------


def test_an_approved_commit_lands_in_the_host_repository(
    corral: CorralCLI, workspace: Path, home: Home
) -> None:
    _identify(workspace)
    (workspace / "added.txt").write_text("new\n")
    git(workspace, "add", "added.txt")
    commit = ("git", "commit", "-qm", "approved commit")

    refused = run(corral, workspace, *commit)
    assert refused.returncode == 126
    assert git(workspace, "log", "-1", "--format=%s").strip() == "first"
    approve(home, request_id(refused))
    ran = run(corral, workspace, *commit)

    assert ran.returncode == 0, ran.stderr
    assert git(workspace, "log", "-1", "--format=%s").strip() == "approved commit"
    assert git(workspace, "status", "--porcelain", "-uno") == ""
    [started] = recorded(home, "command.started")
    assert started["profile"]["git_write"] is True


def test_without_approval_a_commit_is_refused_before_it_runs(
    corral: CorralCLI, workspace: Path, home: Home
) -> None:
    _identify(workspace)
    (workspace / "added.txt").write_text("new\n")
    git(workspace, "add", "added.txt")

    ran = run(corral, workspace, "git", "commit", "-qm", "never")

    assert ran.returncode == 126
    assert "needs approval: git commit" in ran.stderr
    assert git(workspace, "log", "-1", "--format=%s").strip() == "first"
    assert git(workspace, "status", "--porcelain", "-uno") == "A  added.txt\n"
    assert recorded(home, "command.started") == []


def test_a_command_approved_for_git_writes_still_cannot_write_hooks_or_config(
    corral: CorralCLI, workspace: Path, home: Home
) -> None:
    """The classifier sees the commit and lets the script through; the kernel
    keeps .git/hooks and .git/config read-only even so."""
    _identify(workspace)
    config = (workspace / ".git" / "config").read_text()
    (workspace / "script.sh").write_text(
        "echo '#!/bin/sh' > .git/hooks/pre-commit\n"
        "git config core.hooksPath /somewhere\n"
        "echo '[core]' >> .git/config\n"
        "echo done > script-ran\n"
    )
    command = ("sh", "-c", "git commit --allow-empty -qm scripted && sh script.sh")

    refused = run(corral, workspace, *command)
    assert refused.returncode == 126
    approve(home, request_id(refused))
    ran = run(corral, workspace, *command)

    assert (workspace / "script-ran").read_text() == "done\n", ran.stderr
    assert git(workspace, "log", "-1", "--format=%s").strip() == "scripted"
    assert not (workspace / ".git" / "hooks" / "pre-commit").exists()
    assert (workspace / ".git" / "config").read_text() == config
    assert "sandbox refused: .git/hooks/pre-commit" in ran.stderr


def test_a_script_that_commits_runs_without_git_writes_unless_approved(
    corral: CorralCLI, workspace: Path
) -> None:
    """Running a workspace script needs nobody, and so gets no git writes: the
    commit it makes is refused by the kernel, not let through unasked."""
    _identify(workspace)
    (workspace / "script.sh").write_text("git commit --allow-empty -qm scripted\n")

    ran = run(corral, workspace, "sh", "script.sh")

    assert ran.returncode != 0
    assert git(workspace, "log", "-1", "--format=%s").strip() == "first"


# -- a weaker boundary -------------------------------------------------------


def test_full_access_waits_for_a_person_and_then_runs(
    corral: CorralCLI, workspace: Path, home: Home
) -> None:
    full = ("--sandbox", "full-access")

    refused = run(corral, workspace, "true", options=full)
    assert refused.returncode == 126
    assert "escalation: the command line asks for sandbox mode full-access" in (
        refused.stderr
    )
    approve(home, request_id(refused))
    ran = run(corral, workspace, "true", options=full)

    assert ran.returncode == 0, ran.stderr
    assert "warning: full-access" in ran.stderr
    [started] = recorded(home, "command.started")
    assert started["profile"]["mode"] == "full-access"
    assert started["approval"]["by"] == "person"


def test_full_access_named_in_the_users_own_policy_needs_no_approval(
    corral: CorralCLI, workspace: Path, home: Home
) -> None:
    policy = home.config / "corral" / "policy.toml"
    policy.parent.mkdir(parents=True)
    policy.write_text('[sandbox]\nmode = "full-access"\n')

    ran = run(corral, workspace, "true", options=("--sandbox", "full-access"))

    assert ran.returncode == 0, ran.stderr
    [started] = recorded(home, "command.started")
    assert started["approval"] == {"by": "policy"}


@pytest.mark.root_only
@pytest.mark.skipif(not IS_ROOT, reason="mounts a private /etc: needs root")
def test_a_managed_forbid_rule_on_escalation_refuses_full_access_outright(
    workspace: Path, home: Home, tmp_path: Path
) -> None:
    """The requirements file is written in a mount namespace of the test's own,
    over a private copy of /etc: the machine's /etc is never touched."""
    upper, work = tmp_path / "etc-upper", tmp_path / "etc-work"
    upper.mkdir()
    work.mkdir()
    requirements = (
        '[[rules]]\ncategory = "escalation"\ndecision = "forbid"\n'
        'reason = "no weaker boundary on this machine"\n'
    )
    setup = (
        "set -e; mount --make-rprivate /; "
        f"mount -t overlay overlay -o lowerdir=/etc,upperdir={upper},workdir={work} "
        "/etc; mkdir -m 755 /etc/corral; "
        'printf %s "$REQUIREMENTS" > /etc/corral/requirements.toml; '
        'chmod 644 /etc/corral/requirements.toml; exec "$@"'
    )
    machine = _managed()
    corral_run = [*CORRAL, "run", "--no-input", "-C", str(workspace)]
    argv = ["unshare", "--mount", "sh", "-c", setup, "sh", *corral_run]

    ran = subprocess.run(
        [*argv, "--sandbox", "full-access", "--", "true"],
        env=home.env({"REQUIREMENTS": requirements}),
        capture_output=True,
        text=True,
        check=False,
    )

    assert ran.returncode == 126, ran.stderr
    assert "corral: refused: true: no weaker boundary on this machine" in ran.stderr
    assert "/etc/corral/requirements.toml: rules[0]" in ran.stderr
    assert "corral approve" not in ran.stderr
    assert _managed() == machine
    [refusal] = recorded(home, "command.refused")
    assert refusal["decision"] == "forbid"


# -- what git and test runners run -------------------------------------------


def test_git_status_runs_an_fsmonitor_from_the_config_inside_the_sandbox(
    corral: CorralCLI, workspace: Path, home: Home
) -> None:
    outside = home.path / "fsmonitor-outside"
    monitor = workspace / "monitor.sh"
    monitor.write_text(
        "#!/bin/sh\n"
        f"echo ran >> {workspace}/monitor-ran\n"
        f"echo x > {outside}\n"
        f"echo x > {workspace}/.git/hooks/post-checkout\n"
        "exit 1\n"
    )
    monitor.chmod(0o755)
    git(workspace, "config", "core.fsmonitor", str(monitor))

    ran = run(corral, workspace, "git", "status", "--short")

    assert ran.returncode == 0, ran.stderr
    [started] = recorded(home, "command.started")
    assert started["decision"] == "allow"
    assert (workspace / "monitor-ran").read_text().startswith("ran\n")
    assert not outside.exists()
    assert not (workspace / ".git" / "hooks" / "post-checkout").exists()


def test_a_rewritten_makefile_needs_approval_again(
    corral: CorralCLI, workspace: Path, home: Home
) -> None:
    """The fingerprint covers the files a test runner reads its recipes from."""
    session = {"CORRAL_SESSION": "make-session"}
    online = ("--network", "online")
    makefile = workspace / "Makefile"
    makefile.write_text("all:\n\t@echo built\n")

    refused = run(corral, workspace, "make", options=online, env=session)
    assert refused.returncode == 126
    answered = answer_in_pty(
        [*CORRAL, "approve", "--session", request_id(refused)], home.env(), "y"
    )
    assert "approved session" in answered.output, answered.output
    for _ in range(2):
        ran = run(corral, workspace, "make", options=online, env=session)
        assert ran.returncode == 0, ran.stderr
        assert ran.stdout == "built\n"
    makefile.write_text("all:\n\t@echo rewritten\n")

    again = run(corral, workspace, "make", options=online, env=session)

    assert again.returncode == 126
    assert request_id(again) != request_id(refused)
    assert "rewritten" not in again.stdout


def _identify(workspace: Path) -> None:
    """Give the repository an author, as a person's own git config would."""
    git(workspace, "config", "user.name", "t")
    git(workspace, "config", "user.email", "t@example.invalid")


def _managed() -> str | None:
    """The machine's own managed requirements, as the host sees them."""
    path = Path("/etc/corral/requirements.toml")
    return path.read_text() if path.exists() else None
