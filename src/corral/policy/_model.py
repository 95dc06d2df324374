"""The effective policy: what a command may touch, and where each value came from.

A `Policy` is the result of merging the built-in defaults, the managed
requirements, the user's policy and the project's policy (see `_load`).  It is
immutable; `origins` maps every dotted key to the place that set it.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from corral.policy._defaults import DEFAULT_AUDIT_ROTATE_BYTES, DEFAULT_EXPORT_TIMEOUT

if TYPE_CHECKING:
    # Only a type here: `_rules` imports `LayerKind` from this module.
    from corral.policy._rules import Rule

__all__ = [
    "LayerKind",
    "NetworkMode",
    "Policy",
    "SandboxMode",
    "UnknownDestinations",
    "stricter_of",
]


class SandboxMode(enum.StrEnum):
    """How much of the filesystem a command may write, strictest first."""

    READ_ONLY = "read-only"
    WORKSPACE_WRITE = "workspace-write"
    FULL_ACCESS = "full-access"


class NetworkMode(enum.StrEnum):
    """What network a command may reach, strictest first."""

    OFFLINE = "offline"
    ALLOW_LIST = "allow-list"
    ONLINE = "online"


class UnknownDestinations(enum.StrEnum):
    """What allow-list mode does with a destination no entry names, strictest first."""

    REFUSE = "refuse"
    ASK = "ask"
    """Hold the connection and ask a person, when one is present; else refuse."""


class LayerKind(enum.Enum):
    """Where a layer of policy comes from, which decides what it may set."""

    MANAGED = "managed requirements"
    USER = "user policy"
    PROJECT = "project policy"
    COMMAND_LINE = "command line"


_Mode = TypeVar("_Mode", SandboxMode, NetworkMode, UnknownDestinations)


def stricter_of(a: _Mode, b: _Mode) -> _Mode:
    """Return whichever of two modes of the same kind is stricter."""
    order = list(type(a))
    return a if order.index(a) <= order.index(b) else b


@dataclass(frozen=True)
class Policy:
    """The merged, validated policy in force for one workspace.

    Paths are kept as written (``~`` unexpanded, protected paths relative to the
    workspace); `corral.sandbox` resolves them against a real workspace.
    """

    sandbox_mode: SandboxMode = SandboxMode.WORKSPACE_WRITE
    writable_roots: tuple[str, ...] = ()
    """Directories writable besides the workspace (absolute or ``~``-relative)."""
    protected_paths: tuple[str, ...] = ()
    """Workspace-relative paths kept read-only; a trailing ``/`` marks a directory."""
    hidden_paths: tuple[str, ...] = ()
    """Absolute or ``~``-relative paths that a command cannot read at all."""
    accept_missing: frozenset[str] = frozenset()
    """Layers the policy explicitly accepts running without (recorded on every run)."""
    timeout: float | None = None
    """Seconds after which the command's whole process tree is killed."""
    network_mode: NetworkMode = NetworkMode.OFFLINE
    network_allow: tuple[str, ...] = ()
    """Destinations for the allow-list network mode."""
    network_deny: tuple[str, ...] = ()
    """Destinations refused whatever the allow-list says (every layer adds)."""
    network_presets: tuple[str, ...] = ()
    """Allow-list entries read at run time from tools' configuration (``pip``...)."""
    network_refuse_private: bool = False
    """Refuse private addresses (10/8, 192.168/16, fc00::/7...) an allowed name has."""
    network_unknown: UnknownDestinations = UnknownDestinations.ASK
    network_hosts: Mapping[str, str] = field(default_factory=dict)
    """Fixed addresses for names, consulted before DNS (as /etc/hosts is)."""
    env_pass: tuple[str, ...] = ()
    """Names or ``fnmatch`` patterns of host variables passed to the command."""
    env_secret_patterns: tuple[str, ...] = ()
    """Patterns of variable names removed even when `env_pass` matches them."""
    env_set: Mapping[str, str] = field(default_factory=dict)
    """Variables set for the command, after the secret filter (policy's own values)."""
    audit_redact: tuple[str, ...] = ()
    """Regular expressions masked in event records, besides the built-in ones."""
    audit_rotate_bytes: int = DEFAULT_AUDIT_ROTATE_BYTES
    """The size at which the event log's current file is rotated."""
    audit_endpoint: str | None = None
    """The OTLP/HTTP collector events are exported to (base URL), if any."""
    audit_export_timeout: float = DEFAULT_EXPORT_TIMEOUT
    """Seconds each export request may take."""
    rules: tuple[Rule, ...] = ()
    """The command rules of every layer, in merge order (managed, user, project)."""
    sources: tuple[str, ...] = ()
    """The policy files that were read, in merge order."""
    origins: Mapping[str, str] = field(default_factory=dict)
    """Dotted key (``sandbox.mode``) to the file or layer that set its value."""
