"""The gate in front of every run: what the command does, and what policy says of it.

`assess` classifies the command, adds the request for a weaker boundary when
the command line asks for one, applies the policy's rules, and names exactly
what would run (its fingerprint), so that an approval covers that and nothing
else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from corral._digest import sha256_hex
from corral.approvals._classify import classify_argv
from corral.approvals._context import Context, make_context
from corral.approvals._decide import decide
from corral.approvals._escalation import (
    looser_keys,
    mode_escalations,
    named_policy_escalation,
)
from corral.approvals._fingerprint import fingerprint
from corral.approvals._model import (
    Decision,
    Part,
    Verdict,
)
from corral.policy import Policy, policy_digest

__all__ = ["Assessment", "assess", "part_to_json"]

# Script files larger than this are digested by their first bytes and size:
# enough to notice an edit, without reading a huge file on every command.
_SCRIPT_DIGEST_LIMIT = 4 << 20


@dataclass(frozen=True)
class Assessment:
    """A command, the decision for it, and the fingerprint an approval must match."""

    argv: tuple[str, ...]
    workspace: Path
    cwd: Path
    policy: Policy
    """The policy the command was assessed under, and would run under."""
    verdict: Verdict
    boundary: Mapping[str, str]
    """The sandbox and network modes the run would have."""
    fingerprint: str

    @property
    def decision(self) -> Decision:
        """The command's decision: the strictest of its parts'."""
        return self.verdict.decision

    @property
    def always_allowed(self) -> bool:
        """Whether an "always" answer may turn the deciding parts into rules."""
        # Imported here: only a command that waits for a person is asked this.
        from corral.approvals._always import can_always  # noqa: PLC0415

        return can_always(self.verdict.deciding)

    @property
    def git_write(self) -> bool:
        """Whether a part that writes the repository is allowed or approvable."""
        return any(
            p.finding.git_write and p.decision is not Decision.FORBID
            for p in self.verdict.parts
        )

    def to_json(self) -> dict[str, object]:
        """The assessment as ``corral check --json`` prints it and events record it."""
        return {
            "decision": str(self.decision),
            "parts": [part_to_json(part) for part in self.verdict.parts],
            "boundary": dict(self.boundary),
            "fingerprint": self.fingerprint,
        }


def assess(
    argv: Sequence[str],
    *,
    workspace: Path,
    cwd: Path,
    policy: Policy,
    policy_as_filed: Policy,
    environ: Mapping[str, str],
    context: Context | None = None,
    named_policy: Path | None = None,
) -> Assessment:
    """Classify `argv` as it would run under `policy`, and decide it.

    `policy_as_filed` is the policy as the person set it up (their own policy
    file, no command-line options): a run that asks for a weaker boundary
    than it gives is a decision of its own.  A
    long-lived caller passes the `context` it made once for this workspace,
    directory and policy (`make_context`), and saves resolving it again.
    `named_policy` is the policy file named on the command line, if any:
    whatever it sets looser than `policy_as_filed` needs a person too.
    """
    if context is None:
        context = make_context(policy, workspace, cwd, environ)
    findings = [*classify_argv(argv, context)]
    findings.extend(mode_escalations(argv, policy, policy_as_filed))
    verdict = decide(findings, policy.rules)
    if named_policy is not None:
        looser = looser_keys(verdict, policy, policy_as_filed)
        if looser:
            findings.append(named_policy_escalation(argv, named_policy, looser))
            verdict = decide(findings, policy.rules)
    boundary = {
        "sandbox": str(policy.sandbox_mode),
        "network": str(policy.network_mode),
    }
    return Assessment(
        argv=tuple(argv),
        workspace=workspace,
        cwd=cwd,
        policy=policy,
        verdict=verdict,
        boundary=boundary,
        fingerprint=fingerprint(
            workspace=workspace,
            cwd=cwd,
            argv=argv,
            # The whole policy, not just the two modes a person is shown: an
            # approval does not carry over to other writable roots or rules.
            boundary={**boundary, "policy": policy_digest(policy)},
            scripts=_script_digests(workspace, verdict.parts),
        ),
    )


def part_to_json(part: Part) -> dict[str, object]:
    """One part as ``corral check --json`` prints it."""
    return {
        "argv": [word.text for word in part.finding.argv],
        "literal": all(word.is_literal for word in part.finding.argv),
        "category": str(part.finding.category),
        "decision": str(part.decision),
        "rule": part.rule,
        "reason": part.reason,
        "scripts": list(part.finding.scripts),
    }


def _script_digests(workspace: Path, parts: Sequence[Part]) -> dict[str, str]:
    digests: dict[str, str] = {}
    for part in parts:
        for name in part.finding.scripts:
            if name not in digests:
                digests[name] = _digest(workspace / name)
    return digests


def _digest(path: Path) -> str:
    try:
        with path.open("rb") as stream:
            data = stream.read(_SCRIPT_DIGEST_LIMIT)
            size = stream.seek(0, 2)
    except OSError as exc:
        return f"unreadable: {exc.strerror}"
    return f"{sha256_hex(data)}:{size}"
