"""The PROXY v2 header reader: what the relay's HAProxy sends first, and what is refused."""

from __future__ import annotations

import ipaddress
import struct

import pytest

from plugins.relay.proxy_header import (
    MAX_BODY,
    SIGNATURE,
    ProxyHeader,
    ProxyHeaderError,
    parse_proxy_header,
)

TLS = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"  # the start of a ClientHello


def header(
    command: int = 1, family: int = 1, transport: int = 1, block: bytes = b"", version: int = 2
) -> bytes:
    return (
        SIGNATURE
        + bytes([version << 4 | command, family << 4 | transport])
        + struct.pack("!H", len(block))
        + block
    )


def inet(source: str, port: int, tlvs: bytes = b"") -> bytes:
    return (
        ipaddress.IPv4Address(source).packed
        + ipaddress.IPv4Address("127.0.0.1").packed
        + struct.pack("!HH", port, 20000)
        + tlvs
    )


def inet6(source: str, port: int) -> bytes:
    return (
        ipaddress.IPv6Address(source).packed
        + ipaddress.IPv6Address("::1").packed
        + struct.pack("!HH", port, 443)
    )


def test_an_ipv4_client_is_read_and_the_phones_bytes_follow() -> None:
    data = header(block=inet("100.64.7.2", 51234)) + TLS
    parsed = parse_proxy_header(data)
    assert parsed == ProxyHeader(("100.64.7.2", 51234), 28)
    assert data[parsed.length :] == TLS


def test_an_ipv6_client_is_read_and_a_mapped_ipv4_one_shown_as_ipv4() -> None:
    assert parse_proxy_header(header(family=2, block=inet6("2001:db8::7", 443))) == ProxyHeader(
        ("2001:db8::7", 443), 52
    )
    mapped = header(family=2, block=inet6("::ffff:100.64.7.3", 5000))
    assert parse_proxy_header(mapped) == ProxyHeader(("100.64.7.3", 5000), 52)


def test_well_formed_tlvs_are_skipped() -> None:
    tlvs = b"\x01\x00\x02h2" + b"\x04\x00\x00"  # ALPN "h2", then an empty NOOP
    data = header(block=inet("198.18.0.9", 1, tlvs)) + TLS
    parsed = parse_proxy_header(data)
    assert parsed is not None and parsed.client == ("198.18.0.9", 1)
    assert data[parsed.length :] == TLS


def test_local_names_no_client_and_its_block_is_skipped() -> None:
    data = header(command=0, family=0, transport=0, block=b"ignored") + TLS
    assert parse_proxy_header(data) == ProxyHeader(None, 23)


def test_more_bytes_are_asked_for_until_the_header_is_whole() -> None:
    whole = header(block=inet("100.64.7.2", 51234))
    for end in range(len(whole)):
        assert parse_proxy_header(whole[:end]) is None, end
    assert parse_proxy_header(whole) is not None


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (TLS, "no PROXY header: the connection starts with TLS"),
        (
            b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n",
            "a PROXY protocol v1 (text) header; only v2 (send-proxy-v2) is accepted",
        ),
        (b"GET / HTTP/1.1\r\n", "no PROXY v2 header at the start of the connection"),
        (b"\r\n\r\n\x00\r\nQUIX", "no PROXY v2 header at the start of the connection"),
        (header(version=1, block=inet("1.2.3.4", 1)), "PROXY protocol version 1, not 2"),
        (header(command=2, block=inet("1.2.3.4", 1)), "unknown PROXY command 0x2"),
        (
            header(family=0, transport=0),
            "a PROXY header without a TCP client address (family 0, transport 0)",
        ),
        (
            header(family=3, block=bytes(216)),
            "a PROXY header without a TCP client address (family 3, transport 1)",
        ),
        (
            header(transport=2, block=inet("1.2.3.4", 1)),
            "a PROXY header without a TCP client address (family 1, transport 2)",
        ),
        (
            header(block=inet("1.2.3.4", 1)[:11]),
            "a PROXY header of 11 bytes for addresses that take 12",
        ),
        (
            header(family=2, block=inet("1.2.3.4", 1)),
            "a PROXY header of 12 bytes for addresses that take 36",
        ),
        (
            header(block=inet("1.2.3.4", 1, b"\x01\x00\x09h2")),
            "a PROXY header TLV runs past the header's end",
        ),
        (
            header(block=inet("1.2.3.4", 1, b"\x01\x00")),
            "a PROXY header ends inside a TLV's type and length",
        ),
        (
            header(block=inet("1.2.3.4", 1, b"\x04" + struct.pack("!H", 600) + bytes(600))),
            f"a PROXY header of 615 bytes after the first 16 (at most {MAX_BODY})",
        ),
    ],
)
def test_anything_else_is_refused_and_said_why(data: bytes, error: str) -> None:
    with pytest.raises(ProxyHeaderError) as caught:
        parse_proxy_header(data)
    assert str(caught.value) == error


def test_an_oversize_header_is_refused_from_its_first_16_bytes() -> None:
    """Nothing more is buffered once the length says too much."""
    first = SIGNATURE + b"\x21\x11" + struct.pack("!H", 65535)
    with pytest.raises(ProxyHeaderError, match="65535 bytes"):
        parse_proxy_header(first)
