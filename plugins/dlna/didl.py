"""DIDL-Lite: containers and items as TVs, Kodi, VLC and Home Assistant read them.

Optional properties appear only when the Filter asks for them (`*` asks for all); the required
ones (id, parentID, restricted, dc:title, upnp:class) always do. Every text and attribute is
escaped, and characters XML 1.0 cannot carry (control characters, the surrogates that stand for
undecodable file-name bytes) are replaced, so a strange title can never break a TV's parser.
URLs carry only the catalog's random item ids, never paths. It never reads the catalog.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import escape

from plugins.dlna.objects import BASE, Container, Entry, MediaItem, Rendered
from plugins.dlna.profiles import (
    THUMBNAIL_PN,
    TRANSCODE,
    TRANSCODE_BY_TIME,
    MediaProfile,
    media_profile,
    needs_transcode,
    screen_copy,
    transcode_size,
)

DIDL_OPEN = (
    '<DIDL-Lite xmlns="urn:schemas-upnp-org:metadata-1-0/DIDL-Lite/" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" '
    'xmlns:upnp="urn:schemas-upnp-org:metadata-1-0/upnp/" '
    'xmlns:dlna="urn:schemas-dlna-org:metadata-1-0/" xmlns:sec="http://www.sec.co.kr/dlna">'
)
ART_SIZE = 160
THUMBNAIL = MediaProfile("image/jpeg", THUMBNAIL_PN, streaming=False, transcoded=True)
SUBTITLE_TYPES = {"srt": "text/srt", "vtt": "text/vtt", "ass": "text/x-ssa", "ssa": "text/x-ssa"}
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_EXTENSION = re.compile(r"^\.[a-z0-9]{1,5}$")
# Anything text() or attr() would change: most values have none, and are given back as they are.
_TEXT_SPECIAL = re.compile(f"[&<>]|{_NOT_XML.pattern}")
_ATTR_SPECIAL = re.compile(f'[&<>"]|{_NOT_XML.pattern}')
RES_ATTRIBUTES = ("size", "duration", "bitrate", "resolution", "sampleFrequency", "nrAudioChannels")


def text(value: object) -> str:
    """Safe element text."""
    value = str(value)
    if _TEXT_SPECIAL.search(value) is None:
        return value
    return escape(_NOT_XML.sub("\ufffd", value))


def attr(value: object) -> str:
    """Safe attribute value (for double quotes)."""
    value = str(value)
    if _ATTR_SPECIAL.search(value) is None:
        return value
    return escape(_NOT_XML.sub("\ufffd", value), {'"': "&quot;"})


def duration_text(seconds: float) -> str:
    """H:MM:SS.mmm, as `res@duration` wants it."""
    millis = round(max(seconds, 0) * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"


class Filter:
    """Which optional properties were asked for."""

    def __init__(self, text: str) -> None:
        self.tokens = {token.strip() for token in text.split(",") if token.strip()}
        self.all = "*" in self.tokens
        self.res = frozenset(
            name for name in RES_ATTRIBUTES if self.all or f"res@{name}" in self.tokens
        )  # the res attributes asked for
        dropped = tuple(name for name in ITEM_OPTIONAL if not self(name))
        self.trim = _trimmer(dropped, self.res)
        """DIDL text with what this Filter did not ask for cut from items made for `*`."""

    def __call__(self, name: str) -> bool:
        return self.all or name in self.tokens


# What item_body() writes only when the Filter asks for it, besides res attributes: cutting
# these from items made for `*` gives what item_body() writes for another Filter (the walk test
# in tests/plugins/dlna/test_fragments.py holds the two equal).
ITEM_OPTIONAL = (
    "dc:date",
    "upnp:artist",
    "dc:creator",
    "upnp:album",
    "upnp:genre",
    "upnp:originalTrackNumber",
    "upnp:albumArtURI",
    "sec:CaptionInfoEx",
    "res",
)


@functools.lru_cache(maxsize=64)
def _trimmer(dropped: tuple[str, ...], res: frozenset[str]) -> Callable[[str], str]:
    """Cuts the `dropped` elements, and the res attributes not in `res`, from DIDL text. Our
    own XML has no nesting inside these elements, `<` only in tags and `>` only at their ends
    (text and attribute values are escaped), so patterns find them exactly; one pass over a
    whole page costs a third of one pass per item."""
    steps: list[Callable[[str], str]] = []
    if dropped:
        names = "|".join(re.escape(name) for name in dropped)
        element = re.compile(f"<(?:{names})[ >][^<]*</[^>]*>")
        steps.append(functools.partial(element.sub, ""))
    if "res" not in dropped and len(res) < len(RES_ATTRIBUTES):
        if not res:  # the usual list (Home Assistant's): the protocol alone
            bare = re.compile(r'(<res protocolInfo="[^"]*")[^>]*>')
            steps.append(functools.partial(bare.sub, r"\1>"))
        else:
            names = "|".join(name for name in RES_ATTRIBUTES if name not in res)
            unwanted = re.compile(f' (?:{names})="[^"]*"')
            tag = re.compile(r"<res [^>]*>")
            steps.append(functools.partial(tag.sub, lambda m: unwanted.sub("", m[0])))

    def trim(xml: str) -> str:
        for step in steps:
            xml = step(xml)
        return xml

    return trim


def media_url(base: str, item: MediaItem) -> str:
    extension = os.path.splitext(item.filename)[1].lower()
    return f"{base}/dlna/media/{item.item_id}{extension if _EXTENSION.match(extension) else ''}"


def art_url(base: str, item_id: str) -> str:
    return f"{base}/dlna/art/{item_id}.jpg"


def photo_url(base: str, item_id: str) -> str:
    """A photo's screen-sized JPEG copy (profiles.screen_copy), for formats TVs cannot show."""
    return f"{base}/dlna/photo/{item_id}.jpg"


