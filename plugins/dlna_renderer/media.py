"""What to hand a TV for one item: the URL it fetches, and the DIDL-Lite that describes it.

The item must be visible to whoever asks (`Principal.item_clause`). The URL is one of the DLNA
plugin's public routes on the server's address facing the TV: the file itself
(`/dlna/media/{id}`) when the decision for the TV's device profile is direct play and the TV's
GetProtocolInfo sink takes that MIME type, else the MPEG-TS transcode (`/dlna/transcode/{id}.ts`).
Those routes apply the LAN rules (LAN-visible libraries, the DLNA rating limit) unless the URL
carries a capability link (the player adds one for a signed-in person), so without one an item
a person may see but TVs may not is refused before the TV is told anything. Pure functions plus
one catalog read; it never talks to a TV.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from xml.sax.saxutils import escape

from core.plugin_api import (
    Database,
    DeviceProfile,
    Principal,
    UnplayableError,
    content_type,
    decide,
)

CLASSES = {
    "movie": "object.item.videoItem.movie",
    "episode": "object.item.videoItem",
    "video": "object.item.videoItem",
    "track": "object.item.audioItem.musicTrack",
    "photo": "object.item.imageItem.photo",
}
VIDEO_KINDS = frozenset({"movie", "episode", "video"})
# Names TVs list in GetProtocolInfo for what the DLNA plugin serves: each group is one format.
# GStreamer-based renderers (gmediarender) name MP4 after its caps, video/quicktime.
_SAME_FORMAT = (
    {"video/mp4", "video/quicktime", "video/x-m4v", "video/m4v", "video/x-mp4", "video/mpeg4"},
    {"video/x-matroska", "video/x-mkv", "video/mkv", "video/matroska"},
    {"video/x-msvideo", "video/avi", "video/x-avi", "video/msvideo"},
    {"video/mp2t", "video/mpeg", "video/vnd.dlna.mpeg-tts", "video/x-mpegts", "video/mpegts"},
    {"video/x-ms-wmv", "video/x-wmv"},
    {"video/x-flv", "video/x-flash-video"},
    {"audio/mp4", "audio/m4a", "audio/x-m4a", "audio/mp4a-latm"},
    {"audio/flac", "audio/x-flac"},
    {"audio/mpeg", "audio/mp3", "audio/x-mp3", "audio/mpeg3", "audio/x-mpeg"},
    {"audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave"},
    {"audio/aiff", "audio/x-aiff"},
    {"audio/ogg", "application/ogg", "audio/x-ogg", "audio/x-vorbis+ogg"},
    {"audio/x-ms-wma", "audio/x-wma"},
)
_ALIASES = {name: frozenset(group) for group in _SAME_FORMAT for name in group}
_EXTENSION = re.compile(r"^\.[a-z0-9]{1,5}$")
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
DIDL_OPEN = (
    '<DIDL-Lite xmlns="urn:schemas-upnp-org:metadata-1-0/DIDL-Lite/" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" '
    'xmlns:upnp="urn:schemas-upnp-org:metadata-1-0/upnp/" '
    'xmlns:dlna="urn:schemas-dlna-org:metadata-1-0/">'
)
Route = Literal["file", "transcode"]


@dataclass(frozen=True, slots=True)
class PlayableItem:
    """An item with a file, as far as a TV needs to know it."""

    item_id: str
    kind: str
    title: str
    path: str
    probe: Mapping[str, Any]
    duration: float | None
    artist: str | None
    album: str | None
    has_art: bool


def playable_item_blocking(db: Database, item_id: str, principal: Principal) -> PlayableItem | None:
    """The item if `principal` may see it and it has a file to play, else None."""
    visible, args = principal.item_clause()
    row = db.execute(
        "SELECT items.id, items.kind, items.title, files.root, files.relpath, files.probe, "
        "items.duration, items.metadata FROM items JOIN files ON files.id = items.file_id "
        f"WHERE items.id = ? AND ({visible})",
        [item_id, *args],
    ).fetchone()
    if row is None or row[1] not in CLASSES:
        return None
    meta = json.loads(row[7] or "{}")
    return PlayableItem(
        item_id=row[0],
        kind=row[1],
        title=row[2],
        path=os.path.join(os.fsdecode(row[3]), os.fsdecode(row[4])),
        probe=json.loads(row[5]) if row[5] else {},
        duration=row[6],
        artist=meta.get("artist") if isinstance(meta.get("artist"), str) else None,
        album=meta.get("album") if isinstance(meta.get("album"), str) else None,
        has_art=bool(meta.get("artwork")),
    )


def sink_takes(sink: Iterable[str], mime: str) -> bool:
    """Whether a GetProtocolInfo sink list accepts `mime` over HTTP (an empty list: unknown,
    so yes)."""
    entries = [entry.split(":") for entry in sink if entry.count(":") >= 3]
    if not entries:
        return True
    names = {mime.lower(), *_ALIASES.get(mime.lower(), ())}
    kind = mime.split("/", 1)[0].lower()
    for protocol, _, listed, _ in (e[:4] for e in entries):
        accepted = listed.strip().lower()
        if protocol.strip() in ("http-get", "*") and (
            accepted in names or accepted in ("*", "*/*", f"{kind}/*")
        ):
            return True
    return False


def choose_route(item: PlayableItem, profile: DeviceProfile, sink: Iterable[str]) -> Route:
    """The file when the TV plays it as it is and says it takes its type; else the transcode
    for videos (music and photos have nothing better than the file)."""
    if item.kind not in VIDEO_KINDS:
        return "file"
    try:
        plan = decide(item.probe, profile)
    except UnplayableError:
        return "file"
    direct = plan.method == "direct_play" and sink_takes(sink, content_type(item.path))
    return "file" if direct else "transcode"


def media_url(base: str, item: PlayableItem, route: Route) -> str:
    """`base` is http://<address facing the TV>:<port>."""
    if route == "transcode":
        return f"{base}/dlna/transcode/{item.item_id}.ts"
    extension = os.path.splitext(item.path)[1].lower()
    return f"{base}/dlna/media/{item.item_id}{extension if _EXTENSION.match(extension) else ''}"


