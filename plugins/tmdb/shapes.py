"""TMDB's JSON answers as Hearth's metadata fields (core.library.fields) and picture URLs.

Pure functions over the documented shapes of `/movie/{id}`, `/tv/{id}` and
`/tv/{id}/season/{n}` (with `credits`, `release_dates` and `content_ratings` appended);
missing keys are simply missing fields. No network, no catalog.
"""

from __future__ import annotations

from typing import Any

from core.plugin_api import year_of

CAST_KEPT = 15
_CREW_ROLES = {"Director": "director", "Screenplay": "writer", "Writer": "writer"}


def image(base: str, size: str, path: Any) -> str | None:
    return f"{base.rstrip('/')}/{size}{path}" if isinstance(path, str) and path else None


def _names(entries: Any) -> list[str]:
    return [e["name"] for e in entries or [] if isinstance(e, dict) and e.get("name")]


def people(credits: Any) -> list[dict[str, str]]:
    """Actors in billing order, then directors and writers."""
    credits = credits if isinstance(credits, dict) else {}
    found = []
    for actor in (credits.get("cast") or [])[:CAST_KEPT]:
        if isinstance(actor, dict) and actor.get("name"):
            entry = {"name": actor["name"], "role": "actor"}
            if actor.get("character"):
                entry["character"] = actor["character"]
            found.append(entry)
    for member in credits.get("crew") or []:
        role = _CREW_ROLES.get(member.get("job", "")) if isinstance(member, dict) else None
        if role and member.get("name"):
            found.append({"name": member["name"], "role": role})
    return found


def movie_certification(answer: dict[str, Any], country: str) -> str | None:
    """The certification in the owner's country, theatrical release first."""
    for entry in (answer.get("release_dates") or {}).get("results") or []:
        if entry.get("iso_3166_1") == country:
            dates = sorted(entry.get("release_dates") or [], key=lambda d: d.get("type") != 3)
            return next((d["certification"] for d in dates if d.get("certification")), None)
    return None


def show_certification(answer: dict[str, Any], country: str) -> str | None:
    for entry in (answer.get("content_ratings") or {}).get("results") or []:
        if entry.get("iso_3166_1") == country and entry.get("rating"):
            return str(entry["rating"])
    return None


def movie(answer: dict[str, Any], country: str) -> dict[str, Any]:
    ids = {"tmdb": str(answer.get("id"))}
    if answer.get("imdb_id"):
        ids["imdb"] = answer["imdb_id"]
    return {
        "title": answer.get("title"),
        "original_title": answer.get("original_title"),
        "year": year_of(answer.get("release_date")),
        "premiered": answer.get("release_date") or None,
        "plot": answer.get("overview"),
        "tagline": answer.get("tagline"),
        "genres": _names(answer.get("genres")),
        "studios": _names(answer.get("production_companies")),
        "rating": answer.get("vote_average"),
        "content_rating": movie_certification(answer, country),
        "people": people(answer.get("credits")),
        "external_ids": ids,
    }


def show(answer: dict[str, Any], country: str) -> dict[str, Any]:
    return {
        "title": answer.get("name"),
        "original_title": answer.get("original_name"),
        "year": year_of(answer.get("first_air_date")),
        "premiered": answer.get("first_air_date") or None,
        "plot": answer.get("overview"),
        "tagline": answer.get("tagline"),
        "genres": _names(answer.get("genres")),
        "studios": _names(answer.get("networks")),
        "rating": answer.get("vote_average"),
        "content_rating": show_certification(answer, country),
        "people": people(answer.get("credits")),
        "external_ids": {"tmdb": str(answer.get("id"))},
    }


def season(answer: dict[str, Any]) -> dict[str, Any]:
    return {
        "title": answer.get("name"),
        "plot": answer.get("overview"),
        "premiered": answer.get("air_date") or None,
        "year": year_of(answer.get("air_date")),
    }


def episode(answer: dict[str, Any]) -> dict[str, Any]:
    return {
        "title": answer.get("name"),
        "plot": answer.get("overview"),
        "premiered": answer.get("air_date") or None,
        "year": year_of(answer.get("air_date")),
        "rating": answer.get("vote_average"),
        "people": people({"crew": answer.get("crew"), "cast": answer.get("guest_stars")}),
    }


def artwork(base: str, answer: dict[str, Any]) -> dict[str, str]:
    """Poster, backdrop (fanart) and still (thumb) URLs at sizes a TV screen needs."""
    found = {
        "poster": image(base, "w780", answer.get("poster_path")),
        "fanart": image(base, "w1280", answer.get("backdrop_path")),
        "thumb": image(base, "w780", answer.get("still_path")),
    }
    return {kind: url for kind, url in found.items() if url}
