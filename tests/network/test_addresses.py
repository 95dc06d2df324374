"""Resolved addresses: special ones refused in any spelling unless named with a port."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Sequence
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from corral.network._addresses import (
    METADATA_ADDRESSES,
    AddressVerdict,
    embedded_ipv4,
    judge_address,
    judged_addresses,
    local_addresses,
    refusal_reason,
)
from corral.network._names import destination
from corral.network._patterns import Rules, parse_pattern
from tests.network.test_names import legacy_spellings, random_case

Address = IPv4Address | IPv6Address
USER = "/home/u/.config/corral/policy.toml"
MANAGED = "/etc/corral/requirements.toml"
NOTHING: frozenset[Address] = frozenset()
LOOPBACK = IPv4Address("127.0.0.1")
NAT64 = ip_network("64:ff9b::/96")
METADATA = IPv4Address("169.254.169.254")


def rules(allow: Sequence[str], deny: Sequence[str] = ()) -> Rules:
    return Rules.from_entries(
        [(text, USER) for text in allow], [(text, MANAGED) for text in deny]
    )


def judge(
    address: str,
    port: int = 80,
    allow: Sequence[str] = (),
    deny: Sequence[str] = (),
    *,
    refuse_private: bool = False,
    local: frozenset[Address] = NOTHING,
) -> AddressVerdict:
    return judge_address(
        ip_address(address),
        port,
        rules(allow, deny),
        refuse_private=refuse_private,
        local=local,
    )


@pytest.mark.parametrize(
    ("address", "embedded"),
    [
        ("::ffff:127.0.0.1", "127.0.0.1"),
        ("::ffff:7f00:1", "127.0.0.1"),
        ("::ffff:0:a9fe:a9fe", "169.254.169.254"),  # IPv4-translated (SIIT)
        ("::127.0.0.1", "127.0.0.1"),  # IPv4-compatible
        ("::0.0.0.2", "0.0.0.2"),
        ("::", None),
        ("::1", None),
        ("64:ff9b::7f00:1", "127.0.0.1"),
        ("64:ff9b::169.254.169.254", "169.254.169.254"),
        ("64:ff9b:1:ab:cd:ef:7f00:1", "127.0.0.1"),
        ("2002:7f00:1::", "127.0.0.1"),
        ("2002:a9fe:a9fe:1234:5678::9", "169.254.169.254"),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "192.0.2.45"),  # Teredo client
        ("2001:db8::1", None),
        ("fe80::1", None),
        ("64:ff9a::7f00:1", None),
    ],
)
def test_the_ipv4_an_ipv6_address_embeds(address: str, embedded: str | None) -> None:
    expected = None if embedded is None else IPv4Address(embedded)
    assert embedded_ipv4(IPv6Address(address)) == expected


def test_a_teredo_address_is_judged_as_its_server_and_its_client() -> None:
    teredo = IPv6Address("2001:0:4136:e378:8000:63bf:3fff:fdd2")

    assert judged_addresses(teredo) == (
        teredo,
        IPv4Address("65.54.227.120"),
        IPv4Address("192.0.2.45"),
    )


def test_an_ipv4_address_is_judged_as_itself() -> None:
    assert judged_addresses(LOOPBACK) == (LOOPBACK,)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "a loopback address"),
        ("127.255.255.254", "a loopback address"),
        ("::1", "a loopback address"),
        ("0.0.0.0", "the unspecified address"),  # noqa: S104 - data, nothing binds
        ("::", "the unspecified address"),
        ("0.1.2.3", "'this network'"),
        ("169.254.1.1", "a link-local address"),
        ("fe80::1", "a link-local address"),
        ("224.0.0.1", "a multicast address"),
        ("239.255.255.250", "a multicast address"),
        ("ff02::1", "a multicast address"),
        ("255.255.255.255", "the broadcast address"),
        ("240.0.0.1", "a reserved address"),
        ("169.254.169.254", "a cloud metadata address"),
        ("169.254.170.2", "a cloud metadata address"),
        ("fd00:ec2::254", "a cloud metadata address"),
        ("100.100.100.200", "a cloud metadata address"),
        ("192.0.0.192", "a cloud metadata address"),
        ("::ffff:127.0.0.1", "a loopback address (it embeds 127.0.0.1)"),
        ("64:ff9b::a9fe:a9fe", "a cloud metadata address (it embeds 169.254.169.254)"),
        ("2002:e000:1::", "a multicast address (it embeds 224.0.0.1)"),
        ("192.0.2.1", None),
        ("198.51.100.7", None),
        ("2001:db8::1", None),
        ("10.0.0.1", None),
        ("fd12::1", None),
    ],
)
def test_the_address_classes_refused_whatever_the_policy(
    address: str, reason: str | None
) -> None:
    found = refusal_reason(ip_address(address), refuse_private=False, local=NOTHING)
    if reason is None:
        assert found is None
    else:
        assert found is not None
        assert reason in found


@pytest.mark.parametrize(
    ("address", "private"),
    [
        ("10.0.0.1", True),
        ("10.255.255.255", True),
        ("172.16.0.1", True),
        ("172.31.255.255", True),
        ("172.32.0.1", False),
        ("192.168.1.1", True),
        ("100.64.0.1", True),
        ("100.127.255.255", True),
        ("100.128.0.1", False),
        ("fc00::1", True),
        ("fd12:3456::1", True),
        ("fec0::1", True),
        ("::ffff:192.168.0.1", True),
        ("2002:c0a8:1::1", True),
        ("192.0.2.1", False),
        ("2001:db8::1", False),
    ],
)
def test_private_ranges_are_refused_only_when_refuse_private_is_set(
    address: str, private: bool
) -> None:
    parsed = ip_address(address)

    assert refusal_reason(parsed, refuse_private=False, local=NOTHING) is None
    found = refusal_reason(parsed, refuse_private=True, local=NOTHING)
    assert (found is not None and "a private address" in found) is private


def test_this_hosts_own_addresses_are_refused() -> None:
    local: frozenset[Address] = frozenset({IPv4Address("192.0.2.9")})

    verdict = judge("192.0.2.9", local=local)
    mapped = judge("::ffff:192.0.2.9", local=local)

    assert not verdict.allowed
    assert "an address of this host" in verdict.reason
    assert not mapped.allowed
    assert judge("192.0.2.10", local=local).allowed


def test_a_public_address_is_allowed_by_no_rule() -> None:
    assert judge("192.0.2.1", 443) == AddressVerdict(
        IPv4Address("192.0.2.1"), allowed=True, reason="a public address", rule=None
    )


def test_a_refused_address_says_which_entry_would_reach_it() -> None:
    verdict = judge("::1", 8080)

    assert not verdict.allowed
    assert verdict.rule is None
    assert verdict.reason == (
        "::1 is a loopback address; only an entry of network.allow naming "
        "'[::1]:8080' itself reaches it"
    )


@pytest.mark.parametrize(
    ("address", "allow"),
    [
        ("127.0.0.1", "127.0.0.1:8080"),
        ("::ffff:127.0.0.1", "127.0.0.1:8080"),
        ("127.0.0.1", "[::ffff:127.0.0.1]:8080"),
        ("::1", "[::1]:8080"),
        ("169.254.169.254", "169.254.169.254:8080"),
        ("10.0.0.1", "10.0.0.1:8080"),
        ("192.0.2.9", "192.0.2.9:8080"),
    ],
)
def test_an_allow_entry_naming_address_and_port_admits_a_special_address(
    address: str, allow: str
) -> None:
    local: frozenset[Address] = frozenset({IPv4Address("192.0.2.9")})

    verdict = judge(address, 8080, [allow], refuse_private=True, local=local)

    assert verdict.allowed
    assert verdict.rule == parse_pattern(allow, USER)
    assert repr(allow) in verdict.reason


@pytest.mark.parametrize(
    "allow",
    [
        "127.0.0.1",  # no port: any port is not naming this one
        "127.0.0.1:8081",
        "localhost:8080",  # a name is judged before resolution, not here
        "127.0.0.2:8080",
        "[::1]:8080",
    ],
)
def test_an_allow_entry_without_this_address_and_port_admits_no_special_address(
    allow: str,
) -> None:
    assert not judge("127.0.0.1", 8080, [allow]).allowed


def test_a_deny_entry_refuses_even_an_address_named_with_its_port() -> None:
    verdict = judge("::ffff:10.1.2.3", 443, ["10.1.2.3:443"], ["10.0.0.0/8"])

    assert not verdict.allowed
    assert verdict.rule == parse_pattern("10.0.0.0/8", MANAGED, deny=True)
    assert "'10.0.0.0/8'" in verdict.reason
    assert MANAGED in verdict.reason


def test_a_deny_entry_refuses_a_public_address() -> None:
    assert not judge("192.0.2.1", 443, deny=["192.0.2.0/24"]).allowed
    assert not judge("192.0.2.1", 443, deny=["192.0.2.1:443"]).allowed
    assert judge("192.0.2.1", 80, deny=["192.0.2.1:443"]).allowed


def test_a_teredo_address_is_refused_when_either_embedded_address_is() -> None:
    """Naming the server with its port does not admit a client that is metadata."""
    server_loopback = "2001:0:7f00:1:0:0:c000:fdd2"
    client_metadata = str(
        IPv6Address(
            (0x2001_0000 << 96)
            | (int(IPv4Address("192.0.2.1")) << 64)
            | (int(METADATA) ^ 0xFFFFFFFF)
        )
    )

    assert "loopback" in judge(server_loopback).reason
    assert not judge(client_metadata).allowed
    assert not judge(client_metadata, 80, ["192.0.2.1:80"]).allowed


def test_local_addresses_include_loopback_and_every_ipv6_interface_address() -> None:
    found = local_addresses()

    assert {IPv4Address("127.0.0.1"), IPv6Address("::1")} <= found
    if_inet6 = Path("/proc/net/if_inet6")
    if if_inet6.exists():
        listed = {
            IPv6Address(int(line.split()[0], 16))
            for line in if_inet6.read_text().splitlines()
        }
        assert listed <= found


@pytest.mark.skipif(shutil.which("ip") is None, reason="needs the ip tool (iproute2)")
def test_local_addresses_are_what_the_kernel_lists_for_the_interfaces() -> None:
    shown = subprocess.run(
        ["ip", "-json", "address", "show"], capture_output=True, check=True, text=True
    )
    listed = {
        ip_address(info["local"])
        for link in json.loads(shown.stdout)
        for info in link.get("addr_info", [])
    }
    assert listed | {IPv4Address("127.0.0.1"), IPv6Address("::1")} == (
        local_addresses()
    )


_PRINT_LOCAL = (
    "from corral.network._addresses import local_addresses; "
    "print(' '.join(sorted(map(str, local_addresses()))))"
)


def _in_new_network_namespace(script: str) -> list[str]:
    """Run `script` in a new user and network namespace; its printed words."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        pytest.skip("needs unshare (util-linux) and ip (iproute2)")
    ran = subprocess.run(
        ["unshare", "--user", "--map-root-user", "--net", "sh", "-c", script],
        capture_output=True,
        text=True,
        check=False,
    )
    if ran.returncode != 0 and "unshare" in ran.stderr:
        pytest.skip(f"cannot create a network namespace here: {ran.stderr.strip()}")
    assert ran.returncode == 0, ran.stderr
    return ran.stdout.split()


