"""TMDB requests: search, details, a season's episode guide; the enricher the core asks.

A movie or show is found by its TMDB id (an nfo's, or the owner's pick), else by its IMDb id
(`/find`), else by searching its title and year; the best candidate above the core's
confidence threshold wins. A season and its episodes come from one `/tv/{id}/season/{n}`
answer, cached, so a show of ten seasons costs ten requests, not hundreds. The API key goes in
an Authorization header (a v4 read token) or the `api_key` parameter (a v3 key), never into
the ledger, a log or a cache key.
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
    ResponseCache,
    title_confidence,
    year_of,
)
from plugins.tmdb import shapes

if TYPE_CHECKING:
    from plugins.tmdb import TmdbConfig

CACHE_SECONDS = 7 * 86_400
_SEARCH = {
    "movie": ("movie", "year", "title", "original_title", "release_date"),
    "show": ("tv", "first_air_date_year", "name", "original_name", "first_air_date"),
}


class TmdbEnricher:
    """Movies, shows, seasons and episodes from TMDB."""

    name = "tmdb"
    item_kinds = ("movie", "show", "season", "episode")
    fields = (
        "title",
        "original_title",
        "year",
        "premiered",
        "plot",
        "tagline",
        "genres",
        "studios",
        "rating",
        "content_rating",
        "people",
        "external_ids",
        "artwork",
    )

    def __init__(self, ctx: PluginContext, config: TmdbConfig) -> None:
        self._config = config
        self.concurrency = config.concurrency
        self.time_limit = float(config.timeout)
        self.override_local = config.override_local
        key = config.api_key
        self._params = {} if key.startswith("eyJ") else {"api_key": key}
        headers = {"Authorization": f"Bearer {key}"} if key.startswith("eyJ") else {}
        headers["Accept"] = "application/json"
        cache = ResponseCache(ctx.data_dir / "cache", CACHE_SECONDS)
        ctx.create_task(ctx.run_blocking(cache.prune_blocking), "prune-cache")
        self._client = ProviderClient(ctx.http, cache=cache, headers=headers)
        self._images = ProviderClient(ctx.http)

    async def _get(self, path: str, purpose: str, **params: str) -> Any:
        params["language"] = self._config.language
        key = path + "?" + "&".join(f"{k}={v}" for k, v in sorted(params.items()))
        url = self._config.base_url.rstrip("/") + path
        return await self._client.get_json(url, purpose, {**params, **self._params}, key)

    async def search(
        self, item_kind: str, title: str, year: int | None
    ) -> Sequence[MatchCandidate]:
        if item_kind not in _SEARCH:  # a season or an episode follows its show's match
            return []
        kind, year_param, name, original, date = _SEARCH[item_kind]
        params = {"query": title, "include_adult": "false"}
        if year is not None:
            params[year_param] = str(year)
        answer = await self._get(f"/search/{kind}", f"search for a {item_kind} by title", **params)
        found = []
        for entry in (answer or {}).get("results") or []:
            found_year = year_of(entry.get(date))
            titles = [entry.get(name) or "", entry.get(original) or ""]
            confidence = title_confidence(title, year, titles, found_year)
            found.append(
                MatchCandidate(
                    str(entry.get("id")),
                    titles[0],
                    found_year,
                    confidence,
                    entry.get("overview") or "",
                )
            )
        return sorted(found, key=lambda c: -c.confidence)

    async def _identify(self, request: EnrichmentRequest) -> tuple[str, float] | None:
        if request.match_id:
            return request.match_id, 1.0
        if request.external_ids.get("tmdb"):
            return request.external_ids["tmdb"], 1.0
        imdb = request.external_ids.get("imdb")
        if imdb and request.item_kind == "movie":
            answer = await self._get(
                f"/find/{imdb}", "find a movie by its IMDb id", external_source="imdb_id"
            )
            results = (answer or {}).get("movie_results") or []
            if results:
                return str(results[0]["id"]), 1.0
        found = await self.search(request.item_kind, request.title, request.year)
        if not found and request.year is not None:  # a wrong year on disk: ask without it
            found = await self.search(request.item_kind, request.title, None)
        return (found[0].match_id, found[0].confidence) if found else None

    async def enrich(self, request: EnrichmentRequest) -> EnrichmentResult | None:
        if request.item_kind in ("season", "episode"):
            return await self._in_season(request)
        identified = await self._identify(request)
        if identified is None:
            return None
        tmdb_id, confidence = identified
        base, country = self._config.image_base_url, self._config.country
        if request.item_kind == "movie":
            answer = await self._get(
                f"/movie/{tmdb_id}",
                "details of a movie",
                append_to_response="credits,release_dates",
            )
            fields = shapes.movie(answer, country) if answer else None
        else:
            answer = await self._get(
                f"/tv/{tmdb_id}", "details of a show", append_to_response="credits,content_ratings"
            )
            fields = shapes.show(answer, country) if answer else None
        if answer is None or fields is None:
            return None
        return EnrichmentResult(tmdb_id, confidence, fields, shapes.artwork(base, answer))

    async def _in_season(self, request: EnrichmentRequest) -> EnrichmentResult | None:
        show, number = request.parent_match, request.season
        if show is None or number is None:
            return None  # the show is not matched (yet): nothing to ask
        answer = await self._get(f"/tv/{show}/season/{number}", "episode guide of a season")
        if answer is None:
            return None
        base = self._config.image_base_url
        if request.item_kind == "season":
            return EnrichmentResult(
                f"{show}/{number}", 1.0, shapes.season(answer), shapes.artwork(base, answer)
            )
        for entry in answer.get("episodes") or []:
            if entry.get("episode_number") == request.number:
                return EnrichmentResult(
                    f"{show}/{number}/{request.number}",
                    1.0,
                    shapes.episode(entry),
                    shapes.artwork(base, entry),
                )
        return None

    async def fetch_image(self, url: str, purpose: str) -> bytes:
        return await self._images.get_image(url, purpose)
