"""The ``[audit]`` section: its values' checks, and who may set them.

Audit settings decide where the record of every command goes and what it
masks, so only the managed requirements and the user's policy set them; a
project policy or the command line cannot (`_schema` refuses them there).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, TypeVar

from corral._record import Record
from corral.errors import PolicyError
from corral.policy._defaults import (
    DEFAULT_AUDIT_ROTATE_BYTES,
    DEFAULT_EXPORT_TIMEOUT,
)

if TYPE_CHECKING:
    # Only a type here: `_schema` imports this module's checks.
    from corral.policy._schema import PolicyLayer

__all__ = [
    "MAX_EXPORT_TIMEOUT",
    "MAX_ROTATE_BYTES",
    "MIN_ROTATE_BYTES",
    "AuditValues",
    "check_regex",
    "merge_audit",
    "parse_endpoint",
]

_T = TypeVar("_T")

MIN_ROTATE_BYTES = 64 << 10
"""Smaller files would rotate every few hundred records, each one more file to chain."""

MAX_ROTATE_BYTES = 4 << 30
"""Larger files take minutes to verify and cannot be shipped or archived whole."""

MAX_EXPORT_TIMEOUT = 300.0
"""Seconds; a collector slower than this is down, and the exporter should retry."""

MAX_PATTERN_LENGTH = 1000
"""Characters; a redaction pattern longer than this is data pasted by mistake."""

# The patterns are text, compiled by `re` (which keeps them) when an endpoint is
# first checked: most policies name no collector.
# A URL as RFC 3986 splits it: scheme, authority, path, then query or fragment.
_URL = r"(?s)([^:/?#]*)://([^/?#]*)([^?#]*)(.*)"

# What a path segment may hold: unreserved and sub-delimiter characters and
# percent-escapes, without '@' and ':' (which some parsers take for userinfo
# or a port) and without '\' (which some take for '/').
_SEGMENT = r"(?:[A-Za-z0-9._~!$&'()*+,;=-]|%[0-9A-Fa-f]{2})+"


def check_regex(entry: str) -> str | None:
    """Return why `entry` is not a usable redaction pattern, or None."""
    if len(entry) > MAX_PATTERN_LENGTH:
        return f"is longer than {MAX_PATTERN_LENGTH} characters; write a shorter one"
    try:
        pattern = re.compile(entry)
    except re.error as exc:
        return f"is not a regular expression ({exc}); fix it or remove it"
    if pattern.search("") is not None:
        return (
            "matches the empty string, so it names nothing to mask; write a "
            "pattern that matches the secret itself"
        )
    return None


def parse_endpoint(text: str) -> str:
    """Return the canonical form of an OTLP/HTTP collector's base URL.

    ``http`` or ``https``, a host (name, IPv4 address or bracketed IPv6
    address), an optional port and an optional path prefix; the scheme and
    host lower-cased and no trailing ``/``, so that the exporter can append
    ``/v1/logs``.  Raises ValueError saying what is wrong.
    """
    from corral.network._names import (  # noqa: PLC0415 (a cycle)
        DestinationError,
        canonical_host,
        split_authority,
    )

    if not text.isascii() or any(not c.isprintable() or c.isspace() for c in text):
        raise ValueError("must be plain ASCII without spaces or control characters")
    if "\\" in text:
        raise ValueError("must not contain '\\', which some clients read as '/'")
    parts = re.fullmatch(_URL, text)
    if parts is None:
        raise ValueError("is not a URL; write one such as http://127.0.0.1:4318")
    scheme, authority, path, rest = parts.groups()
    if scheme.lower() not in ("http", "https"):
        raise ValueError(f"has the scheme {scheme!r}; OTLP/HTTP is http or https")
    if "@" in authority:
        raise ValueError(
            "carries a user name or password; put no credentials in the URL, "
            "as it is shown by corral policy and kept in records"
        )
    if rest:
        raise ValueError("has a query or fragment; write the base URL alone")
    try:
        host_text, port = split_authority(authority)
        host, address = canonical_host(host_text)
    except DestinationError as exc:
        raise ValueError(str(exc)) from None
    if address is not None and address.version == 6:
        host = f"[{host}]"
    return f"{scheme.lower()}://{host}{'' if port is None else f':{port}'}" + (
        _check_path(path)
    )


def _check_path(path: str) -> str:
    path = path.removesuffix("/")
    if not path:
        return ""
    for segment in path.split("/")[1:]:
        if segment in ("", ".", "..") or not re.fullmatch(_SEGMENT, segment):
            raise ValueError(
                f"has the path segment {segment!r}; write a path prefix of plain "
                "segments (letters, digits, - . _ ~, percent-escapes), without "
                "'//', '.', '..', '@' or ':'"
            )
    return path


class AuditValues(Record):
    """The audit settings in force, and the file each came from."""

    __slots__ = ("redact", "rotate_bytes", "endpoint", "export_timeout", "origins")  # noqa: RUF023 (as their repr shows them)
    redact: tuple[str, ...]
    rotate_bytes: int
    endpoint: str | None
    export_timeout: float
    origins: Mapping[str, str]

    def __init__(
        self,
        redact: tuple[str, ...] = (),
        rotate_bytes: int = DEFAULT_AUDIT_ROTATE_BYTES,
        endpoint: str | None = None,
        export_timeout: float = DEFAULT_EXPORT_TIMEOUT,
        origins: Mapping[str, str] | None = None,
    ) -> None:
        self._init(
            redact=redact,
            rotate_bytes=rotate_bytes,
            endpoint=endpoint,
            export_timeout=export_timeout,
            origins={} if origins is None else origins,
        )


def merge_audit(
    managed: PolicyLayer | None,
    user: PolicyLayer | None,
    *,
    built_in: str,
    named: PolicyLayer | None = None,
) -> AuditValues:
    """Combine the managed requirements' and the user's audit settings.

    - What the managed requirements set is in force; the user's policy may
      repeat it but not change it, and cannot remove it (an endpoint cannot
      be unset, only set).
    - Redaction patterns: when the managed requirements list ``redact``,
      theirs is the list, since a pattern can blank whatever it matches and
      an organisation that keeps the trail decides what it may lose; when
      they do not, the user's patterns apply.  The built-in patterns apply
      whatever either says.
    - Anything neither sets keeps its built-in value (its origin `built_in`).
    - A policy file `named` on the command line for one run may repeat the
      settings in force but not change them: a run's options are requests,
      which an agent can make, and the trail is not the agent's to redirect.

    Raises PolicyError naming both files when the user's policy (or the
    named file) changes a value the managed requirements (or the settings in
    force) set.
    """
    layers = tuple(layer for layer in (managed, user) if layer is not None)
    origins: dict[str, str] = {}

    def pick(key: str, get: Callable[[PolicyLayer], _T | None], default: _T) -> _T:
        value, origin = default, None
        for layer in layers:
            chosen = get(layer)
            if chosen is None:
                continue
            if origin is None:
                value, origin = chosen, layer.origin
            elif _differs(value, chosen):
                raise _changed(layer, key, chosen, value, origin)
        origins[key] = origin or built_in
        return value

    values = AuditValues(
        redact=pick("audit.redact", lambda layer: layer.audit_redact, ()),
        rotate_bytes=pick(
            "audit.rotate_bytes",
            lambda layer: layer.audit_rotate_bytes,
            DEFAULT_AUDIT_ROTATE_BYTES,
        ),
        endpoint=pick(
            "audit.export.endpoint", lambda layer: layer.audit_endpoint, None
        ),
        export_timeout=pick(
            "audit.export.timeout",
            lambda layer: layer.audit_export_timeout,
            DEFAULT_EXPORT_TIMEOUT,
        ),
        origins=origins,
    )
    if named is not None:
        _check_named(named, values)
    return values


def _check_named(named: PolicyLayer, values: AuditValues) -> None:
    in_force = (
        ("audit.redact", named.audit_redact, values.redact),
        ("audit.rotate_bytes", named.audit_rotate_bytes, values.rotate_bytes),
        ("audit.export.endpoint", named.audit_endpoint, values.endpoint),
        ("audit.export.timeout", named.audit_export_timeout, values.export_timeout),
    )
    for key, chosen, value in in_force:
        if chosen is not None and _differs(value, chosen):
            origin = values.origins[key]
            shown = list(chosen) if isinstance(chosen, tuple) else chosen
            raise PolicyError(
                f"{named.origin}: {key} = {shown!r} differs from the setting in "
                f"force (from {origin}); a policy file named for one run cannot "
                "change the audit settings, which are read from your own policy "
                "file and the managed requirements; remove it from this file"
            )


def _differs(before: object, after: object) -> bool:
    """Whether a later value changes an earlier one (a list: as a set)."""
    if isinstance(before, tuple) and isinstance(after, tuple):
        return set(before) != set(after)
    return before != after


def _changed(
    layer: PolicyLayer, key: str, value: object, managed: object, origin: str
) -> PolicyError:
    def shown(v: object) -> object:
        return list(v) if isinstance(v, tuple) else v

    return PolicyError(
        f"{layer.origin}: {key} = {shown(value)!r} differs from {shown(managed)!r}, "
        f"which the managed requirements ({origin}) set; what they set for the "
        f"audit trail is in force for everyone, so remove {key} here or ask the "
        f"administrator who owns {origin}"
    )
