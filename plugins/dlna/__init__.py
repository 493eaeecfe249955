"""DLNA / UPnP MediaServer: smart TVs, consoles, Kodi, VLC and Home Assistant browse and play.

Announces the server over SSDP on the server's network interfaces only (or the plugin's own
`interfaces`), answers ContentDirectory Browse and Search from the catalog, and serves files,
MPEG-TS transcodes, thumbnails and subtitles with the headers TVs expect — all on the main HTTP
port, without accounts (a TV has none). It shows only LAN-visible libraries under the LAN rating
limit, never writes to the catalog and never controls a TV. It connects to nothing but a TV
that subscribed to its events, at that TV's own address (events.py).
"""

from __future__ import annotations

import platform

from core.plugin_api import HubStarted, LibraryChanged, PluginContext, PluginNotReady, __version__
from plugins.dlna.config import CONFIG_SCHEMA, DlnaConfig
from plugins.dlna.description import DEVICE_TYPE
from plugins.dlna.scpd import SERVICES
from plugins.dlna.ssdp import Identity
from plugins.dlna.ssdp_server import SsdpServer, lan_interfaces_blocking

__all__ = ["CONFIG_SCHEMA", "setup"]


async def setup(ctx: PluginContext, config: DlnaConfig) -> None:
    """Serve the device's routes; open SSDP now and answer once HTTP listens."""
    # the routes and the service bring aiohttp and the catalog: imported to serve, not to
    # check the configuration
    from plugins.dlna.routes import dlna_routes
    from plugins.dlna.service import DlnaService

    service = DlnaService(ctx, config)
    ctx.state = service
    ctx.add_routes(dlna_routes(service))
    ctx.subscribe(LibraryChanged, service.library_changed)
    shown = None if config.libraries is None else list(config.libraries)
    about = {"name": service.friendly_name, "udn": service.udn, "ssdp": config.ssdp}
    # tv_*: this plugin serves TVs; the web app says what they see (core.library.lan)
    ctx.report({**about, "tv_max_rating": config.max_rating, "tv_libraries": shown})
    # "pages_prepared": every item's XML is stored and current (fragments.py); false while a
    # changed library is being prepared again (TVs are then answered from the catalog).
    service.prerender.on_ready = lambda ready: ctx.report(
        {**ctx.health_detail, "pages_prepared": ready}
    )
    ctx.on_teardown(service.fragments.close)
    ctx.create_task(service.prerender.run(), "dlna-prerender")
    if config.ssdp == "off":
        return
    wanted = config.interfaces or ctx.network_interfaces
    interfaces = await ctx.run_blocking(lan_interfaces_blocking, wanted)
    if not interfaces:
        ctx.logger.warning("No IPv4 address on %s: TVs will not find the server", wanted)
        return
    release = ".".join(platform.release().split(".")[:2])
    identity = Identity(
        udn=service.udn,
        device_type=DEVICE_TYPE,
        service_types=tuple(s.service_type for s in SERVICES),
        server=f"{platform.system()}/{release} UPnP/1.0 DLNADOC/1.50 Hearth/{__version__}",
        max_age=config.max_age,
        boot_id=service.system_update_id,
    )
    server = SsdpServer(identity, interfaces, config.ssdp, config.ssdp_port, ctx.logger)
    try:
        await server.open(ctx)
    except OSError as err:
        server.stop()
        raise PluginNotReady(f"cannot listen for SSDP on port {config.ssdp_port}: {err}") from err
    ctx.on_teardown(server.stop)
    ctx.report({**ctx.health_detail, "addresses": [i.address for i in interfaces]})

    def begin(http_port: int) -> None:
        server.begin(http_port)
        if config.ssdp == "multicast":
            ctx.create_task(server.announce_forever(), "ssdp-announce")

    if ctx.http_port:  # set up again after a retry: HTTP is listening already
        begin(ctx.http_port)
    else:
        ctx.subscribe(HubStarted, lambda event: begin(event.http_port))
