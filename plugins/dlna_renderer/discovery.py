"""Believing and tracking what TVs say over SSDP, once one has spoken (lookout.py owns the
sockets and wakes this module, which loads async_upnp_client, at a renderer's first message).

Every message passes the rules of `trust.py` before it reaches the shared device tracker
(`HomeTracker`, async_upnp_client's): one from off the home network, or naming a LOCATION that
is a host name, loopback or another subnet, is dropped and logged once, so it can neither add a
TV nor refresh or replace one we know. A renderer is reported when it is first seen or its
LOCATION changes, and reported gone at byebye; `alive` says whether its latest advert or answer
is still within its max-age, so the caller can forget a TV that was unplugged without saying
goodbye. It never opens a socket, never sends anything and never fetches anything itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from datetime import datetime

from aiohttp.http_exceptions import HttpProcessingError
from async_upnp_client.const import DeviceOrServiceType, NotificationSubType, SsdpSource
from async_upnp_client.ssdp import SSDP_DISCOVER, decode_ssdp_packet, is_valid_ssdp_packet
from async_upnp_client.ssdp_listener import SsdpDevice, SsdpDeviceTracker
from async_upnp_client.utils import CaseInsensitiveDict

from core.plugin_api import HomeNetwork, SsdpDatagram
from plugins.dlna_renderer.lookout import RENDERER, Local
from plugins.dlna_renderer.trust import location_refusal, sender_refusal

_RENDERER_PREFIX = RENDERER.removesuffix("1")  # any version
MAX_WARNED = 256  # distinct refusals logged at INFO; later ones at DEBUG (a flood stays quiet)

Seen = Callable[[str, str], None]  # (udn, location)
Gone = Callable[[str], None]  # (udn)
_ADVERTS = {
    NotificationSubType.SSDP_ALIVE: SsdpSource.ADVERTISEMENT_ALIVE,
    NotificationSubType.SSDP_UPDATE: SsdpSource.ADVERTISEMENT_UPDATE,
    NotificationSubType.SSDP_BYEBYE: SsdpSource.ADVERTISEMENT_BYEBYE,
}
_NOT_SEEN: tuple[bool, None, None] = (False, None, None)


class HomeTracker(SsdpDeviceTracker):
    """async_upnp_client's device tracker, fed only what `trust.py` believes."""

    def __init__(self, home: HomeNetwork, listed: Collection[str], logger: logging.Logger) -> None:
        super().__init__()
        self.home, self.listed, self._logger = home, frozenset(listed), logger
        self._warned: set[tuple[str, str]] = set()

    def _refused(self, headers: CaseInsensitiveDict, with_location: bool) -> bool:
        sender = str(headers.get_lower("_host") or "")
        if with_location:
            location = str(headers.get_lower("location") or "")
            reason = location_refusal(self.home, sender, location, self.listed)
        else:
            location, reason = "", sender_refusal(self.home, sender)
        if reason is None:
            return False
        key = (sender, location)
        log = self._logger.debug if key in self._warned else self._logger.info
        if len(self._warned) < MAX_WARNED:
            self._warned.add(key)
        log("Ignored SSDP from %s (%s): %s", sender, location or "byebye", reason)
        return True

    def see_search(
        self, headers: CaseInsensitiveDict
    ) -> tuple[bool, SsdpDevice | None, DeviceOrServiceType | None, SsdpSource | None]:
        if self._refused(headers, with_location=True):
            return False, None, None, None
        return super().see_search(headers)

    def see_advertisement(
        self, headers: CaseInsensitiveDict
    ) -> tuple[bool, SsdpDevice | None, DeviceOrServiceType | None]:
        if self._refused(headers, with_location=True):
            return _NOT_SEEN
        return super().see_advertisement(headers)

    def unsee_advertisement(
        self, headers: CaseInsensitiveDict
    ) -> tuple[bool, SsdpDevice | None, DeviceOrServiceType | None]:
        if self._refused(headers, with_location=False):
            return _NOT_SEEN
        return super().unsee_advertisement(headers)


class SsdpDiscovery:
    """Judges adverts and search answers (a lookout.Hearing); calls back on TVs seen and gone."""

    def __init__(
        self,
        addresses: list[str],
        tracker: HomeTracker,
        on_seen: Seen,
        on_gone: Gone,
        logger: logging.Logger,
    ) -> None:
        self.addresses = addresses
        self.tracker = tracker  # one for every address: a TV heard on two is one TV
        self._on_seen, self._on_gone = on_seen, on_gone
        self._logger = logger

    def alive(self, udn: str) -> bool:
        """Whether the renderer's last advert or answer is still within its max-age."""
        device = self.tracker.devices.get(udn)
        return device is not None and device.valid_to > datetime.now()

    def advertised(self, datagram: SsdpDatagram) -> None:
        """A datagram to the SSDP group (from the home network, the core made sure): NOTIFYs
        go to the tracker; searches are the DLNA server's business."""
        if not is_valid_ssdp_packet(datagram.data):
            return
        try:
            _, headers = decode_ssdp_packet(datagram.data, None, datagram.sender)
        except (HttpProcessingError, ValueError):  # a broken header, or text that is not
            return
        source = _ADVERTS.get(headers.get_lower("nts"))
        if headers.get_lower("man") == SSDP_DISCOVER or source is None:
            return
        headers["_source"] = SsdpSource.ADVERTISEMENT
        if source == SsdpSource.ADVERTISEMENT_BYEBYE:
            propagate, device, kind = self.tracker.unsee_advertisement(headers)
        else:
            propagate, device, kind = self.tracker.see_advertisement(headers)
        if propagate and device is not None and kind is not None:
            self.heard(device, kind, source)

    def searched(self, data: bytes, local: Local, sender: Local) -> None:
        """A datagram that reached a search socket: answers go to the tracker."""
        if not is_valid_ssdp_packet(data):
            return
        try:
            _, headers = decode_ssdp_packet(data, local, sender)
        except (HttpProcessingError, ValueError):
            return
        if headers.get_lower("man") == SSDP_DISCOVER or headers.get_lower("nts"):
            return  # someone's search, or an advert sent to our port: not an answer
        headers["_source"] = SsdpSource.SEARCH
        self.answered(headers)

    def answered(self, headers: CaseInsensitiveDict) -> None:
        """An answer to one of our searches."""
        propagate, device, kind, source = self.tracker.see_search(headers)
        if propagate and device is not None and kind is not None and source is not None:
            self.heard(device, kind, source)

    def heard(self, device: SsdpDevice, kind: str, source: SsdpSource) -> None:
        """The tracker's news about a device (already judged by `trust.py`)."""
        if source == SsdpSource.ADVERTISEMENT_BYEBYE:
            self._on_gone(device.udn)
            return
        if not kind.startswith(_RENDERER_PREFIX):
            return
        location = device.combined_headers(kind).get_lower("location")
        if location:
            self._on_seen(device.udn, location)
