"""A whole box backed up with `hearth backup create` while its server runs, its data folder and
media disk replaced (a new SD card, the media copied to a new disk), brought back with
`hearth backup restore` into a fresh configuration folder, and served again after a rescan:
every person, session, device key, app password, position, viewing, playlist, star and play
queue is back, pointing at the same items, and nothing readable leaked into the file."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp

from core.backup.contents import people_tables
from core.configuration import load_configuration
from core.hub import Hub
from core.people.accounts import create_session_blocking
from core.people.app_passwords import create_blocking as create_app_password
from core.people.app_passwords import purpose
from core.people.watch import stamp
from core.relay_identity import identity_blocking
from core.secret_box import SecretBox
from tests.conftest import StartServer, make_user, seed_measurements, write_config
from tests.core.people.household import call, item_by_title, user_id
from tests.core.scan.library import build_library, library_yaml
from tests.core.scan.test_scanner import settle

HEARTH = [sys.executable, "-m", "core"]
PASSPHRASE = "correct horse battery staple"
CONFIG_SECRET = "s3cret-relay-token-4711"


def hearth(*args: str, passphrase: str = PASSPHRASE) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*HEARTH, *args, "--passphrase-stdin"],
        input=passphrase + "\n",
        capture_output=True,
        text=True,
        timeout=120,
    )


def rows(catalog: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every people table, sorted, plus the ids of the items they point at."""
    conn = sqlite3.connect(catalog)
    try:
        found = {
            table: sorted(tuple(r) for r in conn.execute(f'SELECT * FROM "{table}"'))
            for table in people_tables(conn)
        }
        for table in ("progress", "history", "stars", "playlist_items", "play_queue_items"):
            found[f"{table} items"] = sorted(
                tuple(r)
                for r in conn.execute(
                    f"SELECT t.user_id, items.id FROM {table} t JOIN items ON items.pk = t.item_pk"
                    if table != "playlist_items"
                    else "SELECT t.playlist_id, items.id FROM playlist_items t "
                    "JOIN items ON items.pk = t.item_pk"
                )
            )
        return found
    finally:
        conn.close()


async def people_of_a_household(server: Any) -> dict[str, str]:
    """Two people with sessions, a device key, an app password, progress, history, a playlist,
    stars and a play queue; answers the tokens and secrets a leak would show."""
    hub = server.hub
    alice = await make_user(hub, "alice-wonderland", "member")
    alice_id = await user_id(server, "alice-wonderland")
    alien = await item_by_title(server, "Alien")
    blade = await item_by_title(server, "Blade Runner")
    status, _ = await call(
        server, "PUT", f"/api/items/{blade['id']}/progress", alice, json={"position": 0.98}
    )  # finished: a viewing in her history
    assert status == 200

    def more(db: Any) -> dict[str, str]:
        device = create_session_blocking(db, alice_id, "api_key", "Living room TV", "kodi", None)
        app = create_app_password(db, hub.auth_api.secret_box, alice_id, "Symfonium")
        pk = {
            title: db.execute("SELECT pk FROM items WHERE id = ?", [item["id"]]).fetchone()[0]
            for title, item in (("Alien", alien), ("Blade Runner", blade))
        }
        db.execute(
            "INSERT INTO playlists (public_id, user_id, name, created_at) "
            "VALUES ('pl1', ?, 'Sci-fi night', '2026-01-01T00:00:00Z')",
            [alice_id],
        )
        for position, title in enumerate(("Blade Runner", "Alien")):
            db.execute(
                "INSERT INTO playlist_items (playlist_id, position, item_pk) "
                "SELECT id, ?, ? FROM playlists WHERE public_id = 'pl1'",
                [position, pk[title]],
            )
        db.execute(  # half-way through Alien (the API stores moves of 5 s; it lasts 2)
            "INSERT INTO progress (user_id, item_pk, position, duration, watched, updated_at) "
            "VALUES (?, ?, 1.25, 2.0, 0, ?)",
            [alice_id, pk["Alien"], stamp()],
        )
        db.execute(
            "INSERT INTO stars (user_id, item_pk, starred_at) VALUES (?, ?, '2026-01-02')",
            [alice_id, pk["Alien"]],
        )
        db.execute(
            "INSERT INTO play_queues (user_id, current_pk, position, changed_at, changed_by) "
            "VALUES (?, ?, 12.5, '2026-01-03', 'Symfonium')",
            [alice_id, pk["Alien"]],
        )
        db.execute(
            "INSERT INTO play_queue_items (user_id, position, item_pk) VALUES (?, 0, ?)",
            [alice_id, pk["Alien"]],
        )
        return {"device": device.token, "app": app.secret}

    return {"alice": alice, **await hub.catalog.write(more)}


