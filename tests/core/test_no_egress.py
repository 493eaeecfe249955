"""The promise: with the shipped configuration nothing leaves this box.

A real server starts from config/configuration.yaml, changed only where the test machine needs
it (loopback, a free port, a temporary data folder and library), scans, is browsed, streams a
file and records progress, while an audit hook watches every socket of the process. Every
connection and datagram must go to loopback; multicast only as mDNS (224.0.0.251:5353, only
when mDNS is on) and as SSDP (239.255.255.250:1900, the DLNA server telling TVs it is there),
both sent from the loopback interface. The egress ledger stays empty and the
egress gate never even makes a client session.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from core.cli import main
from core.configuration import load_configuration
from core.hub import Hub
from tests.conftest import make_user
from tests.core.scan.library import build_library
from tests.core.socket_audit import SocketEvent, is_loopback, is_multicast, recording

SHIPPED = Path(__file__).parents[2] / "config" / "configuration.yaml"
MDNS_GROUP = ("224.0.0.251", 5353)
SSDP_GROUP = ("239.255.255.250", 1900)


def adapted_default_config(tmp_path: Path, media: Path, mdns: bool) -> Path:
    """The shipped configuration with only what the machine rules require changed."""
    data: dict[str, Any] = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
    hearth = data["hearth"]
    hearth["data_dir"] = str(tmp_path / "data")
    hearth["http"] = {**hearth.get("http", {}), "host": "127.0.0.1", "port": 0, "https_port": 0}
    hearth["network"] = {**hearth.get("network", {}), "interfaces": ["127.0.0.1"], "mdns": mdns}
    assert "egress" not in hearth, "the shipped configuration must enable no internet host"
    for library in data["folders"]["libraries"]:
        (path,) = library["paths"]
        library["paths"] = [str(media / Path(path).name)]
    folder = tmp_path / "config"
    folder.mkdir()
    (folder / "configuration.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    return folder


def strays(events: list[SocketEvent], mdns: bool) -> list[SocketEvent]:
    """Events that went (or looked up) anywhere but this box."""
    bad = []
    for event in events:
        if event.event.startswith("socket.get"):
            if not is_loopback(event.address):
                bad.append(event)
        elif is_multicast(event.address):
            group = tuple(event.address[:2])
            allowed = (
                event.event != "socket.connect"
                and ((mdns and group == MDNS_GROUP) or group == SSDP_GROUP)
                and event.multicast_if == "127.0.0.1"
            )
            if not allowed:
                bad.append(event)
        elif not is_loopback(event.address):
            bad.append(event)
    return bad


async def use_the_server(hub: Hub, token: str) -> None:
    """Scan, browse, stream and watch, as a household would in its first minutes."""
    await hub.bus.drain()
    await hub.scans.wait_idle()
    base = f"http://127.0.0.1:{hub.port}"
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(headers=headers) as client:
        async with client.get(f"{base}/api/libraries") as reply:
            libraries = (await reply.json())["libraries"]
        assert {lib["name"] for lib in libraries} >= {"Movies", "TV", "Music"}
        async with client.get(f"{base}/api/items?kind=movie") as reply:
            movies = (await reply.json())["items"]
        assert movies
        movie = movies[0]
        async with client.get(f"{base}/api/items/{movie['id']}") as reply:
            assert reply.status == 200
        async with client.get(f"{base}/api/items?q=office") as reply:
            assert (await reply.json())["items"]
        async with client.get(f"{base}/api/items/{movie['id']}/stream") as reply:
            assert reply.status == 200
            assert len(await reply.read()) > 1000
        progress = {"position": 40.0, "duration": 100.0}
        async with client.put(f"{base}/api/items/{movie['id']}/progress", json=progress) as reply:
            assert (await reply.json())["stored"] is True
        async with client.get(f"{base}/api/me/continue") as reply:
            assert [i["id"] for i in (await reply.json())["items"]] == [movie["id"]]
        async with client.get(f"{base}/api/privacy") as reply:
            report = await reply.json()
    assert report["ledger"] == {"total": 0, "entries": []}
    assert report["egress"] == {}
    assert {p["scope"] for p in report["plugins"]} <= {"none", "lan"}


async def wait_for_announcement(events: list[SocketEvent], seconds: float = 8.0) -> None:
    """Until mDNS has sent (SSDP may come first: any multicast is not enough)."""
    for _ in range(int(seconds / 0.05)):
        if any(is_multicast(e.address) and tuple(e.address[:2]) == MDNS_GROUP for e in events):
            return
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("mdns", [True, False], ids=["mdns-on", "mdns-off"])
async def test_shipped_configuration_sends_nothing_beyond_loopback(
    tmp_path: Path, mdns: bool
) -> None:
    build_library(tmp_path / "media")
    folder = adapted_default_config(tmp_path, tmp_path / "media", mdns)
    with recording() as events:
        hub = Hub(load_configuration(folder))
        try:
            await hub.start()
            token = await make_user(hub, "owner", "owner")
            await use_the_server(hub, token)
            if mdns:
                await wait_for_announcement(events)
            assert not hub.egress.session_opened
        finally:
            await hub.stop()
    assert events, "the audit hook saw nothing: it is not installed"
    assert any(e.event == "socket.connect" for e in events)  # the test's own HTTP client
    assert strays(events, mdns) == []
    multicast = [e for e in events if is_multicast(e.address)]
    sent = {(tuple(e.address[:2]), e.multicast_if) for e in multicast}
    assert sent <= {(MDNS_GROUP, "127.0.0.1"), (SSDP_GROUP, "127.0.0.1")}
    assert ((MDNS_GROUP, "127.0.0.1") in sent) == mdns, "mDNS announces exactly when it is on"
    with sqlite3.connect(tmp_path / "data" / "catalog.db") as db:
        assert db.execute("SELECT count(*) FROM egress_ledger").fetchone() == (0,)


def test_privacy_report_of_the_shipped_configuration_says_nothing_left(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = adapted_default_config(tmp_path, tmp_path / "media", mdns=False)
    assert main(["privacy", "report", "-c", str(folder)]) == 0
    text = capsys.readouterr().out
    assert "none: nothing has left this box" in text
    assert "folders" in text and "internet" not in text
