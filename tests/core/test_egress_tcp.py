"""A plugin's own TCP link through the egress gate (the relay's SSH): checked like a request,
connected only to the checked address, and in the ledger when it opens and, with its bytes each
way, when it closes. A manifest listing `*` reaches only the hosts the owner enabled.

"The relay" is an echo server on 127.0.0.1 that the resolver calls `relay.test`; refused
destinations are never contacted (an audit hook records every socket connect)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from core.catalog import Catalog
from core.egress import EgressFailed, EgressGate, EgressRefused
from core.egress_ledger import ledger_rows_blocking
from core.manifest import Manifest, NetworkScope
from tests.core.socket_audit import recording

RELAY = Manifest(
    "relay", "Relay", "1", "relay", (), (), NetworkScope("internet", ("*",), "the owner's relay")
)


async def to_loopback(host: str, port: int) -> list[str]:
    return ["127.0.0.1"]


class Collect(asyncio.Protocol):
    """What came back, and when the connection ended."""

    def __init__(self) -> None:
        self.data = b""
        self.enough = asyncio.Event()
        self.closed = asyncio.Event()

    def data_received(self, data: bytes) -> None:
        self.data += data
        if len(self.data) >= 50:
            self.enough.set()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed.set()


@pytest.fixture
async def echo() -> AsyncIterator[int]:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(1024):
            writer.write(data)
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()


async def rows_of(gate: EgressGate, catalog: Catalog) -> list[dict[str, Any]]:
    await gate.close()  # writes the pending rows
    rows = await catalog.read(ledger_rows_blocking)
    return list(reversed(rows))


@pytest.fixture
async def catalog(tmp_path: Path) -> AsyncIterator[Catalog]:
    opened = await Catalog.open(tmp_path)
    yield opened
    await opened.close()


async def test_a_link_to_the_enabled_relay_is_ledgered_with_its_bytes(
    echo: int, catalog: Catalog
) -> None:
    gate = EgressGate({"relay": ("relay.test",)}, resolver=to_loopback)
    gate.open(catalog, {"relay": RELAY})
    http = gate.for_plugin(RELAY)
    assert http.enabled_hosts() == ("relay.test",)
    with recording() as events:
        transport, protocol = await http.connect("relay.test", echo, Collect, purpose="the link")
    assert [e.address for e in events if e.event == "socket.connect"] == [("127.0.0.1", echo)]
    transport.write(b"hello" * 10)
    await protocol.enough.wait()
    assert protocol.data == b"hello" * 10
    transport.close()
    await protocol.closed.wait()
    rows = await rows_of(gate, catalog)
    seen = [(r["plugin"], r["host"], r["purpose"], r["allowed"]) for r in rows]
    assert seen == [("relay", "relay.test", "the link", True)] * 2
    assert (rows[0]["bytes_in"], rows[0]["bytes_out"]) == (0, 0)
    assert rows[0]["detail"] == f"TCP 127.0.0.1:{echo} connected"
    assert (rows[1]["bytes_in"], rows[1]["bytes_out"]) == (50, 50)
    assert rows[1]["detail"].startswith(f"TCP 127.0.0.1:{echo} closed after ")


async def test_a_host_the_owner_did_not_enable_is_refused_before_any_socket(
    echo: int, catalog: Catalog
) -> None:
    gate = EgressGate({"relay": ("relay.test",)}, resolver=to_loopback)
    gate.open(catalog, {"relay": RELAY})
    http = gate.for_plugin(RELAY)
    with recording() as events:
        with pytest.raises(EgressRefused) as refused:
            await http.connect("other.test", echo, Collect, purpose="the link")
        with pytest.raises(EgressRefused, match="must say its purpose"):
            await http.connect("relay.test", echo, Collect, purpose=" ")
    assert str(refused.value) == "other.test is not enabled by the owner (hearth: egress: relay)"
    assert not [e for e in events if e.event == "socket.connect"]
    rows = await rows_of(gate, catalog)
    assert [(r["host"], r["allowed"]) for r in rows] == [
        ("other.test", False),
        ("relay.test", False),
    ]


async def test_a_relay_that_does_not_answer_is_a_failure_in_the_ledger(catalog: Catalog) -> None:
    gate = EgressGate({"relay": ("relay.test",)}, resolver=to_loopback)
    gate.open(catalog, {"relay": RELAY})
    with pytest.raises(EgressFailed, match=r"^cannot connect to relay\.test:9: "):
        await gate.for_plugin(RELAY).connect("relay.test", 9, Collect, purpose="the link")
    [row] = await rows_of(gate, catalog)
    assert row["allowed"] and row["detail"].startswith("failed: cannot connect to relay.test:9")


async def test_a_star_manifest_reaches_only_what_the_owner_lists_and_is_not_warned_about(
    caplog: pytest.LogCaptureFixture, catalog: Catalog
) -> None:
    scoped = Manifest("hermit", "Hermit", "1", "metadata", (), (), NetworkScope("none", (), ""))
    gate = EgressGate({"relay": ("relay.test",)}, resolver=to_loopback)
    with caplog.at_level(logging.WARNING, "hearth.egress"):
        gate.open(catalog, {"relay": RELAY, "hermit": scoped})
    assert caplog.records == []
    assert EgressGate({}, to_loopback).for_plugin(RELAY).enabled_hosts() == ()
    with pytest.raises(EgressRefused, match="declares network scope 'none'"):
        await gate.for_plugin(scoped).connect("relay.test", 9, Collect, purpose="x")
    await gate.close()
