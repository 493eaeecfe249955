"""One TV: async_upnp_client's DmrDevice for commands, and what we last learned of its state.

Commands go through the DmrDevice profile (SetAVTransportURI, Play, Pause, Stop, SetVolume) or
straight to its AVTransport service where the profile's formatting is not what TVs expect
(Seek targets are H:MM:SS). State comes from polling GetTransportInfo and GetPositionInfo (and
now and then GetVolume) every few seconds while the TV plays, pauses or buffers: the position
is the TV's RelTime (within the item), the duration the catalog's, never the TV's TrackDuration
(a guess from bytes that wanders while it plays); a stopped or
idle TV is not asked anything, so an idle server sends nothing. It never decides what to play
(media.py and player.py do) and never finds TVs (discovery.py does).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # a renderer exists only once fleet.py loaded async_upnp_client
    from async_upnp_client.client import UpnpService
    from async_upnp_client.profiles.dlna import DmrDevice

ACTIVE = frozenset({"playing", "paused", "buffering"})
TRANSPORT_TIMEOUT = 30.0  # UDA allows a TV 30 s to answer Play
_STATES = {
    "PLAYING": "playing",
    "PAUSED_PLAYBACK": "paused",
    "PAUSED_RECORDING": "paused",
    "STOPPED": "stopped",
    "TRANSITIONING": "buffering",
    "NO_MEDIA_PRESENT": "idle",
}
_CLOCK = re.compile(r"^-?(\d+):(\d{1,2}):(\d{1,2}(?:\.\d+)?)$")
_AVT = "urn:upnp-org:serviceId:AVTransport"
_RC = "urn:upnp-org:serviceId:RenderingControl"
Spawn = Callable[[Coroutine[Any, Any, None], str], "asyncio.Task[None]"]


def renderer_id(udn: str) -> str:
    """A short, stable id for URLs (a UDN may hold any characters)."""
    return hashlib.blake2b(udn.encode(), digest_size=6).hexdigest()


def clock_seconds(text: Any) -> float | None:
    """Seconds from an AVTransport time (H:MM:SS[.fff]); None for NOT_IMPLEMENTED and the like."""
    match = _CLOCK.match(str(text or "").strip())
    if match is None:
        return None
    return int(match[1]) * 3600 + int(match[2]) * 60 + float(match[3])


def clock_text(seconds: float) -> str:
    """H:MM:SS, the REL_TIME target format TVs accept."""
    whole = max(0, round(seconds))
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


@dataclass(frozen=True, slots=True)
class RendererInfo:
    """Who a renderer is, from its device description."""

    udn: str
    name: str
    manufacturer: str
    model: str
    location: str
    host: str
    via_ssdp: bool

    @property
    def renderer_id(self) -> str:
        return renderer_id(self.udn)


def _service(dmr: DmrDevice, service_id: str) -> UpnpService | None:
    return next((s for s in dmr.profile_device.all_services if s.service_id == service_id), None)


class DlnaRenderer:
    """A TV we can tell what to play, and its last known state."""

    def __init__(
        self, info: RendererInfo, dmr: DmrDevice, sink: tuple[str, ...], logger: logging.Logger
    ) -> None:
        self.info, self.dmr, self.sink, self._logger = info, dmr, sink, logger
        self.state = "unknown"
        self.volume: int | None = None
        self.position: float | None = None
        self.duration: float | None = None
        self.item_id: str | None = None
        self._url: str | None = None
        self._avt = _service(dmr, _AVT)
        self._rc = _service(dmr, _RC)
        self._polls = 0
        self._follower: asyncio.Task[None] | None = None

    def status(self) -> dict[str, Any]:
        return {
            "id": self.info.renderer_id,
            "name": self.info.name,
            "model": self.info.model,
            "manufacturer": self.info.manufacturer,
            "state": self.state,
            "volume": self.volume,
            "position": self.position,
            "duration": self.duration,
            "item_id": self.item_id,
        }

    async def _call(
        self, service: UpnpService | None, action: str, **args: Any
    ) -> Mapping[str, Any]:
        if service is None or not service.has_action(action):
            return {}
        return await service.action(action).async_call(**args)

    async def refresh(self, volume: bool = False) -> None:
        """Ask the TV what it is doing (and, now and then or when asked, its volume)."""
        info = await self._call(self._avt, "GetTransportInfo", InstanceID=0)
        raw = str(info.get("CurrentTransportState") or "")
        self.state = _STATES.get(raw.upper(), raw.lower() or "unknown")
        if self.state in ACTIVE:
            where = await self._call(self._avt, "GetPositionInfo", InstanceID=0)
            uri = where.get("TrackURI")
            if uri and self._url and uri != self._url:
                # Someone put something else on: nothing of ours describes it. TrackDuration is
                # never used, even then: renderers guess it from bytes and bitrates as they go.
                self.item_id, self.duration, self._url = None, None, None
            position = clock_seconds(where.get("RelTime"))
            if position is not None:
                top = self.duration if self.duration is not None else position
                self.position = max(0.0, min(position, top))
        elif self.state in ("stopped", "idle"):
            self.position = None
        if (volume or self._polls % 5 == 0) and self._rc is not None:
            found = await self._call(self._rc, "GetVolume", InstanceID=0, Channel="Master")
            if found.get("CurrentVolume") is not None:
                top = self._rc.state_variable("Volume").max_value or 100
                self.volume = round(int(found["CurrentVolume"]) * 100 / top)
        self._polls += 1

    def follow(self, spawn: Spawn, interval: float) -> None:
        """Poll while the TV is busy with something; one follower at a time."""
        if self._follower is None or self._follower.done():
            self._follower = spawn(self._follow(interval), f"follow-{self.info.renderer_id}")

    async def _follow(self, interval: float) -> None:
        from async_upnp_client.exceptions import UpnpError  # loaded with the renderer

        while True:
            await asyncio.sleep(interval)
            try:
                await self.refresh()
            except UpnpError as err:
                self._logger.info("%s stopped answering: %s", self.info.name, err)
                self.state = "unreachable"
                return
            if self.state not in ACTIVE:
                return

    async def load(
        self, url: str, metadata: str, item_id: str, title: str, duration: float | None
    ) -> None:
        """SetAVTransportURI: the TV fetches `url` next; `duration` is the catalog's."""
        await self.dmr.async_set_transport_uri(url, title, metadata)
        self._url, self.item_id, self.state = url, item_id, "buffering"
        self.position, self.duration = 0.0, duration

    @property
    def loaded(self) -> bool:
        """Whether an item of ours is on the TV (so Play resumes it)."""
        return self._url is not None and self.item_id is not None

    async def play(self) -> None:
        """Play, once the TV says it may (some need a moment after a new URI)."""
        for _ in range(20):
            actions = await self._call(self._avt, "GetCurrentTransportActions", InstanceID=0)
            offered = str(actions.get("Actions") or "")
            if not actions or "play" in offered.lower():
                break
            await asyncio.sleep(0.25)
        await self.dmr.async_play()

    async def pause(self) -> None:
        await self.dmr.async_pause()

    async def stop(self) -> None:
        await self.dmr.async_stop()

    async def seek(self, seconds: float) -> None:
        unit = (
            "REL_TIME"
            if self.dmr.has_seek_rel_time or not self.dmr.has_seek_abs_time
            else "ABS_TIME"
        )
        await self._call(
            self._avt,
            "Seek",
            InstanceID=0,
            Unit=unit,
            Target=clock_text(seconds),
            request_timeout=TRANSPORT_TIMEOUT,
        )
        self.position = seconds

    async def set_volume(self, percent: int) -> None:
        await self.dmr.async_set_volume_level(max(0, min(100, percent)) / 100)
        self.volume = percent

    def forget(self) -> None:
        """The TV left: stop following it."""
        if self._follower is not None:
            self._follower.cancel()
        self.state = "gone"