def subtitle_url(base: str, item_id: str, name: str) -> str:
    return f"{base}/dlna/subtitle/{item_id}/{quote(name, safe='')}"


def transcode_url(base: str, item_id: str) -> str:
    """The public MPEG-TS transcode for TVs (transcode.py), not the signed-in API's."""
    return f"{base}/dlna/transcode/{item_id}.ts"


def _url(base: str, path: str) -> str:
    """`base` is escaped once per document by didl(), and stays as given: a stored fragment
    (fragments.py) carries BASE there, replaced with the asking device's base when sent."""
    return f"{base}{text(path)}"


def _art(wants: Filter, base: str, item_id: str | None) -> str:
    if item_id is None or not wants("upnp:albumArtURI"):
        return ""
    return (
        f'<upnp:albumArtURI dlna:profileID="{THUMBNAIL_PN}">{_url(base, art_url("", item_id))}'
        "</upnp:albumArtURI>"
    )


def container_xml(entry: Container, wants: Filter, base: str) -> str:
    parts = [
        f'<container id="{attr(entry.object_id)}" parentID="{attr(entry.parent_id)}" restricted="1"'
    ]
    if wants("@searchable"):
        parts.append(' searchable="1"')
    if wants("@childCount"):
        parts.append(f' childCount="{entry.child_count}"')
    parts.append(f"><dc:title>{text(entry.title)}</dc:title>")
    parts.append(f"<upnp:class>{entry.upnp_class}</upnp:class>")
    if entry.artist and wants("upnp:artist"):
        parts.append(f"<upnp:artist>{text(entry.artist)}</upnp:artist>")
    if entry.date and wants("dc:date"):
        parts.append(f"<dc:date>{text(entry.date)}</dc:date>")
    parts.append(_art(wants, base, entry.art))
    parts.append("</container>")
    return "".join(parts)


def _pair(name: str, value: object) -> str:
    return f' {name}="{value if isinstance(value, int) else attr(value)}"'


