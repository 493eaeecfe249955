"""The SSDP responder and announcer, on the configured interfaces only.

Multicast mode listens on the SSDP port (the wildcard bind multicast needs), joins
239.255.255.250 and announces only on each configured interface (all non-link-local IPv4 ones
when none were): `ssdp:alive` at start and every half max-age, byebye at stop; it answers
M-SEARCH after a random delay within MX. Unicast mode binds each configured address itself
and only answers M-SEARCH sent straight to it (tests on loopback). Against reflection attacks
it answers only sources on a configured interface's subnet, rate-limits each source and caps
replies waiting to be sent. It never sends anything to an address it did not hear from, except
the SSDP group on a configured interface, with a TTL of 2.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import logging
import random
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import psutil

from plugins.dlna import ssdp

MULTICAST_TTL = 2  # UDA: announcements must not leave the home network
MAX_PENDING = 256  # delayed replies waiting, over all sources
REPLY_MARGIN = 0.5  # seconds kept free at the end of MX for the reply to travel


@dataclass(frozen=True, slots=True)
class LanInterface:
    """An IPv4 address this server answers on, and the subnet it is on."""

    address: str
    network: ipaddress.IPv4Network


def lan_interfaces_blocking(wanted: tuple[str, ...]) -> list[LanInterface]:
    """Interfaces named (by name or address) in `wanted`; every non-link-local one if empty."""
    found: dict[str, LanInterface] = {}
    for name, entries in psutil.net_if_addrs().items():
        for entry in entries:
            if entry.family != socket.AF_INET or not entry.netmask:
                continue
            address = ipaddress.IPv4Address(entry.address)
            if address.is_link_local or (
                wanted and name not in wanted and entry.address not in wanted
            ):
                continue
            network = ipaddress.IPv4Network(f"{entry.address}/{entry.netmask}", strict=False)
            found[entry.address] = LanInterface(entry.address, network)
    if not wanted:
        outside = {a: i for a, i in found.items() if not ipaddress.ip_address(a).is_loopback}
        found = outside or found
    return [found[a] for a in sorted(found)]


class RateLimiter:
    """A token bucket per source address, counting reply datagrams."""

    def __init__(self, capacity: float = 30, per_second: float = 10, max_sources: int = 1024):
        self.capacity, self.per_second, self.max_sources = capacity, per_second, max_sources
        self._buckets: dict[str, tuple[float, float]] = {}

    def allow(self, source: str, cost: int, now: float) -> bool:
        tokens, then = self._buckets.get(source, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - then) * self.per_second)
        if source not in self._buckets and len(self._buckets) >= self.max_sources:
            self._buckets = {s: b for s, b in self._buckets.items() if now - b[1] < 60}
            if len(self._buckets) >= self.max_sources:
                return False
        if tokens < cost:
            self._buckets[source] = (tokens, now)
            return False
        self._buckets[source] = (tokens - cost, now)
        return True


class _Endpoint(asyncio.DatagramProtocol):
    """One socket's protocol; hands datagrams to the server with the socket's bound address."""

    def __init__(self, on_datagram: Callable[[bytes, Any, _Endpoint], None], bound: str) -> None:
        self.on_datagram = on_datagram
        self.bound = bound
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.on_datagram(data, addr, self)

    def error_received(self, exc: Exception) -> None:
        logging.getLogger("hearth.dlna").debug("SSDP socket error: %s", exc)


class SsdpServer:
    """Answers searches and announces the device on the given interfaces."""

    def __init__(
        self,
        identity: ssdp.Identity,
        interfaces: list[LanInterface],
        mode: str,
        port: int,
        logger: logging.Logger,
    ) -> None:
        self.identity = identity
        self.interfaces = interfaces
        self.mode = mode
        self.port = port
        self.logger = logger
        self.http_port = 0
        self.limiter = RateLimiter()
        self.stats = {"answered": 0, "ignored": 0, "limited": 0}
        self._listeners: list[_Endpoint] = []
        self._senders: dict[str, _Endpoint] = {}
        self._pending: set[asyncio.TimerHandle] = set()
        self._announced = False

    def location(self, address: str) -> str:
        return f"http://{address}:{self.http_port}/dlna/description.xml"

    async def open(self) -> None:
        """Open the sockets (searches are ignored until `begin` says where HTTP listens);
        interfaces that cannot join the group are logged and skipped."""
        if self.mode == "unicast":
            for interface in self.interfaces:
                sock = _udp_socket((interface.address, self.port))
                self._listeners.append(await self._endpoint(sock, interface.address))
        else:
            listener = _udp_socket(("", self.port))
            for interface in self.interfaces:
                try:
                    membership = socket.inet_aton(ssdp.SSDP_GROUP) + socket.inet_aton(
                        interface.address
                    )
                    listener.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
                    sender = _sender_socket(interface.address)
                except OSError as err:
                    self.logger.warning("SSDP cannot use %s: %s", interface.address, err)
                    continue
                self._senders[interface.address] = await self._endpoint(sender, interface.address)
            self._listeners.append(await self._endpoint(listener, ""))
        addresses = ", ".join(i.address for i in self.interfaces)
        self.logger.info("SSDP (%s) on %s, port %d", self.mode, addresses, self.port)

    async def _endpoint(self, sock: socket.socket, bound: str) -> _Endpoint:
        factory = functools.partial(_Endpoint, self._received, bound)
        _, endpoint = await asyncio.get_running_loop().create_datagram_endpoint(factory, sock=sock)
        return endpoint

    def begin(self, http_port: int) -> None:
        """HTTP is listening: answer searches from now on."""
        self.http_port = http_port

    def _interface_for(self, source: str, bound: str) -> LanInterface | None:
        try:
            address = ipaddress.IPv4Address(source)
        except ValueError:
            return None
        for interface in self.interfaces:
            if bound and interface.address != bound:
                continue
            if address in interface.network or source == interface.address:
                return interface
        return None

    def _received(self, data: bytes, addr: Any, endpoint: _Endpoint) -> None:
        request = ssdp.parse_search(data) if self.http_port else None
        interface = self._interface_for(str(addr[0]), endpoint.bound) if request else None
        answers = ssdp.matching_types(self.identity, request.target) if request else []
        if request is None or interface is None or not answers:
            self.stats["ignored"] += 1
            return
        if len(self._pending) >= MAX_PENDING or not self.limiter.allow(
            str(addr[0]), len(answers), time.monotonic()
        ):
            self.stats["limited"] += 1
            return
        location = self.location(interface.address)
        payloads = [ssdp.search_response(self.identity, st, nt, location) for st, nt in answers]
        # Spread replies over MX (less a margin so they arrive in time); unicast: at once.
        delay = random.uniform(0, request.mx - REPLY_MARGIN) if request.mx else 0.0
        self._schedule(delay, endpoint, payloads, addr)

    def _schedule(
        self, delay: float, endpoint: _Endpoint, payloads: list[bytes], addr: Any
    ) -> None:
        cell: list[asyncio.TimerHandle] = []

        def send() -> None:
            self._pending.discard(cell[0])
            if endpoint.transport is not None and not endpoint.transport.is_closing():
                for payload in payloads:
                    endpoint.transport.sendto(payload, addr)
                self.stats["answered"] += 1

        cell.append(asyncio.get_running_loop().call_later(delay, send))
        self._pending.add(cell[0])

    def _notify(self, alive: bool) -> None:
        for address, endpoint in self._senders.items():
            if endpoint.transport is None or endpoint.transport.is_closing():
                continue
            for nt in self.identity.notification_types:
                message = ssdp.notify(self.identity, nt, alive, self.location(address))
                endpoint.transport.sendto(message, (ssdp.SSDP_GROUP, self.port))

    async def announce_forever(self) -> None:
        """`ssdp:alive` now (twice, as UDP may drop one) and again every half max-age."""
        self._announced = True
        while True:
            for _ in range(2):
                self._notify(alive=True)
                await asyncio.sleep(0.2)
            await asyncio.sleep(self.identity.max_age / 2 * random.uniform(0.9, 1.0))

    def stop(self) -> None:
        """Say byebye (multicast mode) and close every socket; safe to call twice."""
        for handle in self._pending:
            handle.cancel()
        self._pending.clear()
        if self._announced:
            self._notify(alive=False)
            self._announced = False
        for endpoint in [*self._listeners, *self._senders.values()]:
            if endpoint.transport is not None:
                endpoint.transport.close()
        self._listeners.clear()
        self._senders.clear()


def _sender_socket(address: str) -> socket.socket:
    """A socket that sends to the SSDP group out of one interface only, at most two hops."""
    sock = _udp_socket((address, 0))
    try:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(address))
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, MULTICAST_TTL)
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)  # players on this box
    except OSError:
        sock.close()
        raise
    return sock


def _udp_socket(bind: tuple[str, int]) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # share 1900 with other UPnP
    sock.setblocking(False)
    try:
        sock.bind(bind)
    except OSError:
        sock.close()
        raise
    return sock
