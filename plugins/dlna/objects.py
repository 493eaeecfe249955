"""ContentDirectory object ids, the entries they stand for, and the SQL that reads them.

Object ids are stable strings that never contain a path or anything guessable beyond the
catalog's own random item ids:
    "0"                        root: one container per visible library
    "lib:<L>"                  a library
    "lib:<L>:f"                its Folders view; "lib:<L>:f:<key>" one folder (key: a hash)
    "lib:<L>:artists" | ":albums" | ":genres" | ":tracks"   music views
    "lib:<L>:g:<genre>"        tracks of a genre (percent-encoded name)
    "lib:<L>:y:<YYYY>"         photos by year ("0000": undated); "lib:<L>:m:<YYYY-MM>" by month
    "item:<item id>"           a catalog item: a show, season, artist or album container,
                               or a movie, episode, video, track or photo
It never writes, and builds SQL only from constants here and the core's visibility clauses
(values are always parameters).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

CLASSES = {
    "movie": "object.item.videoItem.movie",
    "episode": "object.item.videoItem",
    "video": "object.item.videoItem",
    "track": "object.item.audioItem.musicTrack",
    "photo": "object.item.imageItem.photo",
    "show": "object.container.storageFolder",
    "season": "object.container.storageFolder",
    "artist": "object.container.person.musicArtist",
    "album": "object.container.album.musicAlbum",
}
FOLDER = "object.container.storageFolder"
GENRE = "object.container.genre.musicGenre"
CONTAINER_KINDS = frozenset({"show", "season", "artist", "album"})
VIDEO_KINDS = frozenset({"movie", "episode", "video"})
MUSIC_VIEWS = ("artists", "albums", "genres", "tracks")
VIEWS = {
    "artists": "Artists",
    "albums": "Albums",
    "genres": "Genres",
    "tracks": "All tracks",
    "f": "Folders",
}
_ID = re.compile(r"^lib:(\d{1,9})(?::(f|artists|albums|genres|tracks|g|y|m)(?::(.{1,300}))?)?$")
_ITEM_ID = re.compile(r"^item:([A-Za-z0-9_-]{1,64})$")
_META_KEYS = re.compile(r'"(?:artist|album|genres)"|\\u')  # \u: a key may be escaped

CLASS_SQL = (
    "CASE items.kind "
    + " ".join(f"WHEN '{kind}' THEN '{name}'" for kind, name in CLASSES.items())
    + " END"
)
ARTIST_SQL = (
    "CASE items.kind WHEN 'artist' THEN items.title WHEN 'album' THEN parent.title "
    "ELSE json_extract(items.metadata, '$.artist') END"
)
ALBUM_SQL = (
    "CASE items.kind WHEN 'album' THEN items.title ELSE json_extract(items.metadata, '$.album') END"
)
DATE_SQL = (
    "COALESCE(items.taken_at, CASE WHEN items.year IS NOT NULL "
    "THEN printf('%04d-01-01', items.year) END)"
)
YEAR_SQL = f"COALESCE(substr({DATE_SQL}, 1, 4), '0000')"
MONTH_SQL = f"CASE WHEN length({DATE_SQL}) >= 7 THEN substr({DATE_SQL}, 6, 2) ELSE '00' END"
# The parent Browse gives an item when asked for its metadata: a photo's is its month.
PARENT_SQL = (
    "CASE WHEN items.kind = 'photo' "
    f"THEN 'lib:' || items.library_id || ':m:' || {YEAR_SQL} || '-' || {MONTH_SQL} "
    "WHEN parent.id IS NULL THEN 'lib:' || items.library_id ELSE 'item:' || parent.id END"
)
FROM_SQL = (
    "FROM items JOIN libraries ON libraries.id = items.library_id "
    "LEFT JOIN items AS parent ON parent.pk = items.parent_pk "
    "LEFT JOIN items AS grand ON grand.pk = parent.parent_pk "
    "LEFT JOIN files ON files.id = items.file_id"
)
_SLIM_FROM_SQL = "FROM items LEFT JOIN files ON files.id = items.file_id"
# FROM_SQL for rows already chosen by primary key: NOT INDEXED keeps SQLite on those rowid
# lookups, where it would otherwise walk a whole library's index for the visibility clause.
BY_PK_FROM_SQL = FROM_SQL.replace("FROM items ", "FROM items NOT INDEXED ", 1)


def from_sql(*sql: str) -> str:
    """FROM_SQL, or only items and files when none of `sql` needs the other joins (counting
    and ordering thousands of rows then skips two lookups per row)."""
    needs = any(name in text for text in sql for name in ("parent.", "grand.", "libraries."))
    return FROM_SQL if needs else _SLIM_FROM_SQL


def columns_sql(child_clause: str = "1") -> str:
    """The columns `entry_from_row` reads; a container (an item without a file) counts only
    children matching `child_clause` (a condition over the alias `child`, e.g.
    `Principal.item_clause("child")`)."""
    return (
        "items.pk, items.id, items.kind, items.title, items.library_id, parent.id, parent.title, "
        "items.year, items.index_number, items.disc_number, items.duration, items.taken_at, "
        "items.metadata, parent.metadata, grand.metadata, files.root, files.relpath, files.size, "
        "files.probe, CASE WHEN items.file_id IS NULL THEN (SELECT count(*) FROM items AS child "
        f"WHERE child.parent_pk = items.pk AND {child_clause}) ELSE 0 END"
    )


@dataclass(frozen=True, slots=True)
class Library:
    id: int
    name: str
    kind: str


@dataclass(frozen=True, slots=True)
class ObjectRef:
    """A parsed object id: `kind` is root, library, a view name, g, y, m, f or item."""

    kind: str
    library: int = 0
    value: str = ""


@dataclass(frozen=True, slots=True)
class Container:
    object_id: str
    parent_id: str
    title: str
    upnp_class: str
    child_count: int
    art: str | None = None  # item id whose artwork to show
    artist: str | None = None
    date: str | None = None


@dataclass(frozen=True, slots=True)
class MediaItem:
    object_id: str
    parent_id: str
    item_id: str
    kind: str
    title: str
    date: str | None
    artist: str | None
    album: str | None
    genres: tuple[str, ...]
    track: int | None
    duration: float | None
    size: int | None
    filename: str
    probe: dict[str, Any]
    art: str | None
    root: bytes = b""
    relpath: bytes = b""
    subtitles: tuple[tuple[str, str], ...] = field(default=())  # (file name, format)
    library_id: int = 0

    @property
    def upnp_class(self) -> str:
        return CLASSES[self.kind]


@dataclass(frozen=True, slots=True)
class Rendered:
    """A media item whose XML was made ahead of time for the Filter `*` (fragments.py): all
    but its start tag, with BASE where the asking device's base URL goes."""

    object_id: str
    parent_id: str
    body: str


