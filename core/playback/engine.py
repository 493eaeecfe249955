"""The playback engine as the server runs it: decision per client, transcoder, capacity, and
the routes that tie them to the catalog.

Built once the hardware report is known (the verified encoder and its limits decide how many
transcodes this box can afford). `GET /api/items/{id}/playback` answers what a client should
do and why, so a web app can show the reason. It never serves bytes itself: stream.py and
hls_api.py do. The file it hands them for ffmpeg is the checked real path of a library file
(core.library.roots), so a link changed afterwards cannot lead ffmpeg out of the library.
"""

from __future__ import annotations

import asyncio
import logging
import platform
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from aiohttp import web

from core.http.errors import ApiError
from core.http.origin import origin_of
from core.http.routes import Param, RouteSpec
from core.library.roots import LibraryRoots
from core.people.middleware import principal_of
from core.playback.capabilities import CapabilitiesError, parse_capabilities, with_capabilities
from core.playback.capacity import TranscodeCapacity, cached_calibration_blocking
from core.playback.decision import UnplayableError, decide
from core.playback.ffmpeg_args import EncoderSettings
from core.playback.hls import stream_facts
from core.playback.hls_api import ResolvedItem, hls_routes
from core.playback.now_playing import NowPlaying
from core.playback.plan import PlaybackPlan
from core.playback.profiles import DeviceProfile, detect_profile, load_profiles
from core.playback.scratch import scratch_space_blocking
from core.playback.sessions import TranscodeManager
from core.playback.stream import item_file_blocking

if TYPE_CHECKING:
    from core.bus import EventBus
    from core.catalog import Catalog
    from core.configuration import Configuration
    from core.kinds import LibrarySource, Relay
    from core.machine import MachineInfo
    from core.registry import Registry
    from core.scan.manager import ScanManager

_LOGGER = logging.getLogger("hearth.playback")


def _preset() -> str:
    """x264 preset sized for the box: a Pi's Cortex cores need the fastest one."""
    return "ultrafast" if platform.machine() in ("aarch64", "armv7l") else "veryfast"


