"""The TVs this server knows right now: added when found (SSDP or a configured LOCATION),
forgotten at byebye or when their max-age lapses, each offered to the core as a PlaybackTarget.

A renderer is built from its device description with async_upnp_client's UpnpFactory and kept
only if it is a real MediaRenderer (DmrDevice's device type and services); its sink protocols
come from GetProtocolInfo once. Every HTTP request goes through the egress gate
(`EgressRequester`). Each renderer is registered once as a target under `dlna:<id>`; one that
leaves stays registered (saying "gone") until teardown, since targets cannot be withdrawn
one by one, and takes its place again if it comes back. It never plays anything itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from core.plugin_api import PluginContext
from plugins.dlna_renderer.renderer import DlnaRenderer, RendererInfo, renderer_id

if TYPE_CHECKING:
    from plugins.dlna_renderer.player import Player
    from plugins.dlna_renderer.requester import EgressRequester


class RendererFleet:
    """Known renderers by id, and the bookkeeping of finding and losing them."""

    def __init__(self, ctx: PluginContext, player: Player) -> None:
        self.ctx = ctx
        self.player = player
        self._requester: EgressRequester | None = None  # made with the first renderer
        self.renderers: dict[str, DlnaRenderer] = {}
        self.alive: Callable[[str], bool] | None = None  # SsdpDiscovery.alive, with SSDP on
        self._adding: set[str] = set()
        self._targets: set[str] = set()
        self._failed: set[str] = set()  # locations warned about once

    def get(self, rid: str) -> DlnaRenderer | None:
        return self.renderers.get(rid)

    def seen(self, udn: str, location: str) -> None:
        """SSDP heard a renderer: add it unless it is known at this LOCATION already."""
        known = self.renderers.get(renderer_id(udn))
        if (known is None or known.info.location != location) and location not in self._adding:
            self._adding.add(location)  # now: an advert and an answer may come together
            self.ctx.create_task(self.add(location, via_ssdp=True), f"add-{renderer_id(udn)}")

    def gone(self, udn: str) -> None:
        renderer = self.renderers.pop(renderer_id(udn), None)
        if renderer is not None:
            renderer.forget()
            self.ctx.logger.info("%s left the network", renderer.info.name)

    async def add(self, location: str, via_ssdp: bool) -> DlnaRenderer | None:
        """Read a description and keep the renderer; None if it is not one or cannot be read."""
        # async_upnp_client (and its XML stack) is loaded by the first renderer, never before
        from async_upnp_client.exceptions import UpnpError

        self._adding.add(location)
        try:
            return await self._add(location, via_ssdp)
        except (UpnpError, TimeoutError, ValueError) as err:
            log = self.ctx.logger.debug if location in self._failed else self.ctx.logger.warning
            log("Cannot use the renderer at %s: %s", location, err)
            self._failed.add(location)
            return None
        finally:
            self._adding.discard(location)

    async def _add(self, location: str, via_ssdp: bool) -> DlnaRenderer | None:
        from async_upnp_client.client_factory import UpnpFactory
        from async_upnp_client.profiles.dlna import DmrDevice

        from plugins.dlna_renderer.requester import EgressRequester

        if self._requester is None:
            self._requester = EgressRequester(self.ctx.http)
        # A TV heard on SSDP talks only to its LOCATION's address; one the owner listed may
        # name itself or its control URLs as it likes (a name, a URLBase on its IP).
        requester = self._requester
        if via_ssdp:
            requester = requester.for_host(urlsplit(location).hostname or "")
        factory = UpnpFactory(requester, non_strict=True)
        device = await factory.async_create_device(location)
        if not DmrDevice.is_profile_device(device):
            self.ctx.logger.debug("%s is not a MediaRenderer", location)
            return None
        dmr = DmrDevice(device, event_handler=None)
        dmr.transport_action_timeout = 30.0
        sink: tuple[str, ...] = ()
        if dmr.has_get_protocol_info:
            sink = tuple((await dmr.async_get_protocol_info())["sink"])
        info = RendererInfo(
            udn=dmr.udn,
            name=dmr.name,
            manufacturer=dmr.manufacturer,
            model=dmr.model_name,
            location=location,
            host=urlsplit(location).hostname or "",
            via_ssdp=via_ssdp,
        )
        renderer = DlnaRenderer(info, dmr, sink, self.ctx.logger)
        await renderer.refresh(volume=True)
        old = self.renderers.get(info.renderer_id)
        if old is not None:
            old.forget()
        self.renderers[info.renderer_id] = renderer
        if info.renderer_id not in self._targets:
            self._targets.add(info.renderer_id)
            self.ctx.register_target(RendererTarget(self, info.renderer_id))
        self._failed.discard(location)
        self.ctx.logger.info("Found %s (%s %s)", info.name, info.manufacturer, info.model)
        if renderer.state in ("playing", "paused", "buffering"):
            self.player.follow(renderer)
        return renderer

    async def sweep(self, configured: tuple[str, ...]) -> None:
        """Forget SSDP renderers whose max-age lapsed; retry configured ones that are missing."""
        for renderer in list(self.renderers.values()):
            lapsed = self.alive is not None and not self.alive(renderer.info.udn)
            if renderer.info.via_ssdp and lapsed:
                self.ctx.logger.info("%s was not heard from in time", renderer.info.name)
                self.gone(renderer.info.udn)
        present = {r.info.location for r in self.renderers.values()}
        for location in configured:
            if location not in present and location not in self._adding:
                await self.add(location, via_ssdp=False)

    async def keep_fresh(self, configured: tuple[str, ...], interval: float) -> None:
        while True:
            await self.sweep(configured)
            await asyncio.sleep(interval)

    def close(self) -> None:
        for renderer in self.renderers.values():
            renderer.forget()
        self.renderers.clear()


class RendererTarget:
    """The core's handle on one TV (core.kinds.PlaybackTarget), by id, so it outlives the
    renderer object when a TV goes and comes back."""

    def __init__(self, fleet: RendererFleet, rid: str) -> None:
        self._fleet = fleet
        self._id = rid

    @property
    def name(self) -> str:
        return f"dlna:{self._id}"

    async def play(self, item_id: str, position_seconds: float = 0.0) -> None:
        """Play as a TV on the LAN may (the DLNA routes' rules); the API checks people."""
        renderer = self._fleet.get(self._id)
        if renderer is None:
            raise LookupError(f"renderer {self._id} is not on the network")
        await self._fleet.player.play(renderer, item_id, position_seconds, None)

    async def stop(self) -> None:
        renderer = self._fleet.get(self._id)
        if renderer is not None:
            await renderer.stop()

    def status(self) -> Mapping[str, Any]:
        renderer = self._fleet.get(self._id)
        return renderer.status() if renderer is not None else {"id": self._id, "state": "gone"}
