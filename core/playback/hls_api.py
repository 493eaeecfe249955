"""HTTP for transcoded playback: HLS playlists, segments and subtitles, and progressive MPEG-TS.

Handlers only: the caller supplies `resolve` (catalog lookup plus the playback decision) and a
`TranscodeManager`; `add_hls_routes` registers them on the route table. The query can narrow the
decision (a lower quality, another audio track, a default subtitle) but never widen it. Playlist
URIs are relative, so they survive a reverse proxy or relay prefix. A session belongs to the
client that opened it (its sign-in session): anyone else, an admin included, gets 404 for its
playlists, segments, subtitles and stop. This module never runs ffmpeg itself and never decides
what a client can play.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from aiohttp import web
from multidict import MultiMapping

from core.http.errors import ApiError
from core.http.origin import client_address
from core.http.routes import Param, RouteSpec, RouteTable
from core.people.links import LINK_PARAM, link_of
from core.people.middleware import PRINCIPAL
from core.playback.decision import CARRIED
from core.playback.ffmpeg_args import peak_bandwidth, segment_extension, video_output
from core.playback.hls import (
    SubtitleRendition,
    Variant,
    audio_codec_tag,
    bcp47_language,
    codecs_attribute,
    master_playlist,
    media_playlist,
    stream_facts,
    subtitle_playlist,
    video_codec_tag,
)
from core.playback.plan import AudioAction, PlaybackPlan, VideoAction
from core.playback.seek import stream_start_blocking
from core.playback.sendfile import send_server_file
from core.playback.sessions import HlsSession, HlsSource, TranscodeManager

MPEGURL = "application/vnd.apple.mpegurl"
START_HEADER = "X-Hearth-Start"  # seconds into the item where a progressive stream starts
TS_AUDIO = frozenset({"aac", "mp3", "ac3", "eac3"})  # audio MPEG-TS players take as it is
TS_VIDEO = frozenset({"h264", "hevc"})
SEGMENT_TYPES = {"ts": "video/mp2t", "m4s": "video/mp4"}


@dataclass(frozen=True, slots=True)
class ResolvedItem:
    """An item ready to play: its file, the probe dict stored by the scan, whether its
    library is reachable, and the decision's plan. `resolve` raises ApiError(404) itself."""

    path: Path
    probe: Mapping[str, Any]
    online: bool
    plan: PlaybackPlan
    library: str | None = None


Resolver = Callable[[web.Request, str], Awaitable[ResolvedItem]]
"""Looks an item up for the asking client (whose grants and device decide) or raises 404."""


def client_key(request: web.Request) -> str:
    """Who is asking: the sign-in session (one playback session per session and item), else
    the person, the client's address and browser. The address is the one the origin check
    vouched for (the phone's, through the relay), never the socket's: every tunnelled
    connection shares one socket address, and two people must never share a session."""
    principal = request.get(PRINCIPAL)
    if principal is not None and principal.session_id is not None:
        return f"session:{principal.session_id}"
    who = f"user:{principal.user_id}" if principal is not None else "nobody"
    return f"{who}|{client_address(request)}|{request.headers.get('User-Agent', '')}"


def parse_quality(text: str) -> tuple[int | None, int | None]:
    """`720`/`720p` is a maximum height; `3000k`, `3M` or `3000000` a maximum bit rate."""
    match = re.fullmatch(r"(\d+)\s*([pkKmM]?)", text.strip())
    if match is None:
        raise ApiError(400, f"quality must look like 720p or 3000k, got '{text}'.")
    number, unit = int(match.group(1)), match.group(2).lower()
    if unit == "p" or (not unit and number <= 4320):
        return number, None
    return None, number * {"k": 1_000, "m": 1_000_000}.get(unit, 1)


def _as_remux(plan: PlaybackPlan, probe: Mapping[str, Any]) -> PlaybackPlan:
    """Direct play asked to become HLS or TS: copy what the segments (MPEG-TS, or the fMP4 the
    decision chose for this client) can carry, encode the rest."""
    picture = stream_facts(probe, "video", None)
    audio = stream_facts(probe, "audio", None)
    videos = TS_VIDEO if plan.segments == "mpegts" else CARRIED["fmp4"]
    video_action: VideoAction = (
        "none" if not picture else "copy" if picture.get("codec") in videos else "encode"
    )
    video = replace(plan.video, action=video_action)
    action: AudioAction = (
        "none" if not audio else "copy" if audio.get("codec") in _audios(plan) else "encode"
    )
    return replace(
        plan,
        method="transcode" if video_action == "encode" else "direct_stream",
        video=video,
        audio=replace(plan.audio, action=action),
    )