def _res_attributes(item: MediaItem, wants: Filter, size: int | None) -> str:
    """`size`: the resource's length, the file's or the transcode's (None: not known)."""
    asked = wants.res
    if not asked:
        return ""
    probe = item.probe
    video: dict[str, Any] = {}
    audio: dict[str, Any] = {}
    for stream in probe.get("streams") or ():
        if isinstance(stream, dict):
            if not video and stream.get("kind") == "video":
                video = stream
            elif not audio and stream.get("kind") == "audio":
                audio = stream
            if video and audio:
                break
    parts = []
    if size is not None and "size" in asked:
        parts.append(_pair("size", size))
    if item.duration and "duration" in asked:
        parts.append(_pair("duration", duration_text(item.duration)))
    bit_rate = probe.get("bit_rate")
    if bit_rate and "bitrate" in asked:
        parts.append(_pair("bitrate", int(bit_rate) // 8))
    if "resolution" in asked:
        photo = probe.get("photo") or {}
        width = video.get("width") or photo.get("width")
        height = video.get("height") or photo.get("height")
        if width and height:
            parts.append(_pair("resolution", f"{width}x{height}"))
    if audio:
        rate, channels = audio.get("sample_rate"), audio.get("channels")
        if rate is not None and "sampleFrequency" in asked:
            parts.append(_pair("sampleFrequency", rate))
        if channels is not None and "nrAudioChannels" in asked:
            parts.append(_pair("nrAudioChannels", channels))
    return "".join(parts)


@functools.lru_cache(maxsize=256)
def _protocol_attribute(profile: MediaProfile) -> str:
    return attr(profile.protocol_info)


def _res(profile: MediaProfile, url: str, attributes: str) -> str:
    """`url` is XML text already."""
    return f'<res protocolInfo="{_protocol_attribute(profile)}"{attributes}>{url}</res>'


def item_open(object_id: str, parent_id: str) -> str:
    """An item's start tag: the one part of it that depends on where it is listed."""
    return f'<item id="{attr(object_id)}" parentID="{attr(parent_id)}" restricted="1">'


def item_xml(item: MediaItem, wants: Filter, base: str) -> str:
    return item_open(item.object_id, item.parent_id) + item_body(item, wants, base)


def item_body(item: MediaItem, wants: Filter, base: str) -> str:
    """Everything after the start tag, up to and including the end tag."""
    parts = [
        f"<dc:title>{text(item.title)}</dc:title>",
        f"<upnp:class>{item.upnp_class}</upnp:class>",
    ]
    if item.date and wants("dc:date"):
        parts.append(f"<dc:date>{text(item.date)}</dc:date>")
    if item.artist:
        if wants("upnp:artist"):
            parts.append(f"<upnp:artist>{text(item.artist)}</upnp:artist>")
        if wants("dc:creator"):
            parts.append(f"<dc:creator>{text(item.artist)}</dc:creator>")
    if item.album and wants("upnp:album"):
        parts.append(f"<upnp:album>{text(item.album)}</upnp:album>")
    if wants("upnp:genre"):
        parts += [f"<upnp:genre>{text(genre)}</upnp:genre>" for genre in item.genres]
    if item.track is not None and wants("upnp:originalTrackNumber"):
        parts.append(f"<upnp:originalTrackNumber>{item.track}</upnp:originalTrackNumber>")
    parts.append(_art(wants, base, item.art))
    if wants("sec:CaptionInfoEx"):
        parts += [
            f'<sec:CaptionInfoEx sec:type="{attr(fmt)}">'
            f"{_url(base, subtitle_url('', item.item_id, name))}</sec:CaptionInfoEx>"
            for name, fmt in item.subtitles
        ]
    if wants("res"):
        parts += resources(item, wants, base)
    parts.append("</item>")
    return "".join(parts)


def resources(item: MediaItem, wants: Filter, base: str) -> list[str]:
    """The file itself first (players take the first they can use), then alternatives; but a
    photo TVs cannot show (HEIC, WebP, ...) leads with its JPEG copy, or a TV would pick the
    original and show an error."""
    profile = media_profile(item.kind, item.filename, item.probe)
    copy = screen_copy(item.kind, profile, item.probe)
    found = [] if copy is None else [_res(copy, _url(base, photo_url("", item.item_id)), "")]
    own = _res_attributes(item, wants, item.size)
    found.append(_res(profile, _url(base, media_url("", item)), own))
    if needs_transcode(item.kind, profile):
        url = _url(base, transcode_url("", item.item_id))
        size = transcode_size(item.probe, item.duration)  # None: no length, seeks by time only
        transcode = TRANSCODE if size else TRANSCODE_BY_TIME
        found.append(_res(transcode, url, _res_attributes(item, wants, size)))
    if item.kind == "photo" and item.art:
        found.append(_res(THUMBNAIL, _url(base, art_url("", item.item_id)), ""))
    for name, fmt in item.subtitles:
        mime = SUBTITLE_TYPES.get(fmt, "application/octet-stream")
        found.append(
            f'<res protocolInfo="http-get:*:{mime}:*">'
            f"{_url(base, subtitle_url('', item.item_id, name))}</res>"
        )
    return found


def _entry_xml(entry: Entry, wants: Filter, base: str) -> str:
    if isinstance(entry, Container):
        return container_xml(entry, wants, base)
    if isinstance(entry, Rendered):
        return item_open(entry.object_id, entry.parent_id) + entry.body.replace(BASE, base)
    return item_xml(entry, wants, base)


def didl(entries: list[Entry], wants: Filter, base: str) -> str:
    """A whole DIDL-Lite document. Rendered entries were made for the Filter `*`: the page is
    trimmed to `wants` when it holds any (what was built for `wants` has nothing to cut)."""
    safe_base = text(base)
    body = "".join(_entry_xml(entry, wants, safe_base) for entry in entries)
    if not wants.all and any(isinstance(entry, Rendered) for entry in entries):
        body = wants.trim(body)
    return f"{DIDL_OPEN}{body}</DIDL-Lite>"
