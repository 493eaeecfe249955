"""Turns an analysed file into an item plan: the leaf item and the containers above it.

Movies and home videos stand alone; episodes live in show -> season; tracks in artist -> album;
photos stand alone with their date. Tags win over names for music (they are what the owner
curated); folders win over file names for shows (see core.media.naming). Pure: no I/O.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core.catalog.sort_keys import sort_key
from core.library.fields import EMBEDDED_PREFIX
from core.media.music_naming import PlainName, TrackName
from core.media.naming import EpisodeName, MovieName, grouping_key
from core.scan.analysis import Analysis

UNKNOWN_ARTIST = "Unknown Artist"
VARIOUS_ARTISTS = "Various Artists"
UNKNOWN_ALBUM = "Unknown Album"


@dataclass(frozen=True, slots=True)
class ContainerPlan:
    """A show, season, artist or album, found again by (kind, parent, group_key)."""

    kind: str
    group_key: str
    title: str
    year: int | None = None
    index_number: int | None = None
    folder: str | None = None  # absolute folder, for metadata providers (tvshow.nfo, cover.jpg)


@dataclass(frozen=True, slots=True)
class ItemPlan:
    """The leaf item of one file and its containers, outermost first."""

    kind: str
    title: str
    year: int | None = None
    index_number: int | None = None
    index_end: int | None = None
    disc_number: int | None = None
    duration: float | None = None
    taken_at: str | None = None
    containers: tuple[ContainerPlan, ...] = ()
    fields: dict[str, Any] = field(default_factory=dict)
    """Structural facts kept whatever the providers say (a track's album and artists)."""
    name_fields: dict[str, Any] = field(default_factory=dict)
    """What the path says; offered to the `filename` metadata provider."""
    tag_fields: dict[str, Any] = field(default_factory=dict)
    """What the file's own tags say; offered to the `embedded` metadata provider."""


def sort_title(title: str) -> str:
    """`The Matrix` sorts under M, `Édith` under E, without case (core.catalog.sort_keys)."""
    return sort_key(title)


def _folder(analysis: Analysis, levels: int) -> str | None:
    """The absolute folder `levels` above the file, if the file is that deep in the library."""
    parts = analysis.relpath.split("/")
    if len(parts) <= levels:
        return None
    return os.path.join(analysis.root, *parts[: len(parts) - levels])


def _movie(analysis: Analysis, name: MovieName) -> ItemPlan | None:
    if name.extra:  # trailers and featurettes are not movies of their own
        return None
    title = name.title + (f" (Part {name.part})" if name.part else "")
    named: dict[str, Any] = {"title": title, "year": name.year}
    if name.provider_ids:
        named["external_ids"] = dict(name.provider_ids)
    return ItemPlan("movie", title, year=name.year, name_fields=named)


def _episode(analysis: Analysis, name: EpisodeName) -> ItemPlan:
    season = name.season
    if season is None:
        season = name.air_date.year if name.air_date else 1
    show = ContainerPlan(
        "show",
        name.show_key or grouping_key(name.show),
        name.show,
        name.show_year,
        folder=_show_folder(analysis),
    )
    season_title = "Specials" if season == 0 else f"Season {season}"
    season_plan = ContainerPlan(
        "season", f"{season:04d}", season_title, index_number=season, folder=_folder(analysis, 1)
    )
    first = name.episodes[0] if name.episodes else None
    last = name.episodes[-1] if len(name.episodes) > 1 else None
    if name.title:
        title = name.title
    elif name.air_date:
        title = name.air_date.isoformat()
    else:
        title = f"Episode {first}" if first is not None else os.path.basename(analysis.relpath)
    named: dict[str, Any] = {"title": title}
    if name.air_date:
        named["premiered"] = name.air_date.isoformat()
    return ItemPlan(
        "episode",
        title,
        index_number=first,
        index_end=last,
        containers=(show, season_plan),
        name_fields=named,
    )


def _show_folder(analysis: Analysis) -> str | None:
    """`Show/Season 01/x.mkv` -> Show; `Show/x.mkv` -> Show; a loose file has none."""
    parts = analysis.relpath.split("/")
    return os.path.join(analysis.root, parts[0]) if len(parts) >= 2 else None


def _track(analysis: Analysis, name: TrackName | None) -> ItemPlan:
    tags = analysis.probe.tags if analysis.probe else None
    compilation = bool(tags and tags.compilation)
    if tags and tags.album_artists:
        artist = tags.album_artists[0]
    elif compilation:
        artist = VARIOUS_ARTISTS
    elif tags and tags.artists:
        artist = tags.artists[0]
    else:
        artist = (name.artist if name else None) or UNKNOWN_ARTIST
    album = (tags.album if tags else None) or (name.album if name else None) or UNKNOWN_ALBUM
    year = (tags.year if tags else None) or (name.album_year if name else None)
    title = (tags.title if tags else None) or (name.title if name else None) or "Untitled"
    depth = 3 if name and name.disc and analysis.relpath.count("/") >= 3 else 2
    artist_plan = ContainerPlan(
        "artist", grouping_key(artist) or "unknown", artist, folder=_folder(analysis, depth)
    )
    album_plan = ContainerPlan(
        "album", grouping_key(album) or "unknown", album, year, folder=_folder(analysis, depth - 1)
    )
    fields: dict[str, Any] = {"album": album, "album_artist": artist}
    fields["artist"] = (", ".join(tags.artists) if tags else "") or artist
    tagged: dict[str, Any] = {}
    if tags:
        ids = {
            "musicbrainz_track": tags.musicbrainz_track_id,
            "musicbrainz_album": tags.musicbrainz_album_id,
            "musicbrainz_artist": tags.musicbrainz_artist_id,
        }
        tagged = {
            "title": tags.title,
            "year": tags.year,
            "genres": list(tags.genres),
            "external_ids": {k: v for k, v in ids.items() if v},
        }
    if analysis.probe is not None and analysis.probe.has_cover_art:
        cover = EMBEDDED_PREFIX + os.path.join(analysis.root, analysis.relpath)
        tagged["artwork"] = {"thumb": cover}
    named = {"title": name.title, "year": name.album_year} if name else {}
    return ItemPlan(
        "track",
        title,
        year=year,
        index_number=(tags.track_number if tags else None) or (name.track if name else None),
        disc_number=(tags.disc_number if tags else None) or (name.disc if name else None),
        containers=(artist_plan, album_plan),
        fields=fields,
        name_fields=named,
        tag_fields=tagged,
    )


def _plain(analysis: Analysis, name: PlainName | None, kind: str) -> ItemPlan:
    title = name.title if name else os.path.splitext(os.path.basename(analysis.relpath))[0]
    taken: str | None = None
    photo = analysis.probe.photo if analysis.probe else None
    if photo is not None and photo.taken_at is not None:
        taken = photo.taken_at.replace(tzinfo=None).isoformat(timespec="seconds")
    elif name is not None and name.taken_on is not None:
        taken = datetime(name.taken_on.year, name.taken_on.month, name.taken_on.day).isoformat()
    year = int(taken[:4]) if taken else None
    return ItemPlan(kind, title, year=year, taken_at=taken, name_fields={"title": title})


def plan_item(analysis: Analysis, library_kind: str) -> ItemPlan | None:
    """The item a file becomes in a library of `library_kind`, or None (not an item there)."""
    probe, name = analysis.probe, analysis.name
    if probe is None:
        return None
    media = probe.kind
    if library_kind == "movies" and media == "video" and isinstance(name, MovieName):
        plan = _movie(analysis, name)
    elif library_kind == "shows" and media == "video" and isinstance(name, EpisodeName):
        plan = _episode(analysis, name)
    elif library_kind == "music" and media == "audio":
        plan = _track(analysis, name if isinstance(name, TrackName) else None)
    elif library_kind == "photos" and media == "photo":
        plan = _plain(analysis, name if isinstance(name, PlainName) else None, "photo")
    elif library_kind == "videos" and media == "video":
        plan = _plain(analysis, name if isinstance(name, PlainName) else None, "video")
    else:
        return None
    if plan is None:
        return None
    if probe.duration is not None and plan.duration is None:
        plan = ItemPlan(**{**_as_dict(plan), "duration": round(probe.duration, 3)})
    return plan


def _as_dict(plan: ItemPlan) -> dict[str, Any]:
    return {name: getattr(plan, name) for name in ItemPlan.__dataclass_fields__}
