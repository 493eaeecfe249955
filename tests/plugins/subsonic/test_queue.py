"""The play queue through py-sonic: saved with its current song and position, read back in
order with which app saved it, replaced, cleared; an unknown song saves nothing (70)."""

from __future__ import annotations

from pathlib import Path

import pytest
from libsonic import errors

from tests.conftest import StartServer
from tests.plugins.subsonic.test_annotation import sonic
from tests.plugins.subsonic.test_auth import app_password, client
from tests.plugins.subsonic.test_media import music_server


async def test_play_queue_is_saved_and_restored(start_server: StartServer, tmp_path: Path) -> None:
    server = await music_server(start_server, tmp_path / "media")
    _, secret = await app_password(server)
    conn = client(server, secret)
    songs = [s["id"] for s in (await sonic(conn.search3, "kind"))["searchResult3"]["song"]]
    assert "playQueue" not in await sonic(conn.getPlayQueue)
    await sonic(conn.savePlayQueue, [songs[2], songs[0]], current=songs[0], position=61_000)
    queue = (await sonic(conn.getPlayQueue))["playQueue"]
    assert [e["id"] for e in queue["entry"]] == [songs[2], songs[0]]
    assert (queue["current"], queue["position"], queue["username"]) == (songs[0], 61_000, "owner")
    assert queue["changedBy"] == "py-sonic"
    with pytest.raises(errors.DataNotFoundError):
        await sonic(conn.savePlayQueue, [songs[1], "no-such-song"])
    kept = (await sonic(conn.getPlayQueue))["playQueue"]
    assert [e["id"] for e in kept["entry"]] == [songs[2], songs[0]]
    await sonic(conn.savePlayQueue, [songs[1]])
    queue = (await sonic(conn.getPlayQueue))["playQueue"]
    assert [e["id"] for e in queue["entry"]] == [songs[1]] and "current" not in queue
