"""HTTP for each person's viewing: report progress, continue watching, next up, history.

Every route is about the signed-in person only (`/api/me/...`, and progress on an item they may
see); a LAN device without an account has no history. The work is in `watch` (catalog threads).
It never shows one person's viewing to another — not even to the owner, who sees only counts
in the privacy report.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from aiohttp import web

from core.http.bodies import json_body
from core.http.errors import ApiError
from core.http.routes import Param, RouteSpec
from core.people import watch
from core.people.access import Principal
from core.people.middleware import principal_of

if TYPE_CHECKING:
    from core.catalog import Catalog

MAX_IDS = 500


def user_of(request: web.Request) -> tuple[Principal, int]:
    """The principal and its account id; a device without an account has no personal data."""
    principal = principal_of(request)
    if principal.user_id is None:
        raise ApiError(403, "This needs a signed-in person, not a device.", "forbidden")
    return principal, principal.user_id


def _number(request: web.Request, name: str, default: int, high: int) -> int:
    raw = request.query.get(name) or ""
    if not raw:
        return default
    if not raw.isdigit() or not 0 <= int(raw) <= high:
        raise ApiError(400, f"'{name}' must be a whole number from 0 to {high}", "bad_parameter")
    return int(raw)


def _seconds(body: dict[str, Any], name: str, required: bool) -> float | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value < 0
    ):
        raise ApiError(400, f"'{name}' must be a number of seconds, 0 or more.", "bad_body")
    return float(value)


class WatchApi:
    """Handlers over the catalog."""

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog

    async def put_progress(self, request: web.Request) -> web.Response:
        """Where playback is now; stored when it moved 5 s or finished (at 90 %)."""
        principal, user_id = user_of(request)
        body = await json_body(request)
        position = _seconds(body, "position", True) or 0.0
        given = _seconds(body, "duration", False)
        item_id = request.match_info["id"]
        catalog = self._catalog

        def read(db: Any) -> tuple[Any, bool]:
            found = watch.playable_item_blocking(db, item_id, principal)
            return found, watch.history_paused_blocking(db, user_id)

        found, paused = await catalog.read(read)
        if found is None:
            raise ApiError(404, "No such item.", "not_found")
        pk, known, has_file = found
        if not has_file:
            raise ApiError(400, "Only playable items have a position.", "not_playable")
        duration = given or known or None
        if duration is not None:
            position = min(position, duration)
        if paused:
            return web.json_response({"stored": False, "paused": True, "position": position})
        report = watch.Report(user_id, pk, position, duration)
        plan = await catalog.read(lambda db: watch.plan_progress_blocking(db, report))
        if plan["store"]:
            finish = bool(plan["finish"])
            await catalog.write(lambda db: watch.store_progress_blocking(db, report, finish))
        return web.json_response(
            {
                "stored": plan["store"],
                "paused": False,
                "position": plan["position"],
                "duration": duration,
                "watched": plan["watched"],
            }
        )

    async def get_continue(self, request: web.Request) -> web.Response:
        """Started, not finished, newest first."""
        principal, user_id = user_of(request)
        limit = _number(request, "limit", 20, 100)
        items = await self._catalog.read(
            lambda db: watch.continue_blocking(db, principal, user_id, limit)
        )
        return web.json_response({"items": items})

    async def get_next(self, request: web.Request) -> web.Response:
        """The next episode of each show being watched."""
        principal, user_id = user_of(request)
        limit = _number(request, "limit", 20, 100)
        items = await self._catalog.read(
            lambda db: watch.next_up_blocking(db, principal, user_id, limit)
        )
        return web.json_response({"items": items})

    async def get_history(self, request: web.Request) -> web.Response:
        """Finished viewings, newest first, with whether history is paused."""
        principal, user_id = user_of(request)
        offset = _number(request, "offset", 0, 10**9)
        limit = _number(request, "limit", 50, 500)

        def read(db: Any) -> tuple[list[dict[str, Any]], int, bool]:
            entries, total = watch.history_blocking(db, principal, user_id, offset, limit)
            return entries, total, watch.history_paused_blocking(db, user_id)

        entries, total, paused = await self._catalog.read(read)
        return web.json_response(
            {"history": entries, "total": total, "offset": offset, "paused": paused}
        )

    async def delete_history(self, request: web.Request) -> web.Response:
        """Forget every viewing: history and resume positions."""
        _principal, user_id = user_of(request)
        removed = await self._catalog.write(lambda db: watch.clear_history_blocking(db, user_id))
        return web.json_response({"removed": removed})

    async def post_pause(self, request: web.Request) -> web.Response:
        """Pause (or resume) history: while paused, nothing about viewing is stored."""
        _principal, user_id = user_of(request)
        paused = (await json_body(request)).get("paused")
        if not isinstance(paused, bool):
            raise ApiError(400, "'paused' is true or false.", "bad_body")
        await self._catalog.write(
            lambda db: db.execute(
                "UPDATE users SET history_paused = ? WHERE id = ? AND history_paused != ?",
                [int(paused), user_id, int(paused)],
            )
        )
        return web.json_response({"paused": paused})

    async def get_progress(self, request: web.Request) -> web.Response:
        """Position and watched state of up to 500 items, for the web app's cards."""
        principal, user_id = user_of(request)
        ids = [i for i in (request.query.get("ids") or "").split(",") if i][:MAX_IDS]
        found = await self._catalog.read(
            lambda db: watch.progress_of_blocking(db, principal, user_id, ids)
        )
        return web.json_response({"progress": found})


def watch_routes(api: WatchApi) -> list[RouteSpec]:
    tags = ("me",)
    page = (Param("offset", type="integer"), Param("limit", type="integer"))
    return [
        RouteSpec(
            "PUT",
            "/api/items/{id}/progress",
            api.put_progress,
            "Report the playback position",
            tags=tags,
            request_body={
                "type": "object",
                "required": ["position"],
                "properties": {"position": {"type": "number"}, "duration": {"type": "number"}},
            },
        ),
        RouteSpec("GET", "/api/me/continue", api.get_continue, tags=tags, query=page[1:]),
        RouteSpec("GET", "/api/me/next", api.get_next, tags=tags, query=page[1:]),
        RouteSpec("GET", "/api/me/history", api.get_history, tags=tags, query=page),
        RouteSpec("DELETE", "/api/me/history", api.delete_history, tags=tags),
        RouteSpec("POST", "/api/me/history/pause", api.post_pause, tags=tags),
        RouteSpec(
            "GET",
            "/api/me/progress",
            api.get_progress,
            tags=tags,
            query=(Param("ids", "comma-separated item ids", required=True),),
        ),
    ]
