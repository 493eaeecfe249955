"""Real, tiny media files for tests: videos and audio encoded with PyAV, tags written by mutagen,
photos saved by Pillow (HEIC by pillow-heif's x265 encoder) — all in-process, so no test needs an ffmpeg binary or fixtures on disk.

Every generator returns the path it wrote. Shared by tests beyond `core.media`; import it as
`mediagen` from this folder. The files are real enough for FFmpeg, mutagen and Pillow to parse
exactly as they would a camera's or a ripper's output, and small (a second of 64x48 video is ~4 KB).
"""

from __future__ import annotations

import base64
import io
import math
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import pillow_heif
from mutagen.flac import FLAC, Picture
from mutagen.id3 import (
    APIC,
    ID3,
    TALB,
    TCMP,
    TCON,
    TDRC,
    TIT2,
    TPE1,
    TPE2,
    TPOS,
    TRCK,
    TXXX,
    UFID,
)
from mutagen.mp4 import MP4, MP4Cover, MP4FreeForm
from mutagen.oggopus import OggOpus
from PIL import ExifTags, Image

from core.media.tags import AudioTags

_AUDIO_CODECS = {".mp3": "libmp3lame", ".flac": "flac", ".m4a": "aac", ".opus": "libopus"}
_AUDIO_FORMATS = {".m4a": "ipod", ".opus": "ogg"}
_MB_KEYS = {
    "musicbrainz_album_id": "MusicBrainz Album Id",
    "musicbrainz_artist_id": "MusicBrainz Artist Id",
    "musicbrainz_album_artist_id": "MusicBrainz Album Artist Id",
    "musicbrainz_release_group_id": "MusicBrainz Release Group Id",
    "musicbrainz_release_track_id": "MusicBrainz Release Track Id",
    "musicbrainz_track_id": "MusicBrainz Track Id",
}


@dataclass(frozen=True)
class SubtitleTrack:
    """An embedded text subtitle stream: one cue, its language and its flags."""

    language: str
    text: str = "Hello"
    title: str | None = None
    default: bool = False
    forced: bool = False


def make_video(
    path: Path,
    seconds: float = 1.0,
    *,
    vcodec: str | None = "libx264",
    acodec: str | None = "aac",
    size: tuple[int, int] = (64, 48),
    fps: int = 25,
    audio_languages: Sequence[str] = ("eng",),
    subtitles: Sequence[SubtitleTrack] = (),
    cover: bytes | None = None,
) -> Path:
    """A video of moving grey frames with one sine-tone track per audio language."""
    with av.open(str(path), "w") as container:
        video = None
        if vcodec is not None:
            video = container.add_stream(vcodec, rate=fps)
            video.width, video.height = size
            video.pix_fmt = "yuv420p"
        tracks = []
        for language in audio_languages if acodec is not None else ():
            track = container.add_stream(acodec, rate=48000)
            track.layout = "stereo"
            track.metadata["language"] = language
            tracks.append(track)
        texts = []
        for sub in subtitles:
            stream = container.add_mux_stream("subrip")
            stream.metadata["language"] = sub.language
            if sub.title:
                stream.metadata["title"] = sub.title
            flags = av.stream.Disposition(0)
            flags |= av.stream.Disposition.default if sub.default else 0
            flags |= av.stream.Disposition.forced if sub.forced else 0
            stream.disposition = flags
            texts.append((stream, sub.text))
        if cover is not None:
            container.add_attachment("cover.jpg", "image/jpeg", cover)
        if video is not None:
            _encode_video(container, video, seconds, fps, size)
        for track in tracks:
            _encode_audio(container, track, seconds, 48000)
        for stream, text in texts:
            packet = av.Packet(text.encode())
            packet.stream, packet.pts, packet.dts = stream, 0, 0
            packet.time_base, packet.duration = Fraction(1, 1000), int(seconds * 500)
            container.mux(packet)
    return path


def _encode_video(
    container: Any, stream: Any, seconds: float, fps: int, size: tuple[int, int]
) -> None:
    for index in range(round(seconds * fps)):
        frame = av.VideoFrame(size[0], size[1], "yuv420p")
        for plane in frame.planes:
            plane.update(bytes([(index * 7) % 256]) * plane.buffer_size)
        frame.pts = index
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))


def _encode_audio(container: Any, stream: Any, seconds: float, rate: int) -> None:
    total, chunk, pts = round(seconds * rate), 1024, 0
    while pts < total:
        samples = min(chunk, total - pts)
        tone = array(
            "f", (0.2 * math.sin(2 * math.pi * 440 * (pts + i) / rate) for i in range(samples))
        )
        frame = av.AudioFrame(format="fltp", layout="stereo", samples=samples)
        frame.sample_rate, frame.pts = rate, pts
        for plane in frame.planes:
            plane.update(tone.tobytes() + bytes(plane.buffer_size - len(tone) * 4))
        container.mux(stream.encode(frame))
        pts += samples
    container.mux(stream.encode(None))


def make_audio(
    path: Path,
    seconds: float = 1.0,
    *,
    tags: AudioTags | None = None,
    cover: bytes | None = None,
    sample_rate: int = 48000,
) -> Path:
    """A stereo sine tone (.mp3, .flac, .m4a or .opus) with tags and cover written by mutagen."""
    suffix = path.suffix.casefold()
    with av.open(str(path), "w", format=_AUDIO_FORMATS.get(suffix)) as container:
        stream = container.add_stream(_AUDIO_CODECS[suffix], rate=sample_rate)
        stream.layout = "stereo"
        _encode_audio(container, stream, seconds, sample_rate)
    if tags is not None or cover is not None:
        {".mp3": _tag_id3, ".flac": _tag_vorbis, ".opus": _tag_vorbis, ".m4a": _tag_mp4}[suffix](
            path, tags or AudioTags(), cover
        )
    return path


