"""Probing a media file in-process: container, streams, audio tags, cover art, photo facts.

PyAV reads a container's header in about a millisecond where spawning ffprobe costs ~60 (see
DESIGN "Probing media"), so the scanner calls `probe_blocking` in worker processes and writes the
frozen, picklable results from one place. The container is opened once and only its header and
first packet are read; no frame is ever decoded here. mutagen adds audio tags, Pillow photo facts.

A caller that opened the file itself (the scanner opens a library file and checks the opened
file is one, core.library.roots) hands it over: then every reader reads that open file, never
the name, which only tells the file's kind by its extension and names it in messages.

Every way a file can be wrong — empty, cut short, not media, a directory, gone, unreadable — ends
as one `ProbeError` naming the file and the fault; PyAV, mutagen and Pillow exceptions never
escape. Never writes, never follows a URL a file points to (FFmpeg is held to local files), and
keeps no module-level state, so it works the same under fork and spawn.
"""

from __future__ import annotations

import errno
import io
import os
import stat
import struct
from dataclasses import replace
from typing import Any, BinaryIO, Protocol

import av
import mutagen
from PIL import Image, UnidentifiedImageError

from core.errors import HearthError
from core.media.classify import FileKind, classify
from core.media.facts import AudioTags, CoverArt, MediaKind, ProbeResult, StreamInfo, StreamKind
from core.media.heif import HeifSupportMissingError
from core.media.integrity import truncation_problem
from core.media.languages import normalize_language
from core.media.photos import read_photo_blocking
from core.media.tags import front_cover, read_tags

__all__ = [  # the value types moved to core.media.facts; importable from here as before
    "MediaKind",
    "ProbeError",
    "ProbeResult",
    "StreamInfo",
    "StreamKind",
    "extract_cover_blocking",
    "probe_blocking",
]

# What a damaged or hostile file makes these libraries raise: parsers fail in many ways.
_FILE_FAULTS: tuple[type[BaseException], ...] = (
    av.FFmpegError,
    mutagen.MutagenError,
    Image.DecompressionBombError,
    OSError,
    ValueError,
    EOFError,
    LookupError,
    struct.error,
    SyntaxError,
)
# FFmpeg may open local files only: a crafted playlist must not make a scan reach the network.
_CONTAINER_OPTIONS = {"protocol_whitelist": "file"}
# Most containers (Matroska, MP4, MP3, FLAC) state every stream's parameters in their header,
# and 8 KB / 0.1 s of packets is enough for FFmpeg to parse the codecs' own headers (profile,
# level, pixel format); its default probing reads up to 5 MB / 5 s to confirm them. The short
# read is tried first and kept only when it left nothing out (`_complete`), else the file is
# opened again as usual: 1.1 -> 0.64 ms per Matroska/MP4 file, the same results (tested).
# formatprobesize: FFmpeg tells a format apart in its first KB, except behind an ID3v2 tag
# larger than that (an MP3 with its cover: 0.5-1 MB), where it reads ever larger buffers up to
# 1 MB and tries every demuxer on each: 4.9 ms a file. Stopped at 8 KB it takes its best guess
# there (the MP3 demuxer claims a file that starts with a tag; an extension helps when the
# path has one): 0.7 ms, the same results for every file of both bench libraries. A wrong
# guess fails the quick read or leaves it incomplete, and the full probe reads the file anew.
_HEADER_ONLY = {
    **_CONTAINER_OPTIONS,
    "probesize": "8192",
    "analyzeduration": "100000",
    "formatprobesize": "8192",
}
# Containers whose header lists every stream: in others (MPEG-TS, MPEG-PS, FLV) streams can
# first appear further in, so only a full probe is trusted.
_WHOLE_HEADER_FORMATS = frozenset(
    {"matroska,webm", "mov,mp4,m4a,3gp,3g2,mj2", "mp3", "flac", "ogg", "wav", "aiff", "avi"}
)
_COVER_MIME = {"mjpeg": "image/jpeg", "png": "image/png", "bmp": "image/bmp", "gif": "image/gif"}


class OpenedFile(Protocol):
    """A file the caller opened and checked (core.library.roots.LibraryFile): read through its
    descriptor, never by name."""

    @property
    def file(self) -> BinaryIO: ...

    @property
    def stat(self) -> os.stat_result: ...

    @property
    def proc_path(self) -> str: ...


