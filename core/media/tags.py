"""Reading an audio file's tags and embedded cover art with mutagen, in one shape for every format.

ID3 (MP3, AIFF, WAV), MP4 atoms (M4A, M4B), Vorbis comments (FLAC, Ogg, Opus), APEv2 (Monkey's
Audio, WavPack, Musepack) and ASF (WMA) each spell "album artist" differently; everything here
first maps a format's own keys onto Vorbis-style names, then builds one `AudioTags` from those, so
there is one place that decides what a track number or a compilation flag is.

Operates on an already opened mutagen object: it never opens paths, never writes tags, and never
raises for odd values (a track number of "A1" is simply unknown). `probe` owns opening and turning
mutagen's exceptions into `ProbeError`.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from typing import Any

from mutagen.apev2 import APEv2
from mutagen.asf import ASFTags
from mutagen.flac import Picture
from mutagen.id3 import ID3
from mutagen.mp4 import MP4Cover, MP4Tags

from core.media.facts import AudioTags, CoverArt

__all__ = ["AudioTags", "CoverArt", "covers", "front_cover", "read_tags"]  # types: in facts

_FRONT_COVER = 3  # the ID3/FLAC picture type "Cover (front)"
_FLAC_PICTURE: Any = Picture  # untyped constructor, called through Any

_ID3_KEYS = {
    "TIT2": "title",
    "TPE1": "artist",
    "TALB": "album",
    "TPE2": "albumartist",
    "TRCK": "tracknumber",
    "TPOS": "discnumber",
    "TDRC": "date",
    "TCON": "genre",
    "TCMP": "compilation",
    "TXXX:MusicBrainz Release Track Id": "musicbrainz_releasetrackid",
    "TXXX:MusicBrainz Album Id": "musicbrainz_albumid",
    "TXXX:MusicBrainz Artist Id": "musicbrainz_artistid",
    "TXXX:MusicBrainz Album Artist Id": "musicbrainz_albumartistid",
    "TXXX:MusicBrainz Release Group Id": "musicbrainz_releasegroupid",
}
_MP4_KEYS = {
    "©nam": "title",
    "©ART": "artist",
    "©alb": "album",
    "aART": "albumartist",
    "©day": "date",
    "©gen": "genre",
    "cpil": "compilation",
    "----:com.apple.iTunes:MusicBrainz Track Id": "musicbrainz_trackid",
    "----:com.apple.iTunes:MusicBrainz Release Track Id": "musicbrainz_releasetrackid",
    "----:com.apple.iTunes:MusicBrainz Album Id": "musicbrainz_albumid",
    "----:com.apple.iTunes:MusicBrainz Artist Id": "musicbrainz_artistid",
    "----:com.apple.iTunes:MusicBrainz Album Artist Id": "musicbrainz_albumartistid",
    "----:com.apple.iTunes:MusicBrainz Release Group Id": "musicbrainz_releasegroupid",
}
_ASF_KEYS = {
    "Title": "title",
    "Author": "artist",
    "WM/AlbumTitle": "album",
    "WM/AlbumArtist": "albumartist",
    "WM/TrackNumber": "tracknumber",
    "WM/PartOfSet": "discnumber",
    "WM/Year": "date",
    "WM/Genre": "genre",
    "WM/IsCompilation": "compilation",
    "MusicBrainz/Track Id": "musicbrainz_trackid",
    "MusicBrainz/Release Track Id": "musicbrainz_releasetrackid",
    "MusicBrainz/Album Id": "musicbrainz_albumid",
    "MusicBrainz/Artist Id": "musicbrainz_artistid",
    "MusicBrainz/Album Artist Id": "musicbrainz_albumartistid",
    "MusicBrainz/Release Group Id": "musicbrainz_releasegroupid",
}
# Vorbis comments and APEv2 use free-form keys; these are the spellings taggers really write.
_ALIASES = {
    "album artist": "albumartist",
    "album_artist": "albumartist",
    "totaltracks": "tracktotal",
    "totaldiscs": "disctotal",
    "track": "tracknumber",
    "disc": "discnumber",
    "year": "date",
}


def read_tags(audio: Any) -> AudioTags:
    """The tags of an opened mutagen file (`mutagen.File(...)`), as `AudioTags`."""
    fields = _canonical_fields(audio.tags) if audio.tags is not None else {}
    track, track_total = _numbers(fields.get("tracknumber"), fields.get("tracktotal"))
    disc, disc_total = _numbers(fields.get("discnumber"), fields.get("disctotal"))
    return AudioTags(
        title=_first(fields.get("title")),
        artists=tuple(fields.get("artist", ())),
        album=_first(fields.get("album")),
        album_artists=tuple(fields.get("albumartist", ())),
        track_number=track,
        track_total=track_total,
        disc_number=disc,
        disc_total=disc_total,
        date=_first(fields.get("date")),
        genres=tuple(fields.get("genre", ())),
        compilation=(_first(fields.get("compilation")) or "").casefold() in {"1", "true", "yes"},
        musicbrainz_track_id=_first(fields.get("musicbrainz_trackid")),
        musicbrainz_release_track_id=_first(fields.get("musicbrainz_releasetrackid")),
        musicbrainz_album_id=_first(fields.get("musicbrainz_albumid")),
        musicbrainz_artist_id=_first(fields.get("musicbrainz_artistid")),
        musicbrainz_album_artist_id=_first(fields.get("musicbrainz_albumartistid")),
        musicbrainz_release_group_id=_first(fields.get("musicbrainz_releasegroupid")),
    )


def _family(tags: object) -> str:
    """Which tag system an opened file uses; keeps mutagen's untyped classes out of the rest.

    Comparing a name rather than narrowing with `isinstance` lets the code below call mutagen's
    untyped methods on an `Any` without a type-checker exemption on every line.
    """
    for family, cls in (("id3", ID3), ("mp4", MP4Tags), ("asf", ASFTags), ("ape", APEv2)):
        if isinstance(tags, cls):
            return family
    return "vorbis" if tags is not None else "none"


def _canonical_fields(tags: Any) -> dict[str, list[str]]:
    """The tag values under Vorbis-style lower-case keys, blank values dropped."""
    raw: dict[str, list[str]] = {}
    family = _family(tags)
    if family == "id3":
        for key, canonical in _ID3_KEYS.items():
            for frame in tags.getall(key):
                values = frame.genres if key == "TCON" else frame.text
                raw.setdefault(canonical, []).extend(str(value) for value in values)
        for frame in tags.getall("UFID:http://musicbrainz.org"):
            raw["musicbrainz_trackid"] = [bytes(frame.data).decode("utf-8", "replace")]
    elif family == "mp4":
        for key, canonical in _MP4_KEYS.items():
            value = tags.get(key, [])
            raw[canonical] = [
                _mp4_text(item) for item in (value if isinstance(value, list) else [value])
            ]
        for key, prefix in (("trkn", "track"), ("disk", "disc")):
            for number, total in tags.get(key, ())[:1]:
                raw[f"{prefix}number"], raw[f"{prefix}total"] = [str(number)], [str(total)]
    elif family == "asf":
        for key, canonical in _ASF_KEYS.items():
            raw[canonical] = [str(value) for value in tags.get(key, ())]
    else:  # Vorbis comments and APEv2: free-form keys, one or more values each
        for key, values in _items(tags):
            canonical = _ALIASES.get(key.casefold(), key.casefold())
            raw.setdefault(canonical, []).extend(values)
    return {key: _cleaned(values) for key, values in raw.items() if _cleaned(values)}


def _items(tags: Any) -> Iterable[tuple[str, list[str]]]:
    """(key, values) pairs of a Vorbis-comment list or an APEv2 mapping, text values only."""
    if _family(tags) == "ape":
        for key, value in tags.items():
            if getattr(value, "kind", None) == 0:  # APEv2 TEXT; skip binary and links
                yield str(key), list(value)
    else:
        for key, value in tags:
            yield str(key), [str(value)]


def _mp4_text(value: Any) -> str:
    """MP4 free-form atoms hold bytes, the others text or booleans (`cpil`)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _cleaned(values: Iterable[str]) -> list[str]:
    """Values stripped, blanks and repeats dropped, order kept."""
    return list(dict.fromkeys(text for value in values if (text := value.strip("\x00 \t"))))


