"""Command rules in policy files: each mistake names the file, the rule and the key."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from corral.approvals._model import Category, Decision
from corral.cli import main
from corral.cli._policy import format_policy
from corral.errors import ExitCode, PolicyError
from corral.policy import LayerKind, Policy, load_policy, policy_digest, policy_to_json
from corral.policy._merge import merge_layers
from corral.policy._rules import Rule
from corral.policy._schema import PolicyLayer, parse_layer, parse_overrides

ORIGIN = "/home/u/.config/corral/policy.toml"
MANAGED = "/etc/corral/requirements.toml"
PROJECT = "/ws/.corral/policy.toml"

PUSH = """
[[rules]]
program = "git"
args = ["push", "*"]
category = "git-remote"
decision = "forbid"
reason = "Pushes go through CI; open a pull request instead."
"""


def parse(text: str, kind: LayerKind = LayerKind.USER) -> PolicyLayer:
    return parse_layer(text.encode(), ORIGIN, kind)


def rule(body: str) -> str:
    """One ``[[rules]]`` table, after a valid first rule so its index is 1."""
    return PUSH + "\n[[rules]]\n" + body


def test_a_rule_keeps_every_key_and_names_its_file_and_index() -> None:
    layer = parse(
        PUSH
        + rule('program = "/usr/bin/make"\ndecision = "allow"\nreason = "builds"\n')
    )

    first, second, third = layer.rules
    assert first == Rule(
        program="git",
        args=("push", "*"),
        category=Category.GIT_REMOTE,
        decision=Decision.FORBID,
        reason="Pushes go through CI; open a pull request instead.",
        origin=f"{ORIGIN}: rules[0]",
        layer=LayerKind.USER,
    )
    assert second.origin == f"{ORIGIN}: rules[1]"
    assert third.program == "/usr/bin/make"
    assert third.args == ()
    assert third.category is None
    assert third.origin == f"{ORIGIN}: rules[2]"


def test_a_file_without_rules_has_none() -> None:
    assert parse("[sandbox]\nmode = 'read-only'\n").rules == ()


def test_args_keep_repeated_patterns_in_order() -> None:
    layer = parse(
        '[[rules]]\nprogram = "x"\nargs = ["a", "a", ""]\ndecision = "prompt"\n'
        'reason = "r"\n'
    )

    assert layer.rules[0].args == ("a", "a", "")


def test_a_category_only_rule_is_accepted() -> None:
    layer = parse('[[rules]]\ncategory = "network"\ndecision = "allow"\nreason = "r"\n')

    assert layer.rules[0].program is None
    assert layer.rules[0].category is Category.NETWORK


@pytest.mark.parametrize("kind", [LayerKind.MANAGED, LayerKind.USER])
def test_managed_and_user_rules_may_allow(kind: LayerKind) -> None:
    layer = parse(
        '[[rules]]\nprogram = "git"\ndecision = "allow"\nreason = "r"\n', kind
    )

    assert layer.rules[0].decision is Decision.ALLOW
    assert layer.rules[0].layer is kind


@pytest.mark.parametrize("decision", ["prompt", "forbid"])
def test_a_project_rule_may_prompt_or_forbid(decision: str) -> None:
    layer = parse(
        f'[[rules]]\nprogram = "git"\ndecision = "{decision}"\nreason = "r"\n',
        LayerKind.PROJECT,
    )

    assert layer.rules[0].decision == decision
    assert layer.rules[0].layer is LayerKind.PROJECT


# Each case: the rule's body (after a valid rules[0]), the layer, the start of
# the message after the file name, and text the message must hold besides.
INVALID = [
    pytest.param(
        'program = "git"\nprogam = "git"\ndecision = "allow"\nreason = "r"\n',
        LayerKind.USER,
        "unknown key rules[1].progam",
        "program, args, exact, category, decision, reason",
        id="unknown-key-lists-the-known-keys",
    ),
    pytest.param(
        'program = 1\ndecision = "allow"\nreason = "r"\n',
        LayerKind.USER,
        "rules[1].program must be a string",
        "",
        id="program-of-the-wrong-type",
    ),
    pytest.param(
        'program = "git"\nargs = "push"\ndecision = "allow"\nreason = "r"\n',
        LayerKind.USER,
        "rules[1].args must be a list of strings",
        "",
        id="args-not-a-list",
    ),
    pytest.param(
        'program = "git"\nargs = ["push", 1]\ndecision = "allow"\nreason = "r"\n',
        LayerKind.USER,
        "rules[1].args must be a list of strings",
        "",
        id="args-with-a-non-string",
    ),
    pytest.param(
        'program = "git"\nargs = ["a\\u0000b"]\ndecision = "allow"\nreason = "r"\n',
        LayerKind.USER,
        "rules[1].args must not contain NUL",
        "",
        id="args-with-nul",
    ),
    pytest.param(
        'category = 3\ndecision = "allow"\nreason = "r"\n',
        LayerKind.USER,
        "rules[1].category = 3 is not allowed",
        "'git-remote'",
        id="category-of-the-wrong-type",
    ),
    pytest.param(
        'category = "remote"\ndecision = "allow"\nreason = "r"\n',
        LayerKind.USER,
        "rules[1].category = 'remote' is not allowed; use one of 'read', ",
        "'protected-write', 'outside-write', 'unknown', 'unmodelled', 'escalation'",
        id="unknown-category-lists-the-known-ones",
    ),
    pytest.param(
        'program = "git"\ndecision = "deny"\nreason = "r"\n',
        LayerKind.USER,
        "rules[1].decision = 'deny' is not allowed",
        "use one of 'allow', 'prompt', 'forbid'",
        id="unknown-decision-lists-the-known-ones",
    ),
    pytest.param(
        'program = "git"\ndecision = true\nreason = "r"\n',
        LayerKind.USER,
        "rules[1].decision = True is not allowed",
        "",
        id="decision-of-the-wrong-type",
    ),
    pytest.param(
        'program = "git"\nreason = "r"\n',
        LayerKind.USER,
        "rules[1] has no decision",
        '"allow", "prompt" or "forbid"',
        id="missing-decision",
    ),
    pytest.param(
        'program = "git"\ndecision = "forbid"\n',
        LayerKind.USER,
        "rules[1] has no reason",
        "shown to the person and the agent",
        id="missing-reason",
    ),
    pytest.param(
        'program = "git"\ndecision = "forbid"\nreason = "  "\n',
        LayerKind.USER,
        "rules[1].reason is empty",
        "shown to the person and the agent",
        id="empty-reason",
    ),
    pytest.param(
        'program = "git"\ndecision = "forbid"\nreason = 1\n',
        LayerKind.USER,
        "rules[1].reason must be a string",
        "",
        id="reason-of-the-wrong-type",
    ),
    pytest.param(
        'program = "git"\ndecision = "forbid"\nreason = "a\\u001b[2Jb"\n',
        LayerKind.PROJECT,
        "rules[1].reason must be one line of printable text",
        "",
        id="reason-with-a-terminal-escape",
    ),
    pytest.param(
        'program = "git"\ndecision = "forbid"\nreason = "a\\nb"\n',
        LayerKind.USER,
        "rules[1].reason must be one line of printable text",
        "",
        id="reason-over-two-lines",
    ),
    pytest.param(
        'decision = "forbid"\nreason = "r"\n',
        LayerKind.USER,
        "rules[1] names neither program nor category",
        "an empty rule would match every command",
        id="neither-program-nor-category",
    ),
    pytest.param(
        'args = ["push"]\ncategory = "git-remote"\ndecision = "forbid"\nreason = "r"\n',
        LayerKind.USER,
        "rules[1].args needs a program",
        'add program = "..."',
        id="args-without-program",
    ),
    pytest.param(
        'program = ""\ndecision = "forbid"\nreason = "r"\n',
        LayerKind.USER,
        "rules[1].program is empty",
        "/usr/bin/git",
        id="empty-program",
    ),
    pytest.param(
        'program = "bin/git"\ndecision = "forbid"\nreason = "r"\n',
        LayerKind.USER,
        "rules[1].program = 'bin/git' is neither a name nor an absolute path",
        "",
        id="relative-path-program",
    ),
    pytest.param(
        'program = "/usr/bin/"\ndecision = "forbid"\nreason = "r"\n',
        LayerKind.USER,
        "rules[1].program = '/usr/bin/' is neither a name nor an absolute path",
        "",
        id="directory-as-program",
    ),
    pytest.param(
        'program = "git"\nexact = "yes"\ndecision = "forbid"\nreason = "r"\n',
        LayerKind.USER,
        "rules[1].exact must be true or false, not 'yes'",
        "",
        id="exact-not-a-boolean",
    ),
    pytest.param(
        'category = "network"\nexact = true\ndecision = "forbid"\nreason = "r"\n',
        LayerKind.USER,
        "rules[1].exact",
        "needs a program",
        id="exact-without-a-program",
    ),
    pytest.param(
        'program = "python*"\ndecision = "forbid"\nreason = "r"\n',
        LayerKind.USER,
        "rules[1].program = 'python*' is compared exactly, not as a pattern",
        "match by category",
        id="pattern-as-program",
    ),
    pytest.param(
        'program = "git"\ndecision = "allow"\nreason = "r"\n',
        LayerKind.PROJECT,
        "rules[1].decision = 'allow' cannot be set by a project policy",
        "write the rule in your user policy",
        id="project-rule-that-allows",
    ),
    pytest.param(
        'category = "unmodelled"\ndecision = "allow"\nreason = "r"\n',
        LayerKind.USER,
        "rules[1].decision = 'allow' for category 'unmodelled'",
        "what the parser cannot model is never allowed by a rule",
        id="user-rule-that-allows-unmodelled",
    ),
    pytest.param(
        'program = "sh"\ncategory = "unmodelled"\ndecision = "allow"\nreason = "r"\n',
        LayerKind.MANAGED,
        "rules[1].decision = 'allow' for category 'unmodelled'",
        "use prompt or forbid",
        id="managed-rule-that-allows-unmodelled",
    ),
    pytest.param(
        'category = "escalation"\ndecision = "allow"\nreason = "r"\n',
        LayerKind.MANAGED,
        "rules[1].decision = 'allow' for category 'escalation'",
        "only a person can approve a weaker boundary",
        id="managed-rule-that-allows-escalation",
    ),
    pytest.param(
        'category = "escalation"\ndecision = "allow"\nreason = "r"\n',
        LayerKind.USER,
        "rules[1].decision = 'allow' for category 'escalation'",
        "for the exact command shown",
        id="user-rule-that-allows-escalation",
    ),
]


@pytest.mark.parametrize(("body", "kind", "start", "holds"), INVALID)
def test_invalid_rule_names_file_index_key_and_fix(
    body: str, kind: LayerKind, start: str, holds: str
) -> None:
    with pytest.raises(PolicyError) as caught:
        parse(rule(body), kind)

    message = str(caught.value)
    assert message.startswith(f"{ORIGIN}: {start}")
    assert holds in message


@pytest.mark.parametrize(
    ("text", "start"),
    [
        pytest.param(
            'rules = "git"\n',
            "rules must be an array of tables, not 'git'",
            id="rules-as-a-string",
        ),
        pytest.param(
            '[rules]\nprogram = "git"\n',
            "rules must be an array of tables, not one [rules] table",
            id="rules-as-one-table",
        ),
        pytest.param(
            "rules = [1]\n",
            "rules[0] must be a table under [[rules]]",
            id="rules-holding-a-number",
        ),
    ],
)
def test_rules_must_be_an_array_of_tables(text: str, start: str) -> None:
    with pytest.raises(PolicyError) as caught:
        parse(text)

    assert str(caught.value).startswith(f"{ORIGIN}: {start}")
    assert "[[rules]]" in str(caught.value)


def test_an_empty_rules_array_is_no_rules() -> None:
    assert parse("rules = []\n").rules == ()


def test_rules_cannot_be_set_on_the_command_line() -> None:
    with pytest.raises(PolicyError, match="cannot override 'rules'"):
        parse_overrides({"rules": []})


def test_unknown_table_message_mentions_rules() -> None:
    with pytest.raises(PolicyError, match=r"\[env\], .* and \[\[rules\]\]"):
        parse("[rule]\nprogram = 'git'\n")


def test_a_hand_built_rule_without_program_or_category_is_refused() -> None:
    with pytest.raises(ValueError, match="would match all"):
        Rule(decision=Decision.FORBID, reason="r", origin="o", layer=LayerKind.USER)


def test_a_hand_built_rule_with_args_but_no_program_is_refused() -> None:
    with pytest.raises(ValueError, match="after its program"):
        Rule(
            args=("x",),
            category=Category.READ,
            decision=Decision.FORBID,
            reason="r",
            origin="o",
            layer=LayerKind.USER,
        )


def merged(
    managed: str | None = None, user: str | None = None, project: str | None = None
) -> Policy:
    def layer(text: str | None, origin: str, kind: LayerKind) -> PolicyLayer | None:
        return None if text is None else parse_layer(text.encode(), origin, kind)

    return merge_layers(
        layer(managed, MANAGED, LayerKind.MANAGED),
        layer(user, ORIGIN, LayerKind.USER),
        layer(project, PROJECT, LayerKind.PROJECT),
        None,
        environ={"HOME": "/home/u"},
    )


def test_merged_rules_are_in_merge_order_managed_user_project() -> None:
    text = '[[rules]]\nprogram = "{}"\ndecision = "prompt"\nreason = "r"\n'

    policy = merged(
        managed=text.format("a") + text.format("b"),
        user=text.format("c"),
        project=text.format("d"),
    )

    assert [r.program for r in policy.rules] == ["a", "b", "c", "d"]
    assert [r.origin for r in policy.rules] == [
        f"{MANAGED}: rules[0]",
        f"{MANAGED}: rules[1]",
        f"{ORIGIN}: rules[0]",
        f"{PROJECT}: rules[0]",
    ]
    assert [r.layer for r in policy.rules] == [
        LayerKind.MANAGED,
        LayerKind.MANAGED,
        LayerKind.USER,
        LayerKind.PROJECT,
    ]


def test_load_policy_reads_rules_from_the_user_and_project_files(
    tmp_path: Path,
) -> None:
    workspace = tmp_path / "ws"
    (workspace / ".corral").mkdir(parents=True)
    project = workspace / ".corral" / "policy.toml"
    project.write_text(PUSH)
    user = tmp_path / "user.toml"
    user.write_text('[[rules]]\nprogram = "make"\ndecision = "allow"\nreason = "r"\n')

    policy = load_policy(
        workspace,
        user_policy=user,
        requirements_path=tmp_path / "absent.toml",
        environ={"HOME": str(tmp_path)},
    )

    assert [r.origin for r in policy.rules] == [
        f"{user}: rules[0]",
        f"{project}: rules[0]",
    ]


def test_load_policy_refuses_a_project_rule_that_allows(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    (workspace / ".corral").mkdir(parents=True)
    project = workspace / ".corral" / "policy.toml"
    project.write_text(
        '[[rules]]\nprogram = "curl"\ndecision = "allow"\nreason = "r"\n'
    )

    with pytest.raises(PolicyError, match=rf"^{project}: rules\[0\]\.decision"):
        load_policy(
            workspace,
            requirements_path=tmp_path / "absent.toml",
            environ={"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "c")},
        )


def test_json_lists_each_rule_with_its_layer_and_origin() -> None:
    policy = merged(
        managed=PUSH,
        user='[[rules]]\ncategory = "network"\n'
        'decision = "allow"\nreason = "mirrors"\n',
    )

    rules = policy_to_json(policy)["policy"]["rules"]  # type: ignore[index]

    assert rules == [
        {
            "program": "git",
            "args": ["push", "*"],
            "exact": False,
            "category": "git-remote",
            "decision": "forbid",
            "reason": "Pushes go through CI; open a pull request instead.",
            "layer": "managed",
            "origin": f"{MANAGED}: rules[0]",
        },
        {
            "program": None,
            "args": [],
            "exact": False,
            "category": "network",
            "decision": "allow",
            "reason": "mirrors",
            "layer": "user",
            "origin": f"{ORIGIN}: rules[0]",
        },
    ]


def test_digest_covers_the_rules_and_their_layer_but_not_their_origin() -> None:
    none = merged()
    user = merged(user=PUSH)
    project = merged(project=PUSH)
    elsewhere = parse_layer(PUSH.encode(), "/other/policy.toml", LayerKind.USER)
    moved = merge_layers(None, elsewhere, None, None, environ={})

    assert len({policy_digest(p) for p in (none, user, project)}) == 3
    assert policy_digest(moved) == policy_digest(user)


def test_text_output_shows_each_rule_with_its_origin() -> None:
    policy = merged(
        managed=PUSH,
        user='[[rules]]\nprogram = "rm"\nargs = ["-rf", "a b", ""]\n'
        'decision = "prompt"\nreason = "careful"\n',
    )

    lines = format_policy(policy, Path("/ws")).splitlines()

    rules = [line for line in lines if line.startswith("rule ")]
    assert rules == [
        "rule                     forbid git push *, category git-remote: Pushes go "
        f"through CI; open a pull request instead.  ({MANAGED}: rules[0])",
        'rule                     prompt rm -rf "a b" "": careful  '
        f"({ORIGIN}: rules[0])",
    ]


def test_text_output_says_when_there_are_no_rules() -> None:
    lines = format_policy(merged(), Path("/ws")).splitlines()

    assert "rules                    none  (built-in)" in lines


def test_corral_policy_json_shows_the_project_rules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    workspace = tmp_path / "ws"
    (workspace / ".corral").mkdir(parents=True)
    (workspace / ".corral" / "policy.toml").write_text(PUSH)
    subprocess.run(["git", "init", "-q", str(workspace)], check=True)

    status = main(["policy", "-C", str(workspace), "--json"])

    document = json.loads(capsys.readouterr().out)
    assert status == ExitCode.OK
    [shown] = document["policy"]["rules"]
    assert shown["origin"].endswith("/.corral/policy.toml: rules[0]")
    assert shown["layer"] == "project"


@pytest.mark.parametrize(
    "module", ["corral.policy", "corral.policy._rules", "corral.approvals._decide"]
)
def test_policy_and_decide_import_first_in_a_fresh_interpreter(module: str) -> None:
    """The policy package and the approvals vocabulary import each other cleanly."""
    ran = subprocess.run(
        [sys.executable, "-c", f"import {module}"],
        capture_output=True,
        text=True,
        check=False,
    )

    assert ran.returncode == 0, ran.stderr
