"""The MPEG-TS stream TVs fetch when a file will not play as it is: `/dlna/transcode/{id}.ts`.

Public, like every DLNA route (a TV has no account), and bound by the same LAN rules: only items
the browse tree shows are streamed, anything else is 404. The device profile comes from the
asking TV's own headers (User-Agent, X-AV-Client-Info, FriendlyName.DLNA.ORG; a generic DLNA TV
when nothing matches), the playback engine decides what to copy and what to encode, and its
transcoder streams MPEG-TS from ffmpeg's stdout while the TV reads (H.264, or the source's
video when the TV plays it; AAC, or the source's AC3/E-AC3/MP3 when the TV plays it). Seeking
is by time: `TimeSeekRange.dlna.org: npt=START-` starts video and audio together at START, or,
when the video is copied, at the keyframe at or before START, and the answer names the time the
stream really starts (core.playback.seek); byte ranges are refused (the length is unknown until
the end). A box already transcoding all it can answers 503 with Retry-After before any byte is
sent. It never writes anything and never keeps
a stream running after the TV hangs up.
"""

from __future__ import annotations

import re

from aiohttp import web
from multidict import MultiDict

from core.http.errors import ApiError
from core.playback.decision import UnplayableError, decide
from core.playback.hls_api import plan_for_request, send_progressive
from core.playback.profiles import detect_profile
from core.playback.seek import stream_start_blocking
from plugins.dlna.media import dlna_headers, item_id_of, library_path, playable_file
from plugins.dlna.objects import VIDEO_KINDS
from plugins.dlna.profiles import TRANSCODE
from plugins.dlna.service import DlnaService, check_host

_NPT = re.compile(r"^\s*npt\s*=\s*([0-9][0-9:.]*)\s*-\s*([0-9][0-9:.]*)?\s*$", re.IGNORECASE)
_CLOCK = re.compile(r"^(?:(\d{1,5}):)?(\d{1,2}):(\d{1,2}(?:\.\d{1,3})?)$")
DEFAULT_PROFILE = "dlna-generic"


def npt_seconds(text: str) -> float | None:
    """Seconds from an NPT time: `90.5`, `1:30.5` or `0:01:30.500`; None if it is neither."""
    if re.fullmatch(r"\d{1,9}(?:\.\d{1,3})?", text):
        return float(text)
    clock = _CLOCK.match(text)
    if clock is None or int(clock[2]) >= 60 or float(clock[3]) >= 60:
        return None
    return int(clock[1] or 0) * 3600 + int(clock[2]) * 60 + float(clock[3])


def time_seek_start(header: str | None) -> float | None:
    """Where a `TimeSeekRange.dlna.org` header asks to start (None: not asked); 400 if garbled."""
    if header is None:
        return None
    match = _NPT.match(header)
    start = npt_seconds(match[1]) if match else None
    if start is None:
        raise ApiError(400, "TimeSeekRange.dlna.org must look like npt=90.5- or npt=0:01:30-.")
    return start


def time_seek_answer(start: float, duration: float | None) -> str:
    """The `TimeSeekRange.dlna.org` response: what is sent, and the whole length."""
    if not duration:
        return f"npt={start:.3f}-"
    return f"npt={start:.3f}-{duration:.3f}/{duration:.3f}"


class DlnaTranscode:
    """The handler for GET and HEAD /dlna/transcode/{id}.ts."""

    def __init__(self, service: DlnaService) -> None:
        self.service = service

    async def transcode(self, request: web.Request) -> web.StreamResponse:
        """An item as progressive MPEG-TS for a TV, seekable by time."""
        check_host(request)
        item, path = await playable_file(self.service, item_id_of(request))
        if item.kind not in VIDEO_KINDS:
            raise ApiError(404, "Only videos are offered as MPEG-TS.", "item_not_found")
        path = await library_path(self.service, path)  # what ffmpeg reads is what was checked
        start = time_seek_start(request.headers.get("TimeSeekRange.dlna.org"))
        if start is not None and item.duration and start >= item.duration:
            raise ApiError(416, "That time is past the end of the video.", "bad_range")
        try:
            engine = self.service.ctx.playback
        except RuntimeError as err:
            raise ApiError(503, "Playback is not running yet.", **{"Retry-After": "5"}) from err
        profile = detect_profile(engine.profiles, request.headers, DEFAULT_PROFILE)
        try:
            plan = decide(item.probe, profile)
        except UnplayableError as err:
            raise ApiError(415, str(err), "unplayable") from err
        plan, _ = plan_for_request(plan, item.probe, MultiDict())
        # copied video starts on the keyframe at or before `start`: the answer says which
        plan, begins = await self.service.ctx.run_blocking(
            stream_start_blocking, path, plan, start or 0.0
        )
        headers = dlna_headers(request, TRANSCODE, features=True)
        headers["Cache-Control"] = "no-store"
        if start is not None:
            headers["TimeSeekRange.dlna.org"] = time_seek_answer(begins.seconds, item.duration)
        if request.headers.get("getMediaInfo.sec", "").strip() == "1" and item.duration:
            headers["MediaInfo.sec"] = f"SEC_Duration={round(item.duration * 1000)};"
        response = web.StreamResponse(headers=headers)
        if request.method == "HEAD":  # players ask what it is before they fetch it
            await response.prepare(request)
            return response
        chunks = engine.manager.progressive_ts(path, plan, begins, item.probe)
        return await send_progressive(request, response, chunks)
