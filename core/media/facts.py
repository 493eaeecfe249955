"""What a probe finds out about a file, as plain frozen values: streams, tags, photo facts.

Worker processes probe with PyAV, mutagen and Pillow and pickle these back; the process that
unpickles, plans and writes them must not have to load those libraries (PyAV alone is ~20 MB
of RSS), so the types live here, apart from the code that fills them in. `probe`, `tags` and
`photos` re-export them under their old names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

StreamKind = Literal["video", "audio", "subtitle"]
MediaKind = Literal["video", "audio", "photo"]
# EXIF orientations 5-8 are rotated by 90°: the picture is shown with width and height swapped.
_TRANSPOSED = frozenset({5, 6, 7, 8})


@dataclass(frozen=True, slots=True)
class AudioTags:
    """What a track's tags say, whatever the format; absent values are None or empty."""

    title: str | None = None
    artists: tuple[str, ...] = ()
    album: str | None = None
    album_artists: tuple[str, ...] = ()
    track_number: int | None = None
    track_total: int | None = None
    disc_number: int | None = None
    disc_total: int | None = None
    date: str | None = None
    genres: tuple[str, ...] = ()
    compilation: bool = False
    musicbrainz_track_id: str | None = None
    musicbrainz_release_track_id: str | None = None
    musicbrainz_album_id: str | None = None
    musicbrainz_artist_id: str | None = None
    musicbrainz_album_artist_id: str | None = None
    musicbrainz_release_group_id: str | None = None

    @property
    def year(self) -> int | None:
        """The year the date starts with (`2001-05-04`, `2001`); None if it has none."""
        match = re.match(r"\s*(\d{4})", self.date or "")
        return int(match.group(1)) if match else None

    @property
    def artist(self) -> str | None:
        """All artists as one display string."""
        return "; ".join(self.artists) or None

    @property
    def album_artist(self) -> str | None:
        """All album artists as one display string."""
        return "; ".join(self.album_artists) or None


@dataclass(frozen=True, slots=True)
class CoverArt:
    """One embedded picture: its bytes and their MIME type."""

    data: bytes
    mime_type: str


@dataclass(frozen=True, slots=True)
class PhotoInfo:
    """A photo's stored size, orientation and when it was taken, as the file says."""

    width: int
    height: int
    format: str
    orientation: int | None = None
    taken_at: datetime | None = None

    @property
    def display_size(self) -> tuple[int, int]:
        """Width and height as the photo is meant to be seen, after the EXIF rotation."""
        if self.orientation in _TRANSPOSED:
            return self.height, self.width
        return self.width, self.height


@dataclass(frozen=True, slots=True)
class StreamInfo:
    """One audio, video or subtitle stream; fields a stream kind lacks are None."""

    index: int
    kind: StreamKind
    codec: str | None
    profile: str | None = None
    width: int | None = None
    height: int | None = None
    frame_rate: float | None = None
    pix_fmt: str | None = None
    bit_rate: int | None = None
    channels: int | None = None
    sample_rate: int | None = None
    language: str | None = None
    title: str | None = None
    default: bool = False
    forced: bool = False
    hearing_impaired: bool = False
    text_based: bool | None = None
    level: int | None = None  # FFmpeg's numbering: 41 is H.264 level 4.1, 123 HEVC level 4.1


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """What one file holds; `kind` comes from its content, not its extension."""

    kind: MediaKind
    size: int
    container: str | None
    duration: float | None = None
    bit_rate: int | None = None
    streams: tuple[StreamInfo, ...] = ()
    tags: AudioTags | None = None
    has_cover_art: bool = False
    photo: PhotoInfo | None = None

    def of_kind(self, kind: StreamKind) -> tuple[StreamInfo, ...]:
        """The streams of one kind, in stream order."""
        return tuple(stream for stream in self.streams if stream.kind == kind)

    @property
    def video_streams(self) -> tuple[StreamInfo, ...]:
        return self.of_kind("video")

    @property
    def audio_streams(self) -> tuple[StreamInfo, ...]:
        return self.of_kind("audio")

    @property
    def subtitle_streams(self) -> tuple[StreamInfo, ...]:
        """Embedded subtitles, in stream order."""
        return self.of_kind("subtitle")
