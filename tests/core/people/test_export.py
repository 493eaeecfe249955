"""A person's data rights: export everything stored about them, and delete all of it.

`someone_with_everything` gives one account a row in every table that references people; the
deletion test then looks through every table of the schema for any column still holding their
id, so a table added later without ON DELETE CASCADE fails it.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from core.cli import main
from core.configuration import load_configuration
from core.hub import Hub
from core.people.credentials import token_hash
from core.people.export import COVERED
from core.privacy import user_tables_blocking
from tests.conftest import PASSWORD, RunningServer, StartServer, core_yaml, make_user, write_config
from tests.core.scan.library import build_library, library_yaml
from tests.core.scan.test_scanner import items, library_ids, settle

USER_COLUMNS = ("user_id", "created_by", "used_by", "owner_id", "by_user")


@pytest.fixture
async def server(start_server: StartServer, tmp_path: Path) -> RunningServer:
    build_library(tmp_path / "media")
    running = await start_server(library_yaml(tmp_path / "media"))
    await settle(running)
    return running


async def call(
    server: RunningServer, method: str, path: str, token: str, body: Any = None, status: int = 200
) -> Any:
    headers = {"Authorization": f"Bearer {token}"}
    async with server.session.request(
        method, server.url + path, json=body, headers=headers
    ) as reply:
        assert reply.status == status, await reply.text()
        return await reply.json()


async def someone_with_everything(server: RunningServer) -> tuple[int, str, dict[str, str]]:
    """An admin 'ada' with rows in every table about people; (id, token, secrets made)."""
    libraries = await library_ids(server)
    token = await make_user(server.hub, "ada", "admin", [libraries["Movies"], libraries["TV"]])
    movies = {i["title"]: i["id"] for i in await items(server, kind="movie")}
    await call(
        server,
        "PUT",
        f"/api/items/{movies['Alien']}/progress",
        token,
        {"position": 30, "duration": 100},
    )
    await call(
        server,
        "PUT",
        f"/api/items/{movies['Blade Runner']}/progress",
        token,
        {"position": 95, "duration": 100},
    )
    key = await call(server, "POST", "/api/auth/keys", token, {"name": "Living room TV"}, 201)
    invite = await call(server, "POST", "/api/invites", token, {"note": "for Bob"}, 201)
    app = await call(server, "POST", "/api/me/app-passwords", token, {"name": "DSub"}, 201)

    def fill(db: Any) -> int:
        user = int(db.execute("SELECT id FROM users WHERE username = 'ada'").fetchone()[0])
        pks = [r[0] for r in db.execute("SELECT pk FROM items WHERE kind = 'movie' ORDER BY pk")]
        db.execute(
            "INSERT INTO ratings (user_id, item_pk, rating) VALUES (?, ?, 9)", [user, pks[0]]
        )
        db.execute(
            "INSERT INTO playlists (public_id, user_id, name, created_at) "
            "VALUES ('pl-ada', ?, 'Sci-fi night', '2024-01-01T00:00:00Z')",
            [user],
        )
        for position, pk in enumerate(pks):
            db.execute(
                "INSERT INTO playlist_items (playlist_id, position, item_pk) "
                "SELECT id, ?, ? FROM playlists WHERE public_id = 'pl-ada'",
                [position, pk],
            )
        db.execute(
            "INSERT INTO recovery_codes (user_id, code_hash) VALUES (?, ?)",
            [user, token_hash("abcd-efgh")],
        )
        db.execute(  # what music apps keep: a star and a saved play queue
            "INSERT INTO stars (user_id, item_pk, starred_at) VALUES (?, ?, "
            "'2024-01-03T00:00:00Z')",
            [user, pks[0]],
        )
        db.execute(
            "INSERT INTO play_queues (user_id, current_pk, position, changed_at, changed_by) "
            "VALUES (?, ?, 12.5, '2024-01-03T00:00:00Z', 'DSub')",
            [user, pks[0]],
        )
        db.execute(
            "INSERT INTO play_queue_items (user_id, position, item_pk) VALUES (?, 0, ?)",
            [user, pks[0]],
        )
        db.execute(  # a film kept for offline viewing on her TV (its device key)
            "INSERT INTO downloads (public_id, user_id, session_id, item_pk, item_id, quality, "
            "created_at) SELECT 'dl-ada', ?, ?, pk, id, '720p', '2024-01-03T00:00:00Z' "
            "FROM items WHERE pk = ?",
            [user, key["id"], pks[0]],
        )
        db.execute(  # the invite that brought ada in, made by the owner
            "INSERT INTO invites (code_hash, created_by, role, created_at, expires_at, used_at, "
            "used_by) VALUES ('h', (SELECT id FROM users WHERE username = 'owner'), 'member', "
            "'2024-01-01T00:00:00Z', '2024-01-08T00:00:00Z', '2024-01-02T00:00:00Z', ?)",
            [user],
        )
        db.execute("UPDATE users SET totp_secret = 'JBSWY3DPEHPK3PXP' WHERE id = ?", [user])
        return user

    user_id = await server.hub.catalog.write(fill)
    made = {"key": key["key"], "invite": invite["code"], "token": token}
    return user_id, token, made | {"app_password": app["password"]}


def user_columns(db: sqlite3.Connection) -> list[tuple[str, str]]:
    """Every (table, column) that could hold a person's id: foreign keys to users, and columns
    whose names say so."""
    found: set[tuple[str, str]] = set()
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    for table in tables:
        if table.startswith("sqlite_") or table.endswith(("_data", "_idx", "_content")):
            continue
        for key in db.execute(f"PRAGMA foreign_key_list('{table}')"):
            if key[2] == "users":
                found.add((table, key[3]))
        for column in db.execute(f"PRAGMA table_info('{table}')"):
            if column[1] in USER_COLUMNS:
                found.add((table, column[1]))
    found.add(("users", "id"))
    return sorted(found)


async def test_export_holds_everything_about_the_person_and_no_secret(
    server: RunningServer,
) -> None:
    user_id, token, secrets = await someone_with_everything(server)
    async with server.session.get(
        server.url + "/api/me/export", headers={"Authorization": f"Bearer {token}"}
    ) as reply:
        assert reply.status == 200
        assert reply.headers["Content-Disposition"] == (
            'attachment; filename="hearth-export-ada.json"'
        )
        text = await reply.text()
    document = json.loads(text)
    assert document["format"] == "hearth-export/1"
    assert set(COVERED.values()) <= set(document)
    assert document["profile"]["username"] == "ada" and document["profile"]["id"] == user_id
    assert {g["name"] for g in document["grants"]} == {"Movies", "TV"}
    assert {s["kind"] for s in document["sessions"]} == {"session", "api_key"}
    assert document["recovery_codes"] == {"count": 1, "used": 0}
    assert {p["item"]["title"]: p["watched"] for p in document["progress"]} == {
        "Alien": False,
        "Blade Runner": True,
    }
    assert [h["item"]["title"] for h in document["history"]] == ["Blade Runner"]
    assert document["ratings"][0]["rating"] == 9
    assert [(d["quality"], d["device"]) for d in document["downloads"]] == [
        ("720p", "Living room TV")
    ]
    (playlist,) = document["playlists"]
    assert playlist["name"] == "Sci-fi night" and len(playlist["items"]) == 2
    assert [i["note"] for i in document["invites_created"]] == ["for Bob"]
    assert document["invited_by"]["created_by"] == "owner"
    for secret in (*secrets.values(), token_hash(secrets["token"]), "JBSWY3DPEHPK3PXP", "$argon2"):
        assert secret not in text
    assert token_hash("abcd-efgh") not in text


async def test_every_table_about_people_has_an_export_section(server: RunningServer) -> None:
    tables = await server.hub.catalog.read(user_tables_blocking)
    direct = {(t.table, t.column) for t in tables if t.parent is None}
    assert direct <= set(COVERED), f"not exported: {sorted(direct - set(COVERED))}"


async def test_deleting_your_account_leaves_no_row_about_you(server: RunningServer) -> None:
    user_id, token, secrets = await someone_with_everything(server)
    db_path = server.hub.config.hearth.data_dir / "catalog.db"
    with sqlite3.connect(db_path) as db:
        playlists = [
            r[0] for r in db.execute("SELECT id FROM playlists WHERE user_id = ?", [user_id])
        ]
        before = {
            (t, c): db.execute(f"SELECT count(*) FROM {t} WHERE {c} = ?", [user_id]).fetchone()[0]
            for t, c in user_columns(db)
        }
    assert all(before[k] for k in COVERED), before  # the fixture really filled every table
    await call(server, "DELETE", "/api/me", token, {"password": "wrong password"}, 401)
    assert await call(server, "DELETE", "/api/me", token, {"password": PASSWORD}) == {
        "deleted": user_id
    }
    for presented in (token, secrets["key"]):
        await call(server, "GET", "/api/auth/me", presented, status=401)
    with sqlite3.connect(db_path) as db:
        left = {
            (t, c): db.execute(f"SELECT count(*) FROM {t} WHERE {c} = ?", [user_id]).fetchone()[0]
            for t, c in user_columns(db)
        }
        marks = ",".join("?" * len(playlists))
        orphans = db.execute(
            f"SELECT count(*) FROM playlist_items WHERE playlist_id IN ({marks})", playlists
        ).fetchone()[0]
    assert {k: v for k, v in left.items() if v} == {}
    assert orphans == 0


async def test_the_last_owner_cannot_delete_themselves_and_a_kid_profile_asks_a_parent(
    server: RunningServer,
) -> None:
    owner = server.session.headers["Authorization"].removeprefix("Bearer ")
    refused = await call(server, "DELETE", "/api/me", owner, {"password": PASSWORD}, 409)
    assert "last owner" in refused["error"]["message"]
    kid = await make_user(server.hub, "kid", "managed")
    await call(server, "DELETE", "/api/me", kid, {"password": PASSWORD}, 403)
    second = await make_user(server.hub, "second", "owner")
    await call(server, "DELETE", "/api/me", second, {"password": PASSWORD})
    await call(server, "GET", "/api/auth/me", owner)


def test_user_export_command_prints_the_same_document(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = write_config(tmp_path / "config", core_yaml(tmp_path / "data"))

    async def prepare() -> None:
        hub = Hub(load_configuration(folder), live=False)
        await hub.start()
        try:
            await make_user(hub, "mia", "member")
        finally:
            await hub.stop()

    asyncio.run(prepare())
    assert main(["user", "export", "mia", "-c", str(folder)]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["profile"]["username"] == "mia"
    assert len(document["sessions"]) == 1 and "token_hash" not in document["sessions"][0]
    assert main(["user", "export", "nobody", "-c", str(folder)]) == 1
    assert "no user called 'nobody'" in capsys.readouterr().err
