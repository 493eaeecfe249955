"""The SSDP responder and announcer, on the configured interfaces only, over the box's shared
SSDP listener (core.ssdp: one set of port-1900 sockets for every plugin, so a unicast M-SEARCH
sent straight to the box reaches this responder even while Play to TV listens too).

Multicast mode hears M-SEARCH sent to 239.255.255.250 on each configured interface (all
non-link-local IPv4 ones when none were) and sent straight to their addresses, and announces
out of each: `ssdp:alive` at start and every half max-age, byebye at stop; it answers a
multicast M-SEARCH after a random delay within MX, a unicast one at once. Unicast mode only
answers M-SEARCH sent straight to the configured addresses (tests on loopback). Against
reflection attacks it answers only sources on a configured interface's subnet (the core has
already dropped anything from outside the home network), rate-limits each source and caps
replies waiting to be sent. It never sends anything to an address it did not hear from, except
the SSDP group on a configured interface, with a TTL of 2.
"""

from __future__ import annotations

import asyncio
import ipaddress
import random
import socket
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import psutil

from core.plugin_api import SsdpDatagram, SsdpSubscription
from plugins.dlna import ssdp

if TYPE_CHECKING:
    import logging

    from core.plugin_api import PluginContext

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
        self._ssdp: SsdpSubscription | None = None
        self._pending: set[asyncio.TimerHandle] = set()
        self._announced = False

    def location(self, address: str) -> str:
        return f"http://{address}:{self.http_port}/dlna/description.xml"

    async def open(self, ctx: PluginContext) -> None:
        """Take a share of the box's SSDP listener (searches are ignored until `begin` says
        where HTTP listens); interfaces that cannot join the group are logged and skipped.
        OSError when the port cannot be bound."""
        self._ssdp = await ctx.ssdp_subscribe(
            self._received,
            [i.address for i in self.interfaces],
            port=self.port,
            group=self.mode == "multicast",
        )
        addresses = ", ".join(self._ssdp.addresses) or "no address"
        self.logger.info("SSDP (%s) on %s, port %d", self.mode, addresses, self.port)

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

    def _received(self, datagram: SsdpDatagram) -> None:
        source = datagram.sender[0]
        request = ssdp.parse_search(datagram.data) if self.http_port else None
        interface = self._interface_for(source, datagram.to) if request else None
        answers = ssdp.matching_types(self.identity, request.target) if request else []
        if request is None or interface is None or not answers:
            self.stats["ignored"] += 1
            return
        if len(self._pending) >= MAX_PENDING or not self.limiter.allow(
            source, len(answers), time.monotonic()
        ):
            self.stats["limited"] += 1
            return
        location = self.location(interface.address)
        payloads = [ssdp.search_response(self.identity, st, nt, location) for st, nt in answers]
        # Spread replies over MX (less a margin so they arrive in time); unicast: at once.
        delay = random.uniform(0, request.mx - REPLY_MARGIN) if request.mx else 0.0
        self._schedule(delay, datagram, payloads)

    def _schedule(self, delay: float, datagram: SsdpDatagram, payloads: list[bytes]) -> None:
        cell: list[asyncio.TimerHandle] = []

        def send() -> None:
            self._pending.discard(cell[0])
            if self._ssdp is not None:
                for payload in payloads:
                    self._ssdp.reply(datagram, payload)
                self.stats["answered"] += 1

        cell.append(asyncio.get_running_loop().call_later(delay, send))
        self._pending.add(cell[0])

    def _notify(self, alive: bool) -> None:
        if self._ssdp is None:
            return
        for address in self._ssdp.addresses:
            for nt in self.identity.notification_types:
                message = ssdp.notify(self.identity, nt, alive, self.location(address))
                self._ssdp.announce(address, message)

    async def announce_forever(self) -> None:
        """`ssdp:alive` now (twice, as UDP may drop one) and again every half max-age."""
        self._announced = True
        while True:
            for _ in range(2):
                self._notify(alive=True)
                await asyncio.sleep(0.2)
            await asyncio.sleep(self.identity.max_age / 2 * random.uniform(0.9, 1.0))

    def stop(self) -> None:
        """Say byebye (multicast mode) and leave the shared listener; safe to call twice."""
        for handle in self._pending:
            handle.cancel()
        self._pending.clear()
        if self._announced:
            self._notify(alive=False)
            self._announced = False
        if self._ssdp is not None:
            self._ssdp.close()
            self._ssdp = None
