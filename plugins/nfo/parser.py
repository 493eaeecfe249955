"""Turning the bytes of a Kodi-style .nfo file into Hearth's canonical metadata fields.

Kodi, tinyMediaManager, Jellyfin and Emby write the same XML: `<movie>`, `<tvshow>`,
`<episodedetails>`, `<album>` and `<artist>`; this maps their elements onto `FIELDS` names
(`<mpaa>` to `content_rating`, `<credits>` to writers, `<uniqueid>` to `external_ids`...) and
passes the result through `clean_fields`. Loading the XML safely is `document`'s job, finding
and reading the file `reader`'s. Pure: never touches the disk or the network, and ignores the
artwork URLs a file lists (no nfo may make the server go online).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from xml.etree.ElementTree import Element

from core.plugin_api import clean_fields
from plugins.nfo.document import load_document

ROOTS: dict[str, tuple[str, ...]] = {
    "movie": ("movie",),
    "video": ("movie", "musicvideo", "episodedetails"),
    "show": ("tvshow",),
    "season": ("season",),
    "episode": ("episodedetails",),
    "album": ("album",),
    "artist": ("artist",),
}
"""The root elements an nfo may have for each item kind."""

_ID_PATTERNS = {
    "imdb": re.compile(r"^tt\d{5,10}$"),
    "tmdb": re.compile(r"^\d{1,12}$"),
    "tvdb": re.compile(r"^\d{1,12}$"),
    "tvmaze": re.compile(r"^\d{1,12}$"),
}
_MBID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_DATE = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})")
_YEAR = re.compile(r"^\s*(\d{4})(?!\d)")
_RATED = re.compile(r"^(?:rated\s+|[a-z]{2,3}\s*:\s*)", re.IGNORECASE)


def parse_nfo(data: bytes, item_kind: str, known: Mapping[str, Any]) -> dict[str, Any]:
    """Canonical fields from an nfo's bytes (`{}` if it says nothing useful); raises NfoError."""
    elements, ids = load_document(data, ROOTS[item_kind])
    if not elements:
        return {"external_ids": ids}
    element = _choose(elements, known)
    fields = _music_fields(element) if item_kind in ("album", "artist") else _video_fields(element)
    fields["external_ids"] = {**ids, **fields.get("external_ids", {})}
    return clean_fields(fields)


def _choose(elements: list[Element], known: Mapping[str, Any]) -> Element:
    """Of several <episodedetails>, the one whose number is the episode asked about."""
    number = known.get("index_number")
    for element in elements:
        if number is not None and _int(_text(element, "episode")) == number:
            return element
    return elements[0]


def _video_fields(element: Element) -> dict[str, Any]:
    premiered = _date(_text(element, "premiered") or _text(element, "aired"))
    return {
        "title": _text(element, "title"),
        "original_title": _text(element, "originaltitle"),
        "sort_title": _text(element, "sorttitle"),
        "year": _int(_text(element, "year")) or _year(premiered),
        "premiered": premiered,
        "plot": _text(element, "plot") or _text(element, "outline"),
        "tagline": _text(element, "tagline"),
        "rating": _rating(element),
        "content_rating": content_rating(_text(element, "mpaa") or _text(element, "certification")),
        "genres": _texts(element, "genre"),
        "studios": _texts(element, "studio"),
        "tags": _texts(element, "tag"),
        "people": _people(element),
        "external_ids": _external_ids(element),
    }


def _music_fields(element: Element) -> dict[str, Any]:
    """album.nfo and artist.nfo as Kodi writes them (`<albumArtistCredits>`, `<musicBrainz…>`)."""
    if element.tag == "artist":
        return {
            "title": _text(element, "name"),
            "sort_title": _text(element, "sortname"),
            "plot": _text(element, "biography"),
            "genres": _texts(element, "genre"),
            "tags": _texts(element, "style") + _texts(element, "mood"),
            "external_ids": _mbids({"musicbrainz_artist": _text(element, "musicBrainzArtistID")}),
        }
    credits = element.findall("albumArtistCredits")
    artists = [name for c in credits if (name := _text(c, "artist"))] or _texts(element, "artist")
    artist = _text(element, "artistdesc") or "; ".join(artists) or None
    released = _date(_text(element, "releasedate") or _text(element, "originalreleasedate"))
    title = _text(element, "title")
    return {
        "title": title,
        "album": title,
        "artist": artist,
        "album_artist": artist,
        "year": _int(_text(element, "year")) or _year(released),
        "premiered": released,
        "plot": _text(element, "review"),
        "rating": _rating(element),
        "genres": _texts(element, "genre"),
        "tags": _texts(element, "style") + _texts(element, "mood"),
        "studios": _texts(element, "label"),
        "external_ids": _mbids(
            {
                "musicbrainz_album": _text(element, "musicbrainzalbumid"),
                "musicbrainz_release_group": _text(element, "musicbrainzreleasegroupid"),
                "musicbrainz_album_artist": next(
                    (i for c in credits if (i := _text(c, "musicBrainzArtistID"))), None
                ),
            }
        ),
    }


