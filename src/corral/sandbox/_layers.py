"""The independent layers of the boundary, as corral names them everywhere.

Each layer holds its own share of the boundary and can be reported, required
or (by explicit policy) accepted as missing on its own.
"""

from __future__ import annotations

import enum

__all__ = ["ALL_LAYERS", "Layer"]


class Layer(enum.StrEnum):
    """One kernel-enforced layer of the sandbox."""

    NAMESPACES = "namespaces"
    """User, mount, pid, ipc and uts namespaces (bubblewrap): the filesystem view."""
    LANDLOCK = "landlock"
    """Writes only beneath the writable roots, whatever the mount table says."""
    SECCOMP = "seccomp"
    """The system-call filter."""
    NETWORK = "network"
    """An empty network namespace: no route anywhere, not even the host's loopback."""
    IDENTITY = "identity"
    """no_new_privs and no capabilities: a setuid binary or root shell gains nothing."""


ALL_LAYERS: frozenset[Layer] = frozenset(Layer)