def _text(value: object) -> str:
    return escape(_NOT_XML.sub("\ufffd", str(value)))


def _attr(value: object) -> str:
    return escape(_NOT_XML.sub("\ufffd", str(value)), {'"': "&quot;"})


def duration_text(seconds: float) -> str:
    """H:MM:SS.mmm, as `res@duration` and AVTransport times want it."""
    millis = round(max(seconds, 0) * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"


def didl_item(item: PlayableItem, url: str, protocol_info: str, base: str, query: str = "") -> str:
    """CurrentURIMetaData for SetAVTransportURI: one item with one resource; `query` (a
    capability link) goes on its picture's URL too."""
    parts = [
        DIDL_OPEN,
        f'<item id="item:{_attr(item.item_id)}" parentID="-1" restricted="1">',
        f"<dc:title>{_text(item.title)}</dc:title>",
        f"<upnp:class>{CLASSES[item.kind]}</upnp:class>",
    ]
    if item.artist:
        parts.append(f"<upnp:artist>{_text(item.artist)}</upnp:artist>")
    if item.album:
        parts.append(f"<upnp:album>{_text(item.album)}</upnp:album>")
    if item.has_art:
        art = f"{base}/dlna/art/{item.item_id}.jpg{query}"
        parts.append(f'<upnp:albumArtURI dlna:profileID="JPEG_TN">{_text(art)}</upnp:albumArtURI>')
    duration = f' duration="{duration_text(item.duration)}"' if item.duration else ""
    parts.append(f'<res protocolInfo="{_attr(protocol_info)}"{duration}>{_text(url)}</res>')
    parts.append("</item></DIDL-Lite>")
    return "".join(parts)
