"""corral: a governed, kernel-enforced boundary for the shell commands of AI agents.

The public API is re-exported here and loaded on first use, so that importing
`corral` (and the enforcer that runs inside every sandbox) stays cheap.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from corral.approvals import Assessment, Decision, assess
    from corral.audit import record_agent_event
    from corral.errors import (
        ApprovalError,
        CommandRefusedError,
        CorralError,
        ExitCode,
        LayerUnavailableError,
        PolicyError,
        SandboxSetupError,
        WorkspaceError,
    )
    from corral.policy import NetworkMode, Policy, SandboxMode, load_policy
    from corral.sandbox import Layer, RunResult, Sandbox

__version__ = "0.1.0"

_LAZY = {
    "Assessment": "corral.approvals",
    "Decision": "corral.approvals",
    "assess": "corral.approvals",
    "record_agent_event": "corral.audit",
    "ApprovalError": "corral.errors",
    "CommandRefusedError": "corral.errors",
    "CorralError": "corral.errors",
    "ExitCode": "corral.errors",
    "LayerUnavailableError": "corral.errors",
    "PolicyError": "corral.errors",
    "SandboxSetupError": "corral.errors",
    "WorkspaceError": "corral.errors",
    "NetworkMode": "corral.policy",
    "Policy": "corral.policy",
    "SandboxMode": "corral.policy",
    "load_policy": "corral.policy",
    "Layer": "corral.sandbox",
    "RunResult": "corral.sandbox",
    "Sandbox": "corral.sandbox",
}

__all__ = [
    "ApprovalError",
    "Assessment",
    "CommandRefusedError",
    "CorralError",
    "Decision",
    "ExitCode",
    "Layer",
    "LayerUnavailableError",
    "NetworkMode",
    "Policy",
    "PolicyError",
    "RunResult",
    "Sandbox",
    "SandboxMode",
    "SandboxSetupError",
    "WorkspaceError",
    "assess",
    "load_policy",
    "record_agent_event",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    # Imported here, not at the top: the enforcer imports this package and never
    # needs importlib.
    import importlib  # noqa: PLC0415

    return getattr(importlib.import_module(module), name)
