"""Every HTTP route of the DLNA server, all for the home network only (`access="lan"`: TVs have
no accounts, and a remote source is refused before any handler runs), tagged "dlna".

The device description, the SCPDs and the icons are answered here; control goes to
`control.py`, files to `media.py` and the MPEG-TS transcode to `transcode.py`. Routes live on
the main HTTP port. The file, transcode, art and subtitle GETs also take a capability link
(`links=True`, core.people.links): play-to-TV hands a TV a URL with `?link=` so it gets what
the person who pressed Play may watch; still from the home network only. It never decides who
may see what (the service's LAN rules, or the link's person, do).
"""

from __future__ import annotations

from aiohttp import web

from core.plugin_api import ApiError, HandlerFn, RouteSpec, __version__
from plugins.dlna.control import DlnaControl
from plugins.dlna.description import DeviceInfo, description_xml, draw_icons_blocking
from plugins.dlna.media import DlnaMedia
from plugins.dlna.scpd import SERVICES, Service, scpd_xml
from plugins.dlna.service import DlnaService, check_host
from plugins.dlna.soap import XML_TYPE
from plugins.dlna.transcode import DlnaTranscode

TAGS = ("dlna",)


def _xml(text: str) -> web.Response:
    return web.Response(body=text.encode(), headers={"Content-Type": XML_TYPE})


def _spec(
    method: str, path: str, handler: HandlerFn, summary: str, links: bool = False
) -> RouteSpec:
    return RouteSpec(method, path, handler, summary=summary, tags=TAGS, access="lan", links=links)


def dlna_routes(service: DlnaService) -> list[RouteSpec]:
    """The routes to register through the plugin context."""
    device = DeviceInfo(
        service.friendly_name, service.udn, __version__, service.udn.removeprefix("uuid:")[-12:]
    )

    async def description(request: web.Request) -> web.Response:
        """The UPnP device description."""
        check_host(request)
        return _xml(description_xml(device))

    def scpd(spec: Service) -> HandlerFn:
        async def service_description(request: web.Request) -> web.Response:
            """A UPnP service description (SCPD)."""
            check_host(request)
            return _xml(scpd_xml(spec))

        return service_description

    async def icon(request: web.Request) -> web.Response:
        """The device icon TVs show in their source list."""
        check_host(request)
        name = request.match_info["name"]
        if not service.icons:  # drawn on the first request, not at every start
            service.icons = await service.ctx.run_blocking(draw_icons_blocking)
        data = service.icons.get(name)
        if data is None:
            raise ApiError(404, "No such icon.", "icon_not_found")
        content = "image/png" if name.endswith(".png") else "image/jpeg"
        return web.Response(body=data, headers={"Content-Type": content})

    control, media, transcode = DlnaControl(service), DlnaMedia(service), DlnaTranscode(service)
    specs = [
        _spec("GET", "/dlna/description.xml", description, "UPnP device description"),
        _spec("GET", "/dlna/icon/{name}", icon, "Device icon"),
        _spec(
            "GET",
            "/dlna/media/{id}",
            media.media,
            "A media file for a TV, with DLNA headers (`?link=`: an item a person played to it)",
            links=True,
        ),
        _spec(
            "GET",
            "/dlna/transcode/{id}.ts",
            transcode.transcode,
            "A video as MPEG-TS for a TV (what it cannot play re-encoded to H.264 or AAC),"
            " seekable by byte Range (a constant rate: Content-Length is known) and by"
            " TimeSeekRange.dlna.org (`?link=`: an item a person played to it)",
            links=True,
        ),
        _spec(
            "GET",
            "/dlna/art/{id}",
            media.art,
            "A 160-pixel JPEG thumbnail for a TV (`?link=`: of an item a person played to it)",
            links=True,
        ),
        _spec(
            "GET",
            "/dlna/photo/{id}.jpg",
            media.photo,
            "A JPEG copy (at most 1920 pixels) of a photo whose format TVs cannot show",
        ),
        _spec(
            "GET",
            "/dlna/subtitle/{item}/{name}",
            media.subtitle,
            "A sidecar subtitle file (`?link=`: of an item a person played to it)",
            links=True,
        ),
    ]
    for spec in SERVICES:
        specs.append(_spec("GET", f"/dlna/scpd/{spec.short}.xml", scpd(spec), f"{spec.short} SCPD"))
        specs += _event_specs(service, spec.short)
        specs.append(
            _spec(
                "POST", f"/dlna/control/{spec.short}", control.handler(spec), f"{spec.short} SOAP"
            )
        )
    return specs


def _event_specs(service: DlnaService, short: str) -> list[RouteSpec]:
    """GENA SUBSCRIBE and UNSUBSCRIBE for one service (events.py)."""

    async def subscribe(request: web.Request) -> web.StreamResponse:
        """Subscribe to, or renew a subscription to, a service's events."""
        check_host(request)
        return await service.events.subscribe(request, short)

    async def unsubscribe(request: web.Request) -> web.StreamResponse:
        """End a subscription to a service's events."""
        check_host(request)
        return await service.events.unsubscribe(request, short)

    subscribe.__name__, unsubscribe.__name__ = f"subscribe_{short}", f"unsubscribe_{short}"
    path = f"/dlna/event/{short}"
    return [
        _spec("SUBSCRIBE", path, subscribe, f"{short} GENA subscribe"),
        _spec("UNSUBSCRIBE", path, unsubscribe, f"{short} GENA unsubscribe"),
    ]
