"""Allow and deny patterns: what each names, and a deny entry always winning."""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network

import pytest
from hypothesis import given
from hypothesis import strategies as st

from corral.network._names import Destination, destination
from corral.network._patterns import NameVerdict, Pattern, Rules, parse_pattern
from tests.network.test_names import NAMES, random_case

USER = "/home/u/.config/corral/policy.toml"
MANAGED = "/etc/corral/requirements.toml"


def rules(allow: Sequence[str], deny: Sequence[str] = ()) -> Rules:
    return Rules.from_entries(
        [(text, USER) for text in allow], [(text, MANAGED) for text in deny]
    )


@pytest.mark.parametrize(
    ("text", "kind", "host", "network", "port"),
    [
        ("example.com", "name", "example.com", None, None),
        ("Example.COM.:443", "name", "example.com", None, 443),
        ("*.example.com", "wildcard", "example.com", None, None),
        ("*.Example.com:8443", "wildcard", "example.com", None, 8443),
        ("*.com", "wildcard", "com", None, None),
        ("10.1.2.3", "address", None, "10.1.2.3/32", None),
        ("10.1.2.3:443", "address", None, "10.1.2.3/32", 443),
        ("0x0a.1.2.3:443", "address", None, "10.1.2.3/32", 443),
        ("127.1:8080", "address", None, "127.0.0.1/32", 8080),
        ("[::1]", "address", None, "::1/128", None),
        ("[::1]:8080", "address", None, "::1/128", 8080),
        ("[::FFFF:127.0.0.1]:80", "address", None, "::ffff:7f00:1/128", 80),
    ],
)
def test_a_pattern_names_a_host_a_domain_or_an_address_on_a_port_or_any(
    text: str, kind: str, host: str | None, network: str | None, port: int | None
) -> None:
    pattern = parse_pattern(text, USER)

    assert (pattern.text, pattern.origin) == (text, USER)
    assert pattern.kind == kind
    assert pattern.host == host
    assert pattern.network == (None if network is None else ip_network(network))
    assert pattern.port == port
    assert not pattern.deny


@pytest.mark.parametrize(
    ("text", "network"),
    [
        ("10.0.0.0/8", "10.0.0.0/8"),
        ("169.254.169.254/32", "169.254.169.254/32"),
        ("fd00::/8", "fd00::/8"),
        ("::ffff:0:0/96", "::ffff:0:0/96"),
    ],
)
def test_a_deny_entry_may_name_a_network(text: str, network: str) -> None:
    pattern = parse_pattern(text, MANAGED, deny=True)

    assert pattern.kind == "network"
    assert pattern.network == ip_network(network)
    assert pattern.port is None
    assert pattern.deny


@pytest.mark.parametrize(
    ("text", "deny", "complaint"),
    [
        ("", False, "empty"),
        ("*", False, "every host"),
        ("*:443", False, "every host"),
        ("*.", False, "empty"),
        ("**.example.com", False, "only a leading '*.'"),
        ("foo.*.example.com", False, "only a leading '*.'"),
        ("*example.com", False, "only a leading '*.'"),
        ("example.*", False, "only a leading '*.'"),
        ("*.10.0.0.1", False, "is an address"),
        ("*.[::1]", False, "is an address"),
        ("10.0.0.0/8", False, "can only be denied"),
        ("fd00::/8", False, "can only be denied"),
        ("10.0.0.1/8", True, "host bits set"),
        ("10.0.0.0/33", True, "not a network"),
        ("10.0.0.0/8:22", True, "not a network"),
        ("example.com/8", True, "not a network"),
        ("::1", False, "needs brackets"),
        ("fe80::1:443", False, "needs brackets"),
        ("[::1]:0", False, "from 1 to 65535"),
        ("example.com:99999", False, "from 1 to 65535"),
        ("example.com:https", False, "decimal number"),
        ("exa mple.com", False, "whitespace"),
        ("user@example.com", False, "user information"),
        ("bücher.example", False, "punycode"),
        ("1.2.3.4.5", True, "looks like an IPv4"),
        ("[example.com]:443", False, "not an IPv6"),
    ],
)
def test_an_invalid_pattern_is_a_value_error_saying_what_to_write(
    text: str, deny: bool, complaint: str
) -> None:
    with pytest.raises(ValueError, match="write") as caught:
        parse_pattern(text, USER, deny=deny)

    assert complaint in str(caught.value)
    assert repr(text) in str(caught.value)


