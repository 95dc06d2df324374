"""An "always" answer becomes rules in the user's policy that allow exactly the
approved parts, and nothing that only looks like them."""

from __future__ import annotations

from pathlib import Path

import pytest

from corral.approvals import Category, Decision, Finding, Part, Word, WordKind
from corral.approvals._always import always_rules, append_rules
from corral.approvals._decide import decide
from corral.errors import ApprovalError
from corral.policy import load_policy
from tests.conftest import Home


def _part(*words: str, category: Category = Category.GIT_REMOTE) -> Part:
    finding = Finding(argv=tuple(Word(w) for w in words), category=category, reason="r")
    return Part(finding=finding, decision=Decision.PROMPT, rule="built-in", reason="r")


def _decision(policy_rules: object, *words: str, category: Category) -> Decision:
    finding = Finding(argv=tuple(Word(w) for w in words), category=category, reason="r")
    return decide([finding], policy_rules).decision  # type: ignore[arg-type]


def test_an_always_rule_allows_the_approved_command_from_then_on(
    workspace: Path, home: Home
) -> None:
    policy_file = home.config / "corral" / "policy.toml"
    text = always_rules([_part("git", "push", "origin", "main")], approver="pat")
    append_rules(policy_file, text)
    rules = load_policy(workspace, environ=home.env()).rules

    remote = Category.GIT_REMOTE
    assert _decision(rules, "git", "push", "origin", "main", category=remote) == "allow"
    assert _decision(rules, "git", "push", "origin", "dev", category=remote) == "prompt"
    # Another word, or an option that makes them destructive, is decided afresh.
    assert (
        _decision(rules, "git", "push", "origin", "main", "dev", category=remote)
        == "prompt"
    )
    destructive = Category.DESTRUCTIVE
    assert (
        _decision(rules, "git", "push", "origin", "main", "-f", category=destructive)
        == "prompt"
    )


def test_pattern_characters_in_an_approved_argument_match_only_themselves(
    workspace: Path, home: Home
) -> None:
    policy_file = home.config / "corral" / "policy.toml"
    part = _part("rm", "-rf", "build*", category=Category.DESTRUCTIVE)
    append_rules(policy_file, always_rules([part], approver="pat"))
    rules = load_policy(workspace, environ=home.env()).rules

    destructive = Category.DESTRUCTIVE
    assert _decision(rules, "rm", "-rf", "build*", category=destructive) == "allow"
    assert _decision(rules, "rm", "-rf", "buildx", category=destructive) == "prompt"


def test_existing_policy_text_is_kept_when_a_rule_is_added(home: Home) -> None:
    policy_file = home.config / "corral" / "policy.toml"
    policy_file.parent.mkdir(parents=True)
    policy_file.write_text('[sandbox]\nmode = "workspace-write"')
    append_rules(policy_file, always_rules([_part("git", "fetch")], approver="pat"))

    text = policy_file.read_text()
    assert text.startswith('[sandbox]\nmode = "workspace-write"\n')
    assert 'program = "git"' in text


@pytest.mark.parametrize(
    ("part", "message"),
    [
        (_part("corral", "run", category=Category.ESCALATION), "cannot be approved"),
        (_part("x", category=Category.UNMODELLED), "cannot be approved"),
        (
            Part(
                finding=Finding(
                    argv=(Word("git"), Word("$X", WordKind.DYNAMIC)),
                    category=Category.GIT_REMOTE,
                    reason="r",
                ),
                decision=Decision.PROMPT,
                rule="built-in",
                reason="r",
            ),
            "known only when it runs",
        ),
        (_part("./deploy.sh", category=Category.EXECUTE), "relative"),
        (_part("git", "push", "\udcff"), "not UTF-8"),
        (_part("g*t", "push"), "cannot be named by a rule"),
        (_part("git", "log", category=Category.EXEC_OVERRIDE), "not in its words"),
        (_part("echo", "hi", category=Category.OUTSIDE_WRITE), "not in its words"),
        (_part("cat", "x", category=Category.SECRET), "not in its words"),
        (
            Part(
                finding=Finding(
                    argv=(Word("pip"), Word("install"), Word("-r"), Word("req.txt")),
                    category=Category.PACKAGE_INSTALL,
                    reason="r",
                    scripts=("req.txt",),
                ),
                decision=Decision.PROMPT,
                rule="built-in",
                reason="r",
            ),
            "which a rule cannot follow",
        ),
    ],
    ids=[
        "weaker boundary",
        "unmodelled",
        "dynamic word",
        "relative path",
        "not utf-8",
        "pattern in the program",
        "an assignment made it run other code",
        "a redirection made it write outside",
        "a path made it a secret",
        "files decide what it installs",
    ],
)
def test_what_a_rule_cannot_name_exactly_is_not_written(
    part: Part, message: str
) -> None:
    with pytest.raises(ApprovalError, match=message):
        always_rules([part], approver="pat")
