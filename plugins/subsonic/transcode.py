"""When and how `stream` re-encodes a song: `format`, `maxBitRate` and `timeOffset`.

A song is sent as it is unless the app asks for another format, for fewer kbps than the file
has, or for a start time (OpenSubsonic `transcodeOffset`); then the playback engine's audio
transcode (`TranscodeManager.progressive_audio`, its ffmpeg and its stream bookkeeping)
re-encodes it from the library file the engine checked, streamed as it is made (no Range:
apps seek with `timeOffset`). `format=raw` always means the file itself. It never decides who
may hear a song (media.py asked the catalog first).
"""

from __future__ import annotations

import contextlib

from aiohttp import web

from core.plugin_api import ApiError, AudioOutput, send_progressive
from plugins.subsonic.responses import GENERIC, NOT_FOUND, SubsonicError
from plugins.subsonic.routes import Call

# format -> (encoder, container, content type, default kbps)
FORMATS = {
    "mp3": ("libmp3lame", "mp3", "audio/mpeg", 192),
    "opus": ("libopus", "ogg", "audio/ogg", 128),
    "aac": ("aac", "adts", "audio/aac", 192),
}
ALIASES = {"ogg": "opus", "m4a": "aac", "mp4": "aac"}
MAX_KBPS = 320


def time_offset(call: Call) -> float:
    value = call.get("timeOffset")
    if not value:
        return 0.0
    try:
        seconds = float(value)
    except ValueError:
        raise SubsonicError(
            GENERIC, f"Parameter timeOffset must be seconds, got {value!r}"
        ) from None
    return max(0.0, seconds)


def transcode_output(
    wanted: str | None, max_kbps: int, offset: float, suffix: str, file_kbps: int | None
) -> tuple[AudioOutput, str, float] | None:
    """The encode to run (and its content type and start), or None to send the file."""
    name = (wanted or "").casefold()
    if name == "raw":
        return None
    name = ALIASES.get(name, name)
    other_format = bool(name) and name != suffix
    too_rich = max_kbps > 0 and (file_kbps is None or file_kbps > max_kbps)
    if not (other_format or too_rich or offset > 0):
        return None
    codec, container, content_type, kbps = FORMATS.get(name, FORMATS["mp3"])
    if max_kbps > 0:
        kbps = min(kbps, max_kbps)
    kbps = max(32, min(kbps, MAX_KBPS))
    return AudioOutput(codec, kbps, container), content_type, offset


async def send_transcode(
    call: Call, song_id: str, output: tuple[AudioOutput, str, float]
) -> web.StreamResponse:
    from plugins.subsonic.media import song_path_blocking

    audio, content_type, start = output
    path = await call.ctx.catalog.read(lambda db: song_path_blocking(db, call.principal, song_id))
    try:
        engine = call.ctx.playback
    except RuntimeError:
        raise SubsonicError(GENERIC, "Playback is not running yet; try again shortly.") from None
    try:
        checked = await engine.library_path(path)  # what ffmpeg reads is what was checked
    except ApiError as err:
        raise SubsonicError(NOT_FOUND, err.message) from err
    client = f"{call.request.remote} subsonic {song_id}"
    chunks = engine.manager.progressive_audio(checked, audio, start, client)
    response = web.StreamResponse(
        headers={"Content-Type": content_type, "Cache-Control": "no-store"}
    )
    try:
        return await send_progressive(call.request, response, chunks)
    except ApiError as err:  # failed before any byte went out: a plain Subsonic error
        with contextlib.suppress(Exception):
            await chunks.aclose()
        raise SubsonicError(GENERIC, err.message) from err
