"""The sandbox: turn a policy and a workspace into a kernel-enforced boundary.

Names are loaded on first use, so that the in-sandbox enforcer, which imports
only the kernel-layer modules of this package, starts without the rest.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from corral.sandbox._layers import ALL_LAYERS, Layer

__all__ = ["ALL_LAYERS", "Layer"]

_LAZY = {
    "ALL_LAYERS": "corral.sandbox._layers",
    "Layer": "corral.sandbox._layers",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
