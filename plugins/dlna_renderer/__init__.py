"""Play to TV: finds DLNA MediaRenderers (TVs, speakers) on the home network and plays on them.

Renderers are found with SSDP on the server's network interfaces (never loopback; only
messages from the home network naming an address on the sender's own subnet, see trust.py) or
added from configured description URLs, listed at `GET /api/renderers` and controlled with
`POST /api/renderers/{id}/play|pause|stop|seek|volume` by signed-in people, for items they may
see. The TV fetches the media from the DLNA plugin's public routes, so the LAN rules apply
there too. Each TV is also a PlaybackTarget for the core. Every request to a TV goes through
the egress gate. It never serves media itself, never writes to the catalog, and sends nothing
while every TV is idle except a periodic SSDP search.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from core.plugin_api import PluginContext
from plugins.dlna_renderer.config import CONFIG_SCHEMA, RendererConfig

if TYPE_CHECKING:
    from plugins.dlna_renderer.lookout import Hearing

__all__ = ["CONFIG_SCHEMA", "setup"]
SWEEP_SECONDS = 30.0


async def setup(ctx: PluginContext, config: RendererConfig) -> None:
    """Serve the API, start looking for TVs, and add the configured ones. async_upnp_client
    (this plugin's requirement, found installed by the loader) is loaded by the first TV that
    speaks or is configured (lookout.py, fleet.py), never by an idle server in a home without."""
    from plugins.dlna_renderer.api import RendererApi
    from plugins.dlna_renderer.fleet import RendererFleet
    from plugins.dlna_renderer.lookout import SsdpLookout
    from plugins.dlna_renderer.network import search_addresses_blocking
    from plugins.dlna_renderer.player import Player

    player = Player(ctx, config.poll_interval)
    fleet = RendererFleet(ctx, player)
    ctx.state = fleet
    ctx.add_routes(RendererApi(fleet, player).routes())
    ctx.on_teardown(fleet.close)
    addresses: list[str] = []
    if config.discovery:
        wanted = config.interfaces or ctx.network_interfaces
        addresses = await ctx.run_blocking(search_addresses_blocking, wanted)
        if addresses:

            def wake() -> Hearing:  # at the first message naming a MediaRenderer
                from plugins.dlna_renderer.discovery import HomeTracker, SsdpDiscovery

                tracker = HomeTracker(ctx.home_network, config.renderers, ctx.logger)
                return SsdpDiscovery(addresses, tracker, fleet.seen, fleet.gone, ctx.logger)

            lookout = SsdpLookout(addresses, wake, ctx.logger)
            ctx.on_teardown(lookout.stop)
            await lookout.start(functools.partial(ctx.ssdp_subscribe, direct=False))
            fleet.alive = lookout.alive
            ctx.create_task(lookout.search_forever(config.search_interval), "ssdp-search")
        else:
            ctx.logger.info(
                "No LAN address on %s to look for TVs from; list them under renderers:",
                ", ".join(wanted) or "any interface",
            )
    sweep = min(SWEEP_SECONDS, config.search_interval)
    ctx.create_task(fleet.keep_fresh(config.renderers, sweep), "keep-fresh")
    ctx.report({"ssdp": addresses, "configured": len(config.renderers)})
