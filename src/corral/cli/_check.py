"""``corral check``: the decision for a command, without running it.

It prints the decision, then each part with its category, decision, rule and
reason.  The exit status is the decision: 0 allow, 3 needs a person's
approval, 126 forbidden.  With ``--json`` it prints one object (see
`corral.approvals._gate.Assessment.to_json`); other harnesses call this from
their hooks.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
from typing import Any

from corral._workspace import resolve_workspace
from corral.approvals import Decision
from corral.approvals._gate import Assessment, assess
from corral.cli._options import (
    add_command,
    add_policy_options,
    command_of,
    policy_overrides,
)
from corral.cli._output import say, write_result
from corral.cli._prompt import describe_parts
from corral.errors import ExitCode
from corral.policy import load_policy

__all__ = ["add_parser", "assess_command", "check"]

_EXIT_STATUS = {
    Decision.ALLOW: ExitCode.OK,
    Decision.PROMPT: ExitCode.NEEDS_APPROVAL,
    Decision.FORBID: ExitCode.REFUSED,
}


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
    add_command(parser)
    parser.set_defaults(handler=check)


def check(args: argparse.Namespace) -> int:
    """Print the decision for the command named on the command line."""
    command = command_of(args)
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
    return assess(
        command,
        workspace=workspace,
        cwd=args.directory.resolve(),
        policy=policy,
        policy_as_filed=filed,
        environ=os.environ,
        named_policy=args.policy,
    )
