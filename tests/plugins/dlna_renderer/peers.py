"""Peers run inside a test namespace beside a Hearth server (see lan.py), as
`python -m tests.plugins.dlna_renderer.peers NAME OUT HEARTH TOKEN ...`.

`hostile`: strangers and confused devices send NOTIFYs naming traps (HTTP servers that record
every request, on 127.0.0.1, on the TV's address and on the stranger's), then a real TV
(async_upnp_client's UpnpServer with the fake DMR) comes up on the subnet and must be found.

`shared_ssdp`: a real TV (as in `hostile`) on the subnet must be found while the DLNA server
answers M-SEARCH on the same box: to the group, and sent straight to the server's address.

`gmediarender`: a real renderer (libupnp, GStreamer into fake sinks that keep real time) on the
TV's address is found, and a movie played on it, paused, resumed, seeked and stopped through
the API, each step waiting for the state (and position) the renderer itself reports.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from tests import netns

GROUP = ("239.255.255.250", 1900)
RENDERER = "urn:schemas-upnp-org:device:MediaRenderer:1"
TV = netns.PEER_ADDRESS
STRANGER = "100.64.0.2"
GMEDIARENDER_NAME = "gmediarender in the den"
AVT = "urn:schemas-upnp-org:service:AVTransport:1"
DEVICE_STATES = {"playing": "PLAYING", "paused": "PAUSED_PLAYBACK", "stopped": "STOPPED"}


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


def search_message(target: str, mx: int | None) -> bytes:
    lines = ["M-SEARCH * HTTP/1.1", "HOST: 239.255.255.250:1900", 'MAN: "ssdp:discover"']
    lines += [f"ST: {target}", *([f"MX: {mx}"] if mx is not None else [])]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def search_from(source: str, to: tuple[str, int], target: str) -> list[dict[str, str]]:
    """M-SEARCH from `source` (unicast without MX, to the group with MX 1) until answered,
    then every answer that comes within a second of the first."""
    answers: list[dict[str, str]] = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((source, 0))
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(source))
        sock.settimeout(0.5)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not answers:
            sock.sendto(search_message(target, 1 if to == GROUP else None), to)
            answered_by = time.monotonic() + 1.5
            while time.monotonic() < answered_by:
                try:
                    data, sender = await asyncio.to_thread(sock.recvfrom, 2048)
                except TimeoutError:
                    continue
                lines = data.decode().split("\r\n")
                headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
                answers.append({"from": f"{sender[0]}:{sender[1]}", "status": lines[0], **headers})
    return answers


async def shared_ssdp(out: Path, hearth: str, token: str, tv_port: str) -> None:
    from async_upnp_client.server import UpnpServer

    from tests.plugins.dlna_renderer.dmr import FakeTv

    server = urlsplit(hearth).hostname or ""
    tv = UpnpServer(FakeTv, (TV, 0), http_port=int(tv_port))  # its own SSDP binds 1900 too
    await tv.async_start()
    (out / "ready").write_text("")
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http:
        api = Api(http, hearth)

        async def renderers() -> Any:
            return await api.get("/api/renderers")

        found = await until(renderers, 30)
        server_type = "urn:schemas-upnp-org:device:MediaServer:1"
        result = {
            "renderers": found,
            "unicast_all": await search_from(TV, (server, 1900), "ssdp:all"),
            "unicast_server": await search_from(TV, (server, 1900), server_type),
            "multicast_server": await search_from(TV, GROUP, server_type),
        }
    await tv.async_stop()
    (out / "result.json").write_text(json.dumps(result))


def start_gmediarender(out: Path, port: str) -> subprocess.Popen[bytes]:
    """gmediarender on the TV's end of the veth pair, playing in real time into fake sinks."""
    command = [
        "gmediarender",
        "--gstout-videopipe=fakesink sync=true",
        "--gstout-audiopipe=fakesink sync=true",
        "-I",
        "hv1",
        "-p",
        port,
        "-f",
        GMEDIARENDER_NAME,
        "-u",
        "0d3a3b2c-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
        "--logfile",
        str(out / "gmediarender.log"),
    ]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def transport(http: aiohttp.ClientSession, port: str) -> dict[str, str]:
    """What gmediarender itself says (GetTransportInfo and GetPositionInfo), asked directly."""
    found: dict[str, str] = {}
    for action in ("GetTransportInfo", "GetPositionInfo"):
        body = (
            '<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"'
            ' s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body>'
            f'<u:{action} xmlns:u="{AVT}"><InstanceID>0</InstanceID></u:{action}>'
            "</s:Body></s:Envelope>"
        )
        headers = {
            "SOAPAction": f'"{AVT}#{action}"',
            "Content-Type": 'text/xml; charset="utf-8"',
            "Connection": "close",
        }
        url = f"http://{TV}:{port}/upnp/control/rendertransport1"
        async with http.post(url, data=body, headers=headers) as response:
            text = await response.text()
        found.update(re.findall(r"<(\w+)>([^<]*)</\1>", text))
    return found


