"""Requests for a weaker boundary: what a run asks for beyond the person's own policy.

Options on the command line (``--sandbox full-access``, ``--network online``)
and a policy file named there are requests, not settings: whatever they make
looser than the policy the person set up is an ``escalation`` part, which
only a person can approve, for the exact command shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from corral.approvals._decide import decide
from corral.approvals._model import Category, Finding, Verdict, Word, strictest
from corral.policy import NetworkMode, Policy, SandboxMode
from corral.policy._render import policy_values

__all__ = ["looser_keys", "mode_escalations", "named_policy_escalation"]

# What a policy file named on the command line may set unlike the person's
# own with nobody asked: the two modes are weighed on their own (`assess`),
# and the time limit bounds a run, not what it may touch.
_WEIGHED_APART = frozenset({"sandbox.mode", "network.mode", "sandbox.timeout"})
# Switches a stricter policy turns on.
_TRUE_IS_STRICTER = frozenset({"network.refuse_private"})
# Lists that a stricter policy makes longer; every other list it makes shorter.
_LONGER_IS_STRICTER = frozenset(
    {
        "sandbox.protected_paths",
        "sandbox.hidden_paths",
        "network.deny",
        "env.secret_patterns",
    }
)


def mode_escalations(
    argv: Sequence[str], policy: Policy, filed: Policy
) -> list[Finding]:
    """One part for each mode `policy` makes weaker than the `filed` one."""
    words = tuple(Word(arg) for arg in argv)
    asked = []
    modes = list(SandboxMode)
    if modes.index(policy.sandbox_mode) > modes.index(filed.sandbox_mode):
        asked.append(
            f"sandbox mode {policy.sandbox_mode} instead of {filed.sandbox_mode}"
        )
    networks = list(NetworkMode)
    if networks.index(policy.network_mode) > networks.index(filed.network_mode):
        asked.append(
            f"network mode {policy.network_mode} instead of {filed.network_mode}"
        )
    return [
        Finding(
            argv=words,
            category=Category.ESCALATION,
            reason=f"the command line asks for {what} (by an option or a policy "
            "file it names), which only a person can approve, for this exact "
            "command",
        )
        for what in asked
    ]


def looser_keys(verdict: Verdict, named: Policy, own: Policy) -> list[str]:
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
            if name in _TRUE_IS_STRICTER and value is True:
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


def named_policy_escalation(
    argv: Sequence[str], path: Path, keys: Sequence[str]
) -> Finding:
    """The part that asks a person for what the named policy file loosens."""
    return Finding(
        argv=tuple(Word(arg) for arg in argv),
        category=Category.ESCALATION,
        reason=f"the command line names the policy file {path}, which sets "
        f"{', '.join(keys)} looser than your own policy; only a person can "
        "approve that, for this exact command",
    )
