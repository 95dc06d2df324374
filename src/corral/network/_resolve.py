"""How the proxy finds the addresses of a name it allowed, and its own host's.

Exactly the name judged: the hosts file for that name, then DNS with the name
made absolute, so that no search domain turns it into another.
"""

from __future__ import annotations

import contextlib
import functools
import socket
from ipaddress import IPv4Address, IPv6Address, ip_address
from pathlib import Path

from corral.network._addresses import local_addresses

__all__ = ["HOSTS_FILE", "host_addresses", "hosts_file_addresses", "system_resolve"]

IPAddress = IPv4Address | IPv6Address


def system_resolve(host: str, port: int) -> list[IPAddress]:
    """The addresses of exactly `host` (a canonical name) for a TCP connection.

    The hosts file first, as the system's own order has it, then DNS with the
    name made absolute: the resolver's search domains (``search``, ``ndots``)
    would otherwise resolve a name other than the one the rules judged.
    Raises `OSError` (`socket.gaierror`) when the name does not resolve.
    """
    listed = hosts_file_addresses(host)
    if listed:
        return listed
    infos = socket.getaddrinfo(
        host + ".", port, socket.AF_UNSPEC, socket.SOCK_STREAM, socket.IPPROTO_TCP,
        socket.AI_ADDRCONFIG | socket.AI_NUMERICSERV,
    )  # fmt: skip
    found: list[IPAddress] = []
    for *_, sockaddr in infos:
        address = ip_address(sockaddr[0])
        if address not in found:
            found.append(address)
    return found


HOSTS_FILE = Path("/etc/hosts")


def hosts_file_addresses(host: str, path: Path = HOSTS_FILE) -> list[IPAddress]:
    """The addresses the hosts file gives exactly `host` (names compared in
    lower case, without a trailing dot), in the file's order."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return []
    found: list[IPAddress] = []
    for line in text.splitlines():
        fields = line.partition("#")[0].split()
        if len(fields) < 2:
            continue
        address, *names = fields
        if "%" in address or host not in (n.lower().rstrip(".") for n in names):
            continue  # a zone id names an interface, not a destination
        with contextlib.suppress(ValueError):
            parsed = ip_address(address)
            if parsed not in found:
                found.append(parsed)
    return found


@functools.cache
def host_addresses() -> frozenset[IPAddress]:
    return frozenset(local_addresses())
