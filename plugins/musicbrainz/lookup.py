"""MusicBrainz requests (release and artist lookups and searches) and Cover Art Archive covers.

An album is found by the release MBID its tracks' tags carry, else by searching its title with
its artist's name; an artist by its MBID, else by name. Every request to MusicBrainz waits its
turn (`interval`, one a second) and names Hearth in its User-Agent; covers come from the Cover
Art Archive only for releases MusicBrainz says have a front cover, following its redirect to
archive.org through the gate.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from core.plugin_api import (
    EnrichmentRequest,
    EnrichmentResult,
    MatchCandidate,
    PluginContext,
    ProviderClient,
    RateLimiter,
    ResponseCache,
    __version__,
    title_confidence,
    year_of,
)

if TYPE_CHECKING:
    from plugins.musicbrainz import MusicBrainzConfig

CACHE_SECONDS = 30 * 86_400
_ENTITY = {"album": "release", "artist": "artist"}


def _quoted(text: str) -> str:
    """A Lucene phrase: quotes and backslashes escaped."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _credit(answer: dict[str, Any]) -> tuple[str, str | None]:
    """The artist credit as printed ('A feat. B') and the first artist's MBID."""
    credits = [c for c in answer.get("artist-credit") or [] if isinstance(c, dict)]
    text = "".join(f"{c.get('name', '')}{c.get('joinphrase', '')}" for c in credits)
    first = credits[0].get("artist", {}).get("id") if credits else None
    return text, first


class MusicBrainzEnricher:
    """Albums (releases) and artists from MusicBrainz, covers from the Cover Art Archive."""

    name = "musicbrainz"
    item_kinds = ("artist", "album")
    fields = (
        "sort_title",
        "year",
        "premiered",
        "album_artist",
        "genres",
        "external_ids",
        "artwork",
    )
    concurrency = 1

    def __init__(self, ctx: PluginContext, config: MusicBrainzConfig) -> None:
        self._config = config
        self.time_limit = float(config.timeout)
        self.override_local = config.override_local
        agent = f"Hearth/{__version__} ( {config.contact} )"
        headers = {"User-Agent": agent, "Accept": "application/json"}
        cache = ResponseCache(ctx.data_dir / "cache", CACHE_SECONDS)
        ctx.create_task(ctx.run_blocking(cache.prune_blocking), "prune-cache")
        limiter = RateLimiter(config.interval)
        self._client = ProviderClient(ctx.http, cache=cache, limiter=limiter, headers=headers)
        self._covers = ProviderClient(ctx.http, headers={"User-Agent": agent})

    async def _get(self, path: str, purpose: str, **params: str) -> Any:
        params["fmt"] = "json"
        key = path + "?" + "&".join(f"{k}={v}" for k, v in sorted(params.items()))
        return await self._client.get_json(
            self._config.base_url.rstrip("/") + path, purpose, params, key
        )

    async def search(
        self, item_kind: str, title: str, year: int | None, artist: str | None = None
    ) -> Sequence[MatchCandidate]:
        entity = _ENTITY[item_kind]
        query = f"release:{_quoted(title)}" if entity == "release" else f"artist:{_quoted(title)}"
        if artist:
            query += f" AND artist:{_quoted(artist)}"
        answer = await self._get(
            f"/{entity}", f"search for an {item_kind} by name", query=query, limit="5"
        )
        found = []
        for entry in (answer or {}).get(f"{entity}s") or []:
            name = entry.get("title") if entity == "release" else entry.get("name")
            found_year = year_of(entry.get("date"))
            confidence = title_confidence(title, year, [name or ""], found_year)
            confidence = round(confidence * min(1.0, (entry.get("score") or 0) / 100 + 0.2), 3)
            note = _credit(entry)[0] if entity == "release" else entry.get("disambiguation", "")
            found.append(MatchCandidate(entry["id"], name or "", found_year, confidence, note))
        return sorted(found, key=lambda c: -c.confidence)

    async def enrich(self, request: EnrichmentRequest) -> EnrichmentResult | None:
        kind = request.item_kind
        mbid = request.match_id or request.external_ids.get(f"musicbrainz_{kind}")
        confidence = 1.0
        if not mbid:
            found = await self.search(kind, request.title, request.year, request.artist)
            if not found:
                return None
            mbid, confidence = found[0].match_id, found[0].confidence
        if kind == "artist":
            answer = await self._get(f"/artist/{mbid}", "details of an artist")
            if answer is None:
                return None
            fields = {
                "sort_title": answer.get("sort-name"),
                "external_ids": {"musicbrainz_artist": mbid},
            }
            return EnrichmentResult(mbid, confidence, fields)
        answer = await self._get(
            f"/release/{mbid}", "details of an album", inc="artist-credits+release-groups+genres"
        )
        if answer is None:
            return None
        return EnrichmentResult(mbid, confidence, *self._album(mbid, answer))

    def _album(self, mbid: str, answer: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
        credit, artist_id = _credit(answer)
        ids = {"musicbrainz_album": mbid}
        group = answer.get("release-group") or {}
        if group.get("id"):
            ids["musicbrainz_releasegroup"] = group["id"]
        if artist_id:
            ids["musicbrainz_artist"] = artist_id
        genres = answer.get("genres") or group.get("genres") or []
        fields = {
            "year": year_of(answer.get("date")),
            "premiered": answer.get("date") or None,
            "album_artist": credit or None,
            "genres": [g["name"] for g in genres if isinstance(g, dict) and g.get("name")],
            "external_ids": ids,
        }
        images = {}
        if (answer.get("cover-art-archive") or {}).get("front"):
            images["poster"] = f"{self._config.cover_art_url.rstrip('/')}/release/{mbid}/front-500"
        return fields, images

    async def fetch_image(self, url: str, purpose: str) -> bytes:
        return await self._covers.get_image(url, purpose)
