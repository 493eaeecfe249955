"""The MPEG-TS stream TVs fetch when a file will not play as it is: `/dlna/transcode/{id}.ts`.

Public, like every DLNA route (a TV has no account), and bound by the same LAN rules: only items
the browse tree shows are streamed, anything else is 404. The device profile comes from the
asking TV's own headers (User-Agent, X-AV-Client-Info, FriendlyName.DLNA.ORG; a generic DLNA TV
when nothing matches), the playback engine decides what to copy and what to encode, and its
transcoder streams MPEG-TS from ffmpeg's stdout while the TV reads (H.264, or the source's
video when the TV plays it; AAC, or the source's AC3/E-AC3/MP3 when the TV plays it).

Seeking works both ways TVs do it. By bytes: when the duration is known the stream has a
constant byte rate and a length (core.playback.constant_rate), so a `Range: bytes=N-` starts
ffmpeg at the time byte N stands for and the answer is exactly the bytes asked (206, one range;
GStreamer-based TVs seek only so). By time: `TimeSeekRange.dlna.org: npt=START-` starts video
and audio together at START, or, when the video is copied, at the keyframe at or before START,
and the answer names the time the stream really starts (core.playback.seek). A box already
transcoding all it can answers 503 with Retry-After before any byte is sent. It never writes
anything and never keeps a stream running after the TV hangs up.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import AsyncGenerator
from pathlib import Path

from aiohttp import web
from multidict import MultiDict

from core.plugin_api import (
    ApiError,
    ConstantRate,
    PlaybackEngine,
    PlaybackPlan,
    RangeNotSatisfiable,
    UnplayableError,
    byte_range,
    constant_rate,
    decide,
    detect_profile,
    exact_window,
    plan_for_request,
    send_progressive,
    stream_start_blocking,
)
from plugins.dlna.media import dlna_headers, library_path, playable_file
from plugins.dlna.objects import VIDEO_KINDS, MediaItem
from plugins.dlna.profiles import TRANSCODE, TRANSCODE_BY_TIME
from plugins.dlna.service import DlnaService, check_host

_LOGGER = logging.getLogger("hearth.dlna")

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


def requested_span(request: web.Request, size: int) -> tuple[int, int] | None:
    """The one byte range asked for (start, end exclusive), None for the whole stream; 416
    outside it. No answer is the same bytes twice (ffmpeg is run anew), so there is no
    validator an If-Range could name: with one, the whole stream is sent."""
    if "If-Range" in request.headers:
        return None
    try:
        return byte_range(request.headers.get("Range"), size)
    except RangeNotSatisfiable as err:
        raise ApiError(
            416,
            f"This stream has {size} bytes; the range asked for is outside it.",
            "range_not_satisfiable",
            **{"Content-Range": f"bytes */{size}"},
        ) from err


async def _nothing() -> AsyncGenerator[bytes, None]:
    return
    yield b""  # pragma: no cover - makes this an async generator


def _client(request: web.Request, item: MediaItem) -> str:
    """Who streams what: a TV's newer request for an item may take its older one's slot."""
    return f"{request.remote} {item.item_id}"


class DlnaTranscode:
    """The handler for GET and HEAD /dlna/transcode/{id}.ts."""

    def __init__(self, service: DlnaService) -> None:
        self.service = service

    async def transcode(self, request: web.Request) -> web.StreamResponse:
        """An item as progressive MPEG-TS for a TV, seekable by bytes and by time."""
        check_host(request)
        item, path = await playable_file(self.service, request)
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
        constant = constant_rate(plan, item.probe, item.duration)
        if start is None and constant is not None:
            return await self._by_bytes(request, engine, item, path, plan, constant)
        return await self._by_time(request, engine, item, path, plan, start)

    def _headers(self, request: web.Request, item: MediaItem, byte_seek: bool) -> dict[str, str]:
        headers = dlna_headers(request, TRANSCODE if byte_seek else TRANSCODE_BY_TIME, True)
        headers["Cache-Control"] = "no-store"
        if request.headers.get("getMediaInfo.sec", "").strip() == "1" and item.duration:
            headers["MediaInfo.sec"] = f"SEC_Duration={round(item.duration * 1000)};"
        return headers

    async def _by_time(
        self,
        request: web.Request,
        engine: PlaybackEngine,
        item: MediaItem,
        path: Path,
        plan: PlaybackPlan,
        start: float | None,
    ) -> web.StreamResponse:
        """The whole item from `start` (a TimeSeekRange), or from the beginning when its length
        is unknown: chunked, timestamps from zero."""
        # copied video starts on the keyframe at or before `start`: the answer says which
        plan, begins = await self.service.ctx.run_blocking(
            stream_start_blocking, path, plan, start or 0.0
        )
        headers = self._headers(request, item, item.duration is not None and item.duration > 0)
        if start is not None:
            headers["TimeSeekRange.dlna.org"] = time_seek_answer(begins.seconds, item.duration)
        response = web.StreamResponse(headers=headers)
        try:
            if request.method == "HEAD":  # players ask what it is before they fetch it
                await response.prepare(request)
                return response
            chunks = engine.manager.progressive_ts(
                path, plan, begins, item.probe, client=_client(request, item)
            )
            return await send_progressive(request, response, chunks)
        except ConnectionResetError:  # the TV hung up before the headers: a seek, a remote
            _LOGGER.info("%s %s: the client went away", request.method, request.path)
            return response

    async def _by_bytes(
        self,
        request: web.Request,
        engine: PlaybackEngine,
        item: MediaItem,
        path: Path,
        plan: PlaybackPlan,
        constant: ConstantRate,
    ) -> web.StreamResponse:
        """The asked bytes of the constant-rate stream: ffmpeg from the time the first stands
        for, on the item's clock, cut or padded to exactly the range."""
        size = constant.size
        span = requested_span(request, size)
        first, end = span or (0, size)
        response = web.StreamResponse(
            status=206 if span else 200,
            headers={**self._headers(request, item, True), "Accept-Ranges": "bytes"},
        )
        if span:
            response.headers["Content-Range"] = f"bytes {first}-{end - 1}/{size}"
        response.content_length = end - first
        response.force_close()  # a body cut short (ffmpeg failed, a newer request) ends here
        seconds = constant.seconds_at(first)
        chunks: AsyncGenerator[bytes, None] = _nothing()
        if request.method == "GET" and seconds < (item.duration or 0.0):  # else only padding
            plan, begins = await self.service.ctx.run_blocking(
                stream_start_blocking, path, plan, seconds
            )
            chunks = engine.manager.progressive_ts(
                path, plan, begins, item.probe, constant, _client(request, item)
            )
        body = _nothing()  # HEAD: the headers alone
        if request.method == "GET":
            body = exact_window(chunks, first - constant.packet_at(first), end - first)
        try:
            return await _send_exact(request, response, body, chunks)
        except ConnectionResetError:
            _LOGGER.info("%s %s: the client went away", request.method, request.path)
            return response


async def _send_exact(
    request: web.Request,
    response: web.StreamResponse,
    body: AsyncGenerator[bytes, None],
    chunks: AsyncGenerator[bytes, None],
) -> web.StreamResponse:
    """Like send_progressive, with a Content-Length: the first bytes are awaited before the
    headers (a busy box is still a plain 503); a failure later only ends the body short, and
    a TV hanging up mid-body (it seeks) just ends it."""
    async with contextlib.aclosing(chunks), contextlib.aclosing(body):
        first = await anext(body, b"")
        await response.prepare(request)
        try:
            await response.write(first)
            async for piece in body:
                await response.write(piece)
        except ApiError:
            return response
        await response.write_eof()  # the TV has it all before ffmpeg is stopped
    return response
