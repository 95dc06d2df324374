"""The policy as JSON and its digest: a stable identity for the effective values."""

from __future__ import annotations

import dataclasses
import json

from corral.policy import NetworkMode, Policy, policy_digest, policy_to_json
from corral.policy._merge import merge_layers


def defaults() -> Policy:
    return merge_layers(None, None, None, None, environ={})


def test_digest_is_stable_across_calls_and_origins() -> None:
    policy = defaults()
    elsewhere = dataclasses.replace(
        policy, origins={"sandbox.mode": "/x"}, sources=("/x",)
    )

    assert policy_digest(policy) == policy_digest(defaults())
    assert policy_digest(policy) == policy_digest(elsewhere)
    assert policy_digest(policy).startswith("sha256:")
    assert len(policy_digest(policy)) == len("sha256:") + 64


def test_digest_changes_with_any_value() -> None:
    policy = defaults()
    changed = [
        dataclasses.replace(policy, network_mode=NetworkMode.ONLINE),
        dataclasses.replace(policy, timeout=1.0),
        dataclasses.replace(policy, env_set={"A": "1"}),
        dataclasses.replace(policy, protected_paths=policy.protected_paths[1:]),
        dataclasses.replace(policy, audit_redact=("x+",)),
        dataclasses.replace(policy, audit_endpoint="http://127.0.0.1:4318"),
    ]

    digests = {policy_digest(p) for p in [policy, *changed]}

    assert len(digests) == 1 + len(changed)


def test_json_has_the_documented_shape() -> None:
    policy = defaults()

    document = policy_to_json(policy)

    assert set(document) == {"policy", "origins", "sources", "digest"}
    values = document["policy"]
    assert isinstance(values, dict)
    assert set(values) == {
        "sandbox",
        "network",
        "env",
        "audit",
        "audit.export",
        "rules",
    }
    assert set(values["sandbox"]) == {
        "mode",
        "writable_roots",
        "protected_paths",
        "hidden_paths",
        "accept_missing",
        "timeout",
    }
    assert set(values["network"]) == {
        "mode",
        "allow",
        "deny",
        "presets",
        "refuse_private",
        "unknown",
        "hosts",
    }
    assert set(values["env"]) == {"pass", "secret_patterns", "set"}
    assert values["audit"] == {"redact": [], "rotate_bytes": 32 << 20}
    assert values["audit.export"] == {"endpoint": None, "timeout": 10.0}
    assert values["sandbox"]["mode"] == "workspace-write"
    assert values["sandbox"]["timeout"] is None
    assert values["rules"] == []
    assert document["origins"] == dict(policy.origins)
    assert document["sources"] == []
    assert document["digest"] == policy_digest(policy)
    assert json.loads(json.dumps(document)) == document