def _first(values: list[str] | None) -> str | None:
    return values[0] if values else None


def _numbers(number: list[str] | None, total: list[str] | None) -> tuple[int | None, int | None]:
    """A position and a count from `3/12`, or from separate `3` and `12` tags."""
    text = _first(number) or ""
    head, _, tail = text.partition("/")
    return _leading_int(head), _leading_int(tail) or _leading_int(_first(total) or "")


def _leading_int(text: str) -> int | None:
    match = re.match(r"\s*(\d{1,6})", text)
    return int(match.group(1)) or None if match else None


def covers(audio: Any) -> list[tuple[int, CoverArt]]:
    """Every embedded picture of an opened mutagen file with its picture type (3 = front)."""
    tags = audio.tags
    family = _family(tags)
    found: list[tuple[int, CoverArt]] = []
    for picture in getattr(audio, "pictures", ()):  # FLAC picture blocks
        found.append((int(picture.type), CoverArt(bytes(picture.data), str(picture.mime))))
    if family == "id3":
        for frame in tags.getall("APIC"):
            found.append((int(frame.type), _with_mime(bytes(frame.data), str(frame.mime))))
    elif family == "mp4":
        for cover in tags.get("covr", ()):
            png = getattr(cover, "imageformat", None) == MP4Cover.FORMAT_PNG
            found.append((_FRONT_COVER, CoverArt(bytes(cover), "image/png" if png else "")))
    elif family == "ape":
        for key, value in tags.items():
            if str(key).casefold().startswith("cover art") and getattr(value, "kind", None) == 1:
                data = bytes(value.value).partition(b"\x00")[2]  # "file name\0image bytes"
                kind = _FRONT_COVER if "front" in str(key).casefold() else 0
                found.append((kind, CoverArt(data, "")))
    elif family == "vorbis":
        # Ogg files carry pictures as base64 FLAC picture blocks inside the comments.
        for encoded in tags.get("metadata_block_picture", []):
            picture = _FLAC_PICTURE(base64.b64decode(encoded))
            found.append((int(picture.type), CoverArt(bytes(picture.data), str(picture.mime))))
    return [(kind, _with_mime(cover.data, cover.mime_type)) for kind, cover in found if cover.data]


