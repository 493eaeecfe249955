"""What TVs on the home network see without an account, said in one sentence, and the rating
limit admins set for them from the web app.

New libraries of kind photos and home videos stay hidden from TVs until the owner ticks them
(family pictures are not for every screen in the house); movies, shows and music are shown.
Existing libraries keep whatever was chosen. The LAN rating limit is the stricter of the TV
service's own (`dlna: max_rating:` in YAML, which a plugin serving TVs reports as
`tv_max_rating`) and the catalog setting `lan_max_rating`, written by `PUT /api/settings/lan`.
When a managed profile has a limit and TVs have none, the answer says so and suggests the fix.
It never decides visibility itself: `core.people.access.lan_principal_blocking` applies both.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from aiohttp import web

from core.catalog.database import Database
from core.events import LibraryChanged
from core.http.bodies import json_body
from core.http.errors import ApiError
from core.http.routes import RouteSpec
from core.people.access import LAN_MAX_RATING, stricter_rating
from core.people.ratings import LEVELS, limit_rank, rank

if TYPE_CHECKING:
    from core.bus import EventBus
    from core.catalog import Catalog

PluginDetails = Callable[[], list[Mapping[str, Any]]]
"""The health details of the plugins running now (what `ctx.report` said)."""

HIDDEN_FROM_TVS = frozenset({"photos", "videos"})  # library kinds TVs see only once ticked
TV_DETAIL = "tv_max_rating"  # the health detail by which a plugin says it serves TVs
FALLBACK_SUGGESTION = "PG"  # offered when no managed profile has a limit of its own


def lan_visible_by_default(kind: str) -> bool:
    """Whether a new library of this kind is shown to TVs before the owner decides."""
    return kind not in HIDDEN_FROM_TVS


def _names(names: list[str]) -> str:
    """`Movies`, `Movies and Music`, `Movies, TV and Music`."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def tv_view(
    served: bool,
    libraries: list[str],
    limit: str | None,
    managed: list[tuple[str, str | None]],
) -> dict[str, Any]:
    """The sentence of what TVs see, and a warning with its fix when a child's limit is
    bypassed by every TV in the house."""
    if not served:
        summary = "TVs on your home network see nothing: no TV service (DLNA) is running."
    elif not libraries:
        summary = "TVs on your home network see no library; tick one below to show it."
    else:
        under = f"under {limit}" if limit else "with no rating limit"
        summary = f"TVs on your home network can see {_names(libraries)} {under}."
    warning = suggestion = None
    if served and libraries and limit is None and managed:
        limited = [(name, rating) for name, rating in managed if rating]
        if limited:
            name, suggestion = min(limited, key=lambda p: rank(p[1]) or 0)
            why = f"{name}'s profile is limited to {suggestion}"
        else:
            suggestion = FALLBACK_SUGGESTION
            names = [n for n, _ in managed]
            why = f"{_names(names)} " + (
                "has a managed profile" if len(names) == 1 else "have managed profiles"
            )
        warning = (
            f"Any TV on your home network can play everything in {_names(libraries)}, "
            f"whatever its rating, though {why}. Set a TV rating limit to close this."
        )
    return {"summary": summary, "warning": warning, "suggested_max_rating": suggestion}


def _facts_blocking(db: Database) -> tuple[str | None, list[Any], list[Any]]:
    row = db.execute("SELECT value FROM settings WHERE key = ?", [LAN_MAX_RATING]).fetchone()
    libraries = db.execute(
        "SELECT id, name FROM libraries WHERE lan_visible = 1 ORDER BY name"
    ).fetchall()
    managed = db.execute(
        "SELECT username, max_rating FROM users WHERE role = 'managed' ORDER BY username"
    ).fetchall()
    return (row[0] if row else None), libraries, managed


class LanSettingsApi:
    """`GET` and `PUT /api/settings/lan`, for owners and admins."""

    def __init__(self, catalog: Catalog, bus: EventBus, running: PluginDetails) -> None:
        self._catalog = catalog
        self._bus = bus
        self._running = running

    def _tv_services(self) -> list[Mapping[str, Any]]:
        """Health details of the running plugins that serve TVs (they report TV_DETAIL)."""
        return [detail for detail in self._running() if TV_DETAIL in detail]

    async def _answer(self) -> web.Response:
        setting, rows, managed = await self._catalog.read(_facts_blocking)
        services = self._tv_services()
        configured: str | None = None
        for detail in services:
            configured = stricter_rating(configured, detail.get(TV_DETAIL))
        shown = [str(name) for _, name in rows]
        for detail in services:
            only = detail.get("tv_libraries")
            if only is not None:
                shown = [name for name in shown if name in only]
        limit = stricter_rating(setting, configured)
        people = [(str(name), rating) for name, rating in managed]
        body = {
            "max_rating": setting,
            "config_max_rating": configured,
            "effective_max_rating": limit,
            "served": bool(services),
            "libraries": shown,
            "managed_profiles": [{"username": n, "max_rating": r} for n, r in people],
            "ratings": list(LEVELS),
            **tv_view(bool(services), shown, limit, people),
        }
        return web.json_response(body)

    async def get_lan(self, request: web.Request) -> web.Response:
        """What TVs on the home network can see, in a sentence, and their rating limit."""
        return await self._answer()

    async def put_lan(self, request: web.Request) -> web.Response:
        """Set the TVs' rating limit (`{"max_rating": "PG"}`, or null for none beyond YAML)."""
        body = await json_body(request)
        value = body.get("max_rating")
        if value is not None and not isinstance(value, str):
            raise ApiError(400, "'max_rating' is a rating such as PG, or null.", "bad_body")
        try:
            limit_rank(value)
        except ValueError as err:
            raise ApiError(400, str(err), "bad_body") from err

        def write(db: Database) -> list[int]:
            if value is None:
                db.execute("DELETE FROM settings WHERE key = ?", [LAN_MAX_RATING])
            else:
                db.execute(
                    "INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)",
                    [LAN_MAX_RATING, value],
                )
            return [r[0] for r in db.execute("SELECT id FROM libraries WHERE lan_visible = 1")]

        for library_id in await self._catalog.write(write):
            self._bus.publish(LibraryChanged(library_id))  # TVs re-read (SystemUpdateID)
        return await self._answer()


def lan_routes(catalog: Catalog, bus: EventBus, running: PluginDetails) -> list[RouteSpec]:
    """/api/settings/lan (admins only)."""
    api = LanSettingsApi(catalog, bus, running)
    rating = {"type": "string", "description": f"one of {', '.join(LEVELS)}, an age, or null"}
    return [
        RouteSpec("GET", "/api/settings/lan", api.get_lan, tags=("library",), admin=True),
        RouteSpec(
            "PUT",
            "/api/settings/lan",
            api.put_lan,
            tags=("library",),
            admin=True,
            request_body={"type": "object", "properties": {"max_rating": rating}},
        ),
    ]