class ProbeError(HearthError):
    """A file cannot be probed; the message names the file and says what is wrong with it."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem

    def __reduce__(self) -> tuple[type[ProbeError], tuple[str, str]]:
        # Raised in worker processes and pickled back: rebuild from both fields.
        return ProbeError, (self.path, self.problem)


def probe_blocking(path: str | os.PathLike[str], opened: OpenedFile | None = None) -> ProbeResult:
    """Probe one file; raises `ProbeError` for anything that is not a readable media file.

    `opened`: the file `path` names, already opened by the caller; it alone is read."""
    name = os.path.abspath(os.fspath(path))  # absolute: FFmpeg reads `a:b.mkv` as a protocol
    size = _check_file(name, opened)
    source = name if opened is None else opened.proc_path
    kind = classify(os.path.basename(name))
    try:
        if kind in (FileKind.PHOTO, FileKind.ARTWORK):
            photo = read_photo_blocking(name, source)
            return ProbeResult("photo", size, photo.format, photo=photo)
        return _probe_container(name, source, size)
    except ProbeError:
        raise
    except HeifSupportMissingError as err:
        raise ProbeError(name, str(err)) from err
    except _FILE_FAULTS as err:
        raise ProbeError(name, _describe(err)) from err


def extract_cover_blocking(path: str | os.PathLike[str]) -> CoverArt | None:
    """The embedded cover picture of an audio or video file, or None if it has none."""
    name = os.path.abspath(os.fspath(path))
    _check_file(name, None)
    try:
        audio = mutagen.File(name)
        cover = front_cover(audio) if audio is not None else None
        return cover or _container_cover(name)
    except _FILE_FAULTS as err:
        raise ProbeError(name, _describe(err)) from err


def _check_file(name: str, opened: OpenedFile | None) -> int:
    """The file's size after the cheap checks: it exists, is a file, is not empty, is whole."""
    try:
        mode = (os.stat(name) if opened is None else opened.stat).st_mode
        if stat.S_ISDIR(mode):
            raise ProbeError(name, "is a directory, not a file")
        if not stat.S_ISREG(mode):
            # Opening a FIFO would block the worker for ever; a device would never end.
            raise ProbeError(name, "is not a regular file (a pipe, socket or device)")
        # An opened file is read through its descriptor (buffered: headers are read a few
        # bytes at a time) and left open for its caller.
        target = name if opened is None else opened.file.fileno()
        with open(target, "rb", closefd=opened is None) as file:
            size = os.fstat(file.fileno()).st_size
            problem = "is empty (0 bytes)" if size == 0 else truncation_problem(file, size)
    except OSError as err:
        raise ProbeError(name, unreadable(err)) from err
    if problem:
        raise ProbeError(name, problem)
    return size


def unreadable(err: OSError) -> str:
    """Why a file could not be opened or read, in the words of a scan's problems."""
    if isinstance(err, PermissionError):
        return "cannot be read: permission denied"
    if isinstance(err, FileNotFoundError) and err.strerror == os.strerror(errno.ENOENT):
        return "does not exist (moved or deleted while scanning?)"
    return f"cannot be read: {err.strerror or err}"


def _describe(err: BaseException) -> str:
    """A sentence about the file, from whichever library gave up on it."""
    if isinstance(err, av.error.InvalidDataError):
        return "is not a media file FFmpeg can read (invalid data)"
    if isinstance(err, UnidentifiedImageError):
        return "is not an image Pillow can read"
    if isinstance(err, Image.DecompressionBombError):
        return f"is too large an image to handle safely ({err})"
    if isinstance(err, mutagen.MutagenError):
        return f"has tags that cannot be read ({err})"
    if isinstance(err, OSError) and err.strerror:
        return f"cannot be read ({err.strerror}); it may be damaged or cut short"
    return f"is damaged or not a media file ({type(err).__name__}: {err})"


def _probe_container(name: str, source: str, size: int) -> ProbeResult:
    try:
        quick = _read_container(name, source, size, _HEADER_ONLY)
    except Exception:  # judged by the full probe below, whose error is the one reported
        quick = None
    if quick is not None and _complete(quick):
        result = quick
    else:
        result = _read_container(name, source, size, _CONTAINER_OPTIONS)
    if result.kind != "audio":
        return result
    audio = _mutagen_file(name, source)
    tags = read_tags(audio) if audio is not None else AudioTags()
    has_cover = result.has_cover_art or (audio is not None and front_cover(audio) is not None)
    return replace(result, tags=tags, has_cover_art=has_cover)


def _complete(result: ProbeResult) -> bool:
    """Whether a header-only read left nothing for a full probe to find: every video stream's
    size, pixel format and frame rate, every audio stream's rate and channels, a duration."""
    if result.container not in _WHOLE_HEADER_FORMATS or not result.duration:
        return False
    for stream in result.streams:
        if stream.codec is None:
            return False
        if stream.kind == "video" and not (
            stream.width and stream.height and stream.pix_fmt and stream.frame_rate
        ):
            return False
        if stream.kind == "audio" and not (stream.sample_rate and stream.channels):
            return False
    return True