def _audios(plan: PlaybackPlan) -> frozenset[str]:
    """Audio the plan's segments carry as it is."""
    return TS_AUDIO if plan.segments == "mpegts" else CARRIED["fmp4"]


def plan_for_request(
    plan: PlaybackPlan, probe: Mapping[str, Any], query: MultiMapping[str]
) -> tuple[PlaybackPlan, int | None]:
    """The decision narrowed by `quality`, `audio` and `subtitle`; and the default subtitle."""
    if not plan.needs_ffmpeg:
        plan = _as_remux(plan, probe)
    if "quality" in query and plan.video.action != "none":
        height, bitrate = parse_quality(query["quality"])
        facts = stream_facts(probe, "video", plan.video.stream_index)
        source_rate = int(facts.get("bit_rate") or probe.get("bit_rate") or 0)
        too_big = (height and int(facts.get("height") or 0) > height) or (
            bitrate and source_rate > bitrate
        )
        if plan.video.action == "encode" or too_big:
            video = replace(
                plan.video,
                action="encode",
                codec="h264",
                max_height=min(filter(None, (plan.video.max_height, height)), default=None),
                max_bitrate=min(filter(None, (plan.video.max_bitrate, bitrate)), default=None),
            )
            plan = replace(plan, method="transcode", video=video)
    if "audio" in query:
        index = _int(query["audio"], "audio")
        facts = stream_facts(probe, "audio", index)
        if facts.get("index") != index:
            raise ApiError(400, f"This item has no audio stream {index}.")
        copy = plan.audio.action == "copy" and facts.get("codec") in _audios(plan)
        audio = replace(plan.audio, stream_index=index, action="copy" if copy else "encode")
        plan = replace(plan, audio=audio)
    default = None
    if query.get("subtitle", "off") != "off":
        default = _int(query["subtitle"], "subtitle")
        if default not in {sub.stream_index for sub in plan.subtitles}:
            raise ApiError(400, f"Subtitle stream {default} is not offered for this item.")
    return plan, default


def _int(text: str, name: str) -> int:
    if not text.isdigit():
        raise ApiError(400, f"{name} must be a stream index, got '{text}'.")
    return int(text)


def master_text(session: HlsSession) -> str:
    """The master playlist: one variant, and a WebVTT group when there are text subtitles."""
    plan, probe = session.plan, session.source.probe
    video = video_output(plan, probe)
    video_tag = None
    fmp4 = plan.segments == "fmp4"
    if video is not None:
        entry = "hvc1" if fmp4 else "hev1"
        height, rate = video.height or 0, video.frame_rate
        video_tag = video_codec_tag(video.codec, video.profile, height, rate, entry)
    audio_tag = None
    if plan.audio.action == "encode":
        audio_tag = "mp4a.40.2"
    elif plan.audio.action == "copy":
        facts = stream_facts(probe, "audio", plan.audio.stream_index)
        audio_tag = audio_codec_tag(str(facts.get("codec")), facts.get("profile"))
    codecs = codecs_attribute(video_tag, audio_tag, video is not None, plan.audio.action != "none")
    size = (video.width, video.height) if video and video.width and video.height else None
    variant = Variant(
        f"{session.id}/index.m3u8",
        peak_bandwidth(plan, probe),
        size,
        codecs or None,
        video.frame_rate if video else None,
    )
    renditions, names = [], set()
    for number, sub in enumerate(plan.subtitles, 1):
        name = sub.title or (sub.language or "").upper() or f"Subtitles {number}"
        name = f"{name} ({number})" if name in names else name
        names.add(name)
        renditions.append(
            SubtitleRendition(
                f"{session.id}/subs{sub.stream_index}.m3u8",
                name,
                bcp47_language(sub.language),
                default=sub.stream_index == session.source.default_subtitle,
                forced=sub.forced,
            )
        )
    return master_playlist(variant, renditions, 7 if fmp4 else 3)


