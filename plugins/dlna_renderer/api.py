"""`/api/renderers`: the TVs on the network, and play, pause, stop, seek and volume on one.

Signed-in routes only (never public): playing needs the item to be visible to the person
asking (`Principal.item_clause`), and the deny-by-default middleware already refuses read-only
device keys on POST. Every answer is the renderer's status as `GET /api/renderers` lists it.
It never talks to a TV except through the renderer and player objects.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from core.plugin_api import ApiError, HandlerFn, RouteSpec, json_body, principal_of, text_field
from plugins.dlna_renderer.fleet import RendererFleet
from plugins.dlna_renderer.player import Player, talking_to
from plugins.dlna_renderer.renderer import DlnaRenderer

TAGS = ("renderers",)
_POSITION = {"type": "number", "minimum": 0, "description": "seconds from the start"}


def _number(body: dict[str, Any], name: str, low: float, high: float, required: bool) -> float:
    value = body.get(name)
    if value is None and not required:
        return low
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ApiError(400, f"'{name}' must be a number from {low:g} to {high:g}.", "bad_body")
    return float(value)


class RendererApi:
    """Handlers over the fleet and the player."""

    def __init__(self, fleet: RendererFleet, player: Player) -> None:
        self.fleet = fleet
        self.player = player

    def _renderer(self, request: web.Request) -> DlnaRenderer:
        renderer = self.fleet.get(request.match_info["id"])
        if renderer is None:
            raise ApiError(404, "No such TV on the network (right now).", "renderer_not_found")
        return renderer

    async def list_renderers(self, request: web.Request) -> web.Response:
        """Every TV and speaker found, with what it is doing."""
        renderers = sorted(self.fleet.renderers.values(), key=lambda r: r.info.name.casefold())
        return web.json_response([r.status() for r in renderers])

    async def play(self, request: web.Request) -> web.Response:
        """Play an item you may see on this TV, optionally from a position in seconds; without
        `item_id`, resume what the TV has paused."""
        renderer = self._renderer(request)
        body = await json_body(request)
        item_id = text_field(body, "item_id", required=False)
        if item_id is None:
            await self.player.resume(renderer)
            return web.json_response(renderer.status())
        position = _number(body, "position", 0, 7 * 86400, required=False)
        await self.player.play(renderer, item_id, position, principal_of(request))
        return web.json_response(renderer.status())

    async def pause(self, request: web.Request) -> web.Response:
        """Pause the TV."""
        renderer = self._renderer(request)
        with talking_to(renderer):
            await renderer.pause()
            await renderer.refresh()
        return web.json_response(renderer.status())

    async def stop(self, request: web.Request) -> web.Response:
        """Stop the TV."""
        renderer = self._renderer(request)
        with talking_to(renderer):
            await renderer.stop()
            await renderer.refresh()
        return web.json_response(renderer.status())

    async def seek(self, request: web.Request) -> web.Response:
        """Jump to a position, in seconds from the start."""
        renderer = self._renderer(request)
        position = _number(await json_body(request), "position", 0, 7 * 86400, required=True)
        with talking_to(renderer):
            await renderer.seek(position)
        self.player.follow(renderer)
        return web.json_response(renderer.status())

    async def volume(self, request: web.Request) -> web.Response:
        """Set the TV's volume, 0 to 100."""
        renderer = self._renderer(request)
        volume = round(_number(await json_body(request), "volume", 0, 100, required=True))
        with talking_to(renderer):
            await renderer.set_volume(volume)
        return web.json_response(renderer.status())

    def routes(self) -> list[RouteSpec]:
        def post(action: str, handler: HandlerFn, body: dict[str, Any] | None) -> RouteSpec:
            schema = None
            if body is not None:
                schema = {"type": "object", "properties": body}
                if action != "play":  # play without an item resumes
                    schema["required"] = list(body)[:1]
            return RouteSpec(
                "POST",
                f"/api/renderers/{{id}}/{action}",
                handler,
                (handler.__doc__ or "").strip(),
                tags=TAGS,
                request_body=schema,
            )

        return [
            RouteSpec(
                "GET", "/api/renderers", self.list_renderers, "TVs on the network", tags=TAGS
            ),
            post("play", self.play, {"item_id": {"type": "string"}, "position": _POSITION}),
            post("pause", self.pause, None),
            post("stop", self.stop, None),
            post("seek", self.seek, {"position": _POSITION}),
            post(
                "volume", self.volume, {"volume": {"type": "integer", "minimum": 0, "maximum": 100}}
            ),
        ]
