"""Stars through py-sonic: a song, an album and an artist starred are listed by getStarred and
getStarred2 and by the "starred" album list, unstarred again; kept in the catalog's `stars`
table; a hidden or unknown id is not found (70) and stars nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from libsonic import errors

from tests.conftest import StartServer
from tests.plugins.subsonic.test_annotation import sonic
from tests.plugins.subsonic.test_auth import app_password, client
from tests.plugins.subsonic.test_media import music_server


def listed(found: dict[str, object], key: str) -> list[str]:
    value = found.get(key) or []
    entries = value if isinstance(value, list) else [value]
    return sorted(str(e.get("title") or e.get("name")) for e in entries)  # type: ignore[union-attr]


async def test_stars_are_kept_and_listed(start_server: StartServer, tmp_path: Path) -> None:
    server = await music_server(start_server, tmp_path / "media")
    _, secret = await app_password(server)
    conn = client(server, secret)
    found = (await sonic(conn.search3, "kind"))["searchResult3"]
    album = found["album"][0]
    song = found["song"][0]
    artist_id = album["artistId"]
    assert listed((await sonic(conn.getStarred2))["starred2"], "song") == []
    await sonic(conn.star, sids=[song["id"]], albumIds=[album["id"]], artistIds=[artist_id])
    starred = (await sonic(conn.getStarred2))["starred2"]
    assert listed(starred, "song") == ["So What"]
    assert listed(starred, "album") == ["Kind of Blue"]
    assert listed(starred, "artist") == ["Miles Davis"]
    assert listed((await sonic(conn.getStarred))["starred"], "album") == ["Kind of Blue"]
    shown = (await sonic(conn.getAlbum, album["id"]))["album"]
    assert shown["starred"].endswith("Z") and "starred" in shown["song"][0]
    assert "starred" not in shown["song"][1]
    await sonic(conn.setRating, song["id"], 5)
    assert (await sonic(conn.getSong, song["id"]))["song"]["userRating"] == 5
    stars = (await sonic(conn.getAlbumList2, "starred"))["albumList2"]
    assert listed(stars, "album") == ["Kind of Blue"]
    count = await server.hub.catalog.read(
        lambda db: db.execute("SELECT count(*) FROM stars").fetchone()[0]
    )
    assert count == 3
    await sonic(conn.unstar, sids=[song["id"]], albumIds=[album["id"]], artistIds=[artist_id])
    starred = (await sonic(conn.getStarred2))["starred2"]
    assert listed(starred, "song") == listed(starred, "album") == listed(starred, "artist") == []
    with pytest.raises(errors.DataNotFoundError):
        await sonic(conn.star, sids=["no-such-song"])
