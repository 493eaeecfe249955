"""The ground-truth sweep: every endpoint issue 16 lists, driven through py-sonic (signed with an
app password, token auth) or, where py-sonic has no method (OpenSubsonic's), raw HTTP with an
`apiKey`, against a real server with the generated library (album artists, a compilation, two
discs, an `.lrc` sidecar and embedded lyrics, a cover), each answer checked against the
catalog's own rows and the files on disk, never only against "status ok".

This is the one place that lists them all (`ISSUE_ENDPOINTS`); each test records what it drove
and says which endpoints it covers, and a plain test checks that together they are the
issue's list and that the plugin serves each. Behaviour in depth (errors, scopes, revocation,
transcoding, playlists with films) stays in the per-module tests beside this one.
"""

from __future__ import annotations

import asyncio
import io
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import libsonic
from mutagen.id3 import ID3, SYLT, USLT
from PIL import Image

from core.people.accounts import create_session_blocking, create_user_blocking
from plugins.subsonic import ENDPOINT_MODULES
from plugins.subsonic.browse import index_name
from plugins.subsonic.routes import Endpoints
from tests.conftest import PASSWORD, RunningServer, StartServer
from tests.core.media.mediagen import make_photo
from tests.core.scan.library import Truth, build_library, library_yaml
from tests.core.scan.test_scanner import settle
from tests.plugins.subsonic.test_auth import app_password, device_key
from tests.plugins.subsonic.test_media import KIND_OF_BLUE

BROWSING = {
    "ping",
    "getLicense",
    "getMusicFolders",
    "getIndexes",
    "getArtists",
    "getArtist",
    "getAlbum",
    "getSong",
    "getMusicDirectory",
    "getAlbumList",
    "getAlbumList2",
    "getRandomSongs",
    "getGenres",
    "getSongsByGenre",
    "search2",
    "search3",
    "getUser",
    "getScanStatus",
    "startScan",
    "getOpenSubsonicExtensions",
}
PERSONAL = {
    "getStarred",
    "getStarred2",
    "star",
    "unstar",
    "setRating",
    "scrobble",
    "getNowPlaying",
    "getPlaylists",
    "getPlaylist",
    "createPlaylist",
    "updatePlaylist",
    "deletePlaylist",
    "getPlayQueue",
    "savePlayQueue",
    "getBookmarks",
    "createBookmark",
    "deleteBookmark",
}
MEDIA = {"getCoverArt", "getLyrics", "getLyricsBySongId", "stream", "download", "tokenInfo"}
ISSUE_ENDPOINTS = BROWSING | PERSONAL | MEDIA
ALBUM_TYPES = (
    "random",
    "newest",
    "highest",
    "frequent",
    "recent",
    "alphabeticalByName",
    "alphabeticalByArtist",
    "starred",
    "byYear",
    "byGenre",
)
LRC = "[offset:+250]\n[00:01.50]second\n[00:00.20][00:03.00]first and last\n"


@dataclass(frozen=True)
class Song:
    """A track as the catalog holds it, with its file on disk."""

    id: str
    title: str
    track: int | None
    disc: int | None
    year: int | None
    duration: float
    album_id: str
    album: str
    artist_id: str
    album_artist: str
    path: Path
    genre: str | None


@dataclass(frozen=True)
class Catalog:
    """The ground truth: the music library's rows, read with plain SQL."""

    folder_id: int
    songs: dict[str, Song]
    artists: dict[str, str]  # id -> name
    albums: dict[str, tuple[str, str, int | None, str]]  # id -> name, artist id, year, added

    def songs_of(self, album_id: str) -> list[Song]:
        found = [s for s in self.songs.values() if s.album_id == album_id]
        return sorted(found, key=lambda s: (s.disc or 0, s.track or 0, s.title))

    def albums_of(self, artist_id: str) -> set[str]:
        return {a for a, (_, artist, _, _) in self.albums.items() if artist == artist_id}

    def by_title(self, title: str) -> Song:
        return next(s for s in self.songs.values() if s.title == title)


