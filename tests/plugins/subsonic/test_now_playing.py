"""getNowPlaying: a song streamed through the API (named after the app's `c=`), a "now playing"
scrobble and a song played by the web app in a browser are the person's entries, newest first,
with the song's own fields; one person never sees another's; a song past its length and a
minute is gone; the register keeps one play per player and forgets old ones."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import libsonic

from core.playback.now_playing import MAX_AGE, NowPlaying
from plugins.subsonic.now_playing import GRACE_S, entries
from tests.conftest import PASSWORD, RunningServer, StartServer, make_user
from tests.plugins.subsonic.test_annotation import sonic
from tests.plugins.subsonic.test_auth import app_password, client
from tests.plugins.subsonic.test_media import music_server


def test_one_play_per_player_the_same_song_again_is_the_same_play() -> None:
    plays = NowPlaying()
    first = plays.record(1, "a", "DSub", now=100.0)
    assert plays.record(1, "a", "DSub", now=130.0).started == 100.0  # a Range request
    assert plays.record(1, "a", "DSub", now=400.0).started == 400.0  # played again later
    other = plays.record(1, "b", "Tempo", now=500.0)
    assert other.player_id != first.player_id
    assert plays.record(1, "c", "DSub", now=510.0).player_id == first.player_id
    plays.record(2, "z", "DSub", now=520.0)
    assert [(p.item_id, p.player_name) for p in plays.of_user(1, now=520.0)] == [
        ("c", "DSub"),
        ("b", "Tempo"),
    ]
    assert [p.item_id for p in plays.of_user(1, now=510.0 + MAX_AGE + 1)] == []


def test_an_entry_lasts_the_song_and_a_minute() -> None:
    plays = NowPlaying()
    play = plays.record(1, "a", "DSub", now=1000.0)
    song = {"id": "a", "title": "So What", "duration": 120}
    shown = entries([play], {"a": song}, "owner", 1000.0 + 150)
    assert shown == [
        {**song, "username": "owner", "minutesAgo": 2, "playerId": 1, "playerName": "DSub"}
    ]
    assert entries([play], {"a": song}, "owner", 1000.0 + 120 + GRACE_S + 1) == []
    assert entries([play], {}, "owner", 1000.0) == []  # a song no longer audible


async def now_playing(conn: Any) -> list[dict[str, Any]]:
    found = (await sonic(conn.getNowPlaying))["nowPlaying"].get("entry") or []
    return found if isinstance(found, list) else [found]


async def web_play(server: RunningServer, song_id: str) -> None:
    """Sign in as the web app does (a cookie) and play the song as its music bar does."""
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as browser:
        async with browser.post(
            server.url + "/api/auth/login",
            json={"username": "owner", "password": PASSWORD, "cookie": True},
        ) as response:
            assert response.status == 200, await response.text()
        async with browser.get(f"{server.url}/api/items/{song_id}/stream") as response:
            assert response.status == 200
            await response.read()


async def test_now_playing_from_apps_and_the_web_app(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = await music_server(start_server, tmp_path / "media")
    _, secret = await app_password(server)
    conn = client(server, secret, appName="Symfonium")
    songs = {s["title"]: s for s in (await sonic(conn.search3, "kind"))["searchResult3"]["song"]}
    assert await now_playing(conn) == []

    streamed = await sonic(conn.stream, songs["So What"]["id"])
    assert streamed.read()  # the whole file, as an app plays it
    await web_play(server, songs["Freddie Freeloader"]["id"])
    dsub = client(server, secret, appName="DSub")
    await sonic(dsub.scrobble, songs["Bonus"]["id"], submission=False)
    assert await server.hub.catalog.read(
        lambda db: db.execute("SELECT count(*) FROM history").fetchone()[0] == 0
    )

    found = await now_playing(conn)
    assert [(e["title"], e["playerName"]) for e in found] == [
        ("Bonus", "DSub"),
        ("Freddie Freeloader", "Hearth web app"),
        ("So What", "Symfonium"),
    ]
    so_what = found[2]
    assert so_what["username"] == "owner" and so_what["minutesAgo"] == 0
    assert so_what["album"] == "Kind of Blue" and so_what["artist"] == "Miles Davis"
    assert so_what["id"] == songs["So What"]["id"] and so_what["isDir"] is False
    assert len({e["playerId"] for e in found}) == 3

    # the same app playing the next song replaces its entry
    await sonic(conn.stream, songs["Bonus"]["id"])
    names = [(e["title"], e["playerName"]) for e in await now_playing(conn)]
    assert ("So What", "Symfonium") not in names and ("Bonus", "Symfonium") in names

    # another person, even one who may hear the same music, sees none of it
    token = await make_user(server.hub, "guest", "member")
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        aiohttp.ClientSession(headers=headers) as guest,
        guest.post(server.url + "/api/me/app-passwords", json={"name": "Tempo"}) as response,
    ):
        guest_secret = (await response.json())["password"]
    guest_conn = libsonic.Connection(
        "http://127.0.0.1", "guest", guest_secret, port=server.hub.port
    )
    assert await now_playing(guest_conn) == []
    await sonic(guest_conn.stream, songs["So What"]["id"])
    assert [e["username"] for e in await now_playing(guest_conn)] == ["guest"]
    assert {e["username"] for e in await now_playing(conn)} == {"owner"}
