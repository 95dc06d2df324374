"""Between the decision and the run: refuse, ask a person, or let the command through.

Forbidden commands are refused.  A command that needs approval runs when a
person approved it before (``corral approve``, or "session" at an earlier
question), when the person at the terminal says so now, and otherwise is
refused with the exact way to approve it (`corral.cli._approval`).  Every
outcome is an event.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from pathlib import Path

from corral._git_head import git_head
from corral._session import cause_of
from corral.approvals import Decision, Part
from corral.approvals._gate import Assessment, part_to_json
from corral.audit import record_event
from corral.errors import CommandRefusedError

__all__ = ["admit", "record_assessment", "refuse"]


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
        refuse(state, assessment, run_id, decision_fields, "forbidden by policy")
        raise CommandRefusedError(
            _forbidden_message(command, deciding), decision_fields
        )

    # Imported here: a command the policy allows never waits for anyone.
    from corral.cli._approval import await_person  # noqa: PLC0415

    return await_person(
        assessment,
        run_id=run_id,
        state=state,
        user_policy=user_policy,
        no_input=no_input,
        environ=environ,
        decision_fields=decision_fields,
    )


def refuse(
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
