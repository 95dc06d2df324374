"""The effective policy as JSON, and its digest.

`policy_to_json` is the documented shape that ``corral policy --json`` prints;
`policy_digest` identifies the effective values, so that an event can name the
policy it ran under.
"""

from __future__ import annotations

import json

from corral._digest import sha256_hex
from corral.policy._model import Policy

__all__ = ["policy_digest", "policy_to_json", "policy_values", "rule_values"]


def policy_values(policy: Policy) -> dict[str, dict[str, object]]:
    """Return the effective values, by table and key as in a policy file.

    A sub-table is a table of its own, named as its header is written:
    ``audit.export`` holds the keys of ``[audit.export]``.
    """
    return {
        "sandbox": {
            "mode": policy.sandbox_mode.value,
            "writable_roots": list(policy.writable_roots),
            "protected_paths": list(policy.protected_paths),
            "hidden_paths": list(policy.hidden_paths),
            "accept_missing": sorted(policy.accept_missing),
            "timeout": policy.timeout,
        },
        "network": {
            "mode": policy.network_mode.value,
            "allow": list(policy.network_allow),
            "deny": list(policy.network_deny),
            "presets": list(policy.network_presets),
            "refuse_private": policy.network_refuse_private,
            "unknown": policy.network_unknown.value,
            "hosts": dict(sorted(policy.network_hosts.items())),
        },
        "env": {
            "pass": list(policy.env_pass),
            "secret_patterns": list(policy.env_secret_patterns),
            "set": dict(sorted(policy.env_set.items())),
        },
        "audit": {
            "redact": list(policy.audit_redact),
            "rotate_bytes": policy.audit_rotate_bytes,
        },
        "audit.export": {
            "endpoint": policy.audit_endpoint,
            "timeout": policy.audit_export_timeout,
        },
    }


def rule_values(policy: Policy, *, origins: bool = True) -> list[dict[str, object]]:
    """Return the command rules in merge order, each as its keys in a policy file.

    Each also names its ``layer`` (``managed``, ``user``, ``project``), which
    decides how it combines with the others, and, unless `origins` is false,
    its ``origin`` (``FILE: rules[N]``); a key the rule leaves out is null.
    """
    rules: list[dict[str, object]] = []
    for rule in policy.rules:
        values: dict[str, object] = {
            "program": rule.program,
            "args": list(rule.args),
            "exact": rule.exact,
            "category": None if rule.category is None else rule.category.value,
            "decision": rule.decision.value,
            "reason": rule.reason,
            "layer": rule.layer.name.lower(),
        }
        if origins:
            values["origin"] = rule.origin
        rules.append(values)
    return rules


def policy_digest(policy: Policy) -> str:
    """Return ``sha256:<hex>`` over the canonical JSON of the effective values.

    Origins and sources are left out: the same values read from other files
    give the same digest.  The rules are in, with their layer and order.
    """
    values = {**policy_values(policy), "rules": rule_values(policy, origins=False)}
    canonical = json.dumps(
        values, sort_keys=True, separators=(",", ":"), ensure_ascii=True
    )
    return "sha256:" + sha256_hex(canonical.encode("ascii"))


def policy_to_json(policy: Policy) -> dict[str, object]:
    """Return the policy in the shape ``corral policy --json`` prints.

    ``{"policy": {"sandbox": {...}, "network": {...}, "env": {...},
    "audit": {...}, "audit.export": {...}, "rules": [{...}, ...]}, "origins":
    {"sandbox.mode": "built-in", ...}, "sources": [paths...], "digest":
    "sha256:..."}``; list values keep merge order, ``sandbox.timeout`` and
    ``audit.export.endpoint`` are null when there is none, and each rule is
    as `rule_values` describes it, with its origin.
    """
    return {
        "policy": {**policy_values(policy), "rules": rule_values(policy)},
        "origins": dict(policy.origins),
        "sources": list(policy.sources),
        "digest": policy_digest(policy),
    }
