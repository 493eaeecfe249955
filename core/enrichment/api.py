""" "Fix match" for owners and admins: see an item's online matches, search a provider, pick a
result, lock the item to what is on disk, or let it be matched again; and the providers' state.

`GET /api/items/{id}/match`, `GET /api/items/{id}/match/search?provider=&q=&year=`,
`POST /api/items/{id}/match` with `{"provider", "match_id"}` (pick), `{"provider", "local":
true}` (lock to local metadata) or `{"provider", "unlock": true}`, and `GET /api/enrichment`.
A search sends the provider only the words typed (or the item's title) and the year.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import TYPE_CHECKING, Any

from aiohttp import web

from core.enrichment.provider_state import ProviderState
from core.enrichment.store import (
    Outcome,
    Subject,
    item_pk_blocking,
    matches_blocking,
    subjects_blocking,
)
from core.http.bodies import json_body
from core.http.errors import ApiError
from core.http.routes import Param, RouteSpec
from core.kinds import MetadataEnricher

if TYPE_CHECKING:
    from core.catalog import Catalog
    from core.enrichment.queue import EnrichmentQueue
    from core.registry import Registry

SEARCH_LIMIT = 20.0  # seconds an owner waits for a provider's answer


class MatchApi:
    """The handlers, over the catalog, the registered online providers and the queue that
    asks them (None for a one-shot command, which never sends anything)."""

    def __init__(
        self,
        catalog: Catalog,
        enrichers: Registry[MetadataEnricher],
        queue: EnrichmentQueue | None,
    ) -> None:
        self._catalog = catalog
        self._enrichers = enrichers
        self._running = queue

    @property
    def _queue(self) -> EnrichmentQueue:
        if self._running is None:
            raise ApiError(503, "Online metadata is not running.", "unavailable")
        return self._running

    async def _item(self, request: web.Request) -> tuple[int, str, int]:
        found = await self._catalog.read(lambda db: item_pk_blocking(db, request.match_info["id"]))
        if found is None:
            raise ApiError(404, "No such item.", "item_not_found")
        return found

    def _provider(self, name: Any, kind: str) -> tuple[str, MetadataEnricher]:
        enricher = self._enrichers.get(name) if isinstance(name, str) else None
        if enricher is None:
            names = ", ".join(self._for(kind)) or "none is configured"
            raise ApiError(400, f"'provider' must be one of: {names}.", "bad_provider")
        if kind not in enricher.item_kinds:
            raise ApiError(400, f"{name} does not look up items of kind {kind}.", "bad_provider")
        return name, enricher

    def _for(self, kind: str) -> list[str]:
        return [n for n, e in self._enrichers if kind in e.item_kinds]

    async def get_match(self, request: web.Request) -> web.Response:
        """An item's matches per provider, and the providers that could match it."""
        pk, kind, _ = await self._item(request)
        matches = await self._catalog.read(lambda db: matches_blocking(db, pk))
        return web.json_response({"kind": kind, "providers": self._for(kind), "matches": matches})

    async def get_search(self, request: web.Request) -> web.Response:
        """What a provider finds for the words typed (by default the item's own title)."""
        pk, kind, _ = await self._item(request)
        name, enricher = self._provider(request.query.get("provider"), kind)
        subject = await self._subject(name, kind, pk)
        words = request.query.get("q") or subject.request.title
        raw_year = request.query.get("year", "")
        if raw_year and not raw_year.isdigit():
            raise ApiError(400, "'year' must be a number.", "bad_parameter")
        year = int(raw_year) if raw_year else None
        try:
            async with asyncio.timeout(SEARCH_LIMIT):
                found = await enricher.search(kind, words[:200], year)
        except Exception as err:
            raise ApiError(502, f"{name} did not answer: {err or 'timed out'}", "provider") from err
        return web.json_response({"results": [dataclasses.asdict(c) for c in found]})

    async def post_match(self, request: web.Request) -> web.Response:
        """Pick a match, lock to local metadata, or unlock."""
        pk, kind, library_id = await self._item(request)
        body = await json_body(request)
        name, enricher = self._provider(body.get("provider"), kind)
        queue = self._queue
        subject = await self._subject(name, kind, pk)
        if body.get("local") is True:
            await queue.save(name, enricher, subject, Outcome("local"), True)
        elif body.get("unlock") is True:
            await queue.save(name, enricher, subject, Outcome("none"), False)
            await self._catalog.write(
                lambda db: db.execute(
                    "UPDATE item_matches SET query = '' WHERE item_pk = ? AND provider = ?",
                    [pk, name],
                )
            )
        elif isinstance(body.get("match_id"), str) and body["match_id"].strip():
            picked = dataclasses.replace(
                subject, request=dataclasses.replace(subject.request, match_id=body["match_id"])
            )
            state = queue.providers.get(name) or ProviderState()
            if not await queue.lookup(name, enricher, state, picked, set(), lock=True):
                raise ApiError(502, f"{name} did not answer; try again later.", "provider")
        else:
            raise ApiError(400, "Send 'match_id', 'local': true or 'unlock': true.", "bad_body")
        queue.request(library_id, name)  # a show's seasons and episodes follow its new match
        matches = await self._catalog.read(lambda db: matches_blocking(db, pk))
        return web.json_response({"kind": kind, "providers": self._for(kind), "matches": matches})

    async def _subject(self, name: str, kind: str, pk: int) -> Subject:
        found = await self._catalog.read(
            lambda db: subjects_blocking(db, None, name, kind, pks=[pk])
        )
        if not found:
            raise ApiError(404, "No such item.", "item_not_found")
        return found[0]

    async def get_enrichment(self, request: web.Request) -> web.Response:
        """Each online provider's state: working, backing off and why, counts."""
        queue = self._running
        return web.json_response({"providers": queue.status() if queue is not None else {}})


def enrichment_routes(api: MatchApi) -> list[RouteSpec]:
    """Fix match (owners and admins) and the providers' state."""
    tags = ("metadata",)
    body = {
        "type": "object",
        "properties": {
            "provider": {"type": "string"},
            "match_id": {"type": "string"},
            "local": {"type": "boolean"},
            "unlock": {"type": "boolean"},
        },
    }
    search = (
        Param("provider", "the provider to ask", "string"),
        Param("q", "words to search for (default: the item's title)", "string"),
        Param("year", "year to prefer", "integer"),
    )
    return [
        RouteSpec("GET", "/api/items/{id}/match", api.get_match, tags=tags, admin=True),
        RouteSpec(
            "GET",
            "/api/items/{id}/match/search",
            api.get_search,
            tags=tags,
            admin=True,
            query=search,
        ),
        RouteSpec(
            "POST",
            "/api/items/{id}/match",
            api.post_match,
            tags=tags,
            admin=True,
            request_body=body,
        ),
        RouteSpec("GET", "/api/enrichment", api.get_enrichment, tags=tags, admin=True),
    ]
