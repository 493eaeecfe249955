"""Album lists of every type, random songs, genres, songs by genre and search2/3 over a real
scanned library, with principals built directly; "frequent", "recent" and "highest" read the
person's own history and ratings rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from core.people.access import EVERYTHING, Principal
from plugins.subsonic import lists, search
from plugins.subsonic.responses import GENERIC, MISSING_PARAMETER, SubsonicError
from tests.conftest import RunningServer, StartServer
from tests.core.scan.test_scanner import library_ids
from tests.plugins.subsonic.test_browse import scanned


async def run(
    server: RunningServer, func: Any, principal: Principal, *extra: str, **params: str
) -> dict[str, Any]:
    result: dict[str, Any] = await server.hub.catalog.read(
        lambda db: func(db, principal, params, *extra)
    )
    return result


async def album_names(
    server: RunningServer, principal: Principal = EVERYTHING, **params: str
) -> list[str]:
    found = await run(server, lists.album_list_blocking, principal, "albumList2", **params)
    return [a["name"] for a in found["albumList2"]["album"]]


async def test_album_lists_of_every_type(start_server: StartServer, tmp_path: Path) -> None:
    server = await scanned(start_server, tmp_path / "media")
    assert await album_names(server, type="alphabeticalByName") == ["Kind of Blue", "Now 1"]
    assert await album_names(server, type="alphabeticalByArtist") == ["Kind of Blue", "Now 1"]
    assert sorted(await album_names(server, type="random")) == ["Kind of Blue", "Now 1"]
    assert sorted(await album_names(server, type="newest")) == ["Kind of Blue", "Now 1"]
    assert await album_names(server, type="newest", size="1", offset="1") != []
    assert await album_names(server, type="byYear", fromYear="1950", toYear="1960") == [
        "Kind of Blue"
    ]
    assert await album_names(server, type="byGenre", genre="jazz") == ["Kind of Blue"]
    owner_id, now_pk, track_pk = await server.hub.catalog.read(
        lambda db: (
            db.execute("SELECT id FROM users WHERE username = 'owner'").fetchone()[0],
            db.execute("SELECT pk FROM items WHERE title = 'Now 1'").fetchone()[0],
            db.execute("SELECT pk FROM items WHERE title = 'Hit'").fetchone()[0],
        )
    )
    owner = Principal(owner_id, "owner", "owner")
    assert await album_names(server, owner, type="frequent") == []
    assert await album_names(server, owner, type="highest") == []

    def played(db: Any) -> None:
        db.execute(
            "INSERT INTO history (user_id, item_pk, watched_at) VALUES (?, ?, ?)",
            [owner_id, track_pk, "2026-01-01T00:00:00"],
        )
        db.execute(
            "INSERT INTO ratings (user_id, item_pk, rating) VALUES (?, ?, 8)", [owner_id, now_pk]
        )

    await server.hub.catalog.write(played)
    assert await album_names(server, owner, type="frequent") == ["Now 1"]
    assert await album_names(server, owner, type="recent") == ["Now 1"]
    assert await album_names(server, owner, type="highest") == ["Now 1"]
    listed = await run(server, lists.album_list_blocking, owner, "albumList", type="recent")
    assert [a["title"] for a in listed["albumList"]["album"]] == ["Now 1"]
    with pytest.raises(SubsonicError) as caught:
        await album_names(server, type="byGenre")
    assert caught.value.code == MISSING_PARAMETER
    with pytest.raises(SubsonicError) as caught:
        await album_names(server, type="mostLoved")
    assert (caught.value.code, caught.value.message) == (
        GENERIC,
        "Unknown album list type: mostLoved",
    )


async def test_songs_genres_and_search(start_server: StartServer, tmp_path: Path) -> None:
    server = await scanned(start_server, tmp_path / "media")
    random = await run(server, lists.random_songs_blocking, EVERYTHING, size="10")
    titles = sorted(s["title"] for s in random["randomSongs"]["song"])
    assert titles == ["Bonus", "Freddie Freeloader", "Hit", "So What"]
    jazz = await run(server, lists.random_songs_blocking, EVERYTHING, genre="Jazz", toYear="1959")
    assert len(jazz["randomSongs"]["song"]) == 3
    genres = await run(server, lists.genres_blocking, EVERYTHING)
    assert genres == {"genres": {"genre": [{"value": "Jazz", "songCount": 3, "albumCount": 1}]}}
    by_genre = await run(server, lists.songs_by_genre_blocking, EVERYTHING, genre="Jazz", count="2")
    assert [s["title"] for s in by_genre["songsByGenre"]["song"]] == [
        "So What",
        "Freddie Freeloader",
    ]

    found = await run(server, search.search_blocking, EVERYTHING, "searchResult3", query="miles")
    result = found["searchResult3"]
    assert [a["name"] for a in result["artist"]] == ["Miles Davis"]
    assert result["album"] == []  # "miles" is not in an album's title
    assert len(result["song"]) == 3  # the artist's songs match through their artists text
    found = await run(server, search.search_blocking, EVERYTHING, "searchResult2", query="kind")
    assert [a["name"] for a in found["searchResult2"]["album"]] == ["Kind of Blue"]
    everything = await run(server, search.search_blocking, EVERYTHING, "searchResult3", query='""')
    assert len(everything["searchResult3"]["song"]) == 4

    ids = await library_ids(server)
    member = Principal(7, "kid", "member", libraries=frozenset({ids["Movies"]}))
    nothing = await run(server, search.search_blocking, member, "searchResult3", query="")
    assert nothing == {"searchResult3": {"artist": [], "album": [], "song": []}}
    assert (await run(server, lists.genres_blocking, member))["genres"]["genre"] == []
    random = await run(server, lists.random_songs_blocking, member)
    assert random["randomSongs"]["song"] == []
