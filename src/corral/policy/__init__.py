"""Policy: three layers of files merged strictest-wins, with each value's origin."""

from __future__ import annotations

from corral.policy._load import (
    PROJECT_POLICY_NAME,
    REQUIREMENTS_PATH,
    load_policy,
    project_policy_path,
    user_policy_path,
)
from corral.policy._model import (
    LayerKind,
    NetworkMode,
    Policy,
    SandboxMode,
    UnknownDestinations,
    stricter_of,
)
from corral.policy._render import policy_digest, policy_to_json

__all__ = [
    "PROJECT_POLICY_NAME",
    "REQUIREMENTS_PATH",
    "LayerKind",
    "NetworkMode",
    "Policy",
    "SandboxMode",
    "UnknownDestinations",
    "load_policy",
    "policy_digest",
    "policy_to_json",
    "project_policy_path",
    "stricter_of",
    "user_policy_path",
]