@pytest.mark.parametrize(
    ("pattern", "dest", "matches"),
    [
        ("example.com", destination("example.com", 443), True),
        ("example.com", destination("example.com", 22), True),
        ("example.com", destination("www.example.com", 443), False),
        ("example.com", destination("example.co", 443), False),
        ("example.com:443", destination("example.com", 443), True),
        ("example.com:443", destination("example.com", 80), False),
        ("*.example.com", destination("example.com", 443), False),
        ("*.example.com", destination("www.example.com", 443), True),
        ("*.example.com", destination("a.b.c.example.com", 1), True),
        ("*.example.com", destination("badexample.com", 443), False),
        ("*.example.com", destination("example.com.evil", 443), False),
        ("*.example.com:443", destination("www.example.com", 80), False),
        ("10.0.0.1", destination("example.com", 443), False),
        ("example.com", destination("10.0.0.1", 443), False),
        ("*.0.0.1.example", destination("10.0.0.1.example", 443), True),
        ("10.0.0.1", destination("10.0.0.1", 443), True),
        ("10.0.0.1", destination("0x0a.1", 443), True),
        ("10.0.0.1", destination("::ffff:10.0.0.1", 443), True),
        ("[::ffff:10.0.0.1]", destination("10.0.0.1", 443), True),
        ("10.0.0.1", destination("64:ff9b::10.0.0.1", 443), True),
        ("10.0.0.1:443", destination("10.0.0.1", 80), False),
        ("10.0.0.1", destination("10.0.0.2", 443), False),
        ("[::1]:8080", destination("[0:0::1]", 8080), True),
        ("[::1]", destination("127.0.0.1", 80), False),
    ],
)
def test_what_an_allow_entry_matches(
    pattern: str, dest: Destination, matches: bool
) -> None:
    assert parse_pattern(pattern, USER).matches(dest) is matches


@pytest.mark.parametrize(
    ("pattern", "address", "matches"),
    [
        ("10.0.0.0/8", "10.255.0.1", True),
        ("10.0.0.0/8", "11.0.0.1", False),
        ("10.0.0.0/8", "::ffff:10.1.2.3", True),
        ("10.0.0.0/8", "64:ff9b::10.1.2.3", True),
        ("10.0.0.0/8", "2002:0a01:0203::1", True),
        ("10.0.0.0/8", "2001:0:0a00:1::", True),  # Teredo server 10.0.0.1
        ("10.0.0.0/8", "2001:0:4136:e378:8000:63bf:f5fe:fffe", True),  # client
        ("10.0.0.1", "2002:0a00:0001::5", True),
        ("[::ffff:10.0.0.1]", "10.0.0.1", True),
        ("fd00::/8", "fd12::1", True),
        ("fd00::/8", "fe80::1", False),
        ("::ffff:0:0/96", "::ffff:1.2.3.4", True),
        ("example.com", "10.0.0.1", False),
    ],
)
def test_a_deny_entry_matches_every_address_that_embeds_what_it_names(
    pattern: str, address: str, matches: bool
) -> None:
    """Denying an IPv4 network also denies its mapped, NAT64, 6to4 and Teredo forms."""
    deny = parse_pattern(pattern, MANAGED, deny=True)
    assert deny.matches_address(ip_address(address), 443) is matches


