"""Typed readers for the values of one policy file, each failing with file and key.

A `ValueReader` holds the flat ``table.key`` values of one file; each method
checks one key's type and form and returns it typed, or None when absent.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Callable, Mapping
from typing import TypeVar

from corral.errors import PolicyError
from corral.sandbox._layers import Layer

__all__ = [
    "ENV_NAME",
    "ValueReader",
    "check_denied_destination",
    "check_destination",
    "check_home_path",
    "check_nonempty",
    "check_pattern",
    "check_preset",
    "check_workspace_path",
]

_E = TypeVar("_E", bound=enum.Enum)

ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
"""What a POSIX shell accepts as a variable name; anything else cannot be exported."""

# A pattern is matched against variable names, so "=" or NUL could never match
# and most likely mean a value was written where a name belongs.
# As text: `re` compiles it on first use, and keeps it.
_PATTERN = r"[A-Za-z0-9_*?\[\]!-]+"


def check_nonempty(entry: str) -> str | None:
    """Return why `entry` is not a non-empty string, or None."""
    return None if entry.strip() and "\0" not in entry else "must not be empty"


def check_pattern(entry: str) -> str | None:
    """Return why `entry` is not a variable name or fnmatch pattern, or None."""
    if re.fullmatch(_PATTERN, entry):
        return None
    return "must be a variable name or fnmatch pattern (letters, digits, _ * ? [ ] !)"


def check_destination(entry: str) -> str | None:
    """Return why `entry` is not an allow-list entry (``name[:port]``...), or None."""
    from corral.network._patterns import parse_pattern  # noqa: PLC0415 (a cycle)

    try:
        parse_pattern(entry, "policy")
    except ValueError as exc:
        return f"is not a destination: {exc}"
    return None


def check_denied_destination(entry: str) -> str | None:
    """Return why `entry` is not a deny entry (a destination or a CIDR), or None."""
    from corral.network._patterns import parse_pattern  # noqa: PLC0415 (a cycle)

    try:
        parse_pattern(entry, "policy", deny=True)
    except ValueError as exc:
        return f"is not a destination or address range: {exc}"
    return None


def check_preset(entry: str) -> str | None:
    """Return why `entry` is not the name of an allow-list preset, or None."""
    from corral.network.presets import PRESETS  # noqa: PLC0415 (a cycle)

    if entry in PRESETS:
        return None
    return f"is not a preset; use one of {', '.join(PRESETS)}"


def check_home_path(entry: str) -> str | None:
    """Return why `entry` is not an absolute or ``~/``-relative path, or None."""
    if not (entry.startswith(("/", "~/")) or entry == "~"):
        return "must be an absolute path or start with ~/"
    if "\0" in entry or ".." in entry.split("/"):
        return "must not contain '..' or NUL"
    return None


def check_workspace_path(entry: str) -> str | None:
    """Return why `entry` is not a clean workspace-relative path, or None."""
    if entry.startswith(("/", "~")):
        return "must be relative to the workspace, not absolute or ~"
    parts = entry.removesuffix("/").split("/")
    if "\0" in entry or any(part in ("", ".", "..") for part in parts):
        return "must not be empty or contain '.', '..', '//' or NUL"
    return None


class ValueReader:
    """The values of one policy file, keyed ``table.key``, read one key at a time."""

    def __init__(self, origin: str, values: Mapping[str, object]) -> None:
        self.origin = origin
        self._values = values

    def fail(self, key: str, problem: str) -> PolicyError:
        """Build the error for `key`, naming this file."""
        return PolicyError(f"{self.origin}: {key} {problem}")

    def choice(self, key: str, kind: type[_E]) -> _E | None:
        """Return the member of `kind` named by a string value."""
        value = self._values.get(key)
        return None if value is None else self._member(key, kind, value)

    def choices(self, key: str, kind: type[_E]) -> frozenset[_E] | None:
        """Return a non-empty set of members of `kind`."""
        names = self.strings(key)
        if names is None:
            return None
        if not names:
            raise self.fail(
                key, "= [] would allow nothing; list what is allowed or drop the key"
            )
        return frozenset(self._member(key, kind, name) for name in names)

    def _member(self, key: str, kind: type[_E], value: object) -> _E:
        for member in kind:
            if member.value == value:
                return member
        allowed = ", ".join(repr(member.value) for member in kind)
        raise self.fail(key, f"= {value!r} is not allowed; use one of {allowed}")

    def layers(self, key: str) -> frozenset[str] | None:
        """Return a set of layer names (see `corral.sandbox.Layer`)."""
        allowed = ", ".join(layer.value for layer in Layer)
        names = self.strings(key)
        if names is None:
            return None
        for name in names:
            if name not in set(Layer):
                raise self.fail(key, f"lists {name!r}, not a layer; use {allowed}")
        return frozenset(names)

    def strings(
        self, key: str, check: Callable[[str], str | None] = check_nonempty
    ) -> tuple[str, ...] | None:
        """Return a list of strings, each passing `check`, without duplicates."""
        value = self._values.get(key)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(key, f"must be a list of strings, not {value!r}")
        for entry in value:
            problem = check(entry)
            if problem is not None:
                raise self.fail(key, f"entry {entry!r} {problem}")
        return tuple(dict.fromkeys(value))

    def boolean(self, key: str) -> bool | None:
        """Return a true or false value."""
        value = self._values.get(key)
        if value is None or isinstance(value, bool):
            return value
        raise self.fail(key, f"= {value!r}; use true or false")

    def hosts(self, key: str) -> dict[str, str] | None:
        """Return a table of host names to the IP address each stands for."""
        value = self._values.get(key)
        if value is None:
            return None
        from corral.network._names import (  # noqa: PLC0415 (a cycle)
            DestinationError,
            canonical_host,
        )

        if not isinstance(value, dict):
            raise self.fail(
                key, f'must be a table such as {{ "name" = "10.0.0.1" }}, not {value!r}'
            )
        hosts: dict[str, str] = {}
        for name, text in value.items():
            try:
                host, literal = canonical_host(name)
                address = canonical_host(text)[1] if isinstance(text, str) else None
            except DestinationError as exc:
                raise self.fail(f"{key}.{name}", str(exc)) from exc
            if literal is not None:
                raise self.fail(key, f"names {name!r}, an address, not a host name")
            if address is None:
                raise self.fail(
                    f"{key}.{name}", f"must be an IP address string, not {text!r}"
                )
            hosts[host] = str(address)
        return hosts

    def seconds(self, key: str, maximum: float = math.inf) -> float | None:
        """Return a positive, finite number of seconds, at most `maximum`."""
        value = self._values.get(key)
        if value is None:
            return None
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or not 0 < value <= maximum
        ):
            limit = "" if math.isinf(maximum) else f" up to {maximum:g}"
            raise self.fail(
                key, f"= {value!r}; use a positive number of seconds{limit}"
            )
        return float(value)

    def integer(self, key: str, minimum: int, maximum: int) -> int | None:
        """Return a whole number from `minimum` to `maximum`."""
        value = self._values.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"= {value!r}; use a whole number")
        if not minimum <= value <= maximum:
            raise self.fail(
                key, f"= {value!r} is out of range; use {minimum} to {maximum}"
            )
        return value

    def parsed(self, key: str, parse: Callable[[str], str]) -> str | None:
        """Return a string in the canonical form `parse` gives it.

        `parse` raises ValueError saying what is wrong with the text.
        """
        value = self._values.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.fail(key, f"must be a string, not {value!r}")
        try:
            return parse(value)
        except ValueError as exc:
            raise self.fail(key, f"= {value!r} {exc}") from None

    def env_map(self, key: str) -> dict[str, str] | None:
        """Return a table of variable names to string values."""
        value = self._values.get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self.fail(
                key, f'must be a table such as {{ NAME = "value" }}, not {value!r}'
            )
        for name, text in value.items():
            if not ENV_NAME.fullmatch(name):
                raise self.fail(
                    key,
                    f"sets {name!r}, not a variable name "
                    "(letters, digits and _, not starting with a digit)",
                )
            if not isinstance(text, str) or "\0" in text:
                raise self.fail(f"{key}.{name}", f"must be a string, not {text!r}")
        return dict(value)
