"""The bounds managed requirements set on every lower layer, checked one by one.

Each check takes the layer that chose a value and the managed layer that bounds
it, and raises a PolicyError naming both files, the key, the value and what is
allowed.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import PurePosixPath
from typing import TypeVar

from corral.errors import PolicyError
from corral.policy._model import NetworkMode, SandboxMode
from corral.policy._schema import PolicyLayer

__all__ = [
    "check_accept_missing",
    "check_denied",
    "check_modes",
    "check_writable_roots",
    "names",
    "strictest",
]

_Mode = TypeVar("_Mode", SandboxMode, NetworkMode)


def names(values: Iterable[object]) -> str:
    """Render values for a message, in a stable order."""
    rendered = [repr(getattr(value, "value", value)) for value in values]
    return ", ".join(sorted(rendered)) or "nothing"


def strictest(modes: frozenset[_Mode]) -> _Mode:
    """Return the strictest of a non-empty set of modes of one kind."""
    return next(mode for mode in type(next(iter(modes))) if mode in modes)


def _outside(
    layer: PolicyLayer, key: str, value: object, bounds: PolicyLayer, bound: str
) -> PolicyError:
    return PolicyError(
        f"{layer.origin}: {key} = {value!r} is outside the managed requirements "
        f"({bounds.origin}: {bound}); choose within them, or ask the administrator "
        f"who owns {bounds.origin}"
    )


def check_modes(layer: PolicyLayer, bounds: PolicyLayer) -> None:
    """Refuse a sandbox or network mode the managed requirements do not allow."""
    sandbox, network = bounds.allowed_sandbox_modes, bounds.allowed_network_modes
    mode = layer.sandbox_mode
    if mode is not None and sandbox is not None and mode not in sandbox:
        bound = f"sandbox.allowed_modes = [{_ordered(sandbox)}]"
        raise _outside(layer, "sandbox.mode", mode.value, bounds, bound)
    reach = layer.network_mode
    if reach is not None and network is not None and reach not in network:
        bound = f"network.allowed_modes = [{_ordered(network)}]"
        raise _outside(layer, "network.mode", reach.value, bounds, bound)


def _ordered(modes: frozenset[_Mode]) -> str:
    kind = type(next(iter(modes)))
    return ", ".join(repr(mode.value) for mode in kind if mode in modes)


def check_accept_missing(layer: PolicyLayer, bounds: PolicyLayer) -> None:
    """Refuse accepting a missing layer the managed requirements do not allow."""
    allowed = bounds.accept_missing_allowed
    if allowed is None or layer.accept_missing is None:
        return
    refused = layer.accept_missing - allowed
    if refused:
        raise _outside(
            layer,
            "sandbox.accept_missing",
            sorted(layer.accept_missing),
            bounds,
            f"sandbox.accept_missing_allowed = [{names(allowed)}], "
            f"so {names(refused)} may not be accepted as missing",
        )


def check_denied(layer: PolicyLayer, bounds: PolicyLayer) -> None:
    """Refuse an allow-list entry that the managed requirements deny."""
    denied = [
        entry for entry in layer.network_allow or () if entry in bounds.network_deny
    ]
    if denied:
        raise _outside(
            layer,
            "network.allow",
            denied,
            bounds,
            f"network.deny lists {names(denied)}",
        )


def check_writable_roots(
    layer: PolicyLayer, bounds: PolicyLayer, environ: Mapping[str, str]
) -> None:
    """Refuse a writable root that lies beneath none of the managed prefixes.

    Both sides are compared after expanding ``~`` and resolving symbolic links
    as they are now.
    """
    prefixes = bounds.writable_roots_within
    if prefixes is None:
        return
    resolved = [_resolve(prefix, bounds, environ) for prefix in prefixes]
    for root in layer.writable_roots or ():
        path = _resolve(root, layer, environ)
        if not any(path.is_relative_to(prefix) for prefix in resolved):
            raise _outside(
                layer,
                "sandbox.writable_roots",
                root,
                bounds,
                f"sandbox.writable_roots_within = [{names(prefixes)}]",
            )


def _resolve(
    path: str, layer: PolicyLayer, environ: Mapping[str, str]
) -> PurePosixPath:
    if path == "~" or path.startswith("~/"):
        home = environ.get("HOME", "")
        if not home.startswith("/"):
            raise PolicyError(
                f"{layer.origin}: cannot expand {path!r} without an absolute HOME; "
                "set HOME or write the path in full"
            )
        path = home + path[1:]
    return PurePosixPath(os.path.realpath(path))
