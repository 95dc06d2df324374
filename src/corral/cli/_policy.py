"""``corral policy``: show the effective policy and where each value came from.

Human output is one aligned line per key, ``key  value  (origin)``, then one
``rule  DECISION MATCH: REASON  (FILE: rules[N])`` line per command rule in
merge order; with ``--json`` stdout is the object of
`corral.policy.policy_to_json`: ``{"policy": {..., "rules": [...]}, "origins":
{...}, "sources": [...], "digest": "sha256:..."}``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from corral._workspace import resolve_workspace
from corral.cli._options import add_policy_options, policy_overrides
from corral.errors import ExitCode
from corral.policy import (
    Policy,
    load_policy,
    policy_digest,
    policy_to_json,
)
from corral.policy._render import policy_values
from corral.policy._rules import Rule

__all__ = ["add_parser", "format_policy", "run"]


def add_parser(subparsers: Any) -> None:
    """Register ``corral policy``."""
    parser = subparsers.add_parser(
        "policy",
        help="show the effective policy and where each value came from",
        description="Show the effective policy for a workspace: the managed "
        "requirements, your policy and the project's, merged strictest-wins.",
    )
    add_policy_options(parser, preview=True)
    parser.add_argument(
        "--json", action="store_true", help="print the policy as one JSON object"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print the effective policy; raises CorralError for a bad policy or workspace."""
    workspace = resolve_workspace(args.directory)
    policy = load_policy(
        workspace, user_policy=args.policy, overrides=policy_overrides(args)
    )

    if args.json:
        json.dump(policy_to_json(policy), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(format_policy(policy, workspace))
    return ExitCode.OK


def format_policy(policy: Policy, workspace: Path) -> str:
    """Render the policy as aligned ``key  value  (origin)`` lines."""
    rows = [("workspace", str(workspace), "")]
    for table, values in policy_values(policy).items():
        for key, value in values.items():
            dotted = f"{table}.{key}"
            rows.append((dotted, _show(value), f"({policy.origins[dotted]})"))
    rows.extend(_rule_rows(policy.rules))
    rows.append(("sources", ", ".join(policy.sources) or "none", ""))
    rows.append(("digest", policy_digest(policy), ""))

    width = max(len(key) for key, _, _ in rows)
    lines = [
        f"{key:<{width}}  {value}  {origin}".rstrip() for key, value, origin in rows
    ]
    return "\n".join(lines) + "\n"


def _rule_rows(rules: tuple[Rule, ...]) -> Iterator[tuple[str, str, str]]:
    if not rules:
        yield ("rules", "none", "(built-in)")
    for rule in rules:
        matched = []
        if rule.program is not None:
            matched.append(" ".join(map(_word, (rule.program, *rule.args))))
            if rule.exact:
                matched[-1] += " (exactly)"
        if rule.category is not None:
            matched.append(f"category {rule.category}")
        shown = f"{rule.decision} {', '.join(matched)}: {rule.reason}"
        yield ("rule", shown, f"({rule.origin})")


def _word(text: str) -> str:
    """A program or pattern as written, quoted when blank or not plain text."""
    if text and all(
        c.isprintable() and not c.isspace() and c not in "\"'\\" for c in text
    ):
        return text
    return json.dumps(text)


def _show(value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"  # as a policy file writes it
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "none"
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items()) or "none"
    if isinstance(value, float):
        return f"{value:g} s"
    return str(value)
