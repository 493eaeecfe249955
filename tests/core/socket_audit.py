"""Where this process's sockets went: a module-level audit hook, recording only while asked.

`sys.addaudithook` cannot be undone, so the hook is installed once, on import, and does nothing
but return unless a test is inside `recording()`. It sees `socket.connect`, `socket.sendto`,
`socket.sendmsg` and name lookups made from Python, in every thread of this process (worker
processes that probe media are not covered: they never touch the network). For a UDP send to a
multicast group it also notes the interface the socket sends from (IP_MULTICAST_IF), so a test
can check that mDNS goes out on loopback and nowhere else.
"""

from __future__ import annotations

import ipaddress
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


@dataclass(frozen=True)
class SocketEvent:
    """One audited event: what, where to, and for multicast sends, from which interface."""

    event: str
    address: Any
    multicast_if: str | None = None

    @property
    def host(self) -> str | None:
        if isinstance(self.address, tuple) and self.address:
            return str(self.address[0])
        return None


_active: list[list[SocketEvent]] = []  # the list being filled, while a test records


def _multicast_if(sock: Any) -> str | None:
    try:
        raw = sock.getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, 4)
        return socket.inet_ntoa(raw)
    except (OSError, AttributeError):
        return None


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if not _active or not event.startswith("socket."):
        return
    try:
        events = _active[-1]
    except IndexError:  # recording ended in another thread just now
        return
    if event in ("socket.connect", "socket.sendto", "socket.sendmsg"):
        sock, address = args[0], args[1]
        multicast = None
        if event != "socket.connect" and is_multicast(address):
            multicast = _multicast_if(sock)
        events.append(SocketEvent(event, address, multicast))
    elif event == "socket.getaddrinfo":
        events.append(SocketEvent(event, (args[0], args[1])))
    elif event in ("socket.gethostbyname", "socket.gethostbyname_ex", "socket.gethostbyaddr"):
        events.append(SocketEvent(event, (args[0], None)))


sys.addaudithook(_hook)


@contextmanager
def recording() -> Iterator[list[SocketEvent]]:
    """Record socket events until the block ends; yields the (growing) list."""
    events: list[SocketEvent] = []
    _active.append(events)
    try:
        yield events
    finally:
        _active.remove(events)


def _ip(host: Any) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(str(host).split("%", 1)[0])
    except ValueError:
        return None


def is_multicast(address: Any) -> bool:
    if not isinstance(address, tuple) or not address:
        return False
    ip = _ip(address[0])
    return ip is not None and ip.is_multicast


def is_loopback(address: Any) -> bool:
    """A Unix socket path, a loopback address or a loopback name (no lookup is made here)."""
    if isinstance(address, str | bytes):
        return True  # AF_UNIX: a path on this box
    if not isinstance(address, tuple) or not address:
        return False
    host = address[0]
    if host is None or host == "" or str(host).lower() in LOCAL_NAMES:
        return True
    ip = _ip(host)
    return ip is not None and ip.is_loopback