class PlaybackEngine:
    """Owns the profiles, the transcode manager and the capacity limiter."""

    def __init__(
        self,
        config: Configuration,
        catalog: Catalog,
        bus: EventBus,
        sources: Registry[LibrarySource],
        relays: Registry[Relay],
        scans: ScanManager,
        machine: MachineInfo,
    ) -> None:
        self._data_dir = config.hearth.data_dir
        self._catalog = catalog
        self._sources = sources
        self._relays = relays
        self._scans = scans
        self._machine = machine
        self.profiles = load_profiles([config.config_dir / "profiles"])
        space = scratch_space_blocking(config.hearth)  # tmpfs under the packaged service
        scratch = space.folder
        shutil.rmtree(scratch, ignore_errors=True)  # leftovers of a killed process
        ffmpeg = config.hearth.ffmpeg or Path(shutil.which("ffmpeg") or "/usr/bin/ffmpeg")
        self.capacity = TranscodeCapacity(1.0, source="until calibrated")
        self.manager = TranscodeManager(
            ffmpeg,
            scratch,
            preset=_preset(),
            capacity=self.capacity,
            publish=bus.publish,
            scratch_limit=space.limit_bytes,
        )
        self._ffmpeg = ffmpeg
        self.now_playing = NowPlaying()  # each person's players, for music apps' "now playing"

    async def calibrate(self) -> None:
        """Use the verified hardware encoder if any, else measure the software one."""
        report = await self._machine.wait()
        hardware = report.hardware_encoders
        verified = [e for e in hardware if e.verified]
        if verified:
            best = verified[0]
            self.manager.use_encoder(EncoderSettings.from_capability(best))
            self.capacity.base_limit = float(best.max_streams or 2)
            self.capacity.source = f"{best.name} (verified)"
            return
        if report.ffmpeg is None:
            self.capacity.base_limit, self.capacity.source = 0.0, "no ffmpeg"
            return
        cache = self._data_dir / "transcode-calibration.json"
        # Not beside a scan: the measured speed is kept for good, and a first scan busy on
        # every core would make it too low (and the two together peaked at 320 MB at 100k).
        await self._scans.wait_idle()
        calibration = await asyncio.get_running_loop().run_in_executor(
            None, cached_calibration_blocking, cache, self._ffmpeg, _preset()
        )
        self.capacity.base_limit = float(calibration.streams)
        self.capacity.source = f"libx264 {calibration.preset}: {calibration.speed}x real time"

    def profile_for(self, request: web.Request) -> DeviceProfile:
        """The named or detected profile; `caps` (the client's own report) overrides what
        that profile says the client decodes."""
        name = request.query.get("profile")
        if name:
            if name not in self.profiles:
                raise ApiError(400, f"Unknown profile {name!r}.", "bad_parameter")
            profile = self.profiles[name]
        else:
            profile = detect_profile(self.profiles, request.headers)
        if "caps" not in request.query:
            return profile
        try:
            return with_capabilities(profile, parse_capabilities(request.query["caps"]))
        except CapabilitiesError as err:
            raise ApiError(400, f"{str(err)[:1].upper()}{str(err)[1:]}.", "bad_parameter") from err

    def remote_ceiling(self, request: web.Request) -> int | None:
        """The owner's bitrate ceiling for a client outside the home (`relay: max_mbps`)."""
        if origin_of(request) != "remote":
            return None
        return min(filter(None, (r.max_bitrate for r in self._relays.values())), default=None)

    async def resolve(self, request: web.Request, item_id: str) -> ResolvedItem:
        principal = principal_of(request)
        found = await self._catalog.read(lambda db: item_file_blocking(db, item_id, principal))
        if found is None or found.probe is None:
            raise ApiError(404, "No such item, or nothing to play.", "item_not_found")
        try:
            plan = decide(
                found.probe, self.profile_for(request), max_bitrate=self.remote_ceiling(request)
            )
        except UnplayableError as err:
            raise ApiError(415, str(err), "unplayable") from err
        path = found.path
        if found.online:  # offline: 410 from the caller, before any file is looked at
            path = await self.library_path(path)
        return ResolvedItem(path, found.probe, found.online, plan, found.library)

    async def library_path(self, path: Path) -> Path:
        """The real path of a library file, checked once opened, for ffmpeg to read; 404
        file_missing when it is gone or not a library file."""
        roots = LibraryRoots.of(self._sources.values())
        loop = asyncio.get_running_loop()
        try:
            return Path(await loop.run_in_executor(None, roots.real_path_blocking, path))
        except OSError as err:
            raise ApiError(
                404, "The file is gone from disk; a rescan will tidy up.", "file_missing"
            ) from err

    async def get_playback(self, request: web.Request) -> web.Response:
        """How this client should play the item, and why: direct play, remux or transcode."""
        item_id = request.match_info["id"]
        item = await self.resolve(request, item_id)
        plan = item.plan
        base = f"/api/items/{item_id}"
        if plan.method == "direct_play":
            url = f"{base}/stream"
        elif plan.container == "mpegts":
            url = f"{base}/transcode.ts"
        else:  # the HLS session decides again from the same query: it must carry `caps`
            url = f"{base}/hls/master.m3u8"
            if "caps" in request.query:
                url += "?" + urlencode({"caps": request.query["caps"]})
        limit, why = self.capacity.limit()
        return web.json_response(
            {
                "method": plan.method,
                "reasons": list(plan.reasons),
                "url": url,
                "profile": plan.profile,
                "container": plan.container,
                "segments": plan.segments if plan.container == "hls" else None,
                "sent": _sent(plan, item.probe),
                "video": plan.video.action,
                "audio": plan.audio.action,
                "subtitles": [s.stream_index for s in plan.subtitles],
                "online": item.online,
                "capacity": {"limit": limit, "in_use": self.capacity.in_use, "reduced": why},
            }
        )

    def routes(self) -> list[RouteSpec]:
        """HLS and progressive streams, and the playback decision."""
        return [
            *hls_routes(self.resolve, self.manager),
            RouteSpec(
                "GET",
                "/api/items/{id}/playback",
                self.get_playback,
                tags=("playback",),
                query=(
                    Param("profile", "a device profile name; default: detected"),
                    Param("caps", "what the client decodes (see core.playback.capabilities)"),
                ),
            ),
        ]

    def health(self) -> dict[str, Any]:
        return {"transcodes": self.capacity.status(), "profiles": sorted(self.profiles)}

    async def close(self) -> None:
        await self.manager.close()


def _sent(plan: PlaybackPlan, probe: Mapping[str, Any]) -> dict[str, str | None]:
    """The codecs the client receives, so a player whose first try failed can say what it
    failed on and leave it out of its next request."""
    video = stream_facts(probe, "video", plan.video.stream_index)
    audio = stream_facts(probe, "audio", plan.audio.stream_index)
    copied = {"copy": True, "encode": False}
    sent: dict[str, str | None] = {"video": None, "video_profile": None, "audio": None}
    if plan.video.action in copied:
        sent["video"] = video.get("codec") if copied[plan.video.action] else "h264"
        sent["video_profile"] = video.get("profile") if copied[plan.video.action] else "High"
    if plan.audio.action in copied:
        sent["audio"] = audio.get("codec") if copied[plan.audio.action] else "aac"
    return sent
