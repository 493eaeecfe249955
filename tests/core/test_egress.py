"""The egress gate: what each network scope lets a plugin reach, and the ledger of every attempt.

"The internet" is an aiohttp server on 127.0.0.1 reached by the name `localhost`, which the
`courier` test plugin lists in its manifest. Destinations that must be refused are never
contacted: an audit hook proves no socket went to them. No name is ever looked up outside.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from core.egress import EgressFailed, EgressGate, EgressRefused, PluginEgress, is_local_address
from core.manifest import Manifest, NetworkScope
from tests.conftest import RunningServer, StartServer
from tests.core.socket_audit import recording

PLUGINS = ("courier", "hermit", "neighbour")
PLUGIN_YAML = "courier:\nhermit:\nneighbour:\n"


@dataclass
class Outside:
    """The stand-in for the internet, and what reached it."""

    port: int
    hits: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
async def outside() -> AsyncIterator[Outside]:
    app = web.Application()
    runner = web.AppRunner(app)
    state = Outside(0)

    async def hello(request: web.Request) -> web.Response:
        state.hits.append({"host": request.host, "query": dict(request.query)})
        return web.json_response({"hello": "from outside", "pad": "x" * 100})

    async def moved(request: web.Request) -> web.Response:
        state.hits.append({"host": request.host, "path": request.path})
        raise web.HTTPFound("http://elsewhere.invalid/")

    async def echo(request: web.Request) -> web.Response:
        body = await request.read()
        state.hits.append({"host": request.host, "body": body})
        return web.Response(body=body)

    app.router.add_get("/hello", hello)
    app.router.add_get("/moved", moved)
    app.router.add_post("/echo", echo)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    state.port = runner.addresses[0][1]
    yield state
    await runner.cleanup()


def http_of(server: RunningServer, domain: str) -> PluginEgress:
    context = server.hub.records[domain].context
    assert context is not None
    http: PluginEgress = context.http
    return http


async def ledger(server: RunningServer) -> list[dict[str, Any]]:
    report = await server.get_json("/api/privacy")
    return report["ledger"]["entries"]  # type: ignore[index, no-any-return]


async def test_enabled_internet_host_is_reached_and_logged_without_its_query(
    start_server: StartServer, outside: Outside
) -> None:
    server = await start_server(
        "  egress:\n    courier: [localhost]\n" + PLUGIN_YAML, plugins=PLUGINS
    )
    http = http_of(server, "courier")
    url = f"http://localhost:{outside.port}/hello"
    reply = await http.get(url, purpose="look up a film", params={"q": "secret title"})
    assert reply.status == 200 and reply.json()["hello"] == "from outside"
    assert outside.hits == [{"host": f"localhost:{outside.port}", "query": {"q": "secret title"}}]
    (row,) = await ledger(server)
    assert row["plugin"] == "courier" and row["host"] == "localhost"
    assert row["allowed"] is True and row["purpose"] == "look up a film"
    # the query and headers went out, the status line and headers came in (exact counts below)
    assert row["bytes_in"] > len(reply.body) and row["bytes_out"] > len("q=secret+title")
    assert row["detail"] == "GET -> 200 via 127.0.0.1"
    report = await server.get_json("/api/privacy")
    assert report["egress"] == {"courier": ["localhost"]}
    assert "secret" not in str(report)
    assert server.hub.egress.session_opened


async def test_ledger_rows_reach_the_catalog_by_themselves_within_a_second(
    start_server: StartServer, outside: Outside
) -> None:
    server = await start_server(
        "  egress:\n    courier: [localhost]\n" + PLUGIN_YAML, plugins=PLUGINS
    )
    http = http_of(server, "courier")
    body = b"0123456789" * 10
    for _ in range(3):
        reply = await http.post(
            f"http://localhost:{outside.port}/echo", purpose="upload", data=body
        )
        assert reply.body == body
    count = 0
    for _ in range(60):
        count = await server.hub.catalog.read(
            lambda db: db.execute("SELECT count(*) FROM egress_ledger").fetchone()[0]
        )
        if count == 3:
            break
        await asyncio.sleep(0.05)
    assert count == 3
    rows = await ledger(server)
    (counts,) = {(r["bytes_in"], r["bytes_out"]) for r in rows}
    assert counts[0] > 100 and counts[1] > 100  # the bodies and the heads


async def test_the_ledger_counts_every_byte_of_http_that_crossed_the_wire(
    start_server: StartServer,
) -> None:
    """A plain socket for the internet counts what really arrived and what it answered: a
    GET has no body, yet its request line, query and headers leave the home."""
    arrived: list[bytes] = []
    answer = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"

    async def internet(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            (
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ),
            0,
        )
        arrived.append(head + await reader.readexactly(length))
        writer.write(answer)
        await writer.drain()
        writer.close()

    listener = await asyncio.start_server(internet, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    try:
        server = await start_server(
            "  egress:\n    courier: [localhost]\n" + PLUGIN_YAML, plugins=PLUGINS
        )
        http = http_of(server, "courier")
        got = await http.get(
            f"http://localhost:{port}/find", purpose="look up", params={"q": "a title"}
        )
        posted = await http.post(f"http://localhost:{port}/send", purpose="send", data=b"x" * 321)
    finally:
        listener.close()
        await listener.wait_closed()
    assert got.body == posted.body == b"hello"
    rows = sorted(await ledger(server), key=lambda r: r["purpose"])
    assert [r["purpose"] for r in rows] == ["look up", "send"]
    assert [(r["bytes_in"], r["bytes_out"]) for r in rows] == [
        (len(answer), len(arrived[0])),
        (len(answer), len(arrived[1])),
    ]


async def test_listed_host_not_enabled_by_the_owner_is_refused_and_logged(
    start_server: StartServer, outside: Outside
) -> None:
    server = await start_server(PLUGIN_YAML, plugins=PLUGINS)
    with recording() as events, pytest.raises(EgressRefused, match="not enabled by the owner"):
        await http_of(server, "courier").get(
            f"http://localhost:{outside.port}/hello", purpose="look up a film"
        )
    assert outside.hits == []
    assert not [e for e in events if e.event == "socket.connect" and e.address[1] == outside.port]
    (row,) = await ledger(server)
    assert row["allowed"] is False and row["host"] == "localhost"
    assert "not enabled by the owner" in row["detail"]
    assert not server.hub.egress.session_opened


async def test_unlisted_host_scope_none_and_missing_purpose_are_refused(
    start_server: StartServer, outside: Outside
) -> None:
    server = await start_server(
        "  egress:\n    courier: [localhost]\n" + PLUGIN_YAML, plugins=PLUGINS
    )
    courier, hermit = http_of(server, "courier"), http_of(server, "hermit")
    with pytest.raises(EgressRefused, match="not listed in the courier manifest"):
        await courier.get(f"http://127.0.0.1:{outside.port}/hello", purpose="by address")
    with pytest.raises(EgressRefused, match="declares network scope 'none'"):
        await hermit.get(f"http://localhost:{outside.port}/hello", purpose="sneak out")
    with pytest.raises(EgressRefused, match="purpose"):
        await courier.get(f"http://localhost:{outside.port}/hello", purpose=" ")
    with pytest.raises(EgressRefused, match="http"):
        await courier.get("ftp://localhost/file", purpose="old school")
    assert outside.hits == []
    rows = await ledger(server)
    assert [(r["plugin"], r["allowed"]) for r in rows] == [
        ("courier", False),
        ("courier", False),
        ("hermit", False),
        ("courier", False),
    ]


async def test_lan_scope_reaches_loopback_but_never_a_public_address(
    start_server: StartServer, outside: Outside
) -> None:
    server = await start_server(PLUGIN_YAML, plugins=PLUGINS)
    neighbour = http_of(server, "neighbour")
    reply = await neighbour.get(f"http://127.0.0.1:{outside.port}/hello", purpose="a player")
    assert reply.status == 200
    with recording() as events:
        for address in ("8.8.8.8", "[2001:4860:4860::8888]", "[::ffff:8.8.8.8]", "100.64.0.1"):
            with pytest.raises(EgressRefused, match="outside the home network"):
                await neighbour.get(f"http://{address}/", purpose="phone home")
    assert [e for e in events if e.event in ("socket.connect", "socket.getaddrinfo")] == []
    rows = await ledger(server)
    assert [r["allowed"] for r in rows] == [False, False, False, False, True]


async def test_redirects_are_returned_not_followed(
    start_server: StartServer, outside: Outside
) -> None:
    server = await start_server(
        "  egress:\n    courier: [localhost, elsewhere.invalid]\n" + PLUGIN_YAML, plugins=PLUGINS
    )
    reply = await http_of(server, "courier").get(
        f"http://localhost:{outside.port}/moved", purpose="follow me"
    )
    assert reply.status == 302 and reply.headers["Location"] == "http://elsewhere.invalid/"
    assert len(outside.hits) == 1


async def test_consent_that_cannot_take_effect_is_warned_about_at_start(
    start_server: StartServer, caplog: pytest.LogCaptureFixture
) -> None:
    await start_server(
        "  egress:\n    courier: [localhost, api.example.org]\n    hermit: [localhost]\n"
        "    nosuch: [localhost]\n" + PLUGIN_YAML,
        plugins=PLUGINS,
    )
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert (
        "hearth: egress: courier does not list api.example.org in its manifest; it stays "
        "refused" in warnings
    )
    assert "hearth: egress: hermit has network scope 'none'; enabled hosts do not apply" in warnings
    assert "hearth: egress: 'nosuch' is not a configured plugin" in warnings


def manifest(scope: str, hosts: tuple[str, ...] = ()) -> Manifest:
    return Manifest("probe", "Probe", "1", "metadata", (), (), NetworkScope(scope, hosts, "test"))


async def test_a_name_is_resolved_once_and_the_checked_address_is_what_gets_connected(
    outside: Outside,
) -> None:
    """DNS rebinding: a second lookup would answer a public address; there is none."""
    answers = [["127.0.0.1"], ["93.184.216.34"]]
    asked: list[str] = []

    async def rebinding(host: str, port: int) -> list[str]:
        asked.append(host)
        return answers[min(len(asked) - 1, 1)]

    gate = EgressGate({}, resolver=rebinding)
    try:
        http = gate.for_plugin(manifest("lan"))
        with recording() as events:
            reply = await http.get(f"http://media-box.home:{outside.port}/hello", purpose="x")
        assert reply.status == 200 and asked == ["media-box.home"]
        connects = [e.address for e in events if e.event == "socket.connect"]
        assert connects == [("127.0.0.1", outside.port)]
        assert outside.hits[0]["host"] == f"media-box.home:{outside.port}"
        with pytest.raises(EgressRefused, match=r"93\.184\.216\.34"):
            await http.get(f"http://media-box.home:{outside.port}/hello", purpose="x")
    finally:
        await gate.close()


async def test_every_address_of_a_name_must_be_local(outside: Outside) -> None:
    async def mixed(host: str, port: int) -> list[str]:
        return ["192.168.1.20", "93.184.216.34"]

    async def gone(host: str, port: int) -> list[str]:
        raise OSError("no such name")

    mixing, failing = EgressGate({}, resolver=mixed), EgressGate({}, resolver=gone)
    try:
        with pytest.raises(EgressRefused, match=r"93\.184\.216\.34"):
            await mixing.for_plugin(manifest("lan")).get("http://printer.home/", purpose="x")
        with pytest.raises(EgressFailed, match="cannot resolve"):
            await failing.for_plugin(manifest("lan")).get("http://printer.home/", purpose="x")
        assert not mixing.session_opened and not failing.session_opened
    finally:
        await mixing.close()
        await failing.close()


@pytest.mark.parametrize(
    ("address", "local"),
    [
        ("127.0.0.1", True),
        ("10.1.2.3", True),
        ("172.16.0.1", True),
        ("192.168.1.1", True),
        ("169.254.1.1", True),
        ("::1", True),
        ("fe80::1", True),
        ("fd00::1", True),
        ("::ffff:192.168.1.1", True),
        ("::ffff:8.8.8.8", False),
        ("8.8.8.8", False),
        ("100.64.0.1", False),
        ("224.0.0.251", False),
        ("0.0.0.0", False),
        ("2001:4860:4860::8888", False),
        ("not an address", False),
    ],
)
def test_which_addresses_are_the_home_network(address: str, local: bool) -> None:
    assert is_local_address(address) is local