BASE = "\x00"
"""Stands for the base URL in a Rendered body: NUL never appears in escaped XML text."""
Entry = Container | MediaItem | Rendered


def parse_object_id(text: str) -> ObjectRef | None:
    """The reference an id stands for, or None for an id this server never made."""
    if text == "0":
        return ObjectRef("root")
    item = _ITEM_ID.match(text)
    if item:
        return ObjectRef("item", 0, item[1])
    match = _ID.match(text)
    if match is None:
        return None
    library, view, value = int(match[1]), match[2], match[3] or ""
    if view is None:
        return ObjectRef("library", library)
    if view in ("g", "y", "m") and not value:
        return None
    if view in ("artists", "albums", "genres", "tracks") and value:
        return None
    return ObjectRef(view, library, unquote(value) if view == "g" else value)


def art_kinds(kind: str) -> tuple[str, ...]:
    """Which artwork stands for an item of this kind, in order of preference: an episode or a
    home video is best shown by its own still (a thumb), a film or a show by its poster."""
    if kind in ("track", "album", "artist", "photo", "episode", "video"):
        return ("thumb", "poster")
    return ("poster", "thumb")


def pick_art(kind: str, metadatas: list[str | None]) -> tuple[str, str] | None:
    """(artwork kind, reference) from the item's own metadata, else its parent's, else its
    grandparent's: an episode's own still comes before its season's poster, so a TV does not
    show the same picture for every episode."""
    for text in metadatas:
        if not text or '"artwork"' not in text:
            continue
        artwork = json.loads(text).get("artwork", {})
        for art_kind in art_kinds(kind):
            ref = artwork.get(art_kind)
            if isinstance(ref, str):
                return art_kind, ref
    return None


def _date(year: int | None, taken_at: str | None) -> str | None:
    if taken_at:
        return taken_at
    return f"{year:04d}-01-01" if year else None


def entry_from_row(row: Any, parent_id: str | None = None) -> Entry:
    """An entry from a row of `columns_sql()`; `parent_id` is the container being listed."""
    (_pk, item_id, kind, title, library_id, parent_item, parent_title, year, index, _disc) = row[
        :10
    ]
    duration, taken_at, meta_text, parent_meta, grand_meta = row[10:15]
    root, relpath, size, probe, children = row[15:20]
    parent = parent_id or (f"item:{parent_item}" if parent_item else f"lib:{library_id}")
    has_art = pick_art(kind, [meta_text, parent_meta, grand_meta]) is not None
    art = item_id if has_art else None
    if kind in CONTAINER_KINDS:
        artist = parent_title if kind == "album" else None
        date = _date(year, None)
        return Container(
            f"item:{item_id}", parent, title, CLASSES[kind], int(children), art, artist, date
        )
    # Most files' metadata names none of the keys read here: no need to parse it then.
    meta = json.loads(meta_text) if _META_KEYS.search(meta_text) else {}
    genres = meta.get("genres")
    return MediaItem(
        f"item:{item_id}",
        parent,
        item_id,
        kind,
        title,
        _date(year, taken_at),
        meta.get("artist"),
        meta.get("album"),
        tuple(g for g in genres if isinstance(g, str)) if isinstance(genres, list) else (),
        index if kind == "track" else None,
        duration,
        size,
        os.path.basename(os.fsdecode(relpath)) if relpath else "",
        json.loads(probe) if probe else {},
        art,
        root or b"",
        relpath or b"",
        library_id=library_id,
    )
