"""Between the decision and the run: refuse, ask a person, or let the command through.

Forbidden commands are refused.  A command that needs approval runs when a
person approved it before (``corral approve``, or "session" at an earlier
question), when the person at the terminal says so now, and otherwise is
refused with the exact way to approve it.  Every outcome is an event.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Mapping
from pathlib import Path

from corral._git_head import git_head
from corral._home import user_name
from corral._session import cause_of, session_id
from corral.approvals import Decision, Part
from corral.approvals._always import always_rules, append_rules
from corral.approvals._gate import Assessment, part_to_json
from corral.approvals._store import (
    REQUEST_ID_LENGTH,
    Approval,
    ApprovalStore,
    Request,
    Scope,
)
from corral.audit import record_event
from corral.cli._approve import record_answer
from corral.cli._prompt import ask, person_present
from corral.errors import CommandRefusedError

__all__ = ["admit", "record_assessment"]


def record_assessment(
    state: Path, assessment: Assessment, run_id: str, *, environ: Mapping[str, str]
) -> None:
    """Record what was asked (``command.requested``) and how it was classified."""
    verdict = assessment.verdict
    record_event(
        state,
        "command.requested",
        {
            "run": run_id,
            "argv": list(assessment.argv),
            "cwd": str(assessment.cwd),
            "workspace": str(assessment.workspace),
            "git_head": git_head(assessment.workspace),
            "parts": [
                {
                    "argv": [word.text for word in part.finding.argv],
                    "literal": all(word.is_literal for word in part.finding.argv),
                }
                for part in verdict.parts
            ],
            "cause": cause_of(environ),
        },
    )
    deciding = verdict.deciding[0] if verdict.deciding else None
    record_event(
        state,
        "command.decided",
        {
            "run": run_id,
            "argv": list(assessment.argv),
            "decision": str(assessment.decision),
            "category": None if deciding is None else str(deciding.finding.category),
            "rule": None if deciding is None else deciding.rule,
            "reason": None if deciding is None else deciding.reason,
            "parts": [part_to_json(p) for p in verdict.parts],
            "fingerprint": assessment.fingerprint,
        },
    )


def admit(
    assessment: Assessment,
    *,
    run_id: str,
    state: Path,
    user_policy: Path,
    no_input: bool,
    environ: Mapping[str, str],
) -> dict[str, object]:
    """Return the event fields that say why the command may run.

    An "always" answer at the terminal adds its rules to `user_policy`, the
    person's own policy file (never one named on the command line).
    Raises CommandRefusedError (exit 126), after recording the refusal, when
    policy forbids the command or it needs an approval nobody gave.
    """
    decision_fields: dict[str, object] = {
        "decision": str(assessment.decision),
        "parts": [part_to_json(p) for p in assessment.verdict.parts],
        "fingerprint": assessment.fingerprint,
    }
    if assessment.decision is Decision.ALLOW:
        return {**decision_fields, "approval": {"by": "policy"}}

    command = shlex.join(assessment.argv)
    deciding = assessment.verdict.deciding
    if assessment.decision is Decision.FORBID:
        _refuse(state, assessment, run_id, decision_fields, "forbidden by policy")
        raise CommandRefusedError(
            _forbidden_message(command, deciding), decision_fields
        )

    store = ApprovalStore(state)
    session = session_id(environ)
    approval = store.take(assessment.fingerprint, session)
    if approval is None and person_present(no_input=no_input, environ=environ):
        request = _request(assessment, session)
        _record_asked(state, run_id, request, via="terminal")
        approval = _ask_person(
            assessment, store, request, user_policy=user_policy, state=state, run=run_id
        )
        if approval is None:
            _refuse(
                state,
                assessment,
                run_id,
                decision_fields,
                "declined by the person asked",
            )
            raise CommandRefusedError(
                f"not run: {command}: declined at the terminal", decision_fields
            )
    if approval is None:
        request = _request(assessment, session)
        store.save_request(request)
        _record_asked(state, run_id, request, via="corral approve")
        fields: dict[str, object] = {**decision_fields, "request": request.id}
        _refuse(state, assessment, run_id, fields, "needs approval; nobody was asked")
        raise CommandRefusedError(_approval_message(command, deciding, request), fields)
    return {**decision_fields, "approval": {"by": "person", **approval.to_json()}}


def _ask_person(
    assessment: Assessment,
    store: ApprovalStore,
    request: Request,
    *,
    user_policy: Path,
    state: Path,
    run: str,
) -> Approval | None:
    deciding = assessment.verdict.deciding
    scope = ask(shlex.join(request.argv), deciding, always=assessment.always_allowed)
    if scope is None:
        record_answer(
            state, "approval.declined", request, None, via="terminal", run=run
        )
        return None
    approver = user_name()
    extra: dict[str, object] = {"run": run}
    if scope is Scope.ALWAYS:
        append_rules(user_policy, always_rules(deciding, approver=approver))
        extra["rule_file"] = str(user_policy)
    record_answer(state, "approval.granted", request, scope, via="terminal", **extra)
    if scope is Scope.SESSION:
        return store.grant(request, scope, approver=approver, via="terminal")
    # Spent on this run at once, never stored: it lapses as it is given.
    now = time.time()
    return Approval(
        fingerprint=assessment.fingerprint,
        scope=scope,
        session=request.session,
        approver=approver,
        via="terminal",
        granted=now,
        expires=now,
    )


def _record_asked(state: Path, run_id: str, request: Request, *, via: str) -> None:
    scopes = ["once", "session", *(["always"] if request.always_allowed else [])]
    record_event(
        state,
        "approval.asked",
        {
            "run": run_id,
            "request": request.id,
            "fingerprint": request.fingerprint,
            "argv": request.argv,
            "via": via,
            "scopes": scopes,
        },
    )


def _request(assessment: Assessment, session: str) -> Request:
    return Request(
        id=assessment.fingerprint[:REQUEST_ID_LENGTH],
        fingerprint=assessment.fingerprint,
        workspace=str(assessment.workspace),
        cwd=str(assessment.cwd),
        argv=list(assessment.argv),
        boundary=dict(assessment.boundary),
        session=session,
        requested_by=user_name(),
        created=time.time(),
        parts=[part_to_json(p) for p in assessment.verdict.deciding],
        always_allowed=assessment.always_allowed,
    )


def _refuse(
    state: Path,
    assessment: Assessment,
    run_id: str,
    fields: Mapping[str, object],
    why: str,
) -> None:
    record_event(
        state,
        "command.refused",
        {
            "run": run_id,
            "argv": list(assessment.argv),
            "cwd": str(assessment.cwd),
            "workspace": str(assessment.workspace),
            "boundary": dict(assessment.boundary),
            "refused": why,
            **fields,
        },
    )


def _forbidden_message(command: str, deciding: tuple[Part, ...]) -> str:
    reasons = "; ".join(f"{p.reason} ({p.rule})" for p in deciding)
    return f"refused: {command}: {reasons}"


def _approval_message(
    command: str, deciding: tuple[Part, ...], request: Request
) -> str:
    reasons = "; ".join(
        f"{p.finding.category}: {p.reason} ({p.rule})" for p in deciding
    )
    scopes = "--session | --always" if request.always_allowed else "--session"
    return (
        f"needs approval: {command}: {reasons}; to approve it, a person runs in "
        f"their own terminal: corral approve {request.id} (or with {scopes}), "
        "then the command is run again"
    )
