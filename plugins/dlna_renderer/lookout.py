"""Listening and searching for TVs over SSDP without loading the UPnP library until one speaks.

Adverts are heard on the box's shared SSDP listener (core.ssdp, shared with the DLNA server, so
neither takes port 1900 from the other); `MediaRenderer:1` searches go out of a UDP socket bound
to each LAN address (multicast TTL 2, as UDA asks), and answers come back to that socket's port.
Most homes have no TV that speaks DLNA, and async_upnp_client (with its XML stack) costs a few
MB for as long as the server runs, so nothing of it is loaded here: a search, or a datagram that
does not name a MediaRenderer, is dropped while no renderer has spoken, and the first that does
wakes `discovery.py` (the trust rules and the device tracker), which then hears every datagram.
Only a renderer's own messages can add a TV, so nothing is lost by dropping the rest until then.
It never parses SSDP itself, never searches on an address it was not given, and never fetches.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from core.plugin_api import Receiver, SsdpDatagram, SsdpSubscription

RENDERER = "urn:schemas-upnp-org:device:MediaRenderer:1"
SSDP_GROUP, SSDP_PORT = "239.255.255.250", 1900
MULTICAST_TTL = 2  # UDA: SSDP must not leave the home network
SEARCH_MX = 4  # seconds a device may wait before answering (async_upnp_client's default)
_MARK = b"mediarenderer"  # in an NT, ST or USN of every message a renderer sends about itself
_SEARCH = b"M-SEARCH"
Local = tuple[str, int]
Subscribe = Callable[[Receiver, list[str]], Awaitable[SsdpSubscription]]


class Hearing(Protocol):
    """What judges and tracks the messages once a renderer has spoken (discovery.SsdpDiscovery)."""

    def advertised(self, datagram: SsdpDatagram) -> None: ...

    def searched(self, data: bytes, local: Local, sender: Local) -> None: ...

    def alive(self, udn: str) -> bool: ...


def search_packet() -> bytes:
    """An M-SEARCH for MediaRenderers, to the SSDP group."""
    lines = (
        "M-SEARCH * HTTP/1.1",
        f"HOST:{SSDP_GROUP}:{SSDP_PORT}",
        'MAN:"ssdp:discover"',
        f"MX:{SEARCH_MX}",
        f"ST:{RENDERER}",
    )
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def search_socket_blocking(address: str) -> socket.socket:
    """A UDP socket on `address` (any port) whose multicasts leave by that address, TTL 2."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    try:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(address))
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, MULTICAST_TTL)
        sock.bind((address, 0))
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


class _Answers(asyncio.DatagramProtocol):
    """Hands each datagram that reaches a search socket on, with the socket's own address."""

    def __init__(self, heard: Callable[[bytes, Local, Local], None]) -> None:
        self._heard = heard
        self._local: Local = ("", 0)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._local = transport.get_extra_info("sockname")[:2]

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self._heard(data, self._local, (addr[0], addr[1]))


class SsdpLookout:
    """The plugin's SSDP sockets; wakes the hearing (built by `wake`) at a renderer's first word."""

    def __init__(self, addresses: list[str], wake: Callable[[], Hearing], logger: logging.Logger):
        self.addresses = addresses
        self._wake = wake
        self._logger = logger
        self.hearing: Hearing | None = None
        self._adverts: SsdpSubscription | None = None
        self._searchers: list[asyncio.DatagramTransport] = []

    async def start(self, subscribe: Subscribe) -> None:
        """Hear adverts through `subscribe` (the context's shared listener, group only) and
        open a search socket per address; one that cannot is logged and skipped."""
        try:
            self._adverts = await subscribe(self._advertised, self.addresses)
        except OSError as err:
            self._logger.warning("Cannot hear TVs announce themselves: %s", err)
        loop = asyncio.get_running_loop()
        for address in self.addresses:
            try:
                sock = search_socket_blocking(address)  # no I/O: options and a bind
                transport, _ = await loop.create_datagram_endpoint(
                    lambda: _Answers(self._answered), sock=sock
                )
            except OSError as err:
                self._logger.warning("Cannot look for TVs on %s: %s", address, err)
                continue
            self._searchers.append(transport)
        self._logger.info("Looking for TVs with SSDP on %s", ", ".join(self.addresses))

    async def search_forever(self, interval: float) -> None:
        """Search now, again shortly (UDP may drop one), then every `interval` seconds."""
        packet, delays = search_packet(), [2.0]
        while True:
            for searcher in self._searchers:
                searcher.sendto(packet, (SSDP_GROUP, SSDP_PORT))
            await asyncio.sleep(delays.pop() if delays else interval)

    def alive(self, udn: str) -> bool:
        """Whether the renderer's last advert or answer is still within its max-age."""
        return self.hearing is not None and self.hearing.alive(udn)

    def _hears(self, data: bytes) -> Hearing | None:
        # a search is never a TV speaking (our own comes back to the group's listener)
        if self.hearing is None and not data.startswith(_SEARCH) and _MARK in data.lower():
            self.hearing = self._wake()
        return self.hearing

    def _advertised(self, datagram: SsdpDatagram) -> None:
        hearing = self._hears(datagram.data)
        if hearing is not None:
            hearing.advertised(datagram)

    def _answered(self, data: bytes, local: Local, sender: Local) -> None:
        hearing = self._hears(data)
        if hearing is not None:
            hearing.searched(data, local, sender)

    async def stop(self) -> None:
        for searcher in self._searchers:
            searcher.close()
        self._searchers.clear()
        if self._adverts is not None:
            self._adverts.close()
            self._adverts = None
