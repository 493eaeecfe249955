"""Shared by the DLNA tests: a real scanned library behind a running server, and a real
async_upnp_client DmsDevice (the profile Home Assistant's dlna_dms uses) pointed at it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from async_upnp_client.aiohttp import AiohttpRequester
from async_upnp_client.client_factory import UpnpFactory
from async_upnp_client.profiles.dlna import DmsDevice

from tests.conftest import RunningServer, StartServer
from tests.core.media.mediagen import make_photo
from tests.core.scan.library import build_library, library_yaml
from tests.core.scan.test_scanner import settle

PROVIDERS = "filename:\nembedded:\nlocal_artwork:\n"
SUBTITLE = "1\n00:00:00,000 --> 00:00:01,000\nHello\n"
MANY = 1100


def make_library(base: Path, many: int = 0) -> None:
    """build_library's five libraries, a subtitle and a poster beside Alien, and `many`
    hard links of one tiny video in Home Videos/Many."""
    build_library(base)
    (base / "Movies" / "Alien (1979).en.srt").write_text(SUBTITLE, encoding="utf-8")
    make_photo(base / "Movies" / "Alien (1979)-poster.jpg")
    shutil.copy(
        base / "Movies" / "Alien (1979)-poster.jpg",
        base / "Music" / "Miles Davis" / "Kind of Blue (1959)" / "cover.jpg",
    )
    if many:
        source = base / "Videos" / "2019-07-04 Fireworks.mp4"
        (base / "Videos" / "Many").mkdir()
        for number in range(many):
            os.link(source, base / "Videos" / "Many" / f"clip {number:04d}.mp4")


async def library_server(
    start_server: StartServer, base: Path, many: int = 0, dlna: str = "{ssdp: false}"
) -> RunningServer:
    """A running, fully scanned server with the DLNA plugin and the test library, every
    library ticked for TVs (photos and home videos start hidden)."""
    make_library(base, many)
    server = await start_server(f"dlna: {dlna}\n" + library_yaml(base) + PROVIDERS)
    await settle(server)
    await show_every_library_to_tvs(server)
    return server


async def show_every_library_to_tvs(server: RunningServer) -> None:
    """Tick every library for TVs, as the owner does in the web app."""
    data = await server.get_json("/api/libraries")
    for library in data["libraries"]:  # type: ignore[attr-defined]
        if not library["lan_visible"]:
            url = f"{server.url}/api/libraries/{library['id']}"
            async with server.session.patch(url, json={"lan_visible": True}) as reply:
                assert reply.status == 200, await reply.text()
    await server.hub.bus.drain()


async def dms(server: RunningServer) -> DmsDevice:
    """A DmsDevice built from the description, as Home Assistant builds it."""
    factory = UpnpFactory(AiohttpRequester(timeout=10))
    device = await factory.async_create_device(f"{server.url}/dlna/description.xml")
    return DmsDevice(device, event_handler=None)


async def soap(
    server: RunningServer,
    body: str | bytes,
    action: str = "Browse",
    service: str = "ContentDirectory",
) -> tuple[int, str]:
    """POST a raw body to a control URL; (status, text)."""
    headers = {
        "Content-Type": 'text/xml; charset="utf-8"',
        "SOAPAction": f'"urn:schemas-upnp-org:service:{service}:1#{action}"',
    }
    async with server.session.post(
        f"{server.url}/dlna/control/{service}", data=body, headers=headers
    ) as response:
        return response.status, await response.text()


def envelope(action: str, args: dict[str, str], service: str = "ContentDirectory") -> str:
    inner = "".join(f"<{k}>{v}</{k}>" for k, v in args.items())
    return (
        '<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">'
        f'<s:Body><u:{action} xmlns:u="urn:schemas-upnp-org:service:{service}:1">{inner}'
        f"</u:{action}></s:Body></s:Envelope>"
    )


def browse_args(object_id: str = "0", **overrides: str) -> dict[str, str]:
    args = {
        "ObjectID": object_id,
        "BrowseFlag": "BrowseDirectChildren",
        "Filter": "*",
        "StartingIndex": "0",
        "RequestedCount": "0",
        "SortCriteria": "",
    }
    return {**args, **overrides}
