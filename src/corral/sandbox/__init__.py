"""The sandbox: turn a policy and a workspace into a kernel-enforced boundary.

Names are loaded on first use, so that the in-sandbox enforcer, which imports
only the kernel-layer modules of this package, starts without the rest.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from corral.sandbox._availability import LayerStatus, probe_layers
    from corral.sandbox._layers import ALL_LAYERS, Layer
    from corral.sandbox._profile import SandboxProfile
    from corral.sandbox._refusals import Refusal
    from corral.sandbox._result import RunResult
    from corral.sandbox._sandbox import Sandbox
    from corral.sandbox._support import find_tools

_LAZY = {
    "ALL_LAYERS": "corral.sandbox._layers",
    "Layer": "corral.sandbox._layers",
    "LayerStatus": "corral.sandbox._availability",
    "probe_layers": "corral.sandbox._availability",
    "Refusal": "corral.sandbox._refusals",
    "RunResult": "corral.sandbox._result",
    "Sandbox": "corral.sandbox._sandbox",
    "SandboxProfile": "corral.sandbox._profile",
    "find_tools": "corral.sandbox._support",
}

__all__ = [
    "ALL_LAYERS",
    "Layer",
    "LayerStatus",
    "Refusal",
    "RunResult",
    "Sandbox",
    "SandboxProfile",
    "find_tools",
    "probe_layers",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    # Imported here, not at the top: the enforcer imports this package and never
    # needs importlib.
    import importlib  # noqa: PLC0415

    return getattr(importlib.import_module(module), name)
