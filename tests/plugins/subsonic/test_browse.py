"""The browsing endpoints' blocking functions over a real scanned library, with principals
built directly: the artist index (ignored articles), an artist, an album over two discs, a
compilation under Various Artists, a song's file facts, directories; a member without the
music library sees nothing and gets error 70 for ids that exist."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from core.people.access import EVERYTHING, Principal
from plugins.subsonic import browse
from plugins.subsonic.responses import NOT_FOUND, SubsonicError
from tests.conftest import RunningServer, StartServer
from tests.core.scan.library import build_library, library_yaml
from tests.core.scan.test_scanner import library_ids, settle

PROVIDERS = "filename:\nembedded:\nlocal_artwork:\n"


async def scanned(start_server: StartServer, base: Path) -> RunningServer:
    build_library(base)
    server = await start_server(library_yaml(base) + PROVIDERS)
    await settle(server)
    return server


async def call(
    server: RunningServer, func: browse.BlockingEndpoint, principal: Principal, **params: str
) -> dict[str, Any]:
    return await server.hub.catalog.read(lambda db: func(db, principal, params))


def test_index_letters_skip_ignored_articles() -> None:
    assert browse.index_name("The Beatles") == "B"
    assert browse.index_name("Los Lobos") == "L"
    assert browse.index_name("Theory") == "T"
    assert browse.index_name("2Pac") == "#"
    assert browse.sort_name("The Beatles") == "beatles"


async def test_browse_music_from_artists_to_songs(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = await scanned(start_server, tmp_path / "media")
    ids = await library_ids(server)
    folders = await call(server, browse.music_folders_blocking, EVERYTHING)
    assert folders == {"musicFolders": {"musicFolder": [{"id": ids["Music"], "name": "Music"}]}}

    artists = (await call(server, browse.artists_blocking, EVERYTHING))["artists"]
    assert artists["ignoredArticles"] == "The El La Los Las Le Les"
    letters = {i["name"]: [a["name"] for a in i["artist"]] for i in artists["index"]}
    assert letters == {"M": ["Miles Davis"], "V": ["Various Artists"]}
    by_name = {a["name"]: a for i in artists["index"] for a in i["artist"]}
    assert by_name["Miles Davis"]["albumCount"] == 1
    indexes = (await call(server, browse.indexes_blocking, EVERYTHING))["indexes"]
    assert [i["name"] for i in indexes["index"]] == ["M", "V"]
    assert indexes["lastModified"] > 0

    miles = (
        await call(server, browse.artist_blocking, EVERYTHING, id=by_name["Miles Davis"]["id"])
    )["artist"]
    assert [a["name"] for a in miles["album"]] == ["Kind of Blue"]
    album = (await call(server, browse.album_blocking, EVERYTHING, id=miles["album"][0]["id"]))[
        "album"
    ]
    assert album["artist"] == "Miles Davis" and album["year"] == 1959
    assert album["songCount"] == 3 and album["genre"] == "Jazz"
    assert [(s["discNumber"], s["track"], s["title"]) for s in album["song"]] == [
        (1, 1, "So What"),
        (1, 2, "Freddie Freeloader"),
        (2, 1, "Bonus"),
    ]
    so_what = album["song"][0]
    file = tmp_path / "media" / "Music" / "Miles Davis" / "Kind of Blue (1959)" / "01 - So What.mp3"
    assert so_what["size"] == os.path.getsize(file)
    assert so_what["suffix"] == "mp3" and so_what["contentType"] == "audio/mpeg"
    assert so_what["duration"] == 1 and so_what["albumId"] == album["id"]
    assert so_what["artistId"] == miles["id"] and so_what["isDir"] is False
    song = (await call(server, browse.song_blocking, EVERYTHING, id=so_what["id"]))["song"]
    assert song == so_what

    various = (
        await call(server, browse.artist_blocking, EVERYTHING, id=by_name["Various Artists"]["id"])
    )["artist"]
    now = (await call(server, browse.album_blocking, EVERYTHING, id=various["album"][0]["id"]))[
        "album"
    ]
    assert now["name"] == "Now 1"
    assert [(s["title"], s["artist"]) for s in now["song"]] == [("Hit", "Someone")]

    top = await call(server, browse.directory_blocking, EVERYTHING, id=str(ids["Music"]))
    assert [c["title"] for c in top["directory"]["child"]] == ["Miles Davis", "Various Artists"]
    of_artist = await call(server, browse.directory_blocking, EVERYTHING, id=miles["id"])
    assert [c["title"] for c in of_artist["directory"]["child"]] == ["Kind of Blue"]
    of_album = await call(server, browse.directory_blocking, EVERYTHING, id=album["id"])
    assert [c["title"] for c in of_album["directory"]["child"]] == [
        "So What",
        "Freddie Freeloader",
        "Bonus",
    ]
    assert of_album["directory"]["parent"] == miles["id"]


async def test_member_without_music_sees_nothing(start_server: StartServer, tmp_path: Path) -> None:
    server = await scanned(start_server, tmp_path / "media")
    ids = await library_ids(server)
    member = Principal(7, "kid", "member", libraries=frozenset({ids["Movies"]}))
    assert await call(server, browse.music_folders_blocking, member) == {
        "musicFolders": {"musicFolder": []}
    }
    assert (await call(server, browse.artists_blocking, member))["artists"]["index"] == []
    assert (await call(server, browse.indexes_blocking, member))["indexes"]["index"] == []
    artists = (await call(server, browse.artists_blocking, EVERYTHING))["artists"]["index"]
    artist_id = artists[0]["artist"][0]["id"]
    album = (await call(server, browse.artist_blocking, EVERYTHING, id=artist_id))["artist"]
    album_id = album["album"][0]["id"]
    songs = (await call(server, browse.album_blocking, EVERYTHING, id=album_id))["album"]["song"]
    for func, item_id in [
        (browse.artist_blocking, artist_id),
        (browse.album_blocking, album_id),
        (browse.song_blocking, songs[0]["id"]),
        (browse.directory_blocking, album_id),
        (browse.directory_blocking, str(ids["Music"])),
    ]:
        with pytest.raises(SubsonicError) as caught:
            await call(server, func, member, id=item_id)
        assert caught.value.code == NOT_FOUND