def clock(text: str) -> float:
    hours, minutes, seconds = text.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


async def gmediarender(out: Path, hearth: str, token: str, port: str) -> None:
    """Find gmediarender, play a movie on it, pause, resume, seek and stop; after each step wait
    until both the API and gmediarender itself say it happened."""
    tv = start_gmediarender(out, port)
    steps: list[dict[str, Any]] = []
    try:
        (out / "ready").write_text("")
        headers = {"Authorization": f"Bearer {token}"}
        device = aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True))
        async with aiohttp.ClientSession(headers=headers) as http, device:
            api = Api(http, hearth)

            async def found() -> Any:
                listed = await api.get("/api/renderers") or []
                return next((r for r in listed if r["name"] == GMEDIARENDER_NAME), None)

            async def movies() -> Any:
                return ((await api.get("/api/items?kind=movie")) or {}).get("items")

            renderer = await until(found, 30)
            [movie] = await until(movies, 30)
            base = f"/api/renderers/{renderer['id']}"

            async def step(action: str, body: Any, state: str, low: float, high: float) -> None:
                """Do `action`; wait until the API says `state` with a position in [low, high]
                and so does gmediarender."""
                status, answer = await api.post(f"{base}/{action}", body)
                steps.append({"action": action, "status": status, "answer": answer})
                if status != 200:
                    raise AssertionError(f"{action}: {status} {answer}")

                async def reached() -> Any:
                    now, truth = await found(), await transport(device, port)
                    position = (now or {}).get("position")
                    if (now or {}).get("state") != state or truth["CurrentTransportState"] != (
                        DEVICE_STATES[state]
                    ):
                        return None
                    told = clock(truth["RelTime"]) if state != "stopped" else 0.0
                    if state != "stopped" and (
                        position is None or not (low <= position <= high and low <= told <= high)
                    ):
                        return None
                    return {**now, "device": truth}

                # 30 s: on a loaded box a transcode seek can take a while to start playing
                steps[-1]["reached"] = await until(reached, 30)

            await step("play", {"item_id": movie["id"]}, "playing", 1, 44)
            await step("pause", None, "paused", 1, 44)
            await step("play", {}, "playing", 1, 44)
            await step("seek", {"position": 30}, "playing", 28, 32)
            await step("stop", None, "stopped", 0, 0)
            result = {"renderer": renderer, "movie": movie, "steps": steps}
    except BaseException as err:
        # gmediarender's exit status (None: still running) tells a crash from a dropped request
        result = {"steps": steps, "failed": repr(err), "renderer_exit": tv.poll()}
    finally:
        tv.terminate()
        tv.wait(10)
    (out / "result.json").write_text(json.dumps(result))


PEERS = {"hostile": hostile, "gmediarender": gmediarender, "shared_ssdp": shared_ssdp}

if __name__ == "__main__":
    name, folder, *arguments = sys.argv[1:]
    asyncio.run(PEERS[name](Path(folder), *arguments))