def test_an_empty_network_namespace_has_only_loopback_addresses() -> None:
    words = _in_new_network_namespace(f'{sys.executable} -c "{_PRINT_LOCAL}"')
    assert words == ["127.0.0.1", "::1"]


def test_an_address_added_to_an_interface_is_one_of_this_hosts() -> None:
    words = _in_new_network_namespace(
        "ip link set lo up && ip address add 192.0.2.77/32 dev lo && "
        f'{sys.executable} -c "{_PRINT_LOCAL}"'
    )
    assert "192.0.2.77" in words


# Every spelling of a refused IPv4 address: legacy IPv4 text, and the IPv6 forms
# that embed it, written compressed, exploded or dotted, in any case.
@st.composite
def ipv6_embedding(draw: st.DrawFn, target: IPv4Address) -> IPv6Address:
    low = int(target)
    noise = draw(st.integers(0, 2**80 - 1))
    form = draw(st.sampled_from(["mapped", "siit", "compat", "nat64", "local", "6to4"]))
    if form == "mapped":
        return IPv6Address((0xFFFF << 32) | low)
    if form == "siit":
        return IPv6Address((0xFFFF << 48) | low)
    if form == "compat":
        return IPv6Address(low)
    if form == "nat64":
        return IPv6Address((0x64FF9B << 96) | low)
    if form == "local":
        return IPv6Address((0x64FF9B0001 << 80) | ((noise & (2**48 - 1)) << 32) | low)
    return IPv6Address((0x2002 << 112) | (low << 80) | noise)