def tagged_cover_blocking(path: str) -> bool | None:
    """Whether an audio file's tags carry a picture, read with mutagen alone; None when only a
    full probe can tell (mutagen cannot read the file, or its tag system is one `covers` does
    not read, e.g. ASF). For the server process: PyAV and Pillow, which a full probe loads,
    would stay resident (~20 MB) in it for good."""
    import mutagen

    try:
        audio = mutagen.File(path)
    except Exception:  # mutagen's errors on a damaged file: the full probe says why
        return None
    if audio is None or _family(audio.tags) == "asf":
        return None
    return bool(covers(audio))


def front_cover(audio: Any) -> CoverArt | None:
    """The front cover if one is marked as such, else the first picture, else None."""
    pictures = covers(audio)
    fronts = [cover for kind, cover in pictures if kind == _FRONT_COVER]
    candidates = fronts or [cover for _, cover in pictures]
    return candidates[0] if candidates else None


def _with_mime(data: bytes, declared: str) -> CoverArt:
    """Taggers often leave the MIME type blank or wrong; the magic bytes decide."""
    for magic, mime in (
        (b"\xff\xd8\xff", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n", "image/png"),
        (b"GIF8", "image/gif"),
        (b"BM", "image/bmp"),
    ):
        if data.startswith(magic):
            return CoverArt(data, mime)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return CoverArt(data, "image/webp")
    return CoverArt(data, declared or "application/octet-stream")