async def test_a_restored_box_brings_everyone_back_after_a_rescan(
    start_server: StartServer, tmp_path: Path, measured: Path
) -> None:
    media, data, backups = tmp_path / "media", tmp_path / "data", tmp_path / "backups"
    build_library(media)
    backups.mkdir()
    config = tmp_path / "config"
    config.mkdir()
    (config / "secrets.yaml").write_text(
        f"backup_passphrase: {PASSPHRASE}\nrelay_token: {CONFIG_SECRET}\n"
    )
    server = await start_server(
        f"  backup: {{path: {backups}, passphrase: !secret backup_passphrase}}\n"
        + library_yaml(media),
        folder=config,
    )
    await settle(server)
    secrets = await people_of_a_household(server)
    await asyncio.to_thread(identity_blocking, data)  # the relay's SSH key
    assert (data / "tls" / "key.pem").is_file() and (data / "secret.key").is_file()

    made = await asyncio.to_thread(
        hearth, "backup", "create", str(backups / "box.backup"), "-c", str(config)
    )  # a separate process, while the server runs and holds the catalog open
    assert made.returncode == 0, made.stderr
    assert "2 people" in made.stdout
    sealed = (backups / "box.backup").read_bytes()
    for plain in (*secrets.values(), "alice-wonderland", CONFIG_SECRET, "SQLite format"):
        assert plain.encode() not in sealed, plain

    before = await asyncio.to_thread(rows, data / "catalog.db")
    keys = {p: (data / p).read_bytes() for p in ("secret.key", "tls/key.pem", "ssh/id_ed25519")}
    await server.hub.stop()
    data.rename(tmp_path / "old-card")  # a new SD card: no data folder at all
    media.rename(tmp_path / "old-disk")
    shutil.copytree(tmp_path / "old-disk", media)  # a new disk: same paths, new inodes
    fresh = write_config(tmp_path / "fresh-config", f"hearth:\n  data_dir: {data}\n")

    restored = await asyncio.to_thread(
        hearth, "backup", "restore", str(backups / "box.backup"), "-c", str(fresh)
    )
    assert restored.returncode == 0, restored.stderr
    assert "Restored 2 people" in restored.stdout
    assert (fresh / "configuration.yaml.before-restore").read_text().startswith("hearth:\n  data")
    assert CONFIG_SECRET in (fresh / "secrets.yaml").read_text()
    assert {p: (data / p).read_bytes() for p in keys} == keys

    await serve_and_check(fresh, data, measured, before, secrets)


async def progress_as(port: int, token: str, item_id: str) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as client,
        client.get(f"http://127.0.0.1:{port}/api/me/progress?ids={item_id}") as reply,
    ):
        assert reply.status == 200, await reply.text()
        found: dict[str, Any] = (await reply.json())["progress"]
        return found


async def serve_and_check(
    config: Path,
    data: Path,
    measured: Path,
    before: dict[str, list[tuple[Any, ...]]],
    secrets: dict[str, str],
) -> None:
    """Start the restored box, let it rescan, and find everything as it was."""
    seed_measurements(measured, data)
    hub = Hub(load_configuration(config))
    await hub.start()
    try:
        await hub.bus.drain()
        await hub.scans.wait_idle()
        after = await asyncio.to_thread(rows, data / "catalog.db")
        assert after == before
        assert after["progress items"] and after["history items"]  # not vacuously equal
        alien_id = next(i for _, i in after["stars items"])
        progress = await progress_as(hub.port, secrets["alice"], alien_id)
        assert progress[alien_id]["position"] == 1.25
        await progress_as(hub.port, secrets["device"], alien_id)  # the TV's key signs in
        conn = sqlite3.connect(data / "catalog.db")
        sealed, owner = conn.execute("SELECT sealed, user_id FROM app_passwords").fetchone()
        conn.close()
        opened = SecretBox(data).open_blocking(sealed, purpose(owner))
        assert opened == secrets["app"]  # the restored box key opens the restored catalog
    finally:
        await hub.stop()
