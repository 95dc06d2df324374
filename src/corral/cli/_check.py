"""``corral check``: the decision for a command, without running it.

It prints the decision, then each part with its category, decision, rule and
reason.  The exit status is the decision: 0 allow, 3 needs a person's
approval, 126 forbidden.  With ``--json`` it prints one object (see
`corral.approvals._gate.Assessment.to_json`); other harnesses call this from
their hooks.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shlex
from pathlib import Path
from typing import Any

from corral._workspace import resolve_workspace
from corral.approvals import Category, Decision, Finding, Verdict, Word, strictest
from corral.approvals._decide import decide
from corral.approvals._gate import Assessment, assess
from corral.cli._options import add_policy_options, policy_overrides
from corral.cli._output import say, write_result
from corral.cli._prompt import describe_parts
from corral.errors import ExitCode
from corral.policy import Policy, load_policy
from corral.policy._render import policy_values

__all__ = ["add_parser", "assess_command", "check"]

_EXIT_STATUS = {
    Decision.ALLOW: ExitCode.OK,
    Decision.PROMPT: ExitCode.NEEDS_APPROVAL,
    Decision.FORBID: ExitCode.REFUSED,
}

# What a policy file named on the command line may set unlike the person's
# own with nobody asked: the two modes are weighed on their own (`assess`),
# and the time limit bounds a run, not what it may touch.
_WEIGHED_APART = frozenset({"sandbox.mode", "network.mode", "sandbox.timeout"})
# Lists that a stricter policy makes longer; every other list it makes shorter.
_LONGER_IS_STRICTER = frozenset(
    {
        "sandbox.protected_paths",
        "sandbox.hidden_paths",
        "network.deny",
        "env.secret_patterns",
    }
)


def add_parser(subparsers: Any) -> None:
    """Register ``corral check``."""
    parser = subparsers.add_parser(
        "check",
        help="show the decision for a command without running it",
        description="Classify COMMAND as 'corral run' would and print the "
        "decision for each of its parts.  COMMAND is an argv, as for 'corral "
        "run'; pass a shell line as: corral check -- bash -c 'LINE'.",
        epilog="exit status: 0 allow; 3 needs a person's approval; 126 forbidden",
    )
    add_policy_options(parser, preview=False)
    parser.add_argument(
        "--json", action="store_true", help="print the decision as one JSON object"
    )
    parser.add_argument("command", nargs=argparse.REMAINDER, metavar="-- COMMAND")
    parser.set_defaults(handler=check)


def check(args: argparse.Namespace) -> int:
    """Print the decision for the command named on the command line."""
    command = list(args.command)
    if command[:1] == ["--"]:
        command = command[1:]
    if not command:
        say("no command given; usage: corral check [options] -- COMMAND")
        return ExitCode.USAGE
    assessment = assess_command(args, command)
    if args.json:
        shown = {"argv": command, "workspace": str(assessment.workspace)}
        write_result(json.dumps(shown | assessment.to_json(), sort_keys=True))
    else:
        lines = [f"{assessment.decision}: {shlex.join(command)}"]
        lines.extend(describe_parts(assessment.verdict.parts))
        write_result("\n".join(lines))
    return _EXIT_STATUS[assessment.decision]


def assess_command(args: argparse.Namespace, command: list[str]) -> Assessment:
    """Load the policy as ``corral run`` would for `args`, and assess `command`."""
    workspace = resolve_workspace(args.directory)
    # The boundary a person set up: the user's own policy file.  Options on
    # the command line, a policy file named there among them, are what the
    # caller asks for; whatever they loosen is a decision for a person.
    filed = load_policy(workspace)
    overrides = policy_overrides(args)
    policy = filed
    if overrides or args.policy is not None:
        policy = load_policy(workspace, user_policy=args.policy, overrides=overrides)
    assessment = assess(
        command,
        workspace=workspace,
        cwd=args.directory.resolve(),
        policy=policy,
        policy_as_filed=filed,
        environ=os.environ,
    )
    if args.policy is not None:
        loosened = _loosened(assessment.verdict, policy, filed)
        if loosened:
            assessment = _escalated(assessment, args.policy, loosened)
    return assessment


def _loosened(verdict: Verdict, named: Policy, own: Policy) -> list[str]:
    """The keys where the policy `named` on the command line is looser than `own`.

    Its rules are looser when they decide a part of `verdict` less strictly
    than the person's own rules decide the same part.
    """
    mine, theirs = policy_values(own), policy_values(named)
    loosened = []
    for table, values in theirs.items():
        for key, value in values.items():
            name, before = f"{table}.{key}", mine[table][key]
            if name in _WEIGHED_APART or value == before:
                continue
            if isinstance(value, list) and isinstance(before, list):
                dropped, added = set(before) - set(value), set(value) - set(before)
                if not (dropped if name in _LONGER_IS_STRICTER else added):
                    continue
            loosened.append(name)
    own_parts = decide([part.finding for part in verdict.parts], own.rules).parts
    for part, own_part in zip(verdict.parts, own_parts, strict=True):
        if part.decision is not strictest(part.decision, own_part.decision):
            loosened.append("rules")
            break
    return loosened


def _escalated(assessment: Assessment, path: Path, keys: list[str]) -> Assessment:
    """Add the part that asks a person for what the named policy file loosens."""
    finding = Finding(
        argv=tuple(Word(arg) for arg in assessment.argv),
        category=Category.ESCALATION,
        reason=f"the command line names the policy file {path}, which sets "
        f"{', '.join(keys)} looser than your own policy; only a person can "
        "approve that, for this exact command",
    )
    findings = [*(part.finding for part in assessment.verdict.parts), finding]
    verdict = decide(findings, assessment.policy.rules)
    return dataclasses.replace(assessment, verdict=verdict)
