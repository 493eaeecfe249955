"""Lyrics: an `.lrc` beside a song (synced, offset), ID3 SYLT and USLT, a FLAC LYRICS tag, read
through getLyricsBySongId and getLyrics on a real server; a hidden song is not found (70)."""

from __future__ import annotations

from pathlib import Path

from mutagen.flac import FLAC
from mutagen.id3 import ID3, SYLT, USLT

from core.people.accounts import create_session_blocking, create_user_blocking
from plugins.subsonic.lyrics import parse_lrc
from tests.conftest import PASSWORD, StartServer
from tests.core.scan.test_scanner import library_ids
from tests.plugins.subsonic.test_auth import device_key
from tests.plugins.subsonic.test_media import KIND_OF_BLUE, music_server

LRC = "[ar:Miles Davis]\n[offset:+250]\n[00:01.50]second\n[00:00.20][00:03.00]first and last\n"


def test_lrc_lines_sorted_by_time_with_offset() -> None:
    lyrics = parse_lrc(LRC)
    assert lyrics.synced and lyrics.offset == 250
    assert lyrics.lines == ((200, "first and last"), (1500, "second"), (3000, "first and last"))
    assert parse_lrc("just words\nmore").lines == ((None, "just words"), (None, "more"))


async def test_lyrics_from_sidecars_and_tags(start_server: StartServer, tmp_path: Path) -> None:
    server = await music_server(start_server, tmp_path / "media")
    folder = tmp_path / "media" / KIND_OF_BLUE
    tags = ID3(folder / "01 - So What.mp3")
    tags.add(USLT(encoding=3, lang="eng", desc="", text="So what\nindeed"))
    tags.add(SYLT(encoding=3, lang="eng", format=2, type=1, text=[("So", 0), ("what", 900)]))
    tags.save()
    flac = FLAC(folder / "02 - Freddie Freeloader.flac")
    flac["LYRICS"] = "Freddie\nFreeloader"
    flac.save()
    (folder / "CD2" / "01 - Bonus.lrc").write_text(LRC, encoding="utf-8")
    _, key = await device_key(server)

    async def call(method: str, **params: str) -> dict[str, object]:
        answer = await server.get_json(
            f"/rest/{method}?f=json&apiKey={key}&" + "&".join(f"{k}={v}" for k, v in params.items())
        )
        body = answer["subsonic-response"]
        assert isinstance(body, dict)
        return body

    album = await call("search3", query="kind")
    songs = {s["title"]: s["id"] for s in album["searchResult3"]["song"]}  # type: ignore[index]
    so_what = (await call("getLyricsBySongId", id=songs["So What"]))["lyricsList"]
    sets = so_what["structuredLyrics"]  # type: ignore[index]
    assert [(s["synced"], s["lang"]) for s in sets] == [(True, "eng"), (False, "eng")]
    assert sets[0]["line"] == [{"start": 0, "value": "So"}, {"start": 900, "value": "what"}]
    assert sets[1]["line"] == [{"value": "So what"}, {"value": "indeed"}]
    assert sets[0]["displayTitle"] == "So What" and sets[0]["displayArtist"] == "Miles Davis"
    freddie = (await call("getLyricsBySongId", id=songs["Freddie Freeloader"]))["lyricsList"]
    assert freddie["structuredLyrics"][0]["line"] == [  # type: ignore[index]
        {"value": "Freddie"},
        {"value": "Freeloader"},
    ]
    bonus = (await call("getLyricsBySongId", id=songs["Bonus"]))["lyricsList"]
    synced = bonus["structuredLyrics"][0]  # type: ignore[index]
    assert synced["offset"] == 250 and [line["start"] for line in synced["line"]] == [
        200,
        1500,
        3000,
    ]
    classic = (await call("getLyrics", artist="Miles Davis", title="Freddie Freeloader"))["lyrics"]
    assert classic == {
        "artist": "Miles Davis",
        "title": "Freddie Freeloader",
        "value": "Freddie\nFreeloader",
    }
    assert (await call("getLyrics", title="Nothing Like This"))["lyrics"] == {}

    ids = await library_ids(server)

    def member(db: object) -> str:
        user = create_user_blocking(db, "kid", "member", PASSWORD, [ids["Movies"]], None)  # type: ignore[arg-type]
        return create_session_blocking(db, user, "api_key", "phone", None, None).token  # type: ignore[arg-type]

    key = await server.hub.catalog.write(member)
    hidden = await call("getLyricsBySongId", id=songs["So What"])
    assert hidden["status"] == "failed" and hidden["error"]["code"] == 70  # type: ignore[index]
    assert (await call("getLyrics", title="So What"))["lyrics"] == {}
