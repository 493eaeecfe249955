"""py-sonic (signed with an app password) drives browsing, scrobble and setRating against a real
server: a scrobble lands in Hearth's history (so "recent" and "frequent" list the album), a
rating makes "highest", 0 removes it; a read-only device key may not scrobble."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from libsonic import errors

from tests.conftest import RunningServer, StartServer
from tests.plugins.subsonic.test_auth import app_password, client, device_key
from tests.plugins.subsonic.test_media import NS, music_server, rest


async def sonic(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return await asyncio.get_running_loop().run_in_executor(None, lambda: func(*args, **kwargs))


async def history_count(server: RunningServer) -> int:
    count: int = await server.hub.catalog.read(
        lambda db: db.execute("SELECT count(*) FROM history").fetchone()[0]
    )
    return count


async def test_py_sonic_browses_scrobbles_and_rates(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = await music_server(start_server, tmp_path / "media")
    _, secret = await app_password(server)
    conn = client(server, secret)
    artists = (await sonic(conn.getArtists))["artists"]
    assert artists["ignoredArticles"] == "The El La Los Las Le Les"
    names = [a["name"] for i in artists["index"] for a in i["artist"]]
    assert names == ["Miles Davis", "Various Artists"]
    found = (await sonic(conn.search3, "kind"))["searchResult3"]
    album_id = found["album"][0]["id"]
    album = (await sonic(conn.getAlbum, album_id))["album"]
    assert [s["title"] for s in album["song"]] == ["So What", "Freddie Freeloader", "Bonus"]
    assert (await sonic(conn.getGenres))["genres"]["genre"][0]["value"] == "Jazz"

    assert not (await sonic(conn.getAlbumList2, "recent"))["albumList2"].get("album")
    await sonic(conn.scrobble, album["song"][0]["id"], submission=False)
    assert await history_count(server) == 0  # "now playing" stores nothing
    await sonic(conn.scrobble, album["song"][0]["id"])
    assert await history_count(server) == 1
    recent = (await sonic(conn.getAlbumList2, "recent"))["albumList2"]["album"]
    assert [a["name"] for a in recent] == ["Kind of Blue"]
    frequent = (await sonic(conn.getAlbumList2, "frequent"))["albumList2"]["album"]
    assert [a["name"] for a in frequent] == ["Kind of Blue"]

    await sonic(conn.setRating, album_id, 4)
    stored = await server.hub.catalog.read(
        lambda db: db.execute("SELECT rating FROM ratings").fetchall()
    )
    assert [tuple(r) for r in stored] == [(8,)]
    highest = (await sonic(conn.getAlbumList2, "highest"))["albumList2"]["album"]
    assert [a["name"] for a in highest] == ["Kind of Blue"]
    await sonic(conn.setRating, album_id, 0)
    assert not (await sonic(conn.getAlbumList2, "highest"))["albumList2"].get("album")
    with pytest.raises(errors.DataNotFoundError):
        await sonic(conn.scrobble, "no-such-song")


async def test_a_read_only_key_may_not_scrobble_or_rate(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = await music_server(start_server, tmp_path / "media")
    _, key = await device_key(server, scope="read")
    song = next((await rest(server, key, "getRandomSongs")).iter(NS + "song")).get("id", "")
    for method, extra in [("scrobble", {}), ("setRating", {"rating": "3"})]:
        answer = await rest(server, key, method, id=song, **extra)
        assert answer.get("status") == "failed"
        assert answer.find(NS + "error").get("code") == "50"  # type: ignore[union-attr]
    assert await history_count(server) == 0
