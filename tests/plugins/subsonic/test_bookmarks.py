"""Bookmarks are Hearth's resume positions: a bookmark made by py-sonic is the web app's
progress for that song, listed back in milliseconds, and deleted; a hidden song is 70."""

from __future__ import annotations

from pathlib import Path

import pytest
from libsonic import errors

from tests.conftest import StartServer
from tests.plugins.subsonic.test_annotation import sonic
from tests.plugins.subsonic.test_auth import app_password, client
from tests.plugins.subsonic.test_media import music_server


async def test_bookmarks_are_resume_positions(start_server: StartServer, tmp_path: Path) -> None:
    server = await music_server(start_server, tmp_path / "media")
    _, secret = await app_password(server)
    conn = client(server, secret)
    song = (await sonic(conn.search3, "what"))["searchResult3"]["song"][0]
    assert not (await sonic(conn.getBookmarks))["bookmarks"].get("bookmark")
    await sonic(conn.createBookmark, song["id"], 500)
    stored = await server.hub.catalog.read(
        lambda db: db.execute("SELECT position, watched FROM progress").fetchall()
    )
    assert [tuple(r) for r in stored] == [(0.5, 0)]
    marks = (await sonic(conn.getBookmarks))["bookmarks"]["bookmark"]
    marks = marks if isinstance(marks, list) else [marks]
    assert [(m["position"], m["entry"]["id"]) for m in marks] == [(500, song["id"])]
    await sonic(conn.deleteBookmark, song["id"])
    assert not (await sonic(conn.getBookmarks))["bookmarks"].get("bookmark")
    with pytest.raises(errors.DataNotFoundError):
        await sonic(conn.createBookmark, "no-such-song", 10)
