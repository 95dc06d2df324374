"""Destinations: every spelling of one host is one canonical destination, or refused."""

from __future__ import annotations

import ctypes
import socket
import string
from ipaddress import IPv4Address, IPv6Address, ip_address

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from corral.errors import CorralError
from corral.network._names import (
    Destination,
    DestinationError,
    canonical_host,
    destination,
    inet_aton,
    parse_authority,
)

_libc = ctypes.CDLL(None)
MAPPED_LOOPBACK = str(IPv6Address("::ffff:127.0.0.1"))


def libc_inet_aton(text: str) -> IPv4Address | None:
    """What the C library's own inet_aton reads in `text`."""
    packed = ctypes.c_uint32()
    if not _libc.inet_aton(text.encode(), ctypes.byref(packed)):
        return None
    return IPv4Address(socket.ntohl(packed.value))


# Names: valid labels of letters, digits, '-' and '_' that do not end in a digit,
# so that no generated name is read as an IPv4 address.
_LABEL = st.from_regex(r"\A[a-z0-9_]([a-z0-9_-]{0,10}[a-z0-9_])?\Z")
_LAST_LABEL = st.from_regex(r"\A[a-z_]([a-z0-9_-]{0,10}[a-z0-9_])?\Z")
NAMES = st.builds(
    lambda labels, last: ".".join([*labels, last]),
    st.lists(_LABEL, max_size=4),
    _LAST_LABEL,
)


@st.composite
def random_case(draw: st.DrawFn, text: str) -> str:
    """`text` with any of its letters in upper case."""
    flips = draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
    return "".join(c.upper() if f else c for c, f in zip(text, flips, strict=True))


@st.composite
def legacy_spellings(draw: st.DrawFn, address: IPv4Address) -> str:
    """`address` in any form inet_aton reads: 1-4 parts, decimal, octal or hex."""
    count = draw(st.integers(1, 4))
    packed = address.packed
    parts = [*packed[: count - 1], int.from_bytes(packed[count - 1 :], "big")]
    spelled = []
    for part in parts:
        form = draw(st.sampled_from(["dec", "oct", "hex"]))
        zeros = "0" * draw(st.integers(0, 3))
        if form == "dec":
            spelled.append(str(part))
        elif form == "oct":
            spelled.append(f"0{zeros}{part:o}")
        else:
            spelled.append(f"0x{zeros}{part:x}")
    return draw(random_case(".".join(spelled)))


def test_the_destination_error_is_a_corral_error() -> None:
    assert issubclass(DestinationError, CorralError)


