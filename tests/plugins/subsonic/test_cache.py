"""Answers kept per catalog version: the artist list, the index, the newest albums and a search
change as soon as a scan changes the library, and a kept album list or search carries each
person's own stars and ratings, never the first asker's."""

from __future__ import annotations

from pathlib import Path

import libsonic

from core.media.tags import AudioTags
from tests.conftest import StartServer, make_user
from tests.core.media.mediagen import make_audio
from tests.core.scan.test_scanner import settle
from tests.plugins.subsonic.test_annotation import sonic
from tests.plugins.subsonic.test_auth import app_password, client
from tests.plugins.subsonic.test_media import music_server
from tests.plugins.subsonic.test_sweep import listed


async def test_kept_answers_follow_the_catalog_and_the_person(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = await music_server(start_server, tmp_path / "media")
    _, secret = await app_password(server)
    conn = client(server, secret)

    async def artists() -> list[str]:
        found = (await sonic(conn.getArtists))["artists"]
        return [a["name"] for i in listed(found, "index") for a in listed(i, "artist")]

    async def indexed() -> list[str]:
        found = (await sonic(conn.getIndexes))["indexes"]
        return [a["name"] for i in listed(found, "index") for a in listed(i, "artist")]

    async def newest(who: libsonic.Connection) -> list[dict[str, object]]:
        return listed((await sonic(who.getAlbumList2, "newest"))["albumList2"], "album")

    assert await artists() == await indexed() == ["Miles Davis", "Various Artists"]
    albums = await newest(conn)
    assert {a["name"] for a in albums} == {"Kind of Blue", "Now 1"}

    assert not listed((await sonic(conn.search3, "take"))["searchResult3"], "song")
    tags = AudioTags(title="Take Five", artists=("Dave Brubeck",), album="Time Out", date="1959")
    song = tmp_path / "media" / "Music" / "Dave Brubeck" / "Time Out (1959)" / "01 - Take Five.mp3"
    song.parent.mkdir(parents=True)
    make_audio(song, 1.0, tags=tags)
    await sonic(conn.startScan)
    await settle(server)
    assert await artists() == await indexed() == ["Dave Brubeck", "Miles Davis", "Various Artists"]
    assert next(a["name"] for a in await newest(conn)) == "Time Out"
    found = listed((await sonic(conn.search3, "take"))["searchResult3"], "song")
    assert [s["title"] for s in found] == ["Take Five"]

    kind_of_blue = next(a for a in albums if a["name"] == "Kind of Blue")
    await sonic(conn.star, albumIds=[kind_of_blue["id"]])
    await sonic(conn.setRating, kind_of_blue["id"], 3)
    mine = next(a for a in await newest(conn) if a["id"] == kind_of_blue["id"])
    assert str(mine["starred"]).endswith("Z") and mine["userRating"] == 3
    searched = listed((await sonic(conn.search3, "kind"))["searchResult3"], "album")
    assert searched[0]["userRating"] == 3  # a kept search carries today's stars and ratings

    token = await make_user(server.hub, "guest", "member")
    async with server.session.post(
        server.url + "/api/me/app-passwords",
        json={"name": "Tempo"},
        headers={"Authorization": f"Bearer {token}"},
    ) as response:
        guest_secret = (await response.json())["password"]
    guest = libsonic.Connection("http://127.0.0.1", "guest", guest_secret, port=server.hub.port)
    theirs = next(a for a in await newest(guest) if a["id"] == kind_of_blue["id"])
    assert "starred" not in theirs and "userRating" not in theirs
    searched = listed((await sonic(guest.search3, "kind"))["searchResult3"], "album")
    assert "userRating" not in searched[0]
