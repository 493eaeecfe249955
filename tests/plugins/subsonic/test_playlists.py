"""Playlists through py-sonic are the web app's playlists: made, listed, changed and deleted by
an app, seen in /api/playlists; a film the web app put in one is kept (and not shown) when
the app edits it; another person's playlist is not found (70)."""

from __future__ import annotations

from pathlib import Path

import pytest
from libsonic import errors

from core.people.accounts import create_session_blocking, create_user_blocking
from tests.conftest import PASSWORD, StartServer
from tests.core.scan.test_scanner import items
from tests.plugins.subsonic.test_annotation import sonic
from tests.plugins.subsonic.test_auth import app_password, client
from tests.plugins.subsonic.test_media import NS, music_server, rest


async def test_playlists_are_the_web_apps(start_server: StartServer, tmp_path: Path) -> None:
    server = await music_server(start_server, tmp_path / "media")
    _, secret = await app_password(server)
    conn = client(server, secret)
    songs = (await sonic(conn.search3, "kind"))["searchResult3"]["song"]
    ids = [s["id"] for s in songs]
    titles = {s["id"]: s["title"] for s in songs}
    made = (await sonic(conn.createPlaylist, name="Evening", songIds=ids[:2]))["playlist"]
    assert made["name"] == "Evening" and made["songCount"] == 2 and made["owner"] == "owner"
    assert [e["id"] for e in made["entry"]] == ids[:2]

    web = await server.get_json(f"/api/playlists/{made['id']}")
    assert [i["id"] for i in web["items"]] == ids[:2]  # type: ignore[index]
    film = (await items(server, kind="movie"))[0]["id"]
    url = f"{server.url}/api/playlists/{made['id']}/items"
    async with server.session.put(url, json={"items": [*ids[:2], film]}) as reply:
        assert reply.status == 200, await reply.text()

    shown = (await sonic(conn.getPlaylist, made["id"]))["playlist"]
    assert [e["id"] for e in shown["entry"]] == ids[:2]  # the film is not a song
    await sonic(
        conn.updatePlaylist,
        made["id"],
        name="Night",
        songIdsToAdd=[ids[2]],
        songIndexesToRemove=[0],
    )
    web = await server.get_json(f"/api/playlists/{made['id']}")
    assert web["name"] == "Night"
    assert [i["id"] for i in web["items"]] == [ids[1], film, ids[2]]  # type: ignore[index]
    listed = (await sonic(conn.getPlaylists))["playlists"]["playlist"]
    assert [(p["name"], p["songCount"]) for p in listed] == [("Night", 2)]
    assert [
        titles[e["id"]] for e in (await sonic(conn.getPlaylist, made["id"]))["playlist"]["entry"]
    ] == [
        titles[ids[1]],
        titles[ids[2]],
    ]

    def other(db: object) -> str:
        user = create_user_blocking(db, "guest", "member", PASSWORD, None, None)  # type: ignore[arg-type]
        return create_session_blocking(db, user, "api_key", "phone", None, None).token  # type: ignore[arg-type]

    key = await server.hub.catalog.write(other)
    for method in ("getPlaylist", "deletePlaylist"):
        answer = await rest(server, key, method, id=made["id"])
        assert answer.find(NS + "error").get("code") == "70"  # type: ignore[union-attr]
    assert (await rest(server, key, "getPlaylists")).find(NS + "playlists") is not None
    await sonic(conn.deletePlaylist, made["id"])
    assert (await server.get_json("/api/playlists"))["playlists"] == []
    with pytest.raises(errors.DataNotFoundError):
        await sonic(conn.getPlaylist, made["id"])
    with pytest.raises(errors.DataNotFoundError):
        await sonic(conn.createPlaylist, name="Bad", songIds=["no-such-song"])
    assert (await server.get_json("/api/playlists"))["playlists"] == []
