"""SSDP without multicast: the message rules as pure functions, then a real server answering
unicast M-SEARCH on 127.0.0.1 — to async_upnp_client's search, to garbage (silence) and to a
flood from one address (rate-limited)."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import socket
from typing import Any

from async_upnp_client.search import async_search

from plugins.dlna import ssdp
from plugins.dlna.ssdp_server import LanInterface, RateLimiter, SsdpServer
from tests.conftest import RunningServer, StartServer

UDN = "uuid:3f2c9a4e-0000-4e8a-9c07-6d2b8e1f4a10"
IDENTITY = ssdp.Identity(
    udn=UDN,
    device_type="urn:schemas-upnp-org:device:MediaServer:1",
    service_types=(
        "urn:schemas-upnp-org:service:ContentDirectory:1",
        "urn:schemas-upnp-org:service:ConnectionManager:1",
        "urn:microsoft.com:service:X_MS_MediaReceiverRegistrar:1",
    ),
    server="Linux/6.1 UPnP/1.0 DLNADOC/1.50 Hearth/1",
    max_age=1800,
    boot_id=7,
)


def search(st: str = "ssdp:all", mx: str | None = "1", man: str = '"ssdp:discover"') -> bytes:
    lines = ["M-SEARCH * HTTP/1.1", "HOST: 239.255.255.250:1900", f"MAN: {man}", f"ST: {st}"]
    if mx is not None:
        lines.append(f"MX: {mx}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_only_well_formed_searches_are_believed() -> None:
    assert ssdp.parse_search(search()) == ssdp.SearchRequest("ssdp:all", 1)
    assert ssdp.parse_search(search(mx="120")) == ssdp.SearchRequest("ssdp:all", 5)
    assert ssdp.parse_search(search(mx=None)) == ssdp.SearchRequest("ssdp:all", None)
    for bad in (
        search() + b"X" * 2100,
        search(man="ssdp:discover"),
        search(man='"ssdp:alive"'),
        search(mx="-1"),
        search(mx="soon"),
        search(st=""),
        search().replace(b"M-SEARCH", b"NOTIFY"),
        search().replace(b"HTTP/1.1", b"HTTP/1.0"),
        search().replace(b"ST:", b"ST\xff:"),
        b"\x00" * 64,
        b"",
        b"M-SEARCH * HTTP/1.1\r\nno colon here\r\n\r\n",
    ):
        assert ssdp.parse_search(bad) is None, bad


def test_search_targets_match_by_type_and_version() -> None:
    everything = ssdp.matching_types(IDENTITY, "ssdp:all")
    assert [nt for _, nt in everything] == list(IDENTITY.notification_types)
    assert len(everything) == 6
    assert ssdp.matching_types(IDENTITY, "upnp:rootdevice") == [("upnp:rootdevice",) * 2]
    assert ssdp.matching_types(IDENTITY, UDN) == [(UDN, UDN)]
    device = "urn:schemas-upnp-org:device:MediaServer:1"
    assert ssdp.matching_types(IDENTITY, device) == [(device, device)]
    assert ssdp.matching_types(IDENTITY, "urn:schemas-upnp-org:device:MediaServer:2") == []
    assert ssdp.matching_types(IDENTITY, "urn:schemas-upnp-org:device:MediaRenderer:1") == []
    assert ssdp.matching_types(IDENTITY, "uuid:someone-else") == []
    assert IDENTITY.usn(UDN) == UDN
    assert IDENTITY.usn(device) == f"{UDN}::{device}"
    response = ssdp.search_response(IDENTITY, device, device, "http://198.18.0.1:8440/d.xml")
    assert response.startswith(b"HTTP/1.1 200 OK\r\n") and response.endswith(b"\r\n\r\n")
    assert b"\r\nLOCATION: http://198.18.0.1:8440/d.xml\r\n" in response
    assert b"\r\nBOOTID.UPNP.ORG: 7\r\n" in response and b"\r\nEXT: \r\n" in response
    byebye = ssdp.notify(IDENTITY, device, alive=False, location="")
    assert b"NTS: ssdp:byebye" in byebye and b"LOCATION" not in byebye


def test_sources_off_the_lan_and_floods_are_not_answered() -> None:
    lan = LanInterface("192.168.1.10", ipaddress.IPv4Network("192.168.1.0/24"))
    server = SsdpServer(IDENTITY, [lan], "multicast", 1900, logging.getLogger("test"))
    assert server._interface_for("192.168.1.77", "") == lan
    assert server._interface_for("10.0.0.1", "") is None
    assert server._interface_for("8.8.8.8", "") is None
    limiter = RateLimiter(capacity=6, per_second=1, max_sources=2)
    assert limiter.allow("a", 6, 0.0) and not limiter.allow("a", 1, 0.1)
    assert limiter.allow("a", 1, 1.2)  # refilled
    assert limiter.allow("b", 6, 0.0)
    assert not limiter.allow("c", 1, 0.0)  # too many sources tracked at once


class Collector(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.received: list[bytes] = []

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.received.append(data)


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def unicast_server(start_server: StartServer) -> tuple[RunningServer, int]:
    port = free_udp_port()
    server = await start_server(
        f"dlna: {{ssdp: unicast, interfaces: [127.0.0.1], ssdp_port: {port}}}\n"
    )
    await server.hub.bus.drain()  # HubStarted reached the plugin: it knows the HTTP port
    return server, port


async def test_unicast_search_from_async_upnp_client_finds_the_device(
    start_server: StartServer,
) -> None:
    server, port = await unicast_server(start_server)
    found: list[dict[str, str]] = []

    async def on_response(headers: Any) -> None:
        found.append({k.lower(): v for k, v in headers.as_dict().items()})

    await async_search(on_response, timeout=1, target=("127.0.0.1", port))
    await asyncio.sleep(0)
    assert len(found) == 6
    location = f"{server.url}/dlna/description.xml"
    assert {f["location"] for f in found} == {location}
    udn = {f["_udn"] for f in found}
    assert len(udn) == 1
    assert {f["st"] for f in found} >= {"upnp:rootdevice", *udn}
    async with server.session.get(location) as response:
        assert f"<UDN>{udn.pop()}</UDN>" in await response.text()


async def test_garbage_is_ignored_and_a_flood_is_rate_limited(start_server: StartServer) -> None:
    _, port = await unicast_server(start_server)
    loop = asyncio.get_running_loop()
    transport, collector = await loop.create_datagram_endpoint(
        Collector, local_addr=("127.0.0.1", 0)
    )
    try:
        target = ("127.0.0.1", port)
        for garbage in (
            os.urandom(512),
            b"X" * 3000,
            search(man="ssdp:discover"),
            search(st="urn:schemas-upnp-org:device:MediaRenderer:1"),
            search().replace(b"M-SEARCH", b"NOTIFY"),
        ):
            transport.sendto(garbage, target)
        await asyncio.sleep(0.3)
        assert collector.received == []
        transport.sendto(search("upnp:rootdevice", mx=None), target)
        await asyncio.sleep(0.3)
        assert len(collector.received) == 1  # still answering

        for _ in range(300):
            transport.sendto(search("upnp:rootdevice", mx=None), target)
        await asyncio.sleep(0.5)
        answered = len(collector.received) - 1
        assert 0 < answered <= 45, answered  # a bucket of 30, refilled at 10 a second
    finally:
        transport.close()
