"""DLNA stays a LAN service: from a `remote` source every `/dlna/` route answers 403 before the
plugin runs, so not one catalog read or write is made on a stranger's behalf (an R-rated film
was streamed to a 100.64.x address before). The server's listener is marked as a tunnel (what
the relay hands in), which makes every connection to it remote; the same requests from home
are the control that shows the plugin does read the catalog when it is allowed to run.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from core.catalog import Catalog
from tests.conftest import RunningServer, StartServer
from tests.plugins.dlna.dms import browse_args, envelope, library_server


def requests(item: str, photo: str) -> list[tuple[str, str, dict[str, str], str]]:
    """(method, path, headers, body) for each kind of DLNA request a TV makes."""
    soap = {
        "Content-Type": 'text/xml; charset="utf-8"',
        "SOAPAction": '"urn:schemas-upnp-org:service:ContentDirectory:1#Browse"',
    }
    gena = {"NT": "upnp:event", "CALLBACK": "<http://127.0.0.1:9/>", "TIMEOUT": "Second-60"}
    search = envelope(
        "Search",
        {"ContainerID": "0", "SearchCriteria": 'dc:title contains "a"', "Filter": "*",
         "StartingIndex": "0", "RequestedCount": "0", "SortCriteria": ""},
    )  # fmt: skip
    search_headers = {**soap, "SOAPAction": soap["SOAPAction"].replace("Browse", "Search")}
    return [
        ("GET", f"/dlna/media/{item}", {}, ""),
        ("GET", f"/dlna/media/{item}", {"Range": "bytes=0-99"}, ""),
        ("GET", f"/dlna/transcode/{item}.ts", {}, ""),
        ("GET", f"/dlna/art/{item}", {}, ""),
        ("GET", f"/dlna/subtitle/{item}/{quote('Alien (1979).en.srt')}", {}, ""),
        ("GET", f"/dlna/photo/{photo}.jpg", {}, ""),
        ("POST", "/dlna/control/ContentDirectory", soap, envelope("Browse", browse_args("0"))),
        ("POST", "/dlna/control/ContentDirectory", search_headers, search),
        ("SUBSCRIBE", "/dlna/event/ContentDirectory", gena, ""),
        ("GET", "/dlna/description.xml", {}, ""),
    ]


def watch_catalog(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record each catalog read or write whose caller is the DLNA plugin."""
    seen: list[str] = []

    def wrap(original: Callable[..., Any], name: str) -> Callable[..., Any]:
        async def watched(self: Catalog, work: Any, *args: Any, **kwargs: Any) -> Any:
            stack = "".join(traceback.format_stack())
            if "plugins/dlna/" in stack:
                seen.append(name)
            return await original(self, work, *args, **kwargs)

        return watched

    monkeypatch.setattr(Catalog, "read", wrap(Catalog.read, "read"))
    monkeypatch.setattr(Catalog, "write", wrap(Catalog.write, "write"))
    return seen


async def send(server: RunningServer, request: tuple[str, str, dict[str, str], str]) -> Any:
    method, path, headers, body = request
    async with server.session.request(
        method, server.url + path, headers=headers, data=body or None
    ) as reply:
        return reply.status, (await reply.read()).decode("utf-8", "replace")


async def test_remote_dlna_requests_are_refused_before_the_catalog_is_touched(
    start_server: StartServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = await library_server(start_server, tmp_path / "media")
    movies: Any = (await server.get_json("/api/items?kind=movie"))["items"]
    photos: Any = (await server.get_json("/api/items?kind=photo"))["items"]
    alien = next(m["id"] for m in movies if m["title"] == "Alien")
    calls = requests(alien, photos[0]["id"])
    seen = watch_catalog(monkeypatch)
    for request in calls:  # from home: the plugin answers (a JPEG needs no copy: 404)
        status, _ = await send(server, request)
        assert status < 400 or request[1].startswith("/dlna/photo/"), (request, status)
    assert "read" in seen  # the watch sees the plugin's reads

    seen.clear()
    listener = ("127.0.0.1", server.hub.port)
    server.hub.tunnels.add(listener)  # every connection to it is now remote
    try:
        for request in calls:
            status, text = await send(server, request)
            assert status == 403 and '"home_network_only"' in text, (request, status, text)
    finally:
        server.hub.tunnels.discard(listener)
    assert seen == []