@pytest.mark.parametrize(
    ("pattern", "address", "port", "matches"),
    [
        ("127.0.0.1:8080", "127.0.0.1", 8080, True),
        ("127.0.0.1:8080", "::ffff:127.0.0.1", 8080, True),
        ("[::ffff:127.0.0.1]:8080", "127.0.0.1", 8080, True),
        ("127.0.0.1:8080", "64:ff9b::127.0.0.1", 8080, True),
        ("127.0.0.1:8080", "127.0.0.1", 8081, False),
        ("127.0.0.1:8080", "127.0.0.2", 8080, False),
        ("127.0.0.1", "127.0.0.1", 8080, True),
        # A Teredo address reaches its client too: naming the server is not enough.
        ("65.54.227.120:443", "2001:0:4136:e378:8000:63bf:3fff:fdd2", 443, False),
        ("[::1]:8080", "::1", 8080, True),
        ("[::1]:8080", "127.0.0.1", 8080, False),
        ("localhost:8080", "127.0.0.1", 8080, False),
    ],
)
def test_an_allow_entry_matches_an_address_only_when_it_reaches_the_same_host(
    pattern: str, address: str, port: int, matches: bool
) -> None:
    allow = parse_pattern(pattern, USER)
    assert allow.matches_address(ip_address(address), port) is matches


def test_a_deny_entry_wins_over_an_allow_entry_whatever_the_order() -> None:
    both = rules(["*.example.com", "secret.example.com"], ["secret.example.com"])

    verdict = both.judge(destination("SECRET.example.com.", 443))

    assert verdict.decision == "refuse"
    assert verdict.rule == parse_pattern("secret.example.com", MANAGED, deny=True)
    assert "'secret.example.com'" in verdict.reason
    assert MANAGED in verdict.reason


def test_an_allowed_destination_names_the_entry_and_its_file() -> None:
    verdict = rules(["*.example.com:443"]).judge(destination("www.example.com", 443))

    assert verdict == NameVerdict(
        "allow",
        parse_pattern("*.example.com:443", USER),
        f"www.example.com:443 is allowed by '*.example.com:443' ({USER})",
    )


def test_a_destination_no_entry_names_is_unknown_and_says_what_to_add() -> None:
    verdict = rules(["example.com:443"]).judge(destination("example.com", 80))

    assert verdict.decision == "unknown"
    assert verdict.rule is None
    assert "'example.com:80'" in verdict.reason


def test_empty_rules_leave_every_destination_unknown() -> None:
    assert Rules().judge(destination("example.com", 443)).decision == "unknown"


def test_a_deny_network_refuses_an_ip_literal_destination() -> None:
    verdict = rules(["10.1.2.3:443"], ["10.0.0.0/8"]).judge(
        destination("[::ffff:10.1.2.3]", 443)
    )
    assert verdict.decision == "refuse"
    assert verdict.rule is not None
    assert verdict.rule.text == "10.0.0.0/8"


def test_from_entries_refuses_a_network_in_the_allow_list() -> None:
    with pytest.raises(ValueError, match="can only be denied"):
        rules(["10.0.0.0/8"])


def test_denied_address_finds_deny_addresses_and_networks_only() -> None:
    both = rules(["10.9.9.9:443"], ["evil.example", "10.0.0.0/8", "192.0.2.1:22"])

    assert both.denied_address(IPv4Address("10.9.9.9"), 443) == both.deny[1]
    assert both.denied_address(IPv4Address("192.0.2.1"), 22) == both.deny[2]
    assert both.denied_address(IPv4Address("192.0.2.1"), 23) is None
    assert both.denied_address(IPv6Address("::ffff:192.0.2.1"), 22) == both.deny[2]


def test_explicit_address_needs_an_allow_entry_with_that_address_and_port() -> None:
    allow = rules(["127.0.0.1", "localhost:8080", "127.0.0.1:9000", "[::1]:9000"])

    assert allow.explicit_address(IPv4Address("127.0.0.1"), 8080) is None
    assert allow.explicit_address(IPv4Address("127.0.0.1"), 9000) == allow.allow[2]
    assert allow.explicit_address(IPv6Address("::ffff:7f00:1"), 9000) == allow.allow[2]
    assert allow.explicit_address(IPv6Address("::1"), 9000) == allow.allow[3]
    assert (
        rules([], ["127.0.0.1:9000"]).explicit_address(IPv4Address("127.0.0.1"), 9000)
        is None
    )