@pytest.mark.parametrize(
    ("text", "host", "address"),
    [
        ("example.com", "example.com", None),
        ("Example.COM", "example.com", None),
        ("example.com.", "example.com", None),
        ("_dmarc.example.com", "_dmarc.example.com", None),
        ("xn--bcher-kva.example", "xn--bcher-kva.example", None),
        ("1e100.net", "1e100.net", None),
        ("localhost", "localhost", None),
        ("a-b.c-d", "a-b.c-d", None),
        ("a" * 63 + ".com", "a" * 63 + ".com", None),
        ("10.0.0.1", "10.0.0.1", "10.0.0.1"),
        ("127.1", "127.0.0.1", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1", "127.0.0.1"),
        ("0X7F.0.0.1", "127.0.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1", "127.0.0.1"),
        ("017700000001", "127.0.0.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1", "127.0.0.1"),
        ("127.0.0.1.", "127.0.0.1", "127.0.0.1"),
        ("169.254.43518", "169.254.169.254", "169.254.169.254"),
        ("0", "0.0.0.0", "0.0.0.0"),  # noqa: S104 - an address as data, not bound
        ("::1", "::1", "::1"),
        ("[::1]", "::1", "::1"),
        ("[2001:DB8:0:0:0:0:0:1]", "2001:db8::1", "2001:db8::1"),
        # Python's own text for a mapped address (mixed notation from 3.13 on).
        ("::FFFF:127.0.0.1", MAPPED_LOOPBACK, "::ffff:7f00:1"),
        ("[0:0:0:0:0:ffff:7f00:0001]", MAPPED_LOOPBACK, "::ffff:7f00:1"),
    ],
)
def test_a_host_has_one_canonical_form(
    text: str, host: str, address: str | None
) -> None:
    """Case, a trailing dot, brackets and legacy IPv4 spellings change nothing."""
    expected = None if address is None else ip_address(address)
    assert canonical_host(text) == (host, expected)


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("", "empty"),
        (".", "no name"),
        ("exa mple.com", "whitespace"),
        ("example.com ", "whitespace"),
        ("exa\tmple.com", "whitespace"),
        ("exa\x00mple.com", "control character"),
        ("exa\x7fmple.com", "control character"),
        ("bücher.example", "punycode"),
        ("\u212aelvin.example", "punycode"),  # KELVIN SIGN lowercases to ASCII 'k'
        ("fe80::1%eth0", "zone id"),
        ("[fe80::1%25eth0]", "zone id"),
        ("exa%2emple.com", "percent"),
        ("example.com/path", "path"),
        ("example.com\\path", "path"),
        ("user@example.com", "user information"),
        ("exa$mple.com", "'$'"),
        ("exa*mple.com", "'*'"),
        ("a..b", "empty label"),
        (".example.com", "empty label"),
        ("example.com..", "empty label"),
        ("-example.com", "'-'"),
        ("example-.com", "'-'"),
        ("a" * 64 + ".com", "label of 64"),
        (".".join(["a" * 63] * 4), "255 characters"),
        ("1.2.3.4.5", "looks like an IPv4"),
        ("0x1g", "looks like an IPv4"),
        ("127.0.0.1x", "looks like an IPv4"),
        ("256.0.0.1", "looks like an IPv4"),
        ("1.2.65536", "looks like an IPv4"),
        ("4294967296", "looks like an IPv4"),
        ("08.0.0.1", "looks like an IPv4"),
        ("0x.1", "looks like an IPv4"),
        ("example.123", "looks like an IPv4"),
        ("example.com:443", "not an IPv6"),
        ("::1::2", "not an IPv6"),
        ("[example.com]", "not an IPv6"),
        ("[::1", "stray brackets"),
        ("[[::1]]", "stray brackets"),
        ("::ffff:127.0.0.01", "not an IPv6"),
    ],
)
def test_an_invalid_host_is_refused_saying_what_to_write(
    text: str, complaint: str
) -> None:
    with pytest.raises(DestinationError) as caught:
        canonical_host(text)

    message = str(caught.value)
    assert complaint in message
    assert "write" in message


def test_the_longest_name_dns_carries_is_accepted() -> None:
    name = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 61])
    assert len(name) == 253
    assert canonical_host(name + ".") == (name, None)


@pytest.mark.parametrize(
    ("dest", "authority"),
    [
        (destination("Example.com", 443), "example.com:443"),
        (destination("0x0a.1", 80), "10.0.0.1:80"),
        (destination("[::1]", 8080), "[::1]:8080"),
        (destination("::1", 8080), "[::1]:8080"),
    ],
)
def test_an_authority_brackets_ipv6_only(dest: Destination, authority: str) -> None:
    assert dest.authority() == authority


@pytest.mark.parametrize("port", [0, -1, 65536, True, 443.0, "443"])
def test_a_port_outside_1_to_65535_or_not_an_integer_is_refused(port: object) -> None:
    with pytest.raises(DestinationError, match="write a number from 1 to 65535"):
        destination("example.com", port)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "default", "expected"),
    [
        ("example.com:443", None, Destination("example.com", 443, None)),
        ("EXAMPLE.com.:80", None, Destination("example.com", 80, None)),
        ("example.com:00080", None, Destination("example.com", 80, None)),
        ("example.com", 443, Destination("example.com", 443, None)),
        ("example.com:80", 443, Destination("example.com", 80, None)),
        ("127.1:80", None, Destination("127.0.0.1", 80, IPv4Address("127.0.0.1"))),
        ("[::1]:8080", None, Destination("::1", 8080, IPv6Address("::1"))),
        ("[::1]", 443, Destination("::1", 443, IPv6Address("::1"))),
        (
            "[::ffff:169.254.169.254]:80",
            None,
            Destination(
                str(IPv6Address("::ffff:a9fe:a9fe")),
                80,
                IPv6Address("::ffff:a9fe:a9fe"),
            ),
        ),
    ],
)
def test_an_authority_is_host_and_port(
    text: str, default: int | None, expected: Destination
) -> None:
    assert parse_authority(text, default) == expected


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("example.com", "no port"),
        ("example.com:", "decimal number"),
        ("example.com:+80", "decimal number"),
        ("example.com: 80", "decimal number"),
        ("example.com:8_0", "decimal number"),
        ("example.com:\u0664\u0664\u0663", "decimal number"),  # Arabic-Indic 443
        ("example.com:0x50", "decimal number"),
        ("example.com:0", "from 1 to 65535"),
        ("example.com:65536", "from 1 to 65535"),
        ("example.com:1000000", "decimal number"),
        ("::1:80", "needs brackets"),
        ("[::1]80", "after the address"),
        ("[::1:80", "without closing"),
        ("[example.com]:80", "brackets belong around an IPv6 address"),
        ("user@example.com:80", "user information"),
        (":80", "empty"),
        ("0x1g:80", "looks like an IPv4"),
    ],
)
def test_a_malformed_authority_is_refused_saying_what_to_write(
    text: str, complaint: str
) -> None:
    with pytest.raises(DestinationError) as caught:
        parse_authority(text)

    assert complaint in str(caught.value)
    assert "write" in str(caught.value)


