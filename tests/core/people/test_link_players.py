"""Capability links as real players use them (issue 12): the token is stored only as its hash
and lasts a day; an HLS session opened with a link hands it to every playlist, segment and
subtitle URI, each fetched here with no header at all; ffmpeg reads the whole HLS link without a
corrupt packet, and VLC (`cvlc`, dummy outputs) plays the file link for ten seconds without a
discontinuity or a refused request."""

from __future__ import annotations

import asyncio
import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.conftest import RunningServer, StartServer
from tests.core.media.mediagen import SubtitleTrack, make_video
from tests.core.playback.films import FFMPEG, make_film
from tests.core.playback.test_hls_continuity import complaints, film_server, vlc_command

_URI_ATTRIBUTE = re.compile(r'URI="([^"]+)"')


async def make_links(server: RunningServer, item: str) -> dict[str, Any]:
    async with server.session.post(f"{server.url}/api/items/{item}/stream-url") as reply:
        assert reply.status == 201, await reply.text()
        links: dict[str, Any] = await reply.json()
        return links


async def fetch(url: str) -> tuple[int, bytes]:
    """As a player would: no credentials, no cookie."""
    async with aiohttp.ClientSession() as player, player.get(url) as reply:
        return reply.status, await reply.read()


def uris_of(playlist: str) -> list[str]:
    """Every URI a playlist names: its plain lines and its URI="..." attributes."""
    found = []
    for line in playlist.splitlines():
        if line and not line.startswith("#"):
            found.append(line)
        found += _URI_ATTRIBUTE.findall(line)
    return found


async def test_a_link_is_stored_hashed_and_lasts_a_day(
    start_server: StartServer, tmp_path: Path
) -> None:
    (tmp_path / "Movies").mkdir()
    make_video(tmp_path / "Movies" / "Alien (1979).mp4", 1.0)
    server, item = await film_server(start_server, tmp_path / "Movies")
    before = datetime.now(UTC)
    links = await make_links(server, item)
    token = links["url"].split("link=")[1]
    assert links["hls_url"].endswith(f"link={token}")
    rows = await server.hub.catalog.read(
        lambda db: [tuple(r) for r in db.execute("SELECT * FROM stream_links").fetchall()]
    )
    assert len(rows) == 1
    assert not any(token in str(value) for value in rows[0])  # only its hash is kept
    expires = datetime.fromisoformat(links["expires_at"].replace("Z", "+00:00"))
    assert timedelta(hours=23, minutes=59) <= expires - before <= timedelta(hours=24, minutes=1)


async def test_every_uri_of_a_linked_hls_session_carries_the_link(
    start_server: StartServer, tmp_path: Path
) -> None:
    (tmp_path / "Movies").mkdir()
    make_video(
        tmp_path / "Movies" / "Alien (1979).mkv", 2.0, size=(160, 120),
        subtitles=(SubtitleTrack("fre", "Bonjour", title="Français"),),
    )  # fmt: skip
    server, item = await film_server(start_server, tmp_path / "Movies")
    links = await make_links(server, item)
    link = "link=" + links["url"].split("link=")[1]
    base = links["hls_url"].split("master.m3u8")[0]
    status, master = await fetch(links["hls_url"])
    assert status == 200, master
    listed = uris_of(master.decode())
    variants = [uri for uri in listed if uri.endswith(f"/index.m3u8?{link}")]
    subtitles = [uri for uri in listed if re.search(rf"/subs\d+\.m3u8\?{link}$", uri)]
    assert len(variants) == 1 and len(subtitles) == 1, listed
    assert (await fetch(base + variants[0].split("?")[0]))[0] == 401  # the link is what opens it
    seen: list[str] = []
    for playlist in (*variants, *subtitles):
        status, text = await fetch(base + playlist)
        assert status == 200, (playlist, text)
        folder = base + playlist.rsplit("/", 1)[0] + "/"
        for uri in uris_of(text.decode()):
            assert uri.endswith(f"?{link}"), (playlist, uri)
            status, body = await fetch(folder + uri)
            assert status == 200, (uri, body[:200])
            seen.append(uri.split("?")[0])
            if uri.startswith("subs"):
                assert b"Bonjour" in body
    assert "0.ts" in seen and any(name.endswith(".vtt") for name in seen), seen


async def test_ffmpeg_reads_the_hls_link_without_a_corrupt_packet(
    start_server: StartServer, tmp_path: Path
) -> None:
    make_film(tmp_path / "Movies" / "Test Card (2020).mkv", 12.0)
    server, item = await film_server(start_server, tmp_path / "Movies")
    links = await make_links(server, item)
    process = await asyncio.create_subprocess_exec(
        FFMPEG, "-nostdin", "-v", "warning", "-i", links["hls_url"], "-f", "null", "-",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(process.communicate(), 120)
    lines = err.decode("utf-8", "replace").splitlines()
    assert process.returncode == 0, lines
    assert complaints(lines) == [] and not [line for line in lines if "Server returned" in line]


@pytest.mark.skipif(vlc_command() is None, reason="VLC (Debian's vlc-bin) is not installed")
async def test_vlc_plays_the_file_link_for_ten_seconds(
    start_server: StartServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    make_film(tmp_path / "Movies" / "Test Card (2020).mkv", 20.0)
    server, item = await film_server(start_server, tmp_path / "Movies")
    links = await make_links(server, item)
    command = vlc_command()
    assert command is not None
    process = await asyncio.create_subprocess_exec(
        *command, links["url"], env={**os.environ, "HOME": "/nonexistent"}, cwd="/",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(process.communicate(), 90)
    log = out.decode("utf-8", "replace").splitlines()
    assert [line for line in log if "discontinuity" in line.casefold()] == []
    assert any("Buffering 100%" in line for line in log), log[-40:]  # it played
    requests = [
        r.getMessage()
        for r in caplog.records
        if r.name == "hearth.access" and f"/api/items/{item}/stream?link=***" in r.getMessage()
    ]
    assert requests and all(re.search(r"\?link=\*\*\* 20[06] ", line) for line in requests), (
        requests
    )
    assert any("VLC" in line for line in requests), requests
