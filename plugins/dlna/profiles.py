"""DLNA media profiles: the MIME type, `DLNA.ORG_PN` and flags a TV reads from a protocolInfo.

Decided from what the scanner's probe recorded (container, codecs, frame size). A profile name is
given only when the file certainly fits it: a wrong PN makes a TV refuse a file it could play,
while a missing one is allowed. A video with no profile is one a TV may not play, so it also
gets a transcoded MPEG-TS resource; a photo with none (HEIC, WebP, TIFF, a JPEG over 4096 px) a
screen-sized JPEG copy. It never opens files.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from typing import Any

from multidict import MultiDict

from core.plugin_api import (
    DeviceProfile,
    UnplayableError,
    constant_rate,
    content_type,
    decide,
    load_profiles,
    plan_for_request,
)

FLAGS_AV = "01700000000000000000000000000000"  # streaming, background, stalling, DLNA 1.5
FLAGS_IMAGE = "00F00000000000000000000000000000"  # interactive, background, stalling, DLNA 1.5
TRANSCODE_MIME = "video/mpeg"
THUMBNAIL_PN = "JPEG_TN"
SCREEN_SIZE = 1920
"""Longest side of a photo's JPEG copy: a 1080p TV's width, well inside JPEG_LRG (4096x4096),
and small enough for a Pi to make in a second or two."""
_JPEG_BOXES = (("JPEG_SM", (640, 480)), ("JPEG_MED", (1024, 768)), ("JPEG_LRG", (4096, 4096)))
_MP4 = "mov,mp4,m4a,3gp,3g2,mj2"
_DLNA_MIME = {".ts": "video/mpeg", ".m2ts": "video/vnd.dlna.mpeg-tts", ".mts": "video/mpeg"}


@dataclass(frozen=True, slots=True)
class MediaProfile:
    """How one resource is described to a renderer."""

    mime: str
    pn: str | None
    streaming: bool  # A/V (Streaming) or image (Interactive)
    byte_seek: bool = True
    transcoded: bool = False
    time_seek: bool = False  # TimeSeekRange.dlna.org honoured (ffmpeg started at the time)

    @property
    def features(self) -> str:
        """The fourth protocolInfo field, also sent as `contentFeatures.dlna.org`."""
        parts = [f"DLNA.ORG_PN={self.pn}"] if self.pn else []
        parts.append(f"DLNA.ORG_OP={int(self.time_seek)}{int(self.byte_seek)}")
        parts.append(f"DLNA.ORG_CI={'1' if self.transcoded else '0'}")
        parts.append(f"DLNA.ORG_FLAGS={FLAGS_AV if self.streaming else FLAGS_IMAGE}")
        return ";".join(parts)

    @property
    def protocol_info(self) -> str:
        return _protocol_info(self)

    @property
    def transfer_mode(self) -> str:
        return "Streaming" if self.streaming else "Interactive"


TRANSCODE = MediaProfile(TRANSCODE_MIME, None, True, transcoded=True, time_seek=True)
"""The progressive MPEG-TS transcode: seek by time (ffmpeg starts there) or by bytes (a constant
byte rate, so a length known in advance and a time for every byte: core.playback.constant_rate)."""
TRANSCODE_BY_TIME = MediaProfile(
    TRANSCODE_MIME, None, True, byte_seek=False, transcoded=True, time_seek=True
)
"""The transcode of an item whose duration is unknown: no length, so seeks by time only."""


def mime_type(filename: str) -> str:
    return _mime_for(os.path.splitext(filename)[1].lower())


@functools.lru_cache(maxsize=256)
def _mime_for(extension: str) -> str:
    return _DLNA_MIME.get(extension) or content_type(f"x{extension}")


def _first(probe: dict[str, Any], kind: str) -> dict[str, Any]:
    for stream in probe.get("streams") or []:
        if isinstance(stream, dict) and stream.get("kind") == kind:
            return stream
    return {}


def _video_pn(probe: dict[str, Any], extension: str) -> str | None:
    video, audio = _first(probe, "video"), _first(probe, "audio")
    vcodec, acodec = video.get("codec"), audio.get("codec")
    height = int(video.get("height") or 0)
    container = probe.get("container") or ""
    if container == _MP4 and extension in (".mp4", ".m4v") and vcodec == "h264":
        if acodec not in ("aac", None):
            return None
        if video.get("profile") == "High":
            return "AVC_MP4_HP_HD_AAC"
        if height <= 576:
            return "AVC_MP4_MP_SD_AAC_MULT5"
        return "AVC_MP4_MP_HD_720p_AAC" if height <= 720 else "AVC_MP4_MP_HD_1080i_AAC"
    if container == "mpegts" and extension == ".ts":
        hd = "HD" if height > 576 else "SD"
        if vcodec == "mpeg2video" and acodec in ("mp2", "ac3", None):
            region = "EU" if (video.get("frame_rate") or 0) in (25.0, 50.0) else "NA"
            return f"MPEG_TS_{hd}_{region}_ISO"
        if vcodec == "h264" and acodec == "aac":
            return f"AVC_TS_MP_{hd}_AAC_MULT5_ISO"
    return None


def _audio_pn(probe: dict[str, Any], extension: str) -> str | None:
    audio = _first(probe, "audio")
    codec = audio.get("codec")
    if codec == "mp3" and extension == ".mp3":
        return "MP3"
    if codec == "aac" and extension in (".m4a", ".mp4"):
        rate = audio.get("bit_rate") or probe.get("bit_rate") or 0
        return "AAC_ISO_320" if rate <= 320_000 else "AAC_ISO"
    return None


def _image_pn(probe: dict[str, Any]) -> str | None:
    photo = probe.get("photo") or {}
    size = (int(photo.get("width") or 0), int(photo.get("height") or 0))
    if not all(size):
        return None
    longest, shortest = max(size), min(size)
    if photo.get("format") == "jpeg":
        return _jpeg_pn(longest, shortest)
    if photo.get("format") == "png" and longest <= 4096:
        return "PNG_LRG"
    return None


def _jpeg_pn(longest: int, shortest: int) -> str | None:
    """The smallest JPEG profile the size fits: a TV that knows only SM or MED still takes it."""
    for name, (box_long, box_short) in _JPEG_BOXES:
        if longest <= box_long and shortest <= box_short:
            return name
    return None


def screen_copy(kind: str, profile: MediaProfile, probe: dict[str, Any]) -> MediaProfile | None:
    """The JPEG copy offered for a photo that has no DLNA profile of its own, else None.

    The copy is the photo fitted into SCREEN_SIZE, never enlarged, so it is unscaled whenever it
    could fit JPEG_SM or JPEG_MED (both under 1024 px) and its profile follows from the stored
    size alone. Without a stored size, JPEG_LRG still holds: nothing made here is over 4096 px.
    """
    if kind != "photo" or profile.pn is not None:
        return None
    photo = probe.get("photo") or {}
    size = (int(photo.get("width") or 0), int(photo.get("height") or 0))
    pn = _jpeg_pn(min(max(size), SCREEN_SIZE), min(*size, SCREEN_SIZE)) if all(size) else None
    return MediaProfile("image/jpeg", pn or "JPEG_LRG", streaming=False, transcoded=True)


@functools.lru_cache(maxsize=256)
def _protocol_info(profile: MediaProfile) -> str:
    """Built once per distinct profile: every item of a page shares a few."""
    return f"http-get:*:{profile.mime}:{profile.features}"


def media_profile(kind: str, filename: str, probe: dict[str, Any]) -> MediaProfile:
    """The profile of an item's own file (`kind` is the catalog's item kind)."""
    extension = os.path.splitext(filename)[1].lower()
    mime = _mime_for(extension)
    if kind == "photo":
        return MediaProfile(mime, _image_pn(probe), streaming=False)
    if kind == "track":
        return MediaProfile(mime, _audio_pn(probe, extension), streaming=True)
    return MediaProfile(mime, _video_pn(probe, extension), streaming=True)


GENERIC_TV = "dlna-generic"


@functools.cache
def _generic_tv() -> DeviceProfile:
    return load_profiles([])[GENERIC_TV]


def transcode_size(probe: dict[str, Any], duration: float | None) -> int | None:
    """The length of the transcode a generic DLNA TV is sent (its `res@size`), None when it
    has none (no duration: seeks by time only). A TV with a profile of its own may be sent
    another length; each answer's Content-Length is the one that TV goes by."""
    try:
        plan, _ = plan_for_request(decide(probe, _generic_tv()), probe, MultiDict())
    except UnplayableError:
        return None
    rate = constant_rate(plan, probe, duration)
    return rate.size if rate else None


