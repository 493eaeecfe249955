"""The privacy report: owners only; plugins' declared reach, the ledger, and counts per person,
the same in `GET /api/privacy` and `hearth privacy report`."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from core.cli import main
from core.configuration import load_configuration
from core.hub import Hub
from core.privacy import stored_counts_blocking
from tests.conftest import StartServer, core_yaml, make_user, write_config
from tests.core.scan.library import build_library, library_yaml
from tests.core.scan.test_scanner import items, settle

PLUGINS = ("courier", "hermit", "neighbour")


async def status_of(server: Any, path: str, token: str) -> int:
    async with server.session.get(
        server.url + path, headers={"Authorization": f"Bearer {token}"}
    ) as reply:
        return int(reply.status)


async def test_only_an_owner_sees_the_report(start_server: StartServer) -> None:
    server = await start_server()
    admin = await make_user(server.hub, "ada", "admin")
    member = await make_user(server.hub, "mia", "member")
    assert await status_of(server, "/api/privacy", admin) == 403
    assert await status_of(server, "/api/privacy", member) == 403
    async with server.session.get(server.url + "/api/privacy", headers={"Authorization": ""}) as r:
        assert r.status == 401
    await server.get_json("/api/privacy")


async def test_report_shows_declared_reach_and_what_is_stored_per_person(
    start_server: StartServer, tmp_path: Path
) -> None:
    build_library(tmp_path / "media")
    server = await start_server(
        "  egress:\n    courier: [localhost]\n"
        + "courier:\nhermit:\nneighbour:\n"
        + library_yaml(tmp_path / "media"),
        plugins=PLUGINS,
    )
    await settle(server)
    member = await make_user(server.hub, "mia", "member")
    movie = (await items(server, kind="movie"))[0]
    async with server.session.put(
        f"{server.url}/api/items/{movie['id']}/progress",
        json={"position": 95, "duration": 100},
        headers={"Authorization": f"Bearer {member}"},
    ) as reply:
        assert (await reply.json())["watched"] is True
    report = await server.get_json("/api/privacy")
    plugins = {p["domain"]: p for p in report["plugins"]}  # type: ignore[attr-defined]
    assert plugins["courier"] == {
        "domain": "courier",
        "name": "Courier test plugin",
        "kind": "metadata",
        "scope": "internet",
        "hosts": ["localhost", "elsewhere.invalid"],
        "reason": plugins["courier"]["reason"],
        "enabled_hosts": ["localhost"],
        "ignored_hosts": [],
    }
    assert plugins["courier"]["reason"].startswith("Stands in")
    assert plugins["hermit"]["scope"] == "none" and plugins["neighbour"]["scope"] == "lan"
    assert plugins["folders"]["scope"] == "none"
    assert report["egress"] == {"courier": ["localhost"]}
    assert report["ledger"] == {"total": 0, "entries": []}
    people = {p["username"]: p for p in report["people"]}  # type: ignore[attr-defined]
    assert people["mia"]["stored"] == {"history": 1, "progress": 1, "sessions": 1}
    assert people["owner"]["stored"] == {"sessions": 1}
    assert "Pilot" not in json.dumps(report) and movie["title"] not in json.dumps(report)


async def test_counts_follow_the_schema_including_rows_reached_through_a_parent(
    start_server: StartServer, tmp_path: Path
) -> None:
    build_library(tmp_path / "media")
    server = await start_server(library_yaml(tmp_path / "media"))
    await settle(server)
    await make_user(server.hub, "mia", "member")

    def fill(db: Any) -> None:
        user = db.execute("SELECT id FROM users WHERE username = 'mia'").fetchone()[0]
        pks = [r[0] for r in db.execute("SELECT pk FROM items WHERE file_id IS NOT NULL LIMIT 3")]
        db.execute(
            "INSERT INTO playlists (public_id, user_id, name, created_at) VALUES "
            "('p1', ?, 'Road trip', '2024-01-01T00:00:00Z')",
            [user],
        )
        for position, pk in enumerate(pks):
            db.execute(
                "INSERT INTO playlist_items (playlist_id, position, item_pk) "
                "SELECT id, ?, ? FROM playlists WHERE public_id = 'p1'",
                [position, pk],
            )

    await server.hub.catalog.write(fill)
    counts = await server.hub.catalog.read(stored_counts_blocking)
    mia = await server.hub.catalog.read(
        lambda db: db.execute("SELECT id FROM users WHERE username = 'mia'").fetchone()[0]
    )
    assert counts[mia] == {"sessions": 1, "playlists": 1, "playlist_items": 3}


def test_command_prints_the_report_as_text_and_as_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = write_config(
        tmp_path / "config",
        core_yaml(tmp_path / "data", "  egress:\n    courier: [localhost]\ncourier:\nhermit:\n"),
        ("courier", "hermit"),
    )

    async def prepare() -> None:
        hub = Hub(load_configuration(folder), live=False)
        await hub.start()
        try:
            await make_user(hub, "mia", "member")
            hub.egress.ledger.record("courier", "localhost", "look up a film", True, 120, 0, "ok")
            hub.egress.ledger.record("hermit", "example.org", "sneak out", False, detail="no")
        finally:
            await hub.stop()

    asyncio.run(prepare())
    assert main(["privacy", "report", "-c", str(folder)]) == 0
    text = capsys.readouterr().out
    assert "courier          internet  Stands in" in text
    assert "localhost (enabled)" in text and "elsewhere.invalid (not enabled)" in text
    assert "Outbound attempts (2 newest of 2):" in text
    assert "hermit         REFUSED  example.org" in text
    assert "mia (member): sessions 1" in text
    assert main(["privacy", "report", "--json", "--limit", "1", "-c", str(folder)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ledger"]["total"] == 2
    assert [e["plugin"] for e in report["ledger"]["entries"]] == ["hermit"]
