"""A command that needs a person: an approval given before, one asked for now, or a
request left for ``corral approve``.

Only a command the policy neither allows nor forbids comes here, so a run the
policy allows loads none of the approval store, the prompt or the rule writer.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Mapping
from pathlib import Path

from corral._home import user_name
from corral._session import session_id
from corral.approvals import Part
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
from corral.cli._admit import refuse
from corral.cli._approve import record_answer
from corral.cli._prompt import ask, person_present
from corral.errors import CommandRefusedError

__all__ = ["await_person"]


def await_person(
    assessment: Assessment,
    *,
    run_id: str,
    state: Path,
    user_policy: Path,
    no_input: bool,
    environ: Mapping[str, str],
    decision_fields: dict[str, object],
) -> dict[str, object]:
    """Return the event fields that say who approved the command.

    `decision_fields` are those `corral.cli._admit.admit` records for the
    decision.  Raises CommandRefusedError, after recording the refusal, when
    nobody approved it.
    """
    command = shlex.join(assessment.argv)
    deciding = assessment.verdict.deciding
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
            refuse(
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
        refuse(state, assessment, run_id, fields, "needs approval; nobody was asked")
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