def needs_transcode(kind: str, profile: MediaProfile) -> bool:
    """A video without a DLNA profile: offer the MPEG-TS transcode beside the file."""
    return kind in ("movie", "episode", "video") and profile.pn is None


SOURCE_PROTOCOLS = ",".join(
    f"http-get:*:{mime}:{f'DLNA.ORG_PN={pn}' if pn else '*'}"
    for mime, pn in (
        ("video/mp4", "AVC_MP4_HP_HD_AAC"),
        ("video/mp4", "AVC_MP4_MP_SD_AAC_MULT5"),
        ("video/mp4", "AVC_MP4_MP_HD_720p_AAC"),
        ("video/mp4", "AVC_MP4_MP_HD_1080i_AAC"),
        ("video/mpeg", "MPEG_TS_HD_NA_ISO"),
        ("video/mpeg", "MPEG_TS_SD_NA_ISO"),
        ("video/mpeg", "MPEG_TS_HD_EU_ISO"),
        ("video/mpeg", "MPEG_TS_SD_EU_ISO"),
        ("video/mpeg", "AVC_TS_MP_HD_AAC_MULT5_ISO"),
        ("video/mpeg", "AVC_TS_MP_SD_AAC_MULT5_ISO"),
        ("audio/mpeg", "MP3"),
        ("audio/mp4", "AAC_ISO_320"),
        ("audio/mp4", "AAC_ISO"),
        ("image/jpeg", "JPEG_TN"),
        ("image/jpeg", "JPEG_SM"),
        ("image/jpeg", "JPEG_MED"),
        ("image/jpeg", "JPEG_LRG"),
        ("image/png", "PNG_LRG"),
        ("video/x-matroska", None),
        ("video/webm", None),
        ("video/x-msvideo", None),
        ("audio/flac", None),
        ("audio/ogg", None),
        ("text/srt", None),
    )
)
"""GetProtocolInfo's Source: what this server can send."""
