"""Peers run inside a test namespace beside a Hearth server (see lan.py), as
`python -m tests.plugins.dlna_renderer.peers NAME OUT HEARTH TOKEN ...`.

`hostile`: strangers and confused devices send NOTIFYs naming traps (HTTP servers that record
every request, on 127.0.0.1, on the TV's address and on the stranger's), then a real TV
(async_upnp_client's UpnpServer with the fake DMR) comes up on the subnet and must be found.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from tests import netns

GROUP = ("239.255.255.250", 1900)
RENDERER = "urn:schemas-upnp-org:device:MediaRenderer:1"
TV = netns.PEER_ADDRESS
STRANGER = "100.64.0.2"


async def until(check: Callable[[], Awaitable[Any]], seconds: float) -> Any:
    deadline = time.monotonic() + seconds
    while not (found := await check()):
        if time.monotonic() > deadline:
            raise TimeoutError(getattr(check, "__name__", "check"))
        await asyncio.sleep(0.1)
    return found


class Api:
    """The signed-in person's side of the server's API."""

    def __init__(self, http: aiohttp.ClientSession, base: str) -> None:
        self.http, self.base = http, base

    async def get(self, path: str) -> Any:
        try:
            async with self.http.get(self.base + path) as response:
                return await response.json() if response.status == 200 else None
        except aiohttp.ClientError:
            return None

    async def post(self, path: str, body: Any) -> tuple[int, Any]:
        async with self.http.post(self.base + path, json=body) as response:
            return response.status, await response.json()


def alive(location: str, udn: str) -> bytes:
    lines = [
        "NOTIFY * HTTP/1.1",
        "HOST: 239.255.255.250:1900",
        "CACHE-CONTROL: max-age=1800",
        f"LOCATION: {location}",
        f"NT: {RENDERER}",
        "NTS: ssdp:alive",
        "SERVER: Linux/6.1 UPnP/1.0 Evil/1.0",
        f"USN: {udn}::{RENDERER}",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def multicast_from(source: str, message: bytes) -> None:
    """Send to the SSDP group from `source`, out of the TV's end of the veth pair."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((source, 0))
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(TV))
        sock.sendto(message, GROUP)


async def hostile(out: Path, hearth: str, token: str, trap_port: str, tv_port: str) -> None:
    from async_upnp_client.server import UpnpServer

    from tests.plugins.dlna_renderer.dmr import FakeTv

    hits: list[str] = []

    async def trap(request: web.Request) -> web.Response:
        hits.append(f"{request.method} {request.host}{request.path}")
        return web.Response(status=404)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", trap)
    runner = web.AppRunner(app)
    await runner.setup()
    for host in ("127.0.0.1", TV, STRANGER):
        await web.TCPSite(runner, host, int(trap_port)).start()
    (out / "ready").write_text("")
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(headers=headers) as http:
        api = Api(http, hearth)

        async def listening() -> bool:
            return await api.get("/api/renderers") == []

        await until(listening, 30)
        lies = [
            (STRANGER, f"http://{TV}:{trap_port}/from-a-stranger.xml"),
            (TV, f"http://trap.test:{trap_port}/a-name.xml"),
            (TV, f"http://127.0.0.1:{trap_port}/loopback.xml"),
            (TV, f"http://{STRANGER}:{trap_port}/another-subnet.xml"),
        ]
        for number, (source, location) in enumerate(lies):
            multicast_from(source, alive(location, f"uuid:liar-{number}"))
        tv = UpnpServer(FakeTv, (TV, 0), http_port=int(tv_port))
        await tv.async_start()

        async def renderers() -> Any:
            return await api.get("/api/renderers")

        found = await until(renderers, 30)
        await tv.async_stop()
    await runner.cleanup()
    (out / "result.json").write_text(json.dumps({"renderers": found, "hits": hits}))


PEERS = {"hostile": hostile}

if __name__ == "__main__":
    name, folder, *arguments = sys.argv[1:]
    asyncio.run(PEERS[name](Path(folder), *arguments))
