"""Merge the layers of policy, strictest wins, recording where each value came from.

Order: built-in defaults, managed requirements, user policy, project policy,
command line.  Managed requirements bound every later layer; a project policy
may only tighten; lists only grow.  The rules are spelled out in `merge_layers`.
Command rules are only gathered here, in this order; `corral.approvals._decide`
combines them when a command is decided.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from corral.errors import PolicyError
from corral.policy._audit import AuditValues, merge_audit
from corral.policy._bounds import (
    check_accept_missing,
    check_denied,
    check_modes,
    check_writable_roots,
    names,
    strictest,
)
from corral.policy._defaults import (
    DEFAULT_ENV_PASS,
    DEFAULT_HIDDEN_PATHS,
    DEFAULT_PROTECTED_PATHS,
    DEFAULT_SECRET_PATTERNS,
)
from corral.policy._env_deny import forbidden_reason
from corral.policy._model import (
    NetworkMode,
    Policy,
    SandboxMode,
    UnknownDestinations,
    stricter_of,
)
from corral.policy._schema import LayerKind, PolicyLayer

TYPE_CHECKING = False
if TYPE_CHECKING:
    from corral.policy._rules import Rule

__all__ = ["BUILT_IN", "merge_layers"]

_Mode = TypeVar("_Mode", SandboxMode, NetworkMode, UnknownDestinations)

BUILT_IN = "built-in"
"""The origin of a value no policy layer set."""


@dataclass
class _Lists:
    """A growing list of entries and the layers that contributed to it."""

    entries: list[str]
    contributors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.entries:
            self.contributors.append(BUILT_IN)

    def add(self, entries: tuple[str, ...], origin: str) -> None:
        if not entries:
            return
        self.entries.extend(e for e in entries if e not in self.entries)
        if origin not in self.contributors:
            self.contributors.append(origin)

    @property
    def origin(self) -> str:
        return ", ".join(self.contributors) or BUILT_IN


@dataclass
class _Draft:
    """The policy as it is being merged, layer by layer."""

    sandbox_mode: SandboxMode = SandboxMode.WORKSPACE_WRITE
    network_mode: NetworkMode = NetworkMode.OFFLINE
    timeout: float | None = None
    writable_roots: tuple[str, ...] = ()
    accept_missing: frozenset[str] = frozenset()
    network_allow: tuple[str, ...] = ()
    network_presets: tuple[str, ...] = ()
    refuse_private: bool = False
    unknown: UnknownDestinations = UnknownDestinations.ASK
    hosts: dict[str, str] = field(default_factory=dict)
    hosts_origins: list[str] = field(default_factory=list)
    protected: _Lists = field(
        default_factory=lambda: _Lists([*DEFAULT_PROTECTED_PATHS])
    )
    hidden: _Lists = field(default_factory=lambda: _Lists([*DEFAULT_HIDDEN_PATHS]))
    env_pass: _Lists = field(default_factory=lambda: _Lists([*DEFAULT_ENV_PASS]))
    secrets: _Lists = field(default_factory=lambda: _Lists([*DEFAULT_SECRET_PATTERNS]))
    deny: _Lists = field(default_factory=lambda: _Lists([]))
    env_set: dict[str, str] = field(default_factory=dict)
    env_set_origins: list[str] = field(default_factory=list)
    origins: dict[str, str] = field(default_factory=dict)

    def set(self, key: str, origin: str) -> None:
        self.origins[key] = origin

    def origin(self, key: str) -> str:
        return self.origins.get(key, BUILT_IN)


def merge_layers(
    managed: PolicyLayer | None,
    user: PolicyLayer | None,
    project: PolicyLayer | None,
    command_line: PolicyLayer | None,
    *,
    environ: Mapping[str, str],
    sources: tuple[str, ...] = (),
    audit: AuditValues | None = None,
) -> Policy:
    """Merge the layers into the effective policy.

    - Managed requirements add to every list, may set the default modes, and
      bound every later layer (allowed modes, accept_missing_allowed,
      writable_roots_within, network deny).
    - The user policy chooses freely within those bounds.
    - A project policy may only tighten: a stricter mode, a lower timeout, a
      narrower allow-list (entries the user already lists), more protected and
      hidden paths and secret patterns.
    - The command line (``--sandbox``, ``--network``, ``--timeout``) is the
      explicit choice of the person running corral: it applies last, over the
      project policy too, and is still bounded by the managed requirements.
    - Command rules are kept in merge order (managed, user, project); each
      layer's rules were checked when it was read (a project's may not allow).
    - Audit settings come from the managed requirements and the user policy
      alone (`merge_audit`); no other layer can hold them.  `audit`, when
      given, is what they are (`user` was then named on the command line).

    Raises PolicyError naming the file, the key, the value and what is allowed.
    """
    draft = _Draft()
    bounds = managed or PolicyLayer(LayerKind.MANAGED, BUILT_IN)
    if managed is not None:
        _apply_managed(draft, managed)
    if user is not None:
        _apply_chosen(draft, user, bounds, environ)
    if project is not None:
        _apply_project(draft, project, bounds)
    if command_line is not None:
        _apply_chosen(draft, command_line, bounds, environ)
    _check_allow_list(draft)
    if audit is None:
        audit = merge_audit(managed, user, built_in=BUILT_IN)
    rules = tuple(
        rule
        for layer in (managed, user, project)
        if layer is not None
        for rule in layer.rules
    )
    return _finish(draft, sources, rules, audit)


def _apply_managed(draft: _Draft, managed: PolicyLayer) -> None:
    """Managed modes become the defaults; a built-in default they forbid gives way."""
    for key, mode, allowed in (
        ("sandbox.mode", managed.sandbox_mode, managed.allowed_sandbox_modes),
        ("network.mode", managed.network_mode, managed.allowed_network_modes),
    ):
        if mode is not None and allowed is not None and mode not in allowed:
            raise PolicyError(
                f"{managed.origin}: {key} = {mode.value!r} is not among its own "
                f"allowed_modes ({names(allowed)}); make them agree"
            )
    sandbox, network = managed.allowed_sandbox_modes, managed.allowed_network_modes
    if managed.sandbox_mode is not None:
        draft.sandbox_mode = managed.sandbox_mode
        draft.set("sandbox.mode", managed.origin)
    elif sandbox is not None and draft.sandbox_mode not in sandbox:
        draft.sandbox_mode = strictest(sandbox)
        draft.set("sandbox.mode", managed.origin)
    if managed.network_mode is not None:
        draft.network_mode = managed.network_mode
        draft.set("network.mode", managed.origin)
    elif network is not None and draft.network_mode not in network:
        draft.network_mode = strictest(network)
        draft.set("network.mode", managed.origin)
    _add_lists(draft, managed)
    if managed.network_refuse_private:
        draft.refuse_private = True
        draft.set("network.refuse_private", managed.origin)
    if managed.network_unknown is not None:
        draft.unknown = managed.network_unknown
        draft.set("network.unknown", managed.origin)
    _add_hosts(draft, managed)


def _apply_chosen(
    draft: _Draft, layer: PolicyLayer, bounds: PolicyLayer, environ: Mapping[str, str]
) -> None:
    """The user policy or the command line: any choice within the managed bounds."""
    check_modes(layer, bounds)
    if layer.sandbox_mode is not None:
        draft.sandbox_mode = layer.sandbox_mode
        draft.set("sandbox.mode", layer.origin)
    if layer.network_mode is not None:
        draft.network_mode = layer.network_mode
        draft.set("network.mode", layer.origin)
    if layer.timeout is not None:
        draft.timeout = layer.timeout
        draft.set("sandbox.timeout", layer.origin)
    if layer.writable_roots is not None:
        check_writable_roots(layer, bounds, environ)
        draft.writable_roots = layer.writable_roots
        draft.set("sandbox.writable_roots", layer.origin)
    if layer.accept_missing is not None:
        check_accept_missing(layer, bounds)
        draft.accept_missing = layer.accept_missing
        draft.set("sandbox.accept_missing", layer.origin)
    if layer.network_allow is not None:
        check_denied(layer, bounds)
        draft.network_allow = layer.network_allow
        draft.set("network.allow", layer.origin)
    if layer.network_presets is not None:
        draft.network_presets = layer.network_presets
        draft.set("network.presets", layer.origin)
    _apply_network_switches(draft, layer)
    _add_hosts(draft, layer)
    _add_lists(draft, layer)
    draft.env_pass.add(layer.env_pass, layer.origin)
    _add_env_set(draft, layer)


def _apply_project(draft: _Draft, project: PolicyLayer, bounds: PolicyLayer) -> None:
    """A project policy: within the managed bounds, and only ever tighter."""
    check_modes(project, bounds)
    if project.sandbox_mode is not None:
        draft.sandbox_mode = _tighten(
            project, "sandbox.mode", draft.sandbox_mode, project.sandbox_mode, draft
        )
    if project.network_mode is not None:
        draft.network_mode = _tighten(
            project, "network.mode", draft.network_mode, project.network_mode, draft
        )
    if project.timeout is not None and project.timeout != draft.timeout:
        if draft.timeout is not None and project.timeout > draft.timeout:
            raise _looser(
                project, "sandbox.timeout", project.timeout, draft.timeout, draft
            )
        draft.timeout = project.timeout
        draft.set("sandbox.timeout", project.origin)
    if project.network_allow is not None:
        draft.network_allow = _narrow(
            draft, project, "network.allow", project.network_allow, draft.network_allow
        )
    if project.network_presets is not None:
        draft.network_presets = _narrow(
            draft,
            project,
            "network.presets",
            project.network_presets,
            draft.network_presets,
        )
    _apply_network_switches(draft, project)
    _add_lists(draft, project)
    _add_project_env_set(draft, project)


def _tighten(
    project: PolicyLayer, key: str, current: _Mode, wanted: _Mode, draft: _Draft
) -> _Mode:
    if wanted == current:
        return current
    if stricter_of(current, wanted) != wanted:
        raise _looser(project, key, wanted.value, current.value, draft)
    draft.set(key, project.origin)
    return wanted


def _looser(
    project: PolicyLayer, key: str, wanted: object, current: object, draft: _Draft
) -> PolicyError:
    return PolicyError(
        f"{project.origin}: {key} = {wanted!r} is looser than {current!r} "
        f"(from {draft.origin(key)}); a project policy may only tighten, since the "
        f"repository may come from anyone; to choose {wanted!r}, set {key} in "
        "your user policy or on the command line"
    )


def _narrow(
    draft: _Draft,
    project: PolicyLayer,
    key: str,
    entries: tuple[str, ...],
    current: tuple[str, ...],
) -> tuple[str, ...]:
    """A project's list for `key` may only be a subset of `current`, in force.

    Returns `entries`, to replace the list with; raises PolicyError naming
    what the project adds.
    """
    extra = [entry for entry in entries if entry not in current]
    if extra:
        raise PolicyError(
            f"{project.origin}: {key} lists {names(extra)}, which {key} from "
            f"{draft.origin(key)} does not; a project policy may only narrow it "
            "to entries your user policy already lists; add them to your user "
            "policy to allow them"
        )
    draft.set(key, project.origin)
    return entries


def _apply_network_switches(draft: _Draft, layer: PolicyLayer) -> None:
    """refuse_private and unknown: a later layer may tighten them, never loosen."""
    wanted = layer.network_refuse_private
    if wanted is not None and wanted != draft.refuse_private:
        if not wanted:
            raise _not_undone(layer, "network.refuse_private", "true", draft)
        draft.refuse_private = True
        draft.set("network.refuse_private", layer.origin)
    unknown = layer.network_unknown
    if unknown is not None and unknown != draft.unknown:
        if stricter_of(unknown, draft.unknown) != unknown:
            was = repr(draft.unknown.value)
            raise _not_undone(layer, "network.unknown", was, draft)
        draft.unknown = unknown
        draft.set("network.unknown", layer.origin)


def _not_undone(layer: PolicyLayer, key: str, value: str, draft: _Draft) -> PolicyError:
    return PolicyError(
        f"{layer.origin}: {key} cannot be loosened: {draft.origin(key)} sets it to "
        f"{value}, and a later policy may only tighten it; remove {key} here"
    )


def _add_hosts(draft: _Draft, layer: PolicyLayer) -> None:
    """Fixed addresses add up; a name an earlier layer fixed keeps its address."""
    for name, address in (layer.network_hosts or {}).items():
        if draft.hosts.get(name, address) != address:
            raise PolicyError(
                f"{layer.origin}: network.hosts.{name} = {address!r}, but "
                f"{', '.join(draft.hosts_origins)} already gives {name} the "
                f"address {draft.hosts[name]!r}; remove the entry here"
            )
        draft.hosts[name] = address
    if layer.network_hosts:
        draft.hosts_origins.append(layer.origin)


def _add_lists(draft: _Draft, layer: PolicyLayer) -> None:
    draft.deny.add(layer.network_deny, layer.origin)
    draft.protected.add(layer.protected_paths, layer.origin)
    draft.hidden.add(layer.hidden_paths, layer.origin)
    draft.secrets.add(layer.env_secret_patterns, layer.origin)


def _add_env_set(draft: _Draft, layer: PolicyLayer) -> None:
    if layer.env_set:
        draft.env_set.update(layer.env_set)
        draft.env_set_origins.append(layer.origin)


def _add_project_env_set(draft: _Draft, project: PolicyLayer) -> None:
    """A project may set variables, but none that pick programs or override yours."""
    for name, value in project.env_set.items():
        reason = forbidden_reason(name)
        if reason is not None:
            raise PolicyError(
                f"{project.origin}: env.set cannot set {name} in a project policy: "
                f"it decides what runs or loads ({reason}), so the repository "
                "could change what an approved command does; set it in your user "
                "policy if you want it"
            )
        if draft.env_set.get(name, value) != value:
            raise PolicyError(
                f"{project.origin}: env.set.{name} would override the value from "
                f"{', '.join(draft.env_set_origins)}; a project policy cannot "
                "change variables your user policy sets"
            )
    _add_env_set(draft, project)


def _check_allow_list(draft: _Draft) -> None:
    """An empty allow-list reaches nothing: almost surely not what was meant."""
    if (
        draft.network_mode is NetworkMode.ALLOW_LIST
        and not draft.network_allow
        and not draft.network_presets
        and draft.unknown is UnknownDestinations.REFUSE
    ):
        raise PolicyError(
            f"{draft.origin('network.mode')}: network.mode = 'allow-list' but "
            f"network.allow and network.presets are empty (from "
            f"{draft.origin('network.allow')}) and network.unknown = 'refuse', so "
            "nothing could be reached; list the destinations in network.allow of "
            "your user policy, or choose network.mode = 'offline'"
        )


def _finish(
    draft: _Draft,
    sources: tuple[str, ...],
    rules: tuple[Rule, ...],
    audit: AuditValues,
) -> Policy:
    origins = {
        "sandbox.mode": draft.origin("sandbox.mode"),
        "sandbox.writable_roots": draft.origin("sandbox.writable_roots"),
        "sandbox.protected_paths": draft.protected.origin,
        "sandbox.hidden_paths": draft.hidden.origin,
        "sandbox.accept_missing": draft.origin("sandbox.accept_missing"),
        "sandbox.timeout": draft.origin("sandbox.timeout"),
        "network.mode": draft.origin("network.mode"),
        "network.allow": draft.origin("network.allow"),
        "network.deny": draft.deny.origin,
        "network.presets": draft.origin("network.presets"),
        "network.refuse_private": draft.origin("network.refuse_private"),
        "network.unknown": draft.origin("network.unknown"),
        "network.hosts": ", ".join(draft.hosts_origins) or BUILT_IN,
        "env.pass": draft.env_pass.origin,
        "env.secret_patterns": draft.secrets.origin,
        "env.set": ", ".join(draft.env_set_origins) or BUILT_IN,
        **audit.origins,
    }
    return Policy(
        sandbox_mode=draft.sandbox_mode,
        writable_roots=draft.writable_roots,
        protected_paths=tuple(draft.protected.entries),
        hidden_paths=tuple(draft.hidden.entries),
        accept_missing=draft.accept_missing,
        timeout=draft.timeout,
        network_mode=draft.network_mode,
        network_allow=draft.network_allow,
        network_deny=tuple(draft.deny.entries),
        network_presets=draft.network_presets,
        network_refuse_private=draft.refuse_private,
        network_unknown=draft.unknown,
        network_hosts=dict(draft.hosts),
        env_pass=tuple(draft.env_pass.entries),
        env_secret_patterns=tuple(draft.secrets.entries),
        env_set=dict(draft.env_set),
        audit_redact=audit.redact,
        audit_rotate_bytes=audit.rotate_bytes,
        audit_endpoint=audit.endpoint,
        audit_export_timeout=audit.export_timeout,
        rules=rules,
        sources=sources,
        origins=origins,
    )
