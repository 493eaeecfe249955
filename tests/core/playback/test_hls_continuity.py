"""HLS as real players read it: ffmpeg and VLC over whole sessions of a real server.

The segments of one session are one continuous MPEG-TS: continuity counters, PCR and
timestamps carry from one segment to the next, so ffmpeg reading the master playlist reports
no corrupt packet and VLC no discontinuity at all. Where a new ffmpeg run begins (a seek, or a
long item's next run) its first packets say so with the discontinuity indicator, so ffmpeg
reads even that boundary cleanly (VLC notes the indicator there, once per stream). Films are
remuxed (H.264 copied) and transcoded (`quality=144p`).
"""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

import pytest

from core.playback import ffmpeg_args
from tests.conftest import RunningServer, StartServer
from tests.core.playback.films import FFMPEG, make_film
from tests.core.scan.test_scanner import items, settle

SECONDS = 20  # five 4-second segments
WARNINGS = ("corrupt", "continuity", "discontinuity", "non-monotonous", "invalid dts")


@pytest.fixture(scope="module")
def films(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Movies folder with one H.264/AAC film with a keyframe every 2 s, made once."""
    folder = tmp_path_factory.mktemp("hls-films")
    make_film(folder / "Test Card (2020).mkv", SECONDS)
    return folder


async def film_server(start_server: StartServer, films: Path) -> tuple[RunningServer, str]:
    """A running server whose Movies library is `films`; the film's item id."""
    server = await start_server(
        f"folders:\n  watch: false\n  libraries:\n"
        f"    - {{name: Movies, kind: movies, paths: ['{films}']}}\n"
    )
    await settle(server)
    (film,) = await items(server, kind="movie")
    return server, str(film["id"])


def token_of(server: RunningServer) -> str:
    return str(server.session.headers["Authorization"]).removeprefix("Bearer ")


async def hls_client(url: str, token: str, *before_input: str) -> list[str]:
    """Read a whole HLS presentation with ffmpeg as the client; the warnings it printed."""
    process = await asyncio.create_subprocess_exec(
        FFMPEG, "-nostdin", "-v", "warning", "-headers", f"Authorization: Bearer {token}\r\n",
        *before_input, "-i", url, "-f", "null", "-",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(process.communicate(), 120)
    lines = err.decode("utf-8", "replace").splitlines()
    assert process.returncode == 0, lines
    return lines


def complaints(lines: list[str]) -> list[str]:
    return [line for line in lines if any(word in line.casefold() for word in WARNINGS)]


@pytest.mark.parametrize("query", ["", "?quality=144p"], ids=["remux", "transcode"])
async def test_ffmpeg_reads_a_whole_session_without_a_corrupt_packet(
    start_server: StartServer, films: Path, query: str
) -> None:
    server, item = await film_server(start_server, films)
    url = f"{server.url}/api/items/{item}/hls/master.m3u8{query}"
    assert complaints(await hls_client(url, token_of(server))) == []
    (session,) = server.hub.playback.manager.sessions
    assert session.run_starts == [0]
    assert session.plan.video.action == ("encode" if query else "copy")


@pytest.mark.parametrize("query", ["", "?quality=144p"], ids=["remux", "transcode"])
async def test_a_new_run_mid_item_reads_on_without_a_corrupt_packet(
    start_server: StartServer,
    films: Path,
    monkeypatch: pytest.MonkeyPatch,
    query: str,
) -> None:
    """Each run makes two segments here, so the player crosses two run boundaries."""
    monkeypatch.setattr(ffmpeg_args, "MAX_RUN_SEGMENTS", 2)
    server, item = await film_server(start_server, films)
    url = f"{server.url}/api/items/{item}/hls/master.m3u8{query}"
    assert complaints(await hls_client(url, token_of(server))) == []
    (session,) = server.hub.playback.manager.sessions
    assert session.run_starts == [0, 2, 4]


async def test_a_seek_reads_on_without_a_corrupt_packet(
    start_server: StartServer, films: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The player reads the start, seeks into segment 3 (a new run there) and plays on."""
    monkeypatch.setattr(ffmpeg_args, "MAX_RUN_SEGMENTS", 1)  # so the seek needs a new run
    server, item = await film_server(start_server, films)
    url = f"{server.url}/api/items/{item}/hls/master.m3u8"
    assert complaints(await hls_client(url, token_of(server), "-ss", "13")) == []
    runs = server.hub.playback.manager.sessions[0].run_starts
    assert runs[0] == 0 and runs[-2:] == [3, 4] and 2 not in runs


def vlc_command() -> list[str] | None:
    """cvlc with no outputs, for ten seconds; as nobody when we are root (VLC refuses root)."""
    cvlc = shutil.which("cvlc")
    if cvlc is None:
        return None
    command = [cvlc, "--intf", "dummy", "--vout", "dummy", "--aout", "dummy"]
    if os.geteuid() == 0:
        command = ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", *command]
    return [*command, "--run-time", "10", "--play-and-exit", "-vv"]


@pytest.mark.skipif(vlc_command() is None, reason="VLC (Debian's vlc-bin) is not installed")
async def test_vlc_plays_the_hls_link_without_a_discontinuity(
    start_server: StartServer, films: Path
) -> None:
    """Ten seconds of playback: three segments and a part of the fourth."""
    server, item = await film_server(start_server, films)
    async with server.session.post(f"{server.url}/api/items/{item}/stream-url") as reply:
        assert reply.status == 201, await reply.text()
        link = (await reply.json())["hls_url"]
    command = vlc_command()
    assert command is not None
    process = await asyncio.create_subprocess_exec(
        *command, link, env={**os.environ, "HOME": "/nonexistent"}, cwd="/",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(process.communicate(), 90)
    log = out.decode("utf-8", "replace").splitlines()
    fetched = {line.rsplit("/", 1)[1].split("?")[0] for line in log if "Retrieving" in line}
    assert {"0.ts", "1.ts", "2.ts"} <= fetched, log[-40:]
    assert [line for line in log if "discontinuity" in line.casefold()] == []
