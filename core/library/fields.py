"""The metadata fields providers fill and the catalog stores, with their types.

One list shared by every metadata provider (nfo, local artwork, embedded tags, file names) and
by the browsing API, so a field is spelled the same everywhere. It never reads files.
"""

from __future__ import annotations

from typing import Any

ITEM_KINDS = ("movie", "show", "season", "episode", "artist", "album", "track", "photo", "video")
ARTWORK_KINDS = ("poster", "fanart", "banner", "thumb")
EMBEDDED_PREFIX = "embedded:"
"""An artwork reference `embedded:/abs/path/song.mp3` means the cover inside that file."""
STILL_PREFIX = "still:"
"""An artwork reference `still:<name>.jpg` is a picture the server made from a video frame."""
ONLINE_PREFIX = "online:"
"""An artwork reference `online:<name>.jpg` is a picture an online provider supplied
(core.enrichment.images), kept resized in the thumbnail cache's online folder."""

# field -> (python type, what it means)
FIELDS: dict[str, tuple[type, str]] = {
    "title": (str, "display title"),
    "original_title": (str, "title in the original language"),
    "sort_title": (str, "title used for sorting"),
    "year": (int, "release or air year"),
    "premiered": (str, "ISO date of release or first air"),
    "plot": (str, "synopsis"),
    "tagline": (str, "one-line tagline"),
    "rating": (float, "community rating from 0 to 10"),
    "content_rating": (str, "certification as written, e.g. 'PG-13', 'TV-MA', 'FSK 12'"),
    "genres": (list, "genre names"),
    "studios": (list, "studios or networks"),
    "tags": (list, "free tags"),
    "people": (list, "[{'name', 'role' (actor|director|writer|...), 'character'}]"),
    "external_ids": (dict, "{'imdb': 'tt…', 'tmdb': '…', 'tvdb': '…', 'musicbrainz_*': '…'}"),
    "artwork": (dict, "{'poster'|'fanart'|'banner'|'thumb': absolute path or 'embedded:<path>'}"),
    "artist": (str, "track or album artist"),
    "album_artist": (str, "album artist"),
    "album": (str, "album title"),
}


def _typed(value: Any, expected: type) -> Any:
    """`value` as `expected`, or None when it is not of that type (bools are not numbers)."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if expected is float:
        return float(value) if number else None
    if expected is int:
        return value if number and isinstance(value, int) else None
    return value if isinstance(value, expected) else None


def clean_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """Keep known fields of the right type; a provider's stray key never reaches the catalog."""
    result: dict[str, Any] = {}
    for key, value in fields.items():
        spec = FIELDS.get(key)
        if spec is None or value is None or value in ("", [], {}):
            continue
        typed = _typed(value, spec[0])
        if typed is not None:
            result[key] = typed
    return result


def merge_fields(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Merge provider results in configured order: the first provider to fill a field wins,
    except `artwork`, merged per kind with the same rule."""
    merged: dict[str, Any] = {}
    for fields in results:
        for key, value in clean_fields(fields).items():
            if key == "artwork":
                art = merged.setdefault("artwork", {})
                for kind, ref in value.items():
                    if kind in ARTWORK_KINDS and isinstance(ref, str):
                        art.setdefault(kind, ref)
            else:
                merged.setdefault(key, value)
    return merged
