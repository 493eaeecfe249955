"""Announces the server on the home network over mDNS/DNS-SD, and withdraws it on stop.

Two services: `_hearth._tcp` (for Hearth's own apps, with the server id, version and API path in
TXT) and `_http._tcp` (so any browser-capable device lists the web app). Only on the configured
interfaces; never anything but multicast DNS on the local link.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
import socket

import psutil
from zeroconf import InterfaceChoice, IPVersion
from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

_LOGGER = logging.getLogger("hearth.discovery")
SERVICE_TYPES = ("_hearth._tcp.local.", "_http._tcp.local.")


def resolve_interfaces(wanted: tuple[str, ...]) -> list[str]:
    """IPv4 addresses for interface names or addresses; all non-link-local ones when empty."""
    by_name = psutil.net_if_addrs()
    addresses: list[str] = []
    for name, entries in by_name.items():
        for entry in entries:
            if entry.family != socket.AF_INET:
                continue
            if ipaddress.ip_address(entry.address).is_link_local:
                continue
            if not wanted or name in wanted or entry.address in wanted:
                addresses.append(entry.address)
    if not wanted:
        outside = [a for a in addresses if not ipaddress.ip_address(a).is_loopback]
        addresses = outside or addresses
    return sorted(set(addresses))


def instance_name(name: str) -> str:
    """A DNS-SD instance label: printable, at most 63 bytes."""
    clean = re.sub(r"[\x00-\x1f.]", " ", name).strip() or "Hearth"
    return clean.encode()[:63].decode(errors="ignore")


class MdnsAnnouncer:
    """Registers both services at start and sends goodbyes at stop."""

    def __init__(
        self, name: str, server_id: str, version: str, port: int, interfaces: tuple[str, ...]
    ) -> None:
        self._name = instance_name(name)
        self._server_id = server_id
        self._version = version
        self._port = port
        self._wanted = interfaces
        self._zc: AsyncZeroconf | None = None
        self._infos: list[AsyncServiceInfo] = []
        self._registering: asyncio.Task[None] | None = None
        self.addresses: list[str] = []

    async def start(self) -> None:
        """Begin announcing; probing takes a few seconds, so it runs in the background."""
        self.addresses = resolve_interfaces(self._wanted)
        if not self.addresses:
            _LOGGER.warning("No IPv4 address on %s; not announcing over mDNS", self._wanted)
            return
        choice: list[str | int] | InterfaceChoice = (
            list(self.addresses) if self._wanted else InterfaceChoice.All
        )
        self._zc = AsyncZeroconf(interfaces=choice, ip_version=IPVersion.V4Only)
        self._registering = asyncio.get_running_loop().create_task(
            self._register(self._zc), name="mdns-register"
        )

    async def _register(self, zc: AsyncZeroconf) -> None:
        host = f"hearth-{self._server_id[:8]}.local."
        packed = [socket.inet_aton(a) for a in self.addresses]
        txt = {"id": self._server_id, "version": self._version, "path": "/", "api": "/api"}
        for service_type in SERVICE_TYPES:
            info = AsyncServiceInfo(
                service_type,
                f"{self._name}.{service_type}",
                addresses=packed,
                port=self._port,
                properties=txt,
                server=host,
            )
            announced = await zc.async_register_service(info, allow_name_change=True)
            self._infos.append(info)
            await announced
        _LOGGER.info("Announced over mDNS on %s", ", ".join(self.addresses))

    async def stop(self) -> None:
        """Send goodbyes for what was registered and close the sockets."""
        if self._zc is None:
            return
        if self._registering is not None and not self._registering.done():
            self._registering.cancel()
        if self._registering is not None:
            try:
                await self._registering
            except asyncio.CancelledError:
                pass
            except Exception:
                _LOGGER.exception("mDNS announcement failed")
        try:
            await self._zc.async_unregister_all_services()
        finally:
            await self._zc.async_close()
            self._zc = None
            self._infos.clear()
