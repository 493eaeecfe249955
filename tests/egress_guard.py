"""A hard stop for traffic leaving this machine from the test process.

Installed once for the whole suite (conftest imports it): an audit hook that raises before a
socket connects or sends to anything but loopback, the benchmark range 198.18.0.0/15 used
inside test network namespaces, or a multicast group on the loopback interface. A test that
would reach the LAN or the internet by mistake fails loudly instead of sending a packet.
"""

from __future__ import annotations

import ipaddress
import socket
import sys
from typing import Any

_TEST_NET = ipaddress.ip_network("198.18.0.0/15")


def _allowed(sock: Any, address: Any) -> bool:
    if not isinstance(address, tuple) or not address:
        return True  # AF_UNIX paths, abstract sockets
    host = str(address[0]).split("%")[0]
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return True  # a name: the connect after resolution is checked again
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback or ip.is_unspecified or ip in _TEST_NET:
        return True
    if ip.is_multicast:
        try:
            raw = sock.getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, 4)
            return bool(ipaddress.ip_address(socket.inet_ntoa(raw)).is_loopback)
        except (OSError, AttributeError, ValueError):
            return False
    return False


def _guard(event: str, args: tuple[Any, ...]) -> None:
    if event in ("socket.connect", "socket.sendto", "socket.sendmsg"):
        sock, address = args[0], args[1]
        if not _allowed(sock, address):
            raise PermissionError(f"test egress guard: {event} to {address!r} is not allowed")


sys.addaudithook(_guard)