def content_rating(text: str | None) -> str | None:
    """The certification as people write it: "Rated PG-13" and "US:PG-13 / UK:12A" give "PG-13"
    (the first country listed wins), "de:FSK 12" gives "FSK 12"."""
    if not text:
        return None
    first = text.split("/")[0].strip()
    return _RATED.sub("", first).strip() or None


def _rating(element: Element) -> float | None:
    """The default of `<ratings>` (else the first), else a plain `<rating>`, scaled to 0 to 10."""
    entries = [] if (ratings := element.find("ratings")) is None else ratings.findall("rating")
    chosen = next((e for e in entries if e.get("default", "").lower() == "true"), None)
    for entry in [chosen, *entries]:
        if entry is not None and (value := _float(_text(entry, "value"))) is not None:
            scale = _float(entry.get("max")) or 10.0
            return _score(value * 10.0 / scale)
    plain = element.find("rating")
    if plain is None:
        return None
    value = _float((plain.text or "").strip())
    scale = _float(plain.get("max")) or 10.0
    return None if value is None else _score(value * 10.0 / scale)


def _score(value: float) -> float | None:
    return round(value, 2) if 0.0 <= value <= 10.0 else None


def _people(element: Element) -> list[dict[str, str]]:
    """Actors in their `<order>`, then directors and writers (`<credits>` is Kodi's writer)."""
    actors = sorted(element.findall("actor"), key=_order)
    people: list[dict[str, str]] = []
    for actor in actors:
        name = _text(actor, "name")
        if name:
            character = _text(actor, "role")
            entry = {"name": name, "role": "actor"}
            people.append(entry | {"character": character} if character else entry)
    for tag, role in (("director", "director"), ("credits", "writer"), ("writer", "writer")):
        people.extend({"name": name, "role": role} for name in _texts(element, tag))
    unique: list[dict[str, str]] = []
    for person in people:
        if person not in unique:
            unique.append(person)
    return unique


def _order(actor: Element) -> int:
    """An actor's billing; unnumbered actors keep their place after the numbered ones."""
    order = _int(_text(actor, "order"))
    return 10**6 if order is None else order


def _external_ids(element: Element) -> dict[str, str]:
    """`<uniqueid type="...">` first, then the older single-id tags; ids of unknown form drop."""
    found: list[tuple[str, str | None]] = [
        ((uid.get("type") or "").lower(), (uid.text or "").strip())
        for uid in element.findall("uniqueid")
    ]
    found += [("imdb", _text(element, tag)) for tag in ("imdbid", "imdb_id", "imdb", "id")]
    found += [("tmdb", _text(element, "tmdbid")), ("tvdb", _text(element, "tvdbid"))]
    ids: dict[str, str] = {}
    for kind, value in found:
        pattern = _ID_PATTERNS.get(kind)
        if value and pattern is not None and pattern.match(value):
            ids.setdefault(kind, value)
    return ids


def _mbids(candidates: dict[str, str | None]) -> dict[str, str]:
    return {key: v.lower() for key, v in candidates.items() if v and _MBID.match(v.lower())}


def _text(element: Element, tag: str) -> str | None:
    child = element.find(tag)
    text = (child.text or "").strip() if child is not None else ""
    return text or None


def _texts(element: Element, tag: str) -> list[str]:
    """Every `<tag>`, split on " / " (older scrapers joined genres), without repeats."""
    values: list[str] = []
    for child in element.findall(tag):
        for part in (child.text or "").split(" / "):
            if part.strip() and part.strip() not in values:
                values.append(part.strip())
    return values


def _date(text: str | None) -> str | None:
    match = _DATE.match(text or "")
    return "-".join(match.groups()) if match else None


def _year(date: str | None) -> int | None:
    match = _YEAR.match(date or "")
    return int(match.group(1)) if match else None


def _int(text: str | None) -> int | None:
    try:
        return int((text or "").strip())
    except ValueError:
        return None


def _float(text: str | None) -> float | None:
    try:
        return float((text or "").strip().replace(",", "."))
    except ValueError:
        return None
