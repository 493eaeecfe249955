"""A TV that drops a control connection without answering (libupnp does when all its worker
threads are busy; seen once from gmediarender on a loaded CI box, mid-Play) is asked once more:
the SOAP call succeeds on the second connection. A TV that keeps dropping them is still an error
after exactly two tries."""

from __future__ import annotations

import asyncio

import pytest
from async_upnp_client.const import HttpRequest
from async_upnp_client.exceptions import UpnpConnectionError

from core.egress import EgressGate
from core.manifest import Manifest, NetworkScope
from plugins.dlna_renderer import requester as requester_module
from plugins.dlna_renderer.requester import EgressRequester

LAN = Manifest("probe", "Probe", "1", "target", (), (), NetworkScope("lan", (), "test"))
PLAY = "<s:Envelope><s:Body><u:Play><InstanceID>0</InstanceID></u:Play></s:Body></s:Envelope>"


class DroppingTv:
    """Drops the first `drops` connections once it has read the request; answers the rest."""

    def __init__(self, drops: int) -> None:
        self.drops = drops
        self.requests = 0
        self.port = 0

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        await reader.readexactly(length)
        self.requests += 1
        if self.requests > self.drops:
            body = b"<s:Envelope><s:Body><u:PlayResponse/></s:Body></s:Envelope>"
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
            await writer.drain()
        writer.close()


@pytest.fixture(autouse=True)
def quick_retry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(requester_module, "RETRY_PAUSE", 0.01)


async def ask(drops: int) -> tuple[DroppingTv, object]:
    tv = DroppingTv(drops)
    server = await asyncio.start_server(tv.serve, "127.0.0.1", 0)
    tv.port = server.sockets[0].getsockname()[1]
    gate = EgressGate({})
    try:
        async with server:
            requester = EgressRequester(gate.for_plugin(LAN), timeout=5).for_host("127.0.0.1")
            url = f"http://127.0.0.1:{tv.port}/upnp/control/rendertransport1"
            request = HttpRequest("POST", url, {"SOAPAction": '"AVTransport:1#Play"'}, PLAY)
            try:
                return tv, await requester.async_http_request(request)
            except UpnpConnectionError as err:
                return tv, err
    finally:
        await gate.close()


async def test_a_dropped_control_connection_is_tried_once_more() -> None:
    tv, answer = await ask(drops=1)
    assert tv.requests == 2
    assert getattr(answer, "status_code", None) == 200
    assert "PlayResponse" in getattr(answer, "body", "")


async def test_a_tv_that_keeps_dropping_is_an_error_after_two_tries() -> None:
    tv, answer = await ask(drops=5)
    assert tv.requests == 2
    assert isinstance(answer, UpnpConnectionError) and "disconnected" in str(answer).lower()
