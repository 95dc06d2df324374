"""The schema of policy files: which tables and keys each layer may set.

`parse_layer` turns the text of one file (or the command-line overrides) into a
`PolicyLayer`, refusing unknown tables and keys, wrong types and keys that the
layer is not allowed to set; its ``[[rules]]`` are `_rules`' to check.  Merging
the layers is `_merge`'s job.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field

from corral.errors import PolicyError
from corral.policy._audit import (
    MAX_EXPORT_TIMEOUT,
    MAX_ROTATE_BYTES,
    MIN_ROTATE_BYTES,
    check_regex,
    parse_endpoint,
)
from corral.policy._model import (
    LayerKind,
    NetworkMode,
    SandboxMode,
    UnknownDestinations,
)
from corral.policy._values import (
    ValueReader,
    check_denied_destination,
    check_destination,
    check_home_path,
    check_pattern,
    check_preset,
    check_workspace_path,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from corral.policy._rules import Rule

__all__ = ["LayerKind", "PolicyLayer", "parse_layer", "parse_overrides"]


_COMMON_KEYS = {
    "sandbox": ("mode", "protected_paths", "hidden_paths", "timeout"),
    "network": ("mode", "allow", "deny", "presets", "refuse_private", "unknown"),
    "env": ("secret_patterns", "set"),
}
_USER_ONLY_KEYS = {
    "sandbox": ("writable_roots", "accept_missing"),
    "network": ("hosts",),
    "env": ("pass",),
}
# Read from the managed requirements and the user's policy alone (see
# `corral.policy._audit`); a table's name with a dot is a sub-table.
_AUDIT_KEYS = {
    "audit": ("redact", "rotate_bytes"),
    "audit.export": ("endpoint", "timeout"),
}
_MANAGED_KEYS = {
    "sandbox": (
        "mode",
        "allowed_modes",
        "protected_paths",
        "hidden_paths",
        "accept_missing_allowed",
        "writable_roots_within",
    ),
    "network": (
        "mode",
        "allowed_modes",
        "deny",
        "refuse_private",
        "unknown",
        "hosts",
    ),
    "env": ("secret_patterns",),
    **_AUDIT_KEYS,
}
_COMMAND_LINE_KEYS = {"sandbox": ("mode", "timeout"), "network": ("mode",)}

# Why a repository's own policy cannot set these: each would loosen what the
# person running corral chose, and the repository may come from anyone.
_USER_ONLY_REASONS = {
    "sandbox.writable_roots": "it would let the repository's commands write "
    "outside the workspace",
    "sandbox.accept_missing": "it would let the repository run commands with "
    "less of the boundary than the machine can enforce",
    "env.pass": "it would let the repository read host variables",
    "network.hosts": "it would let the repository choose the addresses that "
    "allowed names lead to",
}

_AUDIT_NOT_PROJECTS = (
    "audit settings are the user's or the organisation's, not a project's: a "
    "project could send the command lines to its own collector, or blank the "
    "trail with a redaction pattern"
)


def _known_keys(kind: LayerKind) -> dict[str, tuple[str, ...]]:
    if kind is LayerKind.MANAGED:
        return dict(_MANAGED_KEYS)
    if kind is LayerKind.COMMAND_LINE:
        return dict(_COMMAND_LINE_KEYS)
    keys = dict(_COMMON_KEYS)
    for table, extra in _USER_ONLY_KEYS.items():
        keys[table] = keys.get(table, ()) + extra
    if kind is LayerKind.USER:
        keys.update(_AUDIT_KEYS)
    return keys


@dataclass(frozen=True)
class PolicyLayer:
    """The validated values of one layer; None (or empty) where it says nothing."""

    kind: LayerKind
    origin: str
    """The file path, or "command line"."""
    sandbox_mode: SandboxMode | None = None
    writable_roots: tuple[str, ...] | None = None
    protected_paths: tuple[str, ...] = ()
    hidden_paths: tuple[str, ...] = ()
    accept_missing: frozenset[str] | None = None
    timeout: float | None = None
    network_mode: NetworkMode | None = None
    network_allow: tuple[str, ...] | None = None
    env_pass: tuple[str, ...] = ()
    env_secret_patterns: tuple[str, ...] = ()
    env_set: Mapping[str, str] = field(default_factory=dict)
    allowed_sandbox_modes: frozenset[SandboxMode] | None = None
    """Managed only: the sandbox modes any lower layer may choose."""
    accept_missing_allowed: frozenset[str] | None = None
    """Managed only: the layers a lower layer may accept as missing."""
    writable_roots_within: tuple[str, ...] | None = None
    """Managed only: prefixes beneath which every writable root must lie."""
    allowed_network_modes: frozenset[NetworkMode] | None = None
    """Managed only: the network modes any lower layer may choose."""
    network_deny: tuple[str, ...] = ()
    """Destinations refused whatever any allow-list says."""
    network_presets: tuple[str, ...] | None = None
    network_refuse_private: bool | None = None
    network_unknown: UnknownDestinations | None = None
    network_hosts: Mapping[str, str] | None = None
    audit_redact: tuple[str, ...] | None = None
    """Regular expressions whose matches are masked in records."""
    audit_rotate_bytes: int | None = None
    audit_endpoint: str | None = None
    """The OTLP/HTTP collector's base URL, in canonical form."""
    audit_export_timeout: float | None = None
    rules: tuple[Rule, ...] = ()
    """The file's command rules, in the order it lists them."""


