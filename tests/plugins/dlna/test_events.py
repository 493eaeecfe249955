"""GENA eventing: the real async_upnp_client event handler (what Home Assistant subscribes with)
subscribes to ContentDirectory, gets the initial event and a new SystemUpdateID when a library
changes, renews and unsubscribes; subscriptions that would send events elsewhere, malformed
requests, floods, moderation, SEQ and unreachable subscribers."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from async_upnp_client.aiohttp import AiohttpNotifyServer, AiohttpRequester
from async_upnp_client.client import UpnpService, UpnpStateVariable
from async_upnp_client.client_factory import UpnpFactory
from yarl import URL

from core.events import LibraryChanged
from plugins.dlna import events
from plugins.dlna.events import Eventing, parse_callbacks, parse_timeout
from tests.conftest import RunningServer, StartServer

CD = "urn:schemas-upnp-org:service:ContentDirectory:1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def gena(server: RunningServer, method: str, **headers: str) -> tuple[int, Mapping[str, str]]:
    async with server.session.request(
        method, f"{server.url}/dlna/event/ContentDirectory", headers=headers
    ) as response:
        return response.status, response.headers


async def test_a_subscriber_hears_the_library_change(start_server: StartServer) -> None:
    server = await start_server("dlna: {ssdp: false}\n")
    requester = AiohttpRequester(timeout=10)
    device = await UpnpFactory(requester).async_create_device(f"{server.url}/dlna/description.xml")
    notify = AiohttpNotifyServer(requester, ("127.0.0.1", free_port()))
    await notify.async_start_server()
    heard: asyncio.Queue[dict[str, str]] = asyncio.Queue()

    def on_event(service: UpnpService, changed: Any) -> None:
        variables: list[UpnpStateVariable[Any]] = list(changed)
        heard.put_nowait({v.name: str(v.value) for v in variables})

    service = device.service(CD)
    service.on_event = on_event
    try:
        sid, granted = await notify.event_handler.async_subscribe(service, timedelta(seconds=600))
        assert sid.startswith("uuid:") and granted == timedelta(seconds=600)
        first = await asyncio.wait_for(heard.get(), 10)  # the initial event, SEQ 0
        before = int(first["SystemUpdateID"])
        server.hub.bus.publish(LibraryChanged(1))
        await server.hub.bus.drain()
        changed = await asyncio.wait_for(heard.get(), 10)
        assert int(changed["SystemUpdateID"]) == before + 1
        renewed, _ = await notify.event_handler.async_resubscribe(service)
        assert renewed == sid
        await notify.event_handler.async_unsubscribe(service)
        status, _ = await gena(server, "UNSUBSCRIBE", SID=sid)
        assert status == 412  # already gone
    finally:
        await notify.async_stop_server()


async def test_subscriptions_go_only_to_the_subscriber_and_are_bounded(
    start_server: StartServer,
) -> None:
    server = await start_server("dlna: {ssdp: false}\n")
    port = free_port()
    ok = {"NT": "upnp:event", "CALLBACK": f"<http://127.0.0.1:{port}/e>"}
    for callback in (
        "<http://198.18.0.9/e>",  # another device
        f"<https://127.0.0.1:{port}/e>",
        "<http://localhost/e>",  # a name, not the subscriber's address
        "http://127.0.0.1/e",  # no angle brackets
        "<http://127.0.0.1/1><http://127.0.0.1/2><http://127.0.0.1/3><http://127.0.0.1/4>",
    ):
        status, _ = await gena(server, "SUBSCRIBE", NT="upnp:event", CALLBACK=callback)
        assert status == 412, callback
    assert (await gena(server, "SUBSCRIBE", CALLBACK=ok["CALLBACK"]))[0] == 412  # no NT
    assert (await gena(server, "SUBSCRIBE", SID="uuid:nope"))[0] == 412
    assert (await gena(server, "SUBSCRIBE", SID="uuid:nope", **ok))[0] == 400
    assert (await gena(server, "UNSUBSCRIBE"))[0] == 412
    status, headers = await gena(server, "SUBSCRIBE", TIMEOUT="Second-5", **ok)
    assert status == 200 and headers["TIMEOUT"] == f"Second-{events.MIN_TIMEOUT}"
    for _ in range(events.PER_ADDRESS - 1):
        assert (await gena(server, "SUBSCRIBE", **ok))[0] == 200
    assert (await gena(server, "SUBSCRIBE", **ok))[0] == 503  # one address cannot flood
    async with server.session.request(
        "SUBSCRIBE", f"{server.url}/dlna/event/ContentDirectory", headers={**ok, "Host": "tv.evil"}
    ) as response:
        assert response.status == 403  # DNS rebinding


def test_callbacks_and_timeouts_are_parsed_strictly() -> None:
    assert parse_callbacks("<http://10.0.0.5:9/a>", "10.0.0.5") == (URL("http://10.0.0.5:9/a"),)
    assert parse_callbacks("<http://10.0.0.5/a>", "::ffff:10.0.0.5") is not None
    assert parse_callbacks("<http://user@10.0.0.5/a>", "10.0.0.5") is None
    assert parse_callbacks("<http://10.0.0.5/a> junk", "10.0.0.5") is None
    assert parse_timeout(None) == events.MAX_TIMEOUT
    assert parse_timeout("Second-infinite") == events.MAX_TIMEOUT
    assert parse_timeout("Second-900") == 900
    assert parse_timeout("Second-99999999999") == events.MAX_TIMEOUT
    assert parse_timeout("Minute-3") == events.MAX_TIMEOUT


async def test_events_are_moderated_sequenced_and_unreachable_subscribers_dropped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(events, "MODERATION", 0.2)
    sent: list[tuple[str, str, bytes]] = []
    answer = {"status": 200}

    async def send(url: URL, headers: Mapping[str, str], body: bytes) -> int:
        sent.append((str(url), headers["SEQ"], body))
        if answer["status"] == 0:
            raise OSError("unreachable")
        return answer["status"]

    value = {"n": 7}
    tasks: set[asyncio.Task[None]] = set()

    def spawn(coro: Any, name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    eventing = Eventing(lambda short: [("SystemUpdateID", str(value["n"]))], send, spawn)

    async def handle(request: web.Request) -> web.StreamResponse:
        return await eventing.subscribe(request, "ContentDirectory")

    app = web.Application()
    app.router.add_route("SUBSCRIBE", "/e", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        async with aiohttp.ClientSession() as session:
            callback = "<http://127.0.0.1:9/first><http://127.0.0.1:9/second>"
            async with session.request(
                "SUBSCRIBE",
                f"http://127.0.0.1:{port}/e",
                headers={"NT": "upnp:event", "CALLBACK": callback},
            ) as response:
                assert response.status == 200
        while tasks:
            await asyncio.gather(*tasks)
        assert [(u, s) for u, s, _ in sent] == [("http://127.0.0.1:9/first", "0")]
        assert b"<SystemUpdateID>7</SystemUpdateID>" in sent[0][2]

        for n in (8, 9, 10):  # three changes in a burst: one event, with the latest value
            value["n"] = n
            eventing.changed("ContentDirectory")
        while tasks:
            await asyncio.gather(*tasks)
        assert len(sent) == 2 and sent[1][1] == "1" and b">10<" in sent[1][2]

        answer["status"] = 500  # the first callback fails: the second is tried
        eventing.changed("ContentDirectory")
        while tasks:
            await asyncio.gather(*tasks)
        assert [u for u, _, _ in sent[2:]] == [
            "http://127.0.0.1:9/first",
            "http://127.0.0.1:9/second",
        ]
        answer["status"] = 0
        for _ in range(events.FAILURES_TO_DROP):
            eventing.changed("ContentDirectory")
            while tasks:
                await asyncio.gather(*tasks)
        assert eventing.subscriptions == {}  # missed three events in a row: forgotten
    finally:
        await runner.cleanup()
