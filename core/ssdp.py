"""The box's one SSDP listener: the UDP sockets on port 1900 that every plugin speaking SSDP
shares, through `PluginContext.ssdp_subscribe`.

When each plugin bound 0.0.0.0:1900 itself (the DLNA server answering M-SEARCH, Play to TV
hearing TVs' NOTIFYs), a multicast datagram reached them all but a unicast one only whichever
socket the kernel picked, so a unicast M-SEARCH sent straight to the box went unanswered. Here
the core opens, per port, one wildcard socket that joins 239.255.255.250 on each address a
subscriber listens on (what is sent to the group), and one socket bound to each address a
subscriber answers on (what is sent straight to the box: a bind to the address always beats
anyone's wildcard bind), and hands every datagram to every subscriber of the socket it came in
on. Only datagrams from the home network (`HomeNetwork`: an attached or listed subnet), from
this box's own addresses or from loopback are handed on; anything else is dropped here and
logged once. Subscribers speak through their subscription: a reply leaves from the socket the
question came in on, an announcement goes to the group out of one address with a TTL of 2.
Sockets close when their last subscriber leaves. It never parses SSDP and never sends anything
a subscriber did not ask for.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import sys
import weakref
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, cast

from core.network import HomeNetwork, parse_address

SSDP_GROUP = "239.255.255.250"
SSDP_PORT = 1900
MULTICAST_TTL = 2  # UDA: SSDP must not leave the home network
MAX_WARNED = 256  # distinct strangers logged at INFO; later ones at DEBUG (a flood stays quiet)
OUTSIDE = "it was sent from outside the home network"
IP_MULTICAST_ALL = 49  # linux/in.h; the socket module does not name it
_LOGGER = logging.getLogger("hearth.ssdp")


@dataclass(frozen=True, slots=True)
class SsdpDatagram:
    """One datagram heard: who sent it, and where to (`to` is the box's address it was sent
    straight to, or "" when it came to the multicast group)."""

    data: bytes
    sender: tuple[str, int]
    to: str


Receiver = Callable[[SsdpDatagram], None]


def from_home(home: HomeNetwork, sender: str) -> bool:
    """Whether a datagram from `sender` may reach the plugins: home subnets, ours, loopback."""
    address = parse_address(sender)
    if address is None:
        return False
    return home.classify(sender) in ("lan", "loopback") or address in home.own_addresses()


class _Socket(asyncio.DatagramProtocol):
    """One bound socket's protocol; `to` is its address ("" for the group's)."""

    def __init__(self, port: SsdpPort, to: str) -> None:
        self.port, self.to = port, to
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.port.deliver(SsdpDatagram(data, (str(addr[0]), int(addr[1])), self.to))

    def error_received(self, exc: Exception) -> None:
        _LOGGER.debug("SSDP socket %s: %s", self.to or "group", exc)

    def send(self, payload: bytes, addr: tuple[str, int]) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.sendto(payload, addr)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class SsdpSubscription:
    """A plugin's share of an SSDP port: what it hears, and how it answers."""

    def __init__(
        self, port: SsdpPort, receiver: Receiver, addresses: list[str], group: bool, direct: bool
    ) -> None:
        self._port, self.receiver = port, receiver
        self.group, self.direct = group, direct
        self.addresses = addresses
        """The addresses actually listened on (one that could not be used is left out)."""

    def hears(self, datagram: SsdpDatagram) -> bool:
        if datagram.to:
            return self.direct and datagram.to in self.addresses
        return self.group

    def reply(self, datagram: SsdpDatagram, payload: bytes) -> None:
        """Answer a datagram, to its sender, from the socket it came in on."""
        self._port.reply(datagram, payload)

    def announce(self, address: str, payload: bytes) -> None:
        """Send to the SSDP group out of one of this subscription's addresses."""
        if address in self.addresses:
            self._port.announce(address, payload)

    def close(self) -> None:
        """Stop hearing; the port's sockets close with their last subscriber. Safe twice."""
        self._port.remove(self)


