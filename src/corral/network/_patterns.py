"""Destination patterns of ``network.allow`` and ``network.deny``, and their verdict.

A pattern names one host, every name below a domain, one address, or (deny
only) a network, each on one port or any.  `Rules` judges a destination by
name first; `corral.network._addresses` then judges the addresses it resolves to.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_network
from typing import Literal

from corral.network._addresses import judged_addresses, targets
from corral.network._names import (
    Destination,
    DestinationError,
    canonical_host,
    split_authority,
)

__all__ = ["NameVerdict", "Pattern", "PatternKind", "Rules", "parse_pattern"]

PatternKind = Literal["name", "wildcard", "address", "network"]

_WILDCARD = "*."


@dataclass(frozen=True, kw_only=True)
class Pattern:
    """One entry of an allow or deny list, parsed."""

    text: str
    """The entry as written."""
    origin: str
    """The policy file or preset it came from."""
    kind: PatternKind
    """``name`` (exactly that host), ``wildcard`` (``*.domain``: any name strictly
    below the domain), ``address`` (one IP literal), ``network`` (a CIDR, deny only)."""
    host: str | None = None
    """The canonical name (``name``) or domain (``wildcard``)."""
    network: IPv4Network | IPv6Network | None = None
    """The address as a one-address network (``address``), or the network."""
    embedded: IPv4Network | None = None
    """For an IPv6 network inside a prefix that embeds IPv4 in its last 32 bits
    (``::ffff:0:0/96`` and the like), the IPv4 network it stands for."""
    port: int | None = None
    """The one port it names, or None for any port."""
    deny: bool = False
    """Whether it is a deny entry: a deny address or network matches every address
    that embeds it; an allow address matches only the same target."""

    def matches(self, dest: Destination) -> bool:
        """Whether `dest`, by its name or IP literal, is what this pattern names."""
        if dest.address is not None:
            return self.matches_address(dest.address, dest.port)
        if self.port is not None and self.port != dest.port:
            return False
        if self.kind == "name":
            return dest.host == self.host
        if self.kind == "wildcard":
            return dest.host.endswith(f".{self.host}")
        return False

    def matches_address(self, address: IPv4Address | IPv6Address, port: int) -> bool:
        """Whether an address and port are what this address or network names.

        Name patterns never match an address.  A deny entry matches when the
        address, or any IPv4 it embeds, is in the network or is (or is
        embedded in) the pattern's address; an allow entry only when both
        reach the same host: ``::ffff:10.0.0.1`` is ``10.0.0.1``.
        """
        network = self.network
        if network is None:
            return False
        if self.port is not None and self.port != port:
            return False
        forms = judged_addresses(address)
        if self.kind == "network":
            embedded = self.embedded
            return any(
                form in network or (embedded is not None and form in embedded)
                for form in forms
            )
        if self.deny:
            return not set(forms).isdisjoint(judged_addresses(network.network_address))
        return targets(network.network_address) == targets(address)

    def names_address(self) -> bool:
        """Whether this pattern is one IP literal with one port (``10.1.2.3:443``)."""
        return self.kind == "address" and self.port is not None


def parse_pattern(text: str, origin: str, *, deny: bool = False) -> Pattern:
    """Parse one allow or deny entry; a network (CIDR) only when `deny`.

    Raises ValueError saying what is wrong with `text` and what to write.
    """
    if "://" in text or ("/" in text and not text.partition("/")[2][:1].isdigit()):
        host = text.split("://", 1)[-1].split("/", 1)[0]
        raise ValueError(
            f"{text!r} is a URL or a path, not a destination; write the host "
            f"alone, with its port if it matters ({host or 'pkg.example.com'})"
        )
    if "/" in text:
        return _network(text, origin, deny=deny)
    if text == "*" or text.startswith("*:"):
        raise ValueError(
            f"{text!r} would name every host; write *.example.com for the names "
            'below one domain, or set network.mode = "online"'
        )
    wildcard = text.startswith(_WILDCARD)
    rest = text[len(_WILDCARD) :] if wildcard else text
    if "*" in rest:
        raise ValueError(
            f"{text!r} has '*' where only a leading '*.' is understood; write "
            "*.example.com for every name below example.com"
        )

    try:
        host_text, port = split_authority(rest)
        host, address = canonical_host(host_text)
    except DestinationError as error:
        raise ValueError(f"{text!r}: {error}") from None
    if address is None:
        kind: PatternKind = "wildcard" if wildcard else "name"
        return Pattern(
            text=text, origin=origin, kind=kind, host=host, port=port, deny=deny
        )
    if wildcard:
        raise ValueError(
            f"{text!r}: '*.' stands for the names below a domain, and {host_text!r} "
            f"is an address; write {host_text!r} alone to name that address"
        )
    return Pattern(
        text=text,
        origin=origin,
        kind="address",
        network=ip_network(address),
        port=port,
        deny=deny,
    )


def _network(text: str, origin: str, *, deny: bool) -> Pattern:
    if not deny:
        raise ValueError(
            f"{text!r}: a network can only be denied; write each address you "
            "mean to allow with its port instead (10.1.2.3:443)"
        )
    try:
        network = ip_network(text)
    except ValueError as error:
        raise ValueError(
            f"{text!r} is not a network: {error}; write the first address and the "
            "prefix length, as 10.0.0.0/8 or fd00::/8"
        ) from None
    return Pattern(
        text=text,
        origin=origin,
        kind="network",
        network=network,
        embedded=_embedded_network(network),
        deny=True,
    )


# Prefixes whose addresses carry an IPv4 address in their last 32 bits.
_EMBEDDING_PREFIXES = tuple(
    ip_network(text) for text in ("::ffff:0:0/96", "::/96", "64:ff9b::/96")
)


def _embedded_network(network: IPv4Network | IPv6Network) -> IPv4Network | None:
    """The IPv4 network an IPv6 network within an embedding /96 stands for."""
    if not isinstance(network, IPv6Network) or network.prefixlen < 96:
        return None
    if not any(network.subnet_of(prefix) for prefix in _EMBEDDING_PREFIXES):  # type: ignore[arg-type]
        return None
    low = int(network.network_address) & 0xFFFFFFFF
    return IPv4Network((low, network.prefixlen - 96))


@dataclass(frozen=True)
class NameVerdict:
    """What the allow and deny lists say of a destination, before any address."""

    decision: Literal["allow", "refuse", "unknown"]
    rule: Pattern | None
    """The pattern that decided, or None when none matched."""
    reason: str


@dataclass(frozen=True)
class Rules:
    """The effective allow and deny lists; a deny entry wins over any allow entry."""

    allow: tuple[Pattern, ...] = ()
    deny: tuple[Pattern, ...] = ()

    @classmethod
    def from_entries(
        cls, allow: Iterable[tuple[str, str]], deny: Iterable[tuple[str, str]]
    ) -> Rules:
        """Rules from ``(text, origin)`` pairs; raises ValueError for a bad entry."""
        return cls(
            allow=tuple(parse_pattern(text, origin) for text, origin in allow),
            deny=tuple(parse_pattern(text, origin, deny=True) for text, origin in deny),
        )

    def judge(self, dest: Destination) -> NameVerdict:
        """Refuse what a deny entry names, allow what an allow entry names."""
        for pattern in self.deny:
            if pattern.matches(dest):
                return NameVerdict(
                    "refuse",
                    pattern,
                    f"{dest.authority()} is denied by {pattern.text!r} "
                    f"({pattern.origin})",
                )
        for pattern in self.allow:
            if pattern.matches(dest):
                return NameVerdict(
                    "allow",
                    pattern,
                    f"{dest.authority()} is allowed by {pattern.text!r} "
                    f"({pattern.origin})",
                )
        return NameVerdict(
            "unknown",
            None,
            f"no entry of network.allow names {dest.authority()}; add "
            f"{dest.authority()!r} to network.allow to reach it",
        )

    def denied_address(
        self, address: IPv4Address | IPv6Address, port: int
    ) -> Pattern | None:
        """The first deny address or network that `address` on `port` falls in."""
        for pattern in self.deny:
            if pattern.matches_address(address, port):
                return pattern
        return None

    def explicit_address(
        self, address: IPv4Address | IPv6Address, port: int
    ) -> Pattern | None:
        """The first allow entry naming this very address with this very port."""
        for pattern in self.allow:
            if pattern.names_address() and pattern.matches_address(address, port):
                return pattern
        return None