def _mutagen_file(name: str, source: str) -> Any:
    """mutagen's reading of the file at `source`: under its own `name`, since mutagen tells
    formats apart partly by extension (an MP3 without an ID3v2 header has nothing else)."""
    if source == name:
        return mutagen.File(name)
    raw = io.FileIO(source, "rb")
    raw.name = name
    with io.BufferedReader(raw) as file:
        return mutagen.File(file)


def _read_container(name: str, source: str, size: int, options: dict[str, str]) -> ProbeResult:
    with av.open(source, container_options=options, metadata_errors="replace") as container:
        covers = [s for s in container.streams if _is_cover(s)]
        streams = tuple(
            info
            for stream in container.streams
            if stream not in covers and (info := _stream_info(stream)) is not None
        )
        kinds = {stream.kind for stream in streams}
        if not kinds & {"video", "audio"}:
            raise ProbeError(name, "holds no audio or video stream")
        first = next(container.demux(), None)
        if first is None or first.size == 0:
            raise ProbeError(name, "holds stream headers but no media data (cut short?)")
        duration = container.duration / 1_000_000 if container.duration else None
        return ProbeResult(
            kind="video" if "video" in kinds else "audio",
            size=size,
            container=container.format.name,
            duration=duration if duration else _longest_stream(container),
            bit_rate=container.bit_rate or None,
            streams=streams,
            has_cover_art=bool(covers),
        )


def _is_cover(stream: Any) -> bool:
    """Cover pictures (MP3 APIC, MP4 covr, Matroska cover attachments) are not video."""
    return bool(stream.disposition & av.stream.Disposition.attached_pic)


def _stream_info(stream: Any) -> StreamInfo | None:
    """One stream's facts, or None for data, attachment and unknown streams."""
    if stream.type not in ("video", "audio", "subtitle"):
        return None
    context = stream.codec_context
    codec = context.codec if context is not None else None
    metadata = stream.metadata
    disposition = stream.disposition
    video = stream.type == "video"
    audio = stream.type == "audio"
    rate = (stream.average_rate or stream.guessed_rate) if video else None
    return StreamInfo(
        index=stream.index,
        kind=stream.type,
        codec=codec.canonical_name if codec is not None else None,
        profile=(context.profile or None) if context is not None else None,
        width=context.width or None if video else None,
        height=context.height or None if video else None,
        frame_rate=round(float(rate), 3) if rate else None,
        pix_fmt=context.pix_fmt if video else None,
        bit_rate=_bit_rate(context, metadata),
        channels=context.channels or None if audio else None,
        sample_rate=context.sample_rate or None if audio else None,
        language=normalize_language(metadata.get("language", "")),
        title=metadata.get("title") or None,
        default=bool(disposition & av.stream.Disposition.default),
        forced=bool(disposition & av.stream.Disposition.forced),
        hearing_impaired=bool(disposition & av.stream.Disposition.hearing_impaired),
        text_based=bool(codec.text_sub) if codec is not None and not (video or audio) else None,
        level=_level(context) if video else None,
    )


def _level(context: Any) -> int | None:
    """The coded level, for players that refuse streams above theirs (older TVs); FFmpeg says
    -99 (FF_LEVEL_UNKNOWN) or 0 when the container does not tell."""
    level = getattr(context, "level", None)
    return int(level) if isinstance(level, int) and level > 0 else None


def _bit_rate(context: Any, metadata: Any) -> int | None:
    """The codec's bit rate, else the `BPS` statistics tag mkvmerge writes into Matroska."""
    if context is not None and context.bit_rate:
        return int(context.bit_rate)
    for key in ("BPS", "BPS-eng"):
        value = str(metadata.get(key, ""))
        if value.isdigit():
            return int(value)
    return None


def _longest_stream(container: Any) -> float | None:
    """Duration from the streams when the container header gives none."""
    seconds = [
        float(stream.duration * stream.time_base)
        for stream in container.streams
        if stream.duration and stream.time_base
    ]
    return max(seconds) if seconds else None


def _container_cover(name: str) -> CoverArt | None:
    """A video's cover: the first attached picture's single packet, read without decoding."""
    with av.open(name, container_options=_CONTAINER_OPTIONS) as container:
        for stream in container.streams:
            if _is_cover(stream):
                packet = next(container.demux(stream), None)
                if packet is not None and packet.size:
                    mime = stream.metadata.get("mimetype") or _COVER_MIME.get(
                        stream.codec_context.codec.canonical_name, "application/octet-stream"
                    )
                    return CoverArt(bytes(packet), mime)
    return None