@st.composite
def spellings(draw: st.DrawFn, target: IPv4Address) -> str:
    if draw(st.booleans()):
        return draw(legacy_spellings(target))
    address = draw(ipv6_embedding(target))
    text = draw(
        st.sampled_from(
            [
                str(address),
                address.exploded,
                f"[{address}]",
                f"::ffff:{target}" if address.ipv4_mapped else str(address),
                f"64:ff9b::{target}" if address in NAT64 else address.exploded,
            ]
        )
    )
    return draw(random_case(text))


REFUSED = st.sampled_from(
    [
        LOOPBACK,
        IPv4Address("127.3.2.1"),
        METADATA,
        *(a for a in METADATA_ADDRESSES if isinstance(a, IPv4Address)),
        IPv4Address("0.0.0.0"),  # noqa: S104 - data, nothing binds
    ]
)


@given(st.data(), REFUSED, st.integers(1, 65535))
def test_every_spelling_of_a_refused_address_is_refused(
    data: st.DataObject, target: IPv4Address, port: int
) -> None:
    """Also when the allow-list names it without its port, or on another port."""
    spelled = data.draw(spellings(target))
    address = destination(spelled, port).address
    assert address is not None
    other_port = port % 65535 + 1
    allow = data.draw(
        st.sampled_from(
            [
                [],
                [str(target)],
                [f"{target}:{other_port}"],
                ["*.example.com", "example.com:443"],
            ]
        )
    )

    verdict = judge(str(address), port, allow)

    assert not verdict.allowed, spelled
    assert verdict.rule is None


@given(st.data(), REFUSED, st.integers(1, 65535))
def test_a_refused_address_named_with_its_port_is_admitted_in_every_spelling(
    data: st.DataObject, target: IPv4Address, port: int
) -> None:
    spelled = data.draw(spellings(target))
    address = destination(spelled, port).address
    assert address is not None

    verdict = judge(str(address), port, [f"{target}:{port}"])
    denied = judge(str(address), port, [f"{target}:{port}"], [f"{target}/32"])

    # '::' embeds nothing (it is not 0.0.0.0 written compatibly): only [::] names it.
    assert verdict.allowed is (address != IPv6Address("::"))
    assert not denied.allowed
