"""Finding MediaRenderers with SSDP: async_upnp_client's SsdpListener, one per LAN address.

Each listener hears `ssdp:alive` and `ssdp:byebye` on its interface and sends M-SEARCH for
`MediaRenderer:1` out of it (multicast TTL 2, as UDA asks). A renderer is reported when it is
first seen or its LOCATION changes, and reported gone at byebye; `alive` says whether its
latest advert or answer is still within its max-age, so the caller can forget a TV that was
unplugged without saying goodbye. It never searches on loopback or on an interface the owner
did not allow, and never fetches anything itself.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from async_upnp_client.const import SsdpSource
from async_upnp_client.ssdp_listener import SsdpDevice, SsdpListener

RENDERER = "urn:schemas-upnp-org:device:MediaRenderer:1"
_RENDERER_PREFIX = "urn:schemas-upnp-org:device:MediaRenderer:"

Seen = Callable[[str, str], None]  # (udn, location)
Gone = Callable[[str], None]  # (udn)


class SsdpDiscovery:
    """Listens and searches on the given addresses; calls back on renderers seen and gone."""

    def __init__(
        self, addresses: list[str], on_seen: Seen, on_gone: Gone, logger: logging.Logger
    ) -> None:
        self.addresses = addresses
        self._on_seen, self._on_gone = on_seen, on_gone
        self._logger = logger
        self._listeners: list[SsdpListener] = []

    async def start(self) -> None:
        """Open a listener per address; one that cannot is logged and skipped."""
        for address in self.addresses:
            listener = SsdpListener(
                callback=self._heard, source=(address, 0), search_target=RENDERER
            )
            try:
                await listener.async_start()
            except OSError as err:
                self._logger.warning("Cannot look for TVs on %s: %s", address, err)
                await listener.async_stop()
                continue
            self._listeners.append(listener)
        self._logger.info("Looking for TVs with SSDP on %s", ", ".join(self.addresses))

    async def search_forever(self, interval: float) -> None:
        """Search now, again shortly (UDP may drop one), then every `interval` seconds."""
        delays = [2.0]
        while True:
            for listener in self._listeners:
                await listener.async_search()
            await asyncio.sleep(delays.pop() if delays else interval)

    def alive(self, udn: str) -> bool:
        """Whether the renderer's last advert or answer is still within its max-age."""
        now = datetime.now()
        return any(
            (device := listener.devices.get(udn)) is not None and device.valid_to > now
            for listener in self._listeners
        )

    def _heard(self, device: SsdpDevice, kind: str, source: SsdpSource) -> None:
        if source == SsdpSource.ADVERTISEMENT_BYEBYE:
            self._on_gone(device.udn)
            return
        if not kind.startswith(_RENDERER_PREFIX):
            return
        location = device.combined_headers(kind).get_lower("location")
        if location:
            self._on_seen(device.udn, location)

    async def stop(self) -> None:
        for listener in self._listeners:
            await listener.async_stop()
        self._listeners.clear()