PORTS = st.integers(1, 65535)
PATTERNS = st.one_of(
    NAMES,
    NAMES.map(lambda name: f"*.{name}"),
    st.builds(lambda name, port: f"{name}:{port}", NAMES, PORTS),
    st.builds(lambda name, port: f"*.{name}:{port}", NAMES, PORTS),
)


@st.composite
def destinations_near(draw: st.DrawFn, pattern: str) -> Destination:
    """A destination close to `pattern`: its host, a name below it, or another."""
    host, _, port = pattern.removeprefix("*.").partition(":")
    near = draw(
        st.sampled_from([host, f"www.{host}", f"a.b.{host}", f"x{host}", "other"])
    )
    return destination(near, int(port) if port else draw(PORTS))


@given(st.data(), st.lists(PATTERNS, min_size=1, max_size=4))
def test_a_name_both_allowed_and_denied_is_refused(
    data: st.DataObject, entries: list[str]
) -> None:
    dest = data.draw(destinations_near(data.draw(st.sampled_from(entries))))
    denied = data.draw(st.sampled_from(entries))
    verdict = rules(entries, [denied]).judge(dest)

    if parse_pattern(denied, MANAGED, deny=True).matches(dest):
        assert verdict.decision == "refuse"
    else:
        assert verdict.decision in ("allow", "unknown")


@given(NAMES, st.one_of(st.none(), PORTS), PORTS)
def test_a_wildcard_never_matches_its_own_domain(
    name: str, pattern_port: int | None, port: int
) -> None:
    text = f"*.{name}" if pattern_port is None else f"*.{name}:{pattern_port}"
    pattern = parse_pattern(text, USER)

    assert not pattern.matches(destination(name, port))
    assert pattern.matches(destination(f"sub.{name}", pattern_port or port))


@given(
    st.data(),
    st.lists(PATTERNS, min_size=1, max_size=4),
    st.lists(PATTERNS, max_size=2),
)
def test_case_and_a_trailing_dot_never_change_a_decision(
    data: st.DataObject, allow: list[str], deny: list[str]
) -> None:
    both = rules(allow, deny)
    dest = data.draw(destinations_near(data.draw(st.sampled_from(allow + deny))))
    spelled = data.draw(random_case(dest.host)) + data.draw(st.sampled_from(["", "."]))
    respelled_rules = rules(
        [data.draw(random_case(text)) for text in allow],
        [data.draw(random_case(text)) for text in deny],
    )

    expected = both.judge(dest)
    assert both.judge(destination(spelled, dest.port)) == expected
    respelled = respelled_rules.judge(destination(spelled, dest.port))
    assert respelled.decision == expected.decision


@given(st.lists(PATTERNS, max_size=4), NAMES, PORTS)
def test_a_name_pattern_never_matches_an_address(
    allow: list[str], name: str, port: int
) -> None:
    both = rules(allow, allow)
    address = IPv4Address("192.0.2.7")

    assert both.denied_address(address, port) is None
    assert both.explicit_address(address, port) is None
    assert all(
        not pattern.matches(destination(str(address), port)) for pattern in both.allow
    )
    assert all(isinstance(pattern, Pattern) for pattern in both.deny)


@pytest.mark.parametrize(
    ("network", "address"),
    [
        ("::ffff:10.0.0.0/104", "10.0.0.5"),
        ("::ffff:10.0.0.0/104", "64:ff9b::a00:5"),
        ("64:ff9b::a00:0/120", "10.0.0.7"),
        ("64:ff9b::a00:0/120", "::ffff:10.0.0.7"),
    ],
)
def test_a_deny_network_written_in_ipv6_form_covers_the_ipv4_it_embeds(
    network: str, address: str
) -> None:
    pattern = parse_pattern(network, "test", deny=True)
    assert pattern.matches_address(ip_address(address), 443)
    assert not pattern.matches_address(ip_address("11.0.0.5"), 443)


@pytest.mark.parametrize("text", ["https://pkg.test/simple", "pkg.test/simple"])
def test_a_url_is_refused_with_the_host_to_write_instead(text: str) -> None:
    with pytest.raises(ValueError, match=r"a URL or a path.*\(pkg\.test\)"):
        parse_pattern(text, "test")