class SsdpPort:
    """The shared sockets on one UDP port, while anyone subscribes."""

    def __init__(
        self, number: int, home: HomeNetwork, on_empty: Callable[[SsdpPort], None]
    ) -> None:
        self.number, self.home, self._on_empty = number, home, on_empty
        self._subscribers: list[SsdpSubscription] = []
        self._group: _Socket | None = None
        self._joined: Counter[str] = Counter()
        self._direct: dict[str, _Socket] = {}
        self._direct_users: Counter[str] = Counter()
        self._warned: set[str] = set()

    @property
    def idle(self) -> bool:
        return not self._subscribers

    async def subscribe(
        self, receiver: Receiver, addresses: Iterable[str], group: bool, direct: bool
    ) -> SsdpSubscription:
        """Hear what is sent to the group on `addresses`' interfaces (`group`) and what is sent
        straight to `addresses` (`direct`: also lets the subscription announce). With the
        group, an address that cannot be used is logged and left out; OSError when the
        group's socket cannot be bound or, without the group, when an address cannot be."""
        if group and self._group is None:
            self._group = await self._open(("", self.number), "")
        usable: list[str] = []
        for address in dict.fromkeys(addresses):
            try:
                await self._take(address, group, direct)
            except OSError as err:
                if not group:
                    for taken in usable:
                        self._release(taken, group, direct)
                    raise
                _LOGGER.warning("SSDP cannot use %s: %s", address, err)
                continue
            usable.append(address)
        subscription = SsdpSubscription(self, receiver, usable, group, direct)
        self._subscribers.append(subscription)
        return subscription

    async def _take(self, address: str, group: bool, direct: bool) -> None:
        """Join the group on `address` and open its own socket, as asked; all or nothing."""
        if group:
            self._join(address)
        if not direct:
            return
        try:
            if address not in self._direct:
                self._direct[address] = await self._open((address, self.number), address)
        except OSError:
            if group:
                self._leave(address)
            raise
        self._direct_users[address] += 1

    def _release(self, address: str, group: bool, direct: bool) -> None:
        if group:
            self._leave(address)
        if direct:
            self._close_direct(address)

    async def _open(self, bind: tuple[str, int], to: str) -> _Socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # other UPnP on the box
            sock.setblocking(False)
            sock.bind(bind)
            if not to and sys.platform.startswith("linux"):
                # Only the memberships this socket made, on their interfaces: by default Linux
                # hands it the group's datagrams from any interface where anyone joined it.
                sock.setsockopt(socket.IPPROTO_IP, IP_MULTICAST_ALL, 0)
            if to:  # an address's own socket also announces out of that address
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(to))
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, MULTICAST_TTL)
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)  # players here
        except OSError:
            sock.close()
            raise
        loop = asyncio.get_running_loop()
        _, protocol = await loop.create_datagram_endpoint(lambda: _Socket(self, to), sock=sock)
        return protocol

    def _close_direct(self, address: str) -> None:
        self._direct_users[address] -= 1
        if self._direct_users[address] <= 0:
            del self._direct_users[address]
            found = self._direct.pop(address, None)
            if found is not None:
                found.close()

    def _membership(self, address: str) -> bytes:
        return socket.inet_aton(SSDP_GROUP) + socket.inet_aton(address)

    def _join(self, address: str) -> None:
        if self._group is None or self._group.transport is None:
            raise OSError("the SSDP group's socket is closed")
        if not self._joined[address]:
            sock = self._group.transport.get_extra_info("socket")
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, self._membership(address))
        self._joined[address] += 1

    def _leave(self, address: str) -> None:
        self._joined[address] -= 1
        if self._joined[address] > 0:
            return
        del self._joined[address]
        if self._group is not None and self._group.transport is not None:
            sock = self._group.transport.get_extra_info("socket")
            try:
                sock.setsockopt(
                    socket.IPPROTO_IP, socket.IP_DROP_MEMBERSHIP, self._membership(address)
                )
            except OSError as err:  # the address went away with its interface
                _LOGGER.debug("SSDP could not leave the group on %s: %s", address, err)

    def deliver(self, datagram: SsdpDatagram) -> None:
        sender = datagram.sender[0]
        if not from_home(self.home, sender):
            log = _LOGGER.debug if sender in self._warned else _LOGGER.info
            if len(self._warned) < MAX_WARNED:
                self._warned.add(sender)
            log("Ignored SSDP from %s: %s", sender, OUTSIDE)
            return
        for subscription in list(self._subscribers):
            if subscription.hears(datagram):
                try:
                    subscription.receiver(datagram)
                except Exception:  # one plugin's bug must not deafen the others
                    _LOGGER.exception("An SSDP subscriber failed on a datagram from %s", sender)

    def reply(self, datagram: SsdpDatagram, payload: bytes) -> None:
        sock = self._direct.get(datagram.to) if datagram.to else self._group
        if sock is not None:
            sock.send(payload, datagram.sender)

    def announce(self, address: str, payload: bytes) -> None:
        sock = self._direct.get(address)
        if sock is not None:
            sock.send(payload, (SSDP_GROUP, self.number))

    def remove(self, subscription: SsdpSubscription) -> None:
        if subscription not in self._subscribers:
            return
        self._subscribers.remove(subscription)
        for address in subscription.addresses:
            self._release(address, subscription.group, subscription.direct)
        if not self._subscribers:
            self.close()

    def close(self) -> None:
        for sock in [*self._direct.values(), *([self._group] if self._group else [])]:
            sock.close()
        self._direct.clear()
        self._direct_users.clear()
        self._joined.clear()
        self._group = None
        self._on_empty(self)


class SsdpSockets:
    """Every shared SSDP port of one server, opened as plugins subscribe."""

    def __init__(self, home: HomeNetwork) -> None:
        self.home = home
        self._ports: dict[int, SsdpPort] = {}
        self._lock = asyncio.Lock()  # two plugins setting up at once open one socket

    async def subscribe(
        self, receiver: Receiver, addresses: Iterable[str], port: int, group: bool, direct: bool
    ) -> SsdpSubscription:
        """A share of `port`'s sockets (see `SsdpPort.subscribe`)."""
        async with self._lock:
            shared = self._ports.get(port)
            if shared is None:
                shared = SsdpPort(port, self.home, self._forget)
                self._ports[port] = shared
            try:
                return await shared.subscribe(receiver, addresses, group, direct)
            except OSError:
                if shared.idle:
                    shared.close()
                raise

    def _forget(self, closed: SsdpPort) -> None:
        if self._ports.get(closed.number) is closed:
            del self._ports[closed.number]


_SHARED: weakref.WeakKeyDictionary[object, SsdpSockets] = weakref.WeakKeyDictionary()


def sockets_of(owner: object, home: HomeNetwork) -> SsdpSockets:
    """The SSDP sockets of one server (`owner`: its hub), made on first use."""
    found = _SHARED.get(owner)
    if found is None:
        found = _SHARED[owner] = SsdpSockets(home)
    return found
