"""Destinations: the host and port a sandboxed command asks to reach, made canonical.

Every spelling of one destination becomes one `Destination`, so that a rule is
judged once however the host was written: case, a trailing dot and the legacy
IPv4 spellings that the C library reads (``127.1``, ``0x7f.1``) change nothing.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address

from corral.errors import CorralError

__all__ = [
    "Destination",
    "DestinationError",
    "canonical_host",
    "check_port",
    "destination",
    "inet_aton",
    "parse_authority",
    "split_authority",
]

MAX_NAME_LENGTH = 253
"""The longest name DNS can carry (255 octets on the wire, less the length bytes)."""

MAX_LABEL_LENGTH = 63
"""The longest label DNS can carry: its length byte has six bits."""

MAX_PORT = 65535

# What a name may contain once lowercased.  The underscore is not a hostname
# character, but service names (_dmarc, _sip._tcp) use it and resolvers pass it.
_NAME_CHARS = frozenset(string.ascii_lowercase + string.digits + "-_.")

# Characters that make a host ambiguous to some parser on the way to a socket:
# a zone id, a path, user information, a port separator in the wrong place.
_FORBIDDEN = {
    "%": "a zone id or percent-escape",
    "/": "a path separator",
    "\\": "a path separator",
    "@": "user information (user@host)",
}

# The bytes each part of a legacy IPv4 spelling may fill: a.b.c.d, a.b.c
# (c is 16 bits), a.b (b is 24 bits), a (32 bits).
_LAST_PART_MAX = {1: 0xFFFFFFFF, 2: 0xFFFFFF, 3: 0xFFFF, 4: 0xFF}

# More digits than 2**32 - 1 has in any base (11 in octal): an overflow.
_MAX_PART_DIGITS = 11

# What the C library's isspace() accepts after the last part (C locale).
_C_SPACE = frozenset(" \t\n\v\f\r")


class DestinationError(CorralError):
    """A destination name or port that is not valid."""


@dataclass(frozen=True)
class Destination:
    """A host and port, canonical: equal destinations are equal objects."""

    host: str
    """A lowercase ASCII name without trailing dot, or an address's canonical text
    (IPv6 compressed, without brackets)."""
    port: int
    address: IPv4Address | IPv6Address | None
    """The address when the host is an IP literal, however it was spelled."""

    def authority(self) -> str:
        """``host:port``, with an IPv6 address in brackets: ``[::1]:8080``."""
        if isinstance(self.address, IPv6Address):
            return f"[{self.host}]:{self.port}"
        return f"{self.host}:{self.port}"


def inet_aton(text: str) -> IPv4Address | None:
    """The IPv4 address glibc's ``inet_aton`` reads in `text`, or None if it reads none.

    One to four parts separated by dots, each decimal, octal with a leading
    ``0`` or hexadecimal with ``0x``; the last part fills the bytes the others
    left.  As in glibc, whitespace may follow the last part, and ends it.
    """
    parts: list[int] = []
    rest = text
    while True:
        value, rest = _aton_part(rest)
        if value is None or value > 0xFFFFFFFF:
            return None
        if not rest.startswith("."):
            break
        if len(parts) == 3 or value > 0xFF:
            return None
        parts.append(value)
        rest = rest[1:]

    if rest and rest[0] not in _C_SPACE:
        return None
    if value > _LAST_PART_MAX[len(parts) + 1]:
        return None
    number = 0
    for part in parts:
        number = number << 8 | part
    return IPv4Address(number << (8 * (4 - len(parts))) | value)


def _aton_part(text: str) -> tuple[int | None, str]:
    """One part as strtoul(base 0) reads it after a leading digit; and what follows."""
    if not text or text[0] not in string.digits:
        return None, text
    if text[:2] in ("0x", "0X") and text[2:3] and text[2] in string.hexdigits:
        digits, base, start = string.hexdigits, 16, 2
    elif text[0] == "0":
        digits, base, start = string.octdigits, 8, 0
    else:
        digits, base, start = string.digits, 10, 0
    end = start
    while end < len(text) and text[end] in digits:
        end += 1
    # Leading zeros change nothing, and more digits than 2**32 needs overflow:
    # int() itself refuses strings of thousands of digits.
    significant = text[start:end].lstrip("0") or "0"
    if len(significant) > _MAX_PART_DIGITS:
        return 2**32, text[end:]
    return int(significant, base), text[end:]


def canonical_host(text: str) -> tuple[str, IPv4Address | IPv6Address | None]:
    """The canonical form of a host, and its address when it is an IP literal.

    An IPv6 address may come with or without brackets.  Raises DestinationError
    saying what is wrong with `text` and what to write instead.
    """
    if not text:
        raise DestinationError("the host is empty; write a name such as example.com")
    if not text.isascii():
        raise DestinationError(
            f"the host {text!r} is not ASCII; write an international name in its "
            "punycode form (xn--...)"
        )
    for char in text:
        if not char.isprintable() or char.isspace():
            raise DestinationError(
                f"the host {text!r} contains whitespace or a control character; "
                "write the name alone"
            )
        if char in _FORBIDDEN:
            raise DestinationError(
                f"the host {text!r} contains {char!r} ({_FORBIDDEN[char]}); "
                "write the name or address alone"
            )

    if text.startswith("[") or ":" in text:
        address = _ipv6(text)
        return str(address), address

    name = text.lower()
    if name.endswith("."):
        name = name[:-1]
    _check_name(text, name)
    last = name.rpartition(".")[2]
    if last[0] in string.digits:
        # Every part glibc reads starts with a digit; a name ending in one that
        # it does not read is a number some other resolver may read otherwise.
        ipv4 = inet_aton(name)
        if ipv4 is None:
            raise DestinationError(
                f"the host {text!r} looks like an IPv4 address but is not one; "
                "write the address as four decimal numbers (10.0.0.1), or a name "
                "whose last label does not start with a digit"
            )
        return str(ipv4), ipv4
    return name, None


def _ipv6(text: str) -> IPv6Address:
    inner = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    if "[" in inner or "]" in inner:
        raise DestinationError(
            f"the host {text!r} has stray brackets; write an IPv6 address as "
            "[2001:db8::1] or 2001:db8::1"
        )
    try:
        return IPv6Address(inner)
    except ValueError:
        raise DestinationError(
            f"the host {text!r} is not an IPv6 address, and a name cannot "
            "contain ':'; write host:port as separate host and port, or an IPv6 "
            "address such as [2001:db8::1]"
        ) from None


def _check_name(text: str, name: str) -> None:
    if not name:
        raise DestinationError(
            f"the host {text!r} has no name; write a name such as example.com"
        )
    bad = sorted(set(name) - _NAME_CHARS)
    if bad:
        raise DestinationError(
            f"the host {text!r} contains {''.join(bad)!r}; write a name of "
            "letters, digits, '-', '_' and dots only"
        )
    if len(name) > MAX_NAME_LENGTH:
        raise DestinationError(
            f"the host {text[:40]!r}... is {len(name)} characters long; write "
            f"a name of at most {MAX_NAME_LENGTH}, as DNS carries no longer"
        )
    for label in name.split("."):
        if not label:
            raise DestinationError(
                f"the host {text!r} has an empty label (two dots in a row, or a "
                "leading dot); write the name without it"
            )
        if len(label) > MAX_LABEL_LENGTH:
            raise DestinationError(
                f"the host {text!r} has a label of {len(label)} characters; "
                f"write labels of at most {MAX_LABEL_LENGTH}, as DNS carries no "
                "longer"
            )
        if label.startswith("-") or label.endswith("-"):
            raise DestinationError(
                f"the host {text!r} has the label {label!r}, which starts or "
                "ends with '-'; write the name as DNS has it, without that '-'"
            )


def check_port(port: object, where: str) -> int:
    """`port` if it is a port number (1 to 65535); else DestinationError."""
    if isinstance(port, bool) or not isinstance(port, int):
        raise DestinationError(
            f"the port of {where} is {port!r}; write a number from 1 to {MAX_PORT}"
        )
    if not 1 <= port <= MAX_PORT:
        raise DestinationError(
            f"the port of {where} is {port}; write a number from 1 to {MAX_PORT}"
        )
    return port


def destination(host: str, port: int) -> Destination:
    """The canonical destination of `host` (a URL's host part) and `port`.

    Raises DestinationError when either is not valid.
    """
    canonical, address = canonical_host(host)
    return Destination(canonical, check_port(port, repr(host)), address)


def split_authority(text: str) -> tuple[str, int | None]:
    """The host text and port of ``host``, ``host:port`` or ``[v6]:port``.

    The port is None when `text` has none; the host is returned as written,
    brackets included.  Raises DestinationError for a malformed authority.
    """
    if text.startswith("["):
        close = text.find("]")
        if close < 0:
            raise DestinationError(
                f"{text!r} opens '[' without closing it; write [2001:db8::1]:443"
            )
        host, rest = text[: close + 1], text[close + 1 :]
        if not rest:
            return host, None
        if not rest.startswith(":"):
            raise DestinationError(
                f"{text!r} has {rest!r} after the address; write [2001:db8::1]:443"
            )
        return host, _port_text(text, rest[1:])
    if text.count(":") > 1:
        raise DestinationError(
            f"{text!r} is ambiguous: an IPv6 address needs brackets before a "
            "port; write [2001:db8::1]:443, or [2001:db8::1] for any port"
        )
    host, colon, port = text.partition(":")
    return host, (_port_text(text, port) if colon else None)


def _port_text(text: str, port: str) -> int:
    # Decimal ASCII digits only: int() would also read '+1', ' 1', '1_0' and
    # other scripts' digits, which the client's own parser may read otherwise.
    if not port or len(port) > 5 or not all(c in string.digits for c in port):
        raise DestinationError(
            f"the port in {text!r} is {port!r}; write it as a decimal number "
            f"from 1 to {MAX_PORT}, as in example.com:443"
        )
    return check_port(int(port), repr(text))


def parse_authority(text: str, default_port: int | None = None) -> Destination:
    """The destination of ``host:port`` or ``[v6]:port``.

    Without a port in `text`, `default_port` is the port.  Raises
    DestinationError for an invalid host or port, or a missing port.
    """
    if "@" in text:
        # Not repeated back: what precedes the "@" is a name and a password.
        raise DestinationError(
            "the destination holds user information (a name and password "
            "before '@'); write host:port alone, and give credentials to the "
            "server, not in the proxy's target"
        )
    host, port = split_authority(text)
    if port is None:
        if default_port is None:
            raise DestinationError(
                f"{text!r} has no port; write host:port, as in example.com:443"
            )
        port = default_port
    if host.startswith("[") != (":" in host):
        raise DestinationError(
            f"{text!r}: brackets belong around an IPv6 address only; write "
            "example.com:443 or [2001:db8::1]:443"
        )
    canonical, address = canonical_host(host)
    return Destination(canonical, check_port(port, repr(text)), address)
