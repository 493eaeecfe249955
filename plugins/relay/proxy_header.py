"""The PROXY protocol v2 header the relay's HAProxy puts before each phone's connection.

Every connection the relay hands the box comes from the relay's own loopback, so the relay
says who is really at the other end in the first bytes of the stream: HAProxy's
`send-proxy-v2` (the binary version 2 of the PROXY protocol, haproxy.org's proxy-protocol.txt).
This module reads exactly that header and says the client's address and the header's length;
the bytes after it are the phone's TLS, which it never looks at.

Binary v2 only: the text v1 (`PROXY TCP4 ...`) and anything else are refused, as is a header
that names no TCP client (UNSPEC or UNIX families, datagrams), claims more than
`MAX_BODY` bytes, or whose TLVs run past its end. LOCAL (a connection the proxy made for
itself; HAProxy sends it only for health checks, which the relay does not configure) names no
client: `client` is None. It never decides whom to trust: only the relay plugin, for what
arrives through its own SSH link, calls it.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass

SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
FIXED = 16  # signature, version and command, family and transport, length
# HAProxy sends 12 (IPv4) or 36 (IPv6) address bytes and, as the relay configures it, no TLVs;
# room for a few TLVs (ALPN, authority, a unique id) if an operator adds them, and no more:
# the header is buffered whole before the phone's first byte is passed on
MAX_BODY = 512
LOCAL, PROXY = 0x0, 0x1
INET, INET6 = 0x1, 0x2
STREAM = 0x1
_ADDRESS_BYTES = {INET: 12, INET6: 36}


class ProxyHeaderError(Exception):
    """The stream does not start with a PROXY v2 header this box accepts; says why."""


@dataclass(frozen=True)
class ProxyHeader:
    """What the relay said: the client's address and port (None for LOCAL), and how many
    bytes the header took (the client's own bytes start after them)."""

    client: tuple[str, int] | None
    length: int


def parse_proxy_header(data: bytes) -> ProxyHeader | None:
    """The header at the start of `data`; None while more bytes are needed to tell.
    Raises ProxyHeaderError as soon as the bytes so far cannot start an accepted header."""
    start = data[: len(SIGNATURE)]
    if start != SIGNATURE[: len(start)]:
        raise ProxyHeaderError(_not_a_header(data))
    if len(data) < FIXED:
        return None
    version, command = data[12] >> 4, data[12] & 0x0F
    if version != 2:
        raise ProxyHeaderError(f"PROXY protocol version {version}, not 2")
    if command not in (LOCAL, PROXY):
        raise ProxyHeaderError(f"unknown PROXY command {command:#x}")
    family, transport = data[13] >> 4, data[13] & 0x0F
    (body,) = struct.unpack_from("!H", data, 14)
    if body > MAX_BODY:
        raise ProxyHeaderError(
            f"a PROXY header of {body} bytes after the first 16 (at most {MAX_BODY})"
        )
    if len(data) < FIXED + body:
        return None
    block = data[FIXED : FIXED + body]
    if command == LOCAL:  # addresses and TLVs, if any, are to be ignored
        return ProxyHeader(None, FIXED + body)
    need = _ADDRESS_BYTES.get(family)
    if need is None or transport != STREAM:
        raise ProxyHeaderError(
            f"a PROXY header without a TCP client address (family {family}, transport {transport})"
        )
    if body < need:
        raise ProxyHeaderError(f"a PROXY header of {body} bytes for addresses that take {need}")
    _check_tlvs(block[need:])
    if family == INET:
        address: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.IPv4Address(block[:4])
        (port,) = struct.unpack_from("!H", block, 8)
    else:
        address = ipaddress.IPv6Address(block[:16])
        (port,) = struct.unpack_from("!H", block, 32)
        address = address.ipv4_mapped or address  # HAProxy maps IPv4 when families mix
    return ProxyHeader((address.compressed, port), FIXED + body)


def _check_tlvs(tlvs: bytes) -> None:
    """Each TLV (type, 2-byte length, value) must end within the header."""
    offset = 0
    while offset < len(tlvs):
        if offset + 3 > len(tlvs):
            raise ProxyHeaderError("a PROXY header ends inside a TLV's type and length")
        (size,) = struct.unpack_from("!H", tlvs, offset + 1)
        offset += 3 + size
        if offset > len(tlvs):
            raise ProxyHeaderError("a PROXY header TLV runs past the header's end")


def _not_a_header(data: bytes) -> str:
    if data.startswith(b"PROXY "):
        return "a PROXY protocol v1 (text) header; only v2 (send-proxy-v2) is accepted"
    if data[:1] == b"\x16":
        return "no PROXY header: the connection starts with TLS"
    return "no PROXY v2 header at the start of the connection"