@pytest.mark.parametrize(
    "text",
    [
        "127.1",
        "0x7f.1",
        "2130706433",
        "0177.0.0.1",
        "0x.1",
        "0x",
        "08",
        "0x1g",
        "1.2.3.4.5",
        "4294967295",
        "4294967296",
        "99999999999999999999999",
        "1.16777215",
        "1.16777216",
        "1.2.65535",
        "1.2.65536",
        "127.0.0.1 trailing",
        "127.0.0.1\tx",
        "1.",
        ".1",
        "1..2",
        "00x1",
        "0xffffffff",
        "0x100000000",
        "0000000000000000000000377.1",
        "0" * 5000 + "1",
        "0x" + "0" * 5000 + "7f.1",
        "1" + "0" * 5000,
        "077777777777",
        "037777777777",
        "0x0ffffffff",
    ],
)
def test_inet_aton_reads_what_the_c_library_reads(text: str) -> None:
    assert inet_aton(text) == libc_inet_aton(text)


@given(st.text(alphabet="0123456789abcdefxX. \tg-+", max_size=24))
@example("0x.0x.0x.1")
@example("1.2.3.0x")
def test_inet_aton_agrees_with_the_c_library_on_any_text(text: str) -> None:
    assert inet_aton(text) == libc_inet_aton(text)


@given(st.data())
def test_inet_aton_agrees_with_the_c_library_on_any_spelling(
    data: st.DataObject,
) -> None:
    address = IPv4Address(data.draw(st.integers(0, 2**32 - 1)))
    text = data.draw(legacy_spellings(address))

    assert inet_aton(text) == libc_inet_aton(text) == address


@given(st.data())
def test_every_legacy_spelling_is_the_address_it_spells(data: st.DataObject) -> None:
    address = IPv4Address(data.draw(st.integers(0, 2**32 - 1)))
    text = data.draw(legacy_spellings(address))

    assert canonical_host(text) == (str(address), address)


@given(st.one_of(NAMES, st.ip_addresses().map(str), st.text(max_size=30)))
def test_canonicalisation_is_idempotent(text: str) -> None:
    try:
        host, address = canonical_host(text)
    except DestinationError:
        return
    assert canonical_host(host) == (host, address)


@given(st.data(), NAMES)
def test_case_and_a_trailing_dot_never_change_a_name(
    data: st.DataObject, name: str
) -> None:
    spelled = data.draw(random_case(name)) + data.draw(st.sampled_from(["", "."]))
    assert canonical_host(spelled) == (name, None)


@given(st.ip_addresses(v=6))
def test_an_ipv6_address_with_or_without_brackets_is_the_same_destination(
    address: IPv6Address,
) -> None:
    exploded = address.exploded.upper()

    assert destination(exploded, 443) == destination(f"[{address}]", 443)
    assert destination(exploded, 443) == Destination(str(address), 443, address)
    assert parse_authority(f"[{exploded}]:443") == destination(exploded, 443)


@given(st.ip_addresses(), st.integers(1, 65535))
def test_an_authority_reads_back_as_the_same_destination(
    address: IPv4Address | IPv6Address, port: int
) -> None:
    dest = destination(str(address), port)
    assert parse_authority(dest.authority()) == dest


@given(
    st.text(
        alphabet=st.characters(codec="ascii", exclude_characters=string.whitespace),
        max_size=30,
    )
)
def test_a_canonical_host_holds_only_name_characters(text: str) -> None:
    """Whatever is accepted is a plain name or address: nothing a parser could split."""
    try:
        host, address = canonical_host(text)
    except DestinationError:
        return
    if address is None:
        assert set(host) <= set(string.ascii_lowercase + string.digits + "-_.")
        assert host.rpartition(".")[2][0] not in string.digits
    else:
        assert host == str(address)