def parse_layer(text: bytes, origin: str, kind: LayerKind) -> PolicyLayer:
    """Parse and validate the TOML text of one policy file.

    Raises PolicyError for a syntax error (with its line), an unknown table or
    key, a wrong type, a key this layer may not set, or a malformed rule.
    """
    # Imported here: with no policy file, none is parsed (tomllib costs ~3 ms).
    import tomllib  # noqa: PLC0415

    from corral.policy._rules import parse_rules  # noqa: PLC0415

    try:
        data = tomllib.loads(text.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise PolicyError(
            f"{origin}: not UTF-8 text ({exc.reason} at byte {exc.start}); "
            "save the policy file as UTF-8"
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(
            f"{origin}: not valid TOML: {exc}; fix the syntax there"
        ) from exc
    rules = data.pop("rules", []) if kind is not LayerKind.COMMAND_LINE else []
    layer = _build(ValueReader(origin, _flatten(data, origin, kind)), kind)
    return dataclasses.replace(layer, rules=parse_rules(rules, origin, kind))


def parse_overrides(overrides: Mapping[str, object]) -> PolicyLayer:
    """Validate command-line overrides, keyed ``sandbox.mode`` and so on.

    Raises PolicyError for an unknown key or a value out of form.
    """
    origin = LayerKind.COMMAND_LINE.value
    known = _known_keys(LayerKind.COMMAND_LINE)
    allowed = [f"{t}.{k}" for t, keys in known.items() for k in keys]
    for key in overrides:
        if key.split(".")[0] == "audit":
            raise PolicyError(
                f"{origin}: cannot override {key!r}: {_AUDIT_NOT_PROJECTS}, nor "
                "a single run's; set it in your user policy"
            )
        if key not in allowed:
            raise PolicyError(
                f"{origin}: cannot override {key!r}; use one of {', '.join(allowed)}"
            )
    values = {key: value for key, value in overrides.items() if value is not None}
    return _build(ValueReader(origin, values), LayerKind.COMMAND_LINE)


def _flatten(
    data: Mapping[str, object], origin: str, kind: LayerKind
) -> dict[str, object]:
    """Check tables and keys against the schema; return ``table.key`` values."""
    known = _known_keys(kind)
    flat: dict[str, object] = {}
    for table, content in data.items():
        if table == "audit" and kind is LayerKind.PROJECT:
            raise PolicyError(
                f"{origin}: [audit] cannot be set by a project policy: "
                f"{_AUDIT_NOT_PROJECTS}; set it in your user policy, or ask the "
                "administrator to set it in the managed requirements"
            )
        if "." in table:
            raise PolicyError(
                f'{origin}: unknown table ["{table}"]: a quoted name with a dot is '
                f"one table of that name, not a sub-table; write [{table}]"
            )
        if table not in known:
            rules = "" if kind is LayerKind.COMMAND_LINE else " and [[rules]]"
            raise PolicyError(
                f"{origin}: unknown table [{table}]; a {kind.value} file may "
                f"have {', '.join(f'[{name}]' for name in known)}{rules}"
            )
        _flatten_table(origin, kind, table, content, known=known, flat=flat)
    return flat


def _flatten_table(
    origin: str,
    kind: LayerKind,
    table: str,
    content: object,
    *,
    known: Mapping[str, tuple[str, ...]],
    flat: dict[str, object],
) -> None:
    """Add the ``table.key`` values of one table, and of its known sub-tables."""
    if not isinstance(content, dict):
        raise PolicyError(
            f"{origin}: {table} must be a table ([{table}]), not {content!r}"
        )
    for key, value in content.items():
        dotted = f"{table}.{key}"
        if dotted in known:
            _flatten_table(origin, kind, dotted, value, known=known, flat=flat)
            continue
        _check_key(origin, kind, table, key, known[table])
        flat[dotted] = value


def _check_key(
    origin: str, kind: LayerKind, table: str, key: str, known: tuple[str, ...]
) -> None:
    dotted = f"{table}.{key}"
    if kind is LayerKind.PROJECT and dotted in _USER_ONLY_REASONS:
        raise PolicyError(
            f"{origin}: {dotted} cannot be set by a project policy: "
            f"{_USER_ONLY_REASONS[dotted]}; set it in your user policy instead"
        )
    if key not in known:
        raise PolicyError(
            f"{origin}: unknown key {dotted}; known keys in [{table}] of a "
            f"{kind.value} file: {', '.join(known)}"
        )


def _build(read: ValueReader, kind: LayerKind) -> PolicyLayer:
    return PolicyLayer(
        kind=kind,
        origin=read.origin,
        sandbox_mode=read.choice("sandbox.mode", SandboxMode),
        writable_roots=read.strings("sandbox.writable_roots", check_home_path),
        protected_paths=read.strings("sandbox.protected_paths", check_workspace_path)
        or (),
        hidden_paths=read.strings("sandbox.hidden_paths", check_home_path) or (),
        accept_missing=read.layers("sandbox.accept_missing"),
        timeout=read.seconds("sandbox.timeout"),
        network_mode=read.choice("network.mode", NetworkMode),
        network_allow=read.strings("network.allow", check_destination),
        env_pass=read.strings("env.pass", check_pattern) or (),
        env_secret_patterns=read.strings("env.secret_patterns", check_pattern) or (),
        env_set=read.env_map("env.set") or {},
        allowed_sandbox_modes=read.choices("sandbox.allowed_modes", SandboxMode),
        accept_missing_allowed=read.layers("sandbox.accept_missing_allowed"),
        writable_roots_within=read.strings(
            "sandbox.writable_roots_within", check_home_path
        ),
        allowed_network_modes=read.choices("network.allowed_modes", NetworkMode),
        network_deny=read.strings("network.deny", check_denied_destination) or (),
        network_presets=read.strings("network.presets", check_preset),
        network_refuse_private=read.boolean("network.refuse_private"),
        network_unknown=read.choice("network.unknown", UnknownDestinations),
        network_hosts=read.hosts("network.hosts"),
        audit_redact=read.strings("audit.redact", check_regex),
        audit_rotate_bytes=read.integer(
            "audit.rotate_bytes", MIN_ROTATE_BYTES, MAX_ROTATE_BYTES
        ),
        audit_endpoint=read.parsed("audit.export.endpoint", parse_endpoint),
        audit_export_timeout=read.seconds("audit.export.timeout", MAX_EXPORT_TIMEOUT),
    )
