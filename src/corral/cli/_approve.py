"""``corral approve``: a person approves a command an agent could not run without them.

A refused run names its request id.  ``corral approve ID`` shows that command
and asks the person to confirm on their terminal; the approval covers that
exact command, once (the default) or for the agent's session, or becomes a
rule in the user's policy (``--always``).  With no id it lists what waits.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import time
from pathlib import Path
from typing import Any

from corral._home import user_name
from corral._state import state_dir
from corral.approvals import Category, Decision, Finding, Part, Word, WordKind
from corral.approvals._always import always_rules, append_rules
from corral.approvals._store import ApprovalStore, Request, Scope
from corral.audit import record_event
from corral.cli._output import write_result
from corral.cli._prompt import confirm, describe_parts, person_present, printable
from corral.errors import ApprovalError, ExitCode
from corral.policy import user_policy_path

__all__ = ["add_parser", "approve", "record_answer"]


def add_parser(subparsers: Any) -> None:
    """Register ``corral approve``."""
    parser = subparsers.add_parser(
        "approve",
        help="approve a command that waits for a person",
        description="Approve the command that a refused run named by its request "
        "id; with no id, list the pending requests.",
    )
    scope = parser.add_mutually_exclusive_group()
    scope.add_argument(
        "--session",
        action="store_true",
        help="approve it for the rest of the agent's session, not just once",
    )
    scope.add_argument(
        "--always",
        action="store_true",
        help="add a rule to your policy that allows it from now on",
    )
    parser.add_argument(
        "--policy",
        metavar="FILE",
        type=Path,
        help="the user policy file that --always writes (default: yours)",
    )
    parser.add_argument(
        "--json", action="store_true", help="list pending requests as JSON"
    )
    parser.add_argument("request", nargs="?", metavar="ID", help="the request id")
    parser.set_defaults(handler=approve)


def approve(args: argparse.Namespace) -> int:
    """List pending requests, or approve the one named; return the exit status."""
    state = state_dir()
    store = ApprovalStore(state)
    if args.request is None:
        _list(store.pending(), as_json=args.json)
        return ExitCode.OK
    request = store.load_request(args.request)
    if not request.always_allowed and args.always:
        raise ApprovalError(
            "this command cannot be approved always (a weaker boundary, or a part "
            "whose words do not say all it does): approve it without --always"
        )
    if not person_present(no_input=False, environ=os.environ):
        raise ApprovalError(
            "corral approve asks a person to confirm on a terminal; run it in "
            "your own terminal, not from a script or an agent"
        )
    scope = (
        Scope.ALWAYS if args.always else Scope.SESSION if args.session else Scope.ONCE
    )
    if not confirm(_question(request, scope)):
        record_answer(state, "approval.declined", request, scope)
        write_result("not approved")
        return ExitCode.OK
    if scope is Scope.ALWAYS:
        path = args.policy or user_policy_path()
        append_rules(path, always_rules(_parts(request), approver=user_name()))
        store.drop_request(request.id)
        record_answer(state, "approval.granted", request, scope, rule_file=str(path))
        write_result(f"approved always: a rule was added to {path}")
    else:
        store.grant(request, scope, approver=user_name(), via="corral approve")
        record_answer(state, "approval.granted", request, scope)
        write_result(
            f"approved {scope}: {printable(shlex.join(request.argv))}; "
            "run the command again"
        )
    return ExitCode.OK


def record_answer(
    state: Path,
    event: str,
    request: Request,
    scope: Scope | None,
    *,
    via: str = "corral approve",
    **extra: object,
) -> None:
    """Record a person's answer: approvals are decisions, and decisions are events."""
    record_event(
        state,
        event,
        {
            "request": request.id,
            "fingerprint": request.fingerprint,
            "argv": request.argv,
            "cwd": request.cwd,
            "workspace": request.workspace,
            "boundary": request.boundary,
            "requested_by": request.requested_by,
            "parts": request.parts,
            "scope": None if scope is None else str(scope),
            "approver": user_name(),
            "via": via,
            **extra,
        },
    )


def _question(request: Request, scope: Scope) -> str:
    span = {
        Scope.ONCE: "once",
        Scope.SESSION: "for the rest of the agent's session",
        Scope.ALWAYS: "always (a rule in your policy)",
    }[scope]
    lines = [
        f"corral: {printable(request.requested_by)} asked to run, in "
        f"{printable(request.cwd)}:",
        f"  {printable(shlex.join(request.argv))}",
        f"  with sandbox {printable(str(request.boundary.get('sandbox')))}, "
        f"network {printable(str(request.boundary.get('network')))}",
        *describe_parts(_parts(request)),
        f"corral: approve it {span}? [y/N]: ",
    ]
    return "\n".join(lines)


def _parts(request: Request) -> list[Part]:
    """Rebuild the parts a request recorded, for showing and for rules."""
    parts = []
    for data in request.parts:
        try:
            kind = WordKind.LITERAL if data["literal"] else WordKind.DYNAMIC
            words = tuple(Word(str(text), kind) for text in data["argv"])  # type: ignore[attr-defined]
            finding = Finding(
                argv=words,
                category=Category(str(data["category"])),
                reason=str(data["reason"]),
            )
            parts.append(
                Part(
                    finding=finding,
                    decision=Decision(str(data["decision"])),
                    rule=str(data["rule"]),
                    reason=str(data["reason"]),
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ApprovalError(
                f"request {request.id} is not one this corral wrote ({exc}); "
                "run the command again to ask anew"
            ) from exc
    return parts


def _list(requests: list[Request], *, as_json: bool) -> None:
    if as_json:
        shown = [
            {
                "id": r.id,
                "argv": r.argv,
                "cwd": r.cwd,
                "workspace": r.workspace,
                "boundary": r.boundary,
                "requested_by": r.requested_by,
                "age_seconds": round(time.time() - r.created),
                "parts": r.parts,
            }
            for r in requests
        ]
        write_result(json.dumps({"requests": shown}, sort_keys=True))
        return
    if not requests:
        write_result("no pending requests")
        return
    for request in requests:
        age = round((time.time() - request.created) / 60)
        write_result(
            f"{request.id}  {age} min ago  {printable(request.cwd)}\n"
            f"  {printable(shlex.join(request.argv))}\n"
            + "\n".join(describe_parts(_parts(request)))
        )