def _available(item: ResolvedItem) -> None:
    if not item.online:
        where = f"'{item.library}'" if item.library else "this item"
        raise ApiError(
            410,
            f"The drive holding {where} is not connected; plug it in to play this.",
            "library_offline",
        )
    if not item.path.is_file():
        raise ApiError(404, "The file is gone from disk; a rescan will tidy up.", "file_missing")


_URI_ATTRIBUTE = re.compile(r'URI="([^"?]+)"')


def carry_link(playlist: str, request: web.Request) -> str:
    """A playlist fetched with a capability link hands it on to every URI it lists (variants,
    segments, subtitles), since a player that could not send a header cannot add it either."""
    link = link_of(request)
    if link is None:
        return playlist
    query = f"?{LINK_PARAM}={link}"
    lines = []
    for line in playlist.split("\n"):
        uri = bool(line) and not line.startswith("#")
        lines.append(line + query if uri else _URI_ATTRIBUTE.sub(rf'URI="\1{query}"', line))
    return "\n".join(lines)


def _playlist(text: str) -> web.Response:
    return web.Response(text=text, content_type=MPEGURL, headers={"Cache-Control": "no-cache"})


async def send_progressive(
    request: web.Request, response: web.StreamResponse, chunks: AsyncGenerator[bytes, None]
) -> web.StreamResponse:
    """Stream ffmpeg's MPEG-TS as it comes. The first chunk is awaited before the headers go
    out, so a failure at once (a busy box: 503) is still a plain error; a later one, or the
    player hanging up, only ends the body (the manager logs ffmpeg's failures)."""
    async with contextlib.aclosing(chunks):
        first = await anext(chunks, b"")
        response.enable_chunked_encoding()
        await response.prepare(request)
        try:
            await response.write(first)
            async for chunk in chunks:
                await response.write(chunk)
        except (ApiError, ConnectionResetError):
            return response
    await response.write_eof()
    return response