def read_catalog_blocking(db: Any) -> Catalog:
    folder = db.execute("SELECT id FROM libraries WHERE kind = 'music'").fetchone()[0]
    rows = db.execute(
        "SELECT t.id, t.title, t.index_number, t.disc_number, t.year, t.duration, al.id, "
        "al.title, ar.id, ar.title, f.root, f.relpath, "
        "(SELECT min(genre) FROM item_genres WHERE item_pk = t.pk), al.year, al.added_at "
        "FROM items AS t JOIN items AS al ON al.pk = t.parent_pk "
        "JOIN items AS ar ON ar.pk = al.parent_pk JOIN files AS f ON f.id = t.file_id "
        "WHERE t.kind = 'track' AND t.library_id = ?",
        [folder],
    ).fetchall()
    songs, artists, albums = {}, {}, {}
    for row in rows:
        path = Path(os.fsdecode(row[10])) / os.fsdecode(row[11])
        songs[row[0]] = Song(*row[:10], path, row[12])  # type: ignore[arg-type]
        artists[row[8]] = row[9]
        albums[row[6]] = (row[7], row[8], row[13], row[14])
    return Catalog(folder, songs, artists, albums)


class Driver:
    """py-sonic and raw HTTP, recording every endpoint driven."""

    def __init__(self, server: RunningServer, secret: str, key: str) -> None:
        self.server, self.key = server, key
        self.conn = libsonic.Connection(
            "http://127.0.0.1", "owner", secret, port=server.hub.port, appName="Sweep"
        )
        self.driven: set[str] = set()

    async def sonic(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """A py-sonic call; its answer without the envelope's fields."""
        self.driven.add(method)
        func: Callable[..., Any] = getattr(self.conn, method)
        return await asyncio.get_running_loop().run_in_executor(None, lambda: func(*args, **kwargs))

    async def raw(self, method: str, signed: bool = True, **params: str) -> dict[str, Any]:
        """A GET with f=json (and the apiKey) for what py-sonic lacks."""
        self.driven.add(method)
        query = {"f": "json", **({"apiKey": self.key} if signed else {}), **params}
        async with self.server.session.get(
            f"{self.server.url}/rest/{method}.view", params=query
        ) as response:
            assert response.status == 200
            body: dict[str, Any] = (await response.json())["subsonic-response"]
        assert body["status"] == "ok", body
        return body


def listed(value: Any, key: str) -> list[dict[str, Any]]:
    """py-sonic keeps JSON as sent: a list, one object, or nothing."""
    found = (value or {}).get(key) or []
    return found if isinstance(found, list) else [found]


async def swept_server(start_server: StartServer, base: Path) -> tuple[RunningServer, list[Truth]]:
    truth = build_library(base)["Music"]
    make_photo(base / KIND_OF_BLUE / "cover.jpg", size=(400, 400))
    tags = ID3(base / KIND_OF_BLUE / "01 - So What.mp3")
    tags.add(USLT(encoding=3, lang="eng", desc="", text="So what\nindeed"))
    tags.add(SYLT(encoding=3, lang="eng", format=2, type=1, text=[("So", 0), ("what", 900)]))
    tags.save()
    (base / KIND_OF_BLUE / "CD2" / "01 - Bonus.lrc").write_text(LRC, encoding="utf-8")
    server = await start_server(
        "subsonic:\n" + library_yaml(base) + "filename:\nembedded:\nlocal_artwork:\n"
    )
    await settle(server)
    return server, truth


async def prepared(
    start_server: StartServer, base: Path
) -> tuple[RunningServer, Driver, Catalog, list[Truth]]:
    server, truth = await swept_server(start_server, base)
    _, secret = await app_password(server)
    _, key = await device_key(server, scope="full")
    catalog = await server.hub.catalog.read(read_catalog_blocking)
    return server, Driver(server, secret, key), catalog, truth


def thumbnail(image: Image.Image) -> list[int]:
    """Grey levels of an 8x8 reduction: the same picture at any size gives nearly the same."""
    return list(image.convert("L").resize((8, 8)).tobytes())


def test_the_sweep_covers_every_endpoint_the_issue_lists() -> None:
    assert ISSUE_ENDPOINTS == BROWSING | PERSONAL | MEDIA
    assert not (BROWSING & PERSONAL or BROWSING & MEDIA or PERSONAL & MEDIA)
    endpoints = Endpoints()
    for register in ENDPOINT_MODULES:
        register(endpoints)
    assert set(endpoints.names()) >= ISSUE_ENDPOINTS


def check_song(answer: dict[str, Any], song: Song) -> None:
    """A Child against the catalog row and the file on disk."""
    suffix = song.path.suffix.lstrip(".")
    expected = {
        "id": song.id,
        "title": song.title,
        "album": song.album,
        "albumId": song.album_id,
        "artistId": song.artist_id,
        "parent": song.album_id,
        "isDir": False,
        "size": song.path.stat().st_size,
        "suffix": suffix,
        "duration": round(song.duration),
        "type": "music",
    }
    assert {k: answer.get(k) for k in expected} == expected
    assert answer.get("track") == song.track and answer.get("discNumber") == song.disc
    assert answer.get("year") == song.year and answer.get("genre") == song.genre


async def test_sweep_browsing_against_the_catalog(
    start_server: StartServer, tmp_path: Path
) -> None:
    server, drive, catalog, truth = await prepared(start_server, tmp_path / "media")
    # the catalog itself is the generated library: artist, album, title, track and disc
    assert {
        (s.album_artist, s.album, s.title, s.track, s.disc) for s in catalog.songs.values()
    } == {(*t.parents, t.title, t.index_number, t.disc_number) for t in truth}
    assert await drive.sonic("ping") is True
    assert (await drive.sonic("getLicense"))["license"]["valid"] is True
    folders = listed((await drive.sonic("getMusicFolders"))["musicFolders"], "musicFolder")
    assert folders == [{"id": catalog.folder_id, "name": "Music"}]

    artists = (await drive.sonic("getArtists"))["artists"]
    shown = {a["id"]: a for i in listed(artists, "index") for a in listed(i, "artist")}
    assert {k: v["name"] for k, v in shown.items()} == catalog.artists
    assert {k: v["albumCount"] for k, v in shown.items()} == {
        a: len(catalog.albums_of(a)) for a in catalog.artists
    }
    indexes = (await drive.sonic("getIndexes"))["indexes"]
    letters = {i["name"]: {a["id"] for a in listed(i, "artist")} for i in listed(indexes, "index")}
    assert letters == {
        index_name(name): {
            a for a, n in catalog.artists.items() if index_name(n) == index_name(name)
        }
        for name in catalog.artists.values()
    }

    for artist_id, name in catalog.artists.items():
        artist = (await drive.sonic("getArtist", artist_id))["artist"]
        assert artist["name"] == name
        assert {a["id"] for a in listed(artist, "album")} == catalog.albums_of(artist_id)
        directory = (await drive.sonic("getMusicDirectory", artist_id))["directory"]
        assert {c["id"] for c in listed(directory, "child")} == catalog.albums_of(artist_id)
    top = (await drive.sonic("getMusicDirectory", str(catalog.folder_id)))["directory"]
    assert {c["id"] for c in listed(top, "child")} == set(catalog.artists)

    for album_id, (name, artist_id, year, _) in catalog.albums.items():
        album = (await drive.sonic("getAlbum", album_id))["album"]
        songs = catalog.songs_of(album_id)
        assert (album["name"], album["artistId"], album.get("year")) == (name, artist_id, year)
        assert album["songCount"] == len(songs)
        assert album["duration"] == round(sum(s.duration for s in songs))
        assert [s["id"] for s in listed(album, "song")] == [s.id for s in songs]
        for entry, song in zip(listed(album, "song"), songs, strict=True):
            check_song(entry, song)
        directory = (await drive.sonic("getMusicDirectory", album_id))["directory"]
        assert [c["id"] for c in listed(directory, "child")] == [s.id for s in songs]
    for song in catalog.songs.values():
        check_song((await drive.sonic("getSong", song.id))["song"], song)

    await check_album_lists(drive, catalog)
    await check_lists_and_search(drive, catalog)

    user = (await drive.sonic("getUser", "owner"))["user"]
    assert (user["username"], user["adminRole"], user["streamRole"]) == ("owner", True, True)
    assert user["folder"] == [catalog.folder_id]
    status = (await drive.sonic("getScanStatus"))["scanStatus"]
    assert status == {"scanning": False, "count": len(catalog.songs)}
    assert "scanStatus" in await drive.sonic("startScan")
    await settle(server)
    status = (await drive.sonic("getScanStatus"))["scanStatus"]
    assert status == {"scanning": False, "count": len(catalog.songs)}
    extensions = (await drive.raw("getOpenSubsonicExtensions", signed=False))[
        "openSubsonicExtensions"
    ]
    assert {e["name"] for e in extensions} == {
        "apiKeyAuthentication",
        "formPost",
        "songLyrics",
        "transcodeOffset",
    }
    assert drive.driven == BROWSING


async def check_album_lists(drive: Driver, catalog: Catalog) -> None:
    """Every album list type, in both shapes, against the catalog's albums."""
    by_name = sorted(catalog.albums, key=lambda a: catalog.albums[a][0].casefold())
    by_artist = sorted(
        catalog.albums,
        key=lambda a: (catalog.artists[catalog.albums[a][1]].casefold(), catalog.albums[a][0]),
    )
    jazz = {s.album_id for s in catalog.songs.values() if s.genre == "Jazz"}
    fifties = {a for a, v in catalog.albums.items() if v[2] and 1950 <= v[2] <= 1960}
    expected: dict[str, list[str] | set[str]] = {
        "random": set(catalog.albums),
        "newest": set(catalog.albums),
        "highest": [],
        "frequent": [],
        "recent": [],
        "alphabeticalByName": by_name,
        "alphabeticalByArtist": by_artist,
        "starred": [],
        "byYear": fifties,
        "byGenre": jazz,
    }
    assert set(expected) == set(ALBUM_TYPES)
    for kind, want in expected.items():
        extra: dict[str, Any] = {}
        if kind == "byYear":
            extra = {"fromYear": 1950, "toYear": 1960}
        if kind == "byGenre":
            extra = {"genre": "Jazz"}
        for method, key in (("getAlbumList2", "albumList2"), ("getAlbumList", "albumList")):
            found = listed((await drive.sonic(method, kind, size=50, **extra))[key], "album")
            ids = [a["id"] for a in found]
            assert (set(ids) if isinstance(want, set) else ids) == want, (method, kind)
            if kind == "newest":
                added = [catalog.albums[i][3] for i in ids]
                assert added == sorted(added, reverse=True)
    assert {
        a["title"]
        for a in listed((await drive.sonic("getAlbumList", "newest"))["albumList"], "album")
    } == {v[0] for v in catalog.albums.values()}


async def check_lists_and_search(drive: Driver, catalog: Catalog) -> None:
    every = set(catalog.songs)
    random = listed((await drive.sonic("getRandomSongs", size=50))["randomSongs"], "song")
    assert {s["id"] for s in random} == every and len(random) == len(every)
    two = listed((await drive.sonic("getRandomSongs", size=2))["randomSongs"], "song")
    assert len({s["id"] for s in two}) == 2 and {s["id"] for s in two} <= every
    genres = listed((await drive.sonic("getGenres"))["genres"], "genre")
    jazz = [s for s in catalog.songs.values() if s.genre == "Jazz"]
    assert genres == [
        {"value": "Jazz", "songCount": len(jazz), "albumCount": len({s.album_id for s in jazz})}
    ]
    by_genre = listed(
        (await drive.sonic("getSongsByGenre", "Jazz", count=50))["songsByGenre"], "song"
    )
    assert {s["id"] for s in by_genre} == {s.id for s in jazz}
    hit = catalog.by_title("Hit")
    miles = next(a for a, n in catalog.artists.items() if n == "Miles Davis")
    kind_of_blue = catalog.by_title("So What").album_id
    for method, key in (("search3", "searchResult3"), ("search2", "searchResult2")):
        found = (await drive.sonic(method, "hit"))[key]
        assert [s["id"] for s in listed(found, "song")] == [hit.id]
        found = (await drive.sonic(method, "miles"))[key]
        assert [a["id"] for a in listed(found, "artist")] == [miles]
        found = (await drive.sonic(method, "kind of blue"))[key]
        assert [a["id"] for a in listed(found, "album")] == [kind_of_blue]
        assert {s["id"] for s in listed(found, "song")} == {
            s.id for s in catalog.songs_of(kind_of_blue)
        }
    # an empty query is an app syncing: pages of every song, in title order, none twice
    pages = [
        listed(
            (await drive.sonic("search3", "", songCount=3, songOffset=n))["searchResult3"], "song"
        )
        for n in (0, 3)
    ]
    synced = [s["title"] for page in pages for s in page]
    assert synced == sorted(s.title for s in catalog.songs.values())


async def rows(server: RunningServer, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    found: list[tuple[Any, ...]] = await server.hub.catalog.read(
        lambda db: [tuple(row) for row in db.execute(sql, list(args)).fetchall()]
    )
    return found


async def test_sweep_personal_data_against_the_catalog(
    start_server: StartServer, tmp_path: Path
) -> None:
    server, drive, catalog, _ = await prepared(start_server, tmp_path / "media")
    so_what, bonus, hit = (catalog.by_title(t) for t in ("So What", "Bonus", "Hit"))
    album, artist = so_what.album_id, so_what.artist_id

    await drive.sonic("star", sids=[hit.id], albumIds=[album], artistIds=[artist])
    assert await rows(server, "SELECT count(*) FROM stars") == [(3,)]
    for method, key in (("getStarred2", "starred2"), ("getStarred", "starred")):
        starred = (await drive.sonic(method))[key]
        assert [s["id"] for s in listed(starred, "song")] == [hit.id]
        assert [a["id"] for a in listed(starred, "album")] == [album]
        assert [a["id"] for a in listed(starred, "artist")] == [artist]
    stars = listed((await drive.sonic("getAlbumList2", "starred"))["albumList2"], "album")
    assert [a["id"] for a in stars] == [album]
    await drive.sonic("unstar", sids=[hit.id], albumIds=[album], artistIds=[artist])
    assert await rows(server, "SELECT count(*) FROM stars") == [(0,)]
    assert not listed((await drive.sonic("getStarred2"))["starred2"], "song")

    await drive.sonic("setRating", so_what.id, 4)
    ratings = await rows(
        server,
        "SELECT rating FROM ratings JOIN items ON items.pk = item_pk WHERE id = ?",
        so_what.id,
    )
    assert ratings == [(8,)]  # the catalog's 1-10 scale
    assert (await drive.sonic("getSong", so_what.id))["song"]["userRating"] == 4

    await drive.sonic("scrobble", bonus.id, submission=False)
    playing = listed((await drive.sonic("getNowPlaying"))["nowPlaying"], "entry")
    assert [(e["id"], e["username"], e["playerName"]) for e in playing] == [
        (bonus.id, "owner", "Sweep")
    ]
    assert await rows(server, "SELECT count(*) FROM history") == [(0,)]
    await drive.sonic("scrobble", bonus.id)
    history = "SELECT items.id FROM history JOIN items ON items.pk = history.item_pk"
    assert await rows(server, history) == [(bonus.id,)]
    recent = listed((await drive.sonic("getAlbumList2", "recent"))["albumList2"], "album")
    assert [a["id"] for a in recent] == [bonus.album_id]

    await check_playlists_queue_and_bookmarks(server, drive, catalog)
    assert drive.driven - {"getSong", "getAlbumList2"} == PERSONAL


async def test_sweep_media_lyrics_and_keys_against_the_files(
    start_server: StartServer, tmp_path: Path
) -> None:
    _, drive, catalog, _ = await prepared(start_server, tmp_path / "media")
    so_what, bonus = catalog.by_title("So What"), catalog.by_title("Bonus")
    for song in catalog.songs.values():
        data = song.path.read_bytes()
        streamed = await drive.sonic("stream", song.id)
        assert streamed.read() == data
        downloaded = await drive.sonic("download", song.id)
        assert downloaded.read() == data
    cover = thumbnail(Image.open(tmp_path / "media" / KIND_OF_BLUE / "cover.jpg"))
    # the album's cover for the album, its songs and its artist (artists have no photos)
    for item_id in (so_what.album_id, so_what.id, bonus.id, so_what.artist_id):
        reply = await drive.sonic("getCoverArt", item_id, size=100)
        image = Image.open(io.BytesIO(reply.read()))
        assert image.format == "JPEG" and image.width == image.height
        assert 100 <= image.width < 400  # fitted (snapped up to a cached size), never the original
        assert max(abs(a - b) for a, b in zip(thumbnail(image), cover, strict=True)) < 24

    embedded = (await drive.raw("getLyricsBySongId", id=so_what.id))["lyricsList"]
    synced, plain = embedded["structuredLyrics"]  # the SYLT and USLT frames written above
    assert synced["synced"] is True and plain["synced"] is False
    assert synced["line"] == [{"start": 0, "value": "So"}, {"start": 900, "value": "what"}]
    assert plain["line"] == [{"value": "So what"}, {"value": "indeed"}]
    classic = (await drive.sonic("getLyrics", artist="Miles Davis", title="So What"))["lyrics"]
    assert classic["value"] == "So\nwhat"  # the first set's text
    sidecar = (await drive.raw("getLyricsBySongId", id=bonus.id))["lyricsList"]
    lines = sidecar["structuredLyrics"][0]
    assert lines["offset"] == 250
    assert [(line["start"], line["value"]) for line in lines["line"]] == [
        (200, "first and last"),
        (1500, "second"),
        (3000, "first and last"),
    ]
    assert (await drive.raw("tokenInfo"))["tokenInfo"] == {"username": "owner"}
    assert drive.driven == MEDIA


async def check_playlists_queue_and_bookmarks(
    server: RunningServer, drive: Driver, catalog: Catalog
) -> None:
    """Playlists are the web app's; the play queue and bookmarks are the catalog's rows."""
    so_what, bonus, hit = (catalog.by_title(t) for t in ("So What", "Bonus", "Hit"))
    made = await drive.sonic("createPlaylist", name="Sweep", songIds=[so_what.id, hit.id])
    playlist = made["playlist"]
    web = await server.get_json(f"/api/playlists/{playlist['id']}")
    assert web["name"] == "Sweep"
    assert [i["id"] for i in web["items"]] == [so_what.id, hit.id]  # type: ignore[index]
    await drive.sonic(
        "updatePlaylist",
        playlist["id"],
        name="Sweep 2",
        songIdsToAdd=[bonus.id],
        songIndexesToRemove=[0],
    )
    web = await server.get_json(f"/api/playlists/{playlist['id']}")
    shown = (await drive.sonic("getPlaylist", playlist["id"]))["playlist"]
    assert [e["id"] for e in listed(shown, "entry")] == [i["id"] for i in web["items"]]  # type: ignore[union-attr]
    assert [e["id"] for e in listed(shown, "entry")] == [hit.id, bonus.id]
    assert shown["duration"] == round(hit.duration) + round(bonus.duration)
    lists = listed((await drive.sonic("getPlaylists"))["playlists"], "playlist")
    assert [(p["id"], p["name"], p["songCount"]) for p in lists] == [
        (playlist["id"], web["name"], 2)
    ]
    await drive.sonic("deletePlaylist", playlist["id"])
    assert (await server.get_json("/api/playlists"))["playlists"] == []

    await drive.sonic("savePlayQueue", [hit.id, so_what.id], current=so_what.id, position=1500)
    stored = await rows(
        server,
        "SELECT items.id FROM play_queue_items JOIN items ON items.pk = play_queue_items.item_pk "
        "ORDER BY play_queue_items.position",
    )
    assert stored == [(hit.id,), (so_what.id,)]
    queue = (await drive.sonic("getPlayQueue"))["playQueue"]
    assert [e["id"] for e in listed(queue, "entry")] == [hit.id, so_what.id]
    assert (queue["current"], queue["position"], queue["changedBy"]) == (so_what.id, 1500, "Sweep")

    await drive.sonic("createBookmark", hit.id, 700)
    progress = "SELECT items.id, position FROM progress JOIN items ON items.pk = item_pk"
    assert (hit.id, 0.7) in await rows(server, progress)
    marks = listed((await drive.sonic("getBookmarks"))["bookmarks"], "bookmark")
    assert [(m["entry"]["id"], m["position"]) for m in marks] == [(hit.id, 700)]
    await drive.sonic("deleteBookmark", hit.id)
    assert hit.id not in {row[0] for row in await rows(server, progress)}
    assert not listed((await drive.sonic("getBookmarks"))["bookmarks"], "bookmark")


async def test_sweep_a_member_without_music_gets_nothing_from_any_endpoint(
    start_server: StartServer, tmp_path: Path
) -> None:
    server, _, catalog, _ = await prepared(start_server, tmp_path / "media")
    movies = await rows(server, "SELECT id FROM libraries WHERE name = 'Movies'")

    def member(db: Any) -> str:
        user = create_user_blocking(db, "kid", "member", PASSWORD, [movies[0][0]], None)
        return str(create_session_blocking(db, user, "api_key", "phone", None, None).token)

    key = await server.hub.catalog.write(member)
    so_what = catalog.by_title("So What")

    async def answer(method: str, **params: str) -> dict[str, Any]:
        query = {"f": "json", "apiKey": key, **params}
        async with server.session.get(f"{server.url}/rest/{method}", params=query) as reply:
            body: dict[str, Any] = (await reply.json())["subsonic-response"]
        return body

    empty = {
        "getMusicFolders": ("musicFolders", {}),
        "getArtists": ("artists", {}),
        "getIndexes": ("indexes", {}),
        "getAlbumList2": ("albumList2", {"type": "newest"}),
        "getAlbumList": ("albumList", {"type": "alphabeticalByName"}),
        "getRandomSongs": ("randomSongs", {}),
        "getGenres": ("genres", {}),
        "getSongsByGenre": ("songsByGenre", {"genre": "Jazz"}),
        "search3": ("searchResult3", {"query": "kind"}),
        "search2": ("searchResult2", {"query": "kind"}),
        "getStarred2": ("starred2", {}),
        "getNowPlaying": ("nowPlaying", {}),
        "getBookmarks": ("bookmarks", {}),
    }
    for method, (key_name, params) in empty.items():
        body = await answer(method, **params)
        assert body["status"] == "ok", method
        content = body[key_name]
        shown = {k: v for k, v in content.items() if k not in ("ignoredArticles", "lastModified")}
        assert all(v in ([], {}) for v in shown.values()), (method, content)
    song_ids = {"id": so_what.id}
    for method, params in {
        "getArtist": {"id": so_what.artist_id},
        "getAlbum": {"id": so_what.album_id},
        "getSong": song_ids,
        "getMusicDirectory": {"id": so_what.album_id},
        "stream": song_ids,
        "download": song_ids,
        "getCoverArt": song_ids,
        "getLyricsBySongId": song_ids,
        "star": song_ids,
        "setRating": {**song_ids, "rating": "3"},
        "scrobble": song_ids,
        "createBookmark": {**song_ids, "position": "10"},
        "savePlayQueue": song_ids,
        "createPlaylist": {"name": "x", "songId": so_what.id},
    }.items():
        body = await answer(method, **params)
        assert (body["status"], body["error"]["code"]) == ("failed", 70), method
    assert await rows(server, "SELECT count(*) FROM playlists") == [(0,)]
