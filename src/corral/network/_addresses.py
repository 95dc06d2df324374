"""Which resolved addresses a sandboxed command may connect to.

An address is judged as itself and as every IPv4 address it embeds, so that
``::ffff:127.0.0.1``, ``64:ff9b::7f00:1`` and ``2002:7f00:1::`` are all loopback.
Loopback, metadata, this host's own and other special addresses are refused
unless an allow entry names the exact address and port.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_network

from corral._linux import interface_addresses

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

    from corral.network._patterns import Pattern, Rules

__all__ = [
    "METADATA_ADDRESSES",
    "AddressVerdict",
    "embedded_ipv4",
    "judge_address",
    "judged_addresses",
    "local_addresses",
    "refusal_reason",
    "targets",
]

Address = IPv4Address | IPv6Address

METADATA_ADDRESSES: frozenset[Address] = frozenset(
    {
        IPv4Address("169.254.169.254"),  # AWS, GCP, Azure, Oracle and most others
        IPv4Address("169.254.170.2"),  # AWS ECS task credentials
        IPv6Address("fd00:ec2::254"),  # AWS over IPv6
        IPv4Address("100.100.100.200"),  # Alibaba Cloud
        IPv4Address("192.0.0.192"),  # Oracle Cloud
    }
)
"""Cloud instance metadata services: they hand out the machine's credentials."""

# Prefixes whose addresses carry an IPv4 address in their last 32 bits: mapped
# (what a dual-stack socket connects to as IPv4), SIIT-translated, and NAT64
# (well-known, and the local-use /48 with the /96 layout its deployments use).
_LAST_32_BITS = tuple(
    ip_network(prefix)
    for prefix in ("::ffff:0:0/96", "::ffff:0:0:0/96", "64:ff9b::/96", "64:ff9b:1::/48")
)
_COMPATIBLE = ip_network("::/96")

_V4_CLASSES: tuple[tuple[IPv4Network, str], ...] = tuple(
    (IPv4Network(net), what)
    for net, what in (
        ("127.0.0.0/8", "a loopback address"),
        ("0.0.0.0/32", "the unspecified address"),
        ("0.0.0.0/8", "an address of 'this network' (0.0.0.0/8)"),
        ("169.254.0.0/16", "a link-local address"),
        ("224.0.0.0/4", "a multicast address"),
        ("255.255.255.255/32", "the broadcast address"),
        ("240.0.0.0/4", "a reserved address (240.0.0.0/4)"),
    )
)
_V6_CLASSES: tuple[tuple[IPv6Network, str], ...] = tuple(
    (IPv6Network(net), what)
    for net, what in (
        ("::1/128", "a loopback address"),
        ("::/128", "the unspecified address"),
        ("fe80::/10", "a link-local address"),
        ("ff00::/8", "a multicast address"),
    )
)
_PRIVATE: tuple[IPv4Network | IPv6Network, ...] = tuple(
    ip_network(net)
    for net in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",  # shared address space (carrier-grade NAT)
        "fc00::/7",  # unique local
        "fec0::/10",  # site-local, deprecated but still routed by some
    )
)


def embedded_ipv4(address: IPv6Address) -> IPv4Address | None:
    """The IPv4 address that traffic to `address` ends up at, if it embeds one.

    IPv4-mapped and -translated, IPv4-compatible (except ``::`` and ``::1``),
    NAT64, 6to4, and Teredo (the client; `judged_addresses` has the server too).
    """
    embedded = _embedded(address)
    return embedded[-1] if embedded else None


def _embedded(address: IPv6Address) -> tuple[IPv4Address, ...]:
    if any(address in prefix for prefix in _LAST_32_BITS):
        return (IPv4Address(int(address) & 0xFFFFFFFF),)
    if address in _COMPATIBLE and int(address) > 1:
        return (IPv4Address(int(address)),)
    if address.sixtofour is not None:
        return (address.sixtofour,)
    if address.teredo is not None:
        server, client = address.teredo
        return (server, client)
    return ()


def judged_addresses(address: Address) -> tuple[Address, ...]:
    """`address` and every IPv4 address it embeds; refusing any refuses it."""
    if isinstance(address, IPv4Address):
        return (address,)
    return (address, *_embedded(address))


def targets(address: Address) -> frozenset[Address]:
    """The IPv4 addresses `address` embeds, or `address` alone if it embeds none.

    Two addresses with the same targets reach the same host: ``10.0.0.1`` and
    ``::ffff:10.0.0.1``, but not a Teredo address whose client differs.
    """
    embedded = _embedded(address) if isinstance(address, IPv6Address) else ()
    return frozenset(embedded or (address,))


def refusal_reason(
    address: Address, *, refuse_private: bool, local: frozenset[Address]
) -> str | None:
    """Why `address` is refused unless named by an allow entry, or None if it is not.

    `local` is this host's own addresses (see `local_addresses`); private
    ranges are refused only when `refuse_private`.
    """
    for form in judged_addresses(address):
        what = _special(form, refuse_private=refuse_private, local=local)
        if what is not None:
            return what if form == address else f"{what} (it embeds {form})"
    return None


def _special(
    address: Address, *, refuse_private: bool, local: frozenset[Address]
) -> str | None:
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    classes: Iterable[tuple[IPv4Network | IPv6Network, str]] = (
        _V4_CLASSES if isinstance(address, IPv4Address) else _V6_CLASSES
    )
    for network, what in classes:
        if address in network:
            return what
    if address in local:
        return "an address of this host"
    if refuse_private and any(address in network for network in _PRIVATE):
        return "a private address (network.refuse_private is set)"
    return None


@dataclass(frozen=True)
class AddressVerdict:
    """Whether a command may connect to one resolved address, and why."""

    address: Address
    allowed: bool
    reason: str
    rule: Pattern | None
    """The deny entry that refused, or the allow entry that admitted a special
    address; None when the address's class alone decided."""


def judge_address(
    address: Address,
    port: int,
    rules: Rules,
    *,
    refuse_private: bool,
    local: frozenset[Address],
) -> AddressVerdict:
    """Judge one resolved address: deny entries, then explicit allows, then class."""
    where = _authority(address, port)
    denied = rules.denied_address(address, port)
    if denied is not None:
        return AddressVerdict(
            address,
            allowed=False,
            reason=f"{where} is denied by {denied.text!r} ({denied.origin})",
            rule=denied,
        )

    explicit = rules.explicit_address(address, port)
    if explicit is not None:
        return AddressVerdict(
            address,
            allowed=True,
            reason=f"{where} is named by {explicit.text!r} ({explicit.origin})",
            rule=explicit,
        )

    what = refusal_reason(address, refuse_private=refuse_private, local=local)
    if what is not None:
        return AddressVerdict(
            address,
            allowed=False,
            reason=f"{address} is {what}; only an entry of network.allow naming "
            f"{where!r} itself reaches it",
            rule=None,
        )
    return AddressVerdict(address, allowed=True, reason="a public address", rule=None)


def _authority(address: Address, port: int) -> str:
    if isinstance(address, IPv6Address):
        return f"[{address}]:{port}"
    return f"{address}:{port}"


def local_addresses() -> frozenset[Address]:
    """This host's interface addresses, loopback included.

    Raises SandboxSetupError when they cannot be listed: without them a
    command could reach this host's own services by another of its addresses.
    """
    found: set[Address] = {IPv4Address("127.0.0.1"), IPv6Address("::1")}
    for raw in interface_addresses():
        found.add(IPv4Address(raw) if len(raw) == 4 else IPv6Address(raw))
    return frozenset(found)