def progressive_handler(
    resolve: Resolver, manager: TranscodeManager
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The handler for GET /api/items/{id}/transcode.ts."""

    async def get_progressive(request: web.Request) -> web.StreamResponse:
        """One MPEG-TS stream for DLNA TVs; ffmpeg stops when the TV hangs up. X-Hearth-Start
        says where it starts: `start`, or the keyframe before it when the video is copied."""
        item_id = request.match_info["id"]
        try:
            start = float(request.query.get("start", "0"))
        except ValueError:
            start = -1.0
        if not start >= 0:
            raise ApiError(400, "start must be a number of seconds, 0 or more.")
        item = await resolve(request, item_id)
        _available(item)
        plan = item.plan if item.plan.needs_ffmpeg else _as_remux(item.plan, item.probe)
        # copied video starts on a keyframe: the header says where, which may be before `start`
        plan, begins = await asyncio.to_thread(stream_start_blocking, item.path, plan, start)
        response = web.StreamResponse(
            headers={
                "Content-Type": "video/mp2t",
                "Cache-Control": "no-store",
                START_HEADER: f"{begins.seconds:.3f}",
            }
        )
        chunks = manager.progressive_ts(item.path, plan, begins, item.probe)
        return await send_progressive(request, response, chunks)

    return get_progressive


def add_hls_routes(table: RouteTable, resolve: Resolver, manager: TranscodeManager) -> None:
    """Register the HLS and progressive transcode routes, owned by the core."""
    for spec in hls_routes(resolve, manager):
        table.add(spec, "core")


def hls_routes(resolve: Resolver, manager: TranscodeManager) -> list[RouteSpec]:
    """The HLS and progressive transcode routes."""

    def session_of(request: web.Request) -> HlsSession:
        # only the client that opened the session reaches it (its playlists, segments,
        # subtitles and stop): a leaked or guessed id gives another person nothing
        key = client_key(request)
        session = manager.get(request.match_info["session"], request.match_info["id"], key)
        if session is None:
            raise ApiError(
                404, "No such playback session; request master.m3u8 again.", "session_ended"
            )
        session.touch()
        return session

    async def get_master(request: web.Request) -> web.StreamResponse:
        """Start (or rejoin) this client's session and describe it."""
        item_id = request.match_info["id"]
        item = await resolve(request, item_id)
        _available(item)
        plan, default = plan_for_request(item.plan, item.probe, request.query)
        source = HlsSource(item_id, item.path, item.probe, plan, default)
        session = await manager.open(client_key(request), source)
        return _playlist(carry_link(master_text(session), request))

    async def get_index(request: web.Request) -> web.StreamResponse:
        """Every segment of the item, known before any is made, so players can seek at once."""
        session = session_of(request)
        if session.plan.segments == "fmp4":
            text = media_playlist(session.timeline, "{n}.m4s", "init.mp4")
        else:
            text = media_playlist(session.timeline)
        return _playlist(carry_link(text, request))

    async def get_segment(request: web.Request) -> web.StreamResponse:
        """One segment (MPEG-TS or fMP4, as the session sends), waiting (bounded) for ffmpeg."""
        session = session_of(request)
        kind = request.match_info["ext"]
        if kind != segment_extension(session.plan):
            raise ApiError(404, f"This session sends .{segment_extension(session.plan)} segments.")
        path = await session.segment(int(request.match_info["n"]))
        return await send_server_file(request, path, {"Content-Type": SEGMENT_TYPES[kind]})

    async def get_init(request: web.Request) -> web.StreamResponse:
        """fMP4's shared header, which every segment of the session needs before it."""
        path = await session_of(request).init_segment()
        return await send_server_file(request, path, {"Content-Type": "video/mp4"})

    async def get_subtitle_playlist(request: web.Request) -> web.StreamResponse:
        session = session_of(request)
        index = int(request.match_info["index"])
        if index not in {sub.stream_index for sub in session.plan.subtitles}:
            raise ApiError(404, f"Subtitle stream {index} is not offered for this item.")
        text = subtitle_playlist(session.timeline.duration, f"subs{index}.vtt")
        return _playlist(carry_link(text, request))

    async def get_subtitle(request: web.Request) -> web.StreamResponse:
        path = await session_of(request).subtitle(int(request.match_info["index"]))
        return await send_server_file(request, path, {"Content-Type": "text/vtt; charset=utf-8"})

    async def delete_session(request: web.Request) -> web.StreamResponse:
        """The player is done: stop ffmpeg and free the scratch space now, not at idle time."""
        if not await manager.stop(session_of(request).id):
            raise ApiError(404, "No such playback session.", "session_ended")
        return web.Response(status=204)

    base = "/api/items/{id}/hls"
    quality = (
        Param("quality", "maximum height (720p) or bit rate (3000k)"),
        Param("audio", "audio stream index", "integer"),
        Param("subtitle", "subtitle stream index shown by default, or off"),
        Param("profile", "client profile name (reserved for the decision)"),
        Param("caps", "what the client decodes (see core.playback.capabilities)"),
    )
    subtitles = f"{base}/{{session}}/subs{{index:\\d+}}"
    routes = (
        RouteSpec(
            "GET",
            f"{base}/master.m3u8",
            get_master,
            "HLS master playlist",
            query=quality,
            links=True,
        ),
        RouteSpec(
            "GET", f"{base}/{{session}}/index.m3u8", get_index, "HLS media playlist", links=True
        ),
        RouteSpec(
            "GET",
            f"{base}/{{session}}/{{n:\\d+}}.{{ext:ts|m4s}}",
            get_segment,
            "HLS segment (MPEG-TS or fMP4)",
            links=True,
        ),
        RouteSpec(
            "GET", f"{base}/{{session}}/init.mp4", get_init, "HLS fMP4 init segment", links=True
        ),
        RouteSpec(
            "GET", f"{subtitles}.m3u8", get_subtitle_playlist, "Subtitle playlist", links=True
        ),
        RouteSpec("GET", f"{subtitles}.vtt", get_subtitle, "Subtitles as WebVTT", links=True),
        RouteSpec("DELETE", f"{base}/{{session}}", delete_session, "Stop an HLS session"),
        RouteSpec(
            "GET",
            "/api/items/{id}/transcode.ts",
            progressive_handler(resolve, manager),
            "Progressive MPEG-TS",
            query=(Param("start", "start position in seconds", "number"),),
            links=True,
        ),
    )
    return [replace(spec, tags=("playback",)) for spec in routes]