def _tag_id3(path: Path, tags: AudioTags, cover: bytes | None) -> None:
    id3 = ID3()  # saving a fresh tag replaces the one FFmpeg's muxer wrote
    for frame, value in ((TIT2, tags.title), (TALB, tags.album), (TDRC, tags.date)):
        if value:
            id3.add(frame(encoding=3, text=[value]))
    for frame, values in ((TPE1, tags.artists), (TPE2, tags.album_artists), (TCON, tags.genres)):
        if values:
            id3.add(frame(encoding=3, text=list(values)))
    if tags.track_number:
        id3.add(TRCK(encoding=3, text=[_fraction(tags.track_number, tags.track_total)]))
    if tags.disc_number:
        id3.add(TPOS(encoding=3, text=[_fraction(tags.disc_number, tags.disc_total)]))
    if tags.compilation:
        id3.add(TCMP(encoding=3, text=["1"]))
    for field, description in _MB_KEYS.items():
        value = getattr(tags, field)
        if value and field == "musicbrainz_track_id":
            id3.add(UFID(owner="http://musicbrainz.org", data=value.encode()))
        elif value:
            id3.add(TXXX(encoding=3, desc=description, text=[value]))
    if cover is not None:
        id3.add(APIC(encoding=3, mime="image/jpeg", type=3, desc="front", data=cover))
    id3.save(path)


def _tag_vorbis(path: Path, tags: AudioTags, cover: bytes | None) -> None:
    audio: Any = FLAC(path) if path.suffix.casefold() == ".flac" else OggOpus(path)
    comments: dict[str, list[Any]] = {
        "title": [tags.title],
        "artist": list(tags.artists),
        "album": [tags.album],
        "albumartist": list(tags.album_artists),
        "tracknumber": [tags.track_number],
        "tracktotal": [tags.track_total],
        "discnumber": [tags.disc_number],
        "disctotal": [tags.disc_total],
        "date": [tags.date],
        "genre": list(tags.genres),
        "compilation": ["1" if tags.compilation else None],
    }
    for field in _MB_KEYS:  # musicbrainz_album_id -> musicbrainz_albumid, as Picard writes
        comments["musicbrainz_" + field[12:].replace("_", "")] = [getattr(tags, field)]
    for key, values in comments.items():
        present = [str(value) for value in values if value]
        if present:
            audio[key] = present
    if cover is not None:
        picture = Picture()
        picture.type, picture.mime, picture.data = 3, "image/jpeg", cover
        if isinstance(audio, FLAC):
            audio.add_picture(picture)
        else:
            audio["metadata_block_picture"] = [base64.b64encode(picture.write()).decode()]
    audio.save()


def _tag_mp4(path: Path, tags: AudioTags, cover: bytes | None) -> None:
    audio = MP4(path)
    atoms: dict[str, Any] = {
        "©nam": [tags.title] if tags.title else None,
        "©ART": list(tags.artists) or None,
        "©alb": [tags.album] if tags.album else None,
        "aART": list(tags.album_artists) or None,
        "©day": [tags.date] if tags.date else None,
        "©gen": list(tags.genres) or None,
        "trkn": [(tags.track_number, tags.track_total or 0)] if tags.track_number else None,
        "disk": [(tags.disc_number, tags.disc_total or 0)] if tags.disc_number else None,
        "cpil": tags.compilation or None,
        "covr": [MP4Cover(cover, imageformat=MP4Cover.FORMAT_JPEG)] if cover else None,
    }
    for field, description in _MB_KEYS.items():
        value = getattr(tags, field)
        atoms[f"----:com.apple.iTunes:{description}"] = (
            [MP4FreeForm(value.encode())] if value else None
        )
    for key, value in atoms.items():
        if value is not None:
            audio[key] = value
    audio.save()


def _fraction(number: int, total: int | None) -> str:
    return f"{number}/{total}" if total else str(number)


def make_image_bytes(size: tuple[int, int] = (16, 16), image_format: str = "JPEG") -> bytes:
    """An encoded image in memory, e.g. for embedded cover art."""
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 40, 40)).save(buffer, image_format)
    return buffer.getvalue()


def make_photo(
    path: Path,
    size: tuple[int, int] = (32, 24),
    *,
    exif_date: datetime | None = None,
    orientation: int | None = None,
    utc_offset: str | None = None,
) -> Path:
    """A photo in the format its suffix names, with EXIF DateTimeOriginal and orientation.

    HEIC is written without registering pillow-heif's Pillow opener, so the process still
    depends on the code under test to register it. As an iPhone does, pillow-heif stores the
    orientation as a HEIF rotation, which readers apply: the picture opens upright."""
    exif = Image.Exif()
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    details = exif.get_ifd(ExifTags.IFD.Exif)
    if exif_date is not None:
        details[ExifTags.Base.DateTimeOriginal] = exif_date.strftime("%Y:%m:%d %H:%M:%S")
    if utc_offset is not None:
        details[ExifTags.Base.OffsetTimeOriginal] = utc_offset
    image = Image.new("RGB", size, (30, 120, 200))
    if path.suffix.casefold() in (".heic", ".heif"):
        pillow_heif.from_pillow(image).save(path, exif=exif.tobytes(), quality=60)
    else:
        image.save(path, exif=exif.tobytes())
    return path


def truncate(path: Path, fraction: float) -> Path:
    """Cut a file to a fraction of its length, as an interrupted copy would."""
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])
    return path
