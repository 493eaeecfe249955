"""Pictures for everything: a real scan of videos without artwork, then the background job.

Each movie, episode and home video gets a still that is neither black nor one colour; shows and
seasons show their first episode's, artists their album's cover; a second scan decodes nothing
and rewrites no file; a damaged file gets a reason instead of a picture; and the job waits while
someone watches a conversion (the real capacity limiter of the real playback engine)."""

from __future__ import annotations

import asyncio
import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageStat

from core.library import stills
from core.library.artwork import STILLS_FOLDER
from core.library.stills import StillsJob
from core.media.tags import AudioTags
from tests.conftest import RunningServer, StartServer, core_yaml, seed_measurements, write_config
from tests.core.library.stills_media import damaged, film
from tests.core.media.mediagen import make_audio, make_video
from tests.core.scan.library import library_yaml
from tests.core.scan.test_scanner import items, settle

PROVIDERS = "nfo:\nembedded:\nfilename:\nlocal_artwork:\n"


def make_media(base: Path) -> None:
    film(base / "Movies/Night Film (2001).mp4")
    film(base / "TV/Harbour (2019)/Season 01/Harbour - S01E01 - Arrival.mkv")
    film(base / "TV/Harbour (2019)/Season 01/Harbour - S01E02 - Storm.mkv", black=0.5)
    film(base / "TV/Harbour (2019)/Specials/Harbour - S00E01 - Making Of.mkv", black=0.2)
    film(base / "Videos/2020-01-01 Party.mp4")
    damaged(base / "Videos/2020-02-02 Broken.mkv")
    make_video(base / "Videos/2020-03-03 Blink.mp4", 1.0)  # too short to pick from
    album = base / "Music/Ada Reed/Tides (2004)"
    album.mkdir(parents=True)
    tags = AudioTags(title="Ebb", artists=("Ada Reed",), album="Tides", album_artists=("Ada Reed",))
    make_audio(album / "01 - Ebb.mp3", 1.0, tags=tags)
    Image.new("RGB", (500, 500), (200, 30, 40)).save(album / "cover.jpg")
    (base / "Photos").mkdir()


async def idle(server: RunningServer) -> StillsJob:
    """Once every scan ran and the stills job has done what they asked of it."""
    await settle(server)
    job = server.hub.stills
    assert job is not None
    await job.wait_until(lambda status: status["state"] == "idle")
    return job


async def image(server: RunningServer, url: str, size: int = 480) -> Image.Image:
    async with server.session.get(f"{server.url}{url}?size={size}") as reply:
        assert reply.status == 200, await reply.text()
        return Image.open(io.BytesIO(await reply.read())).convert("RGB")


def assert_a_picture(picture: Image.Image) -> None:
    """Not black, not one colour: what a person would call a picture."""
    grey = ImageStat.Stat(picture.convert("L"))
    assert grey.mean[0] > 40, grey.mean
    assert grey.stddev[0] > 20, grey.stddev


def by_title(found: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item["title"]: item for item in found}


def stills_on_disk(server: RunningServer) -> dict[str, int]:
    folder = server.hub.config.hearth.data_dir / "thumbnails" / STILLS_FOLDER
    return {p.name: p.stat().st_mtime_ns for p in folder.glob("*/*") if p.is_file()}


@pytest.fixture
async def server(start_server: StartServer, tmp_path: Path) -> RunningServer:
    make_media(tmp_path / "media")
    running = await start_server(library_yaml(tmp_path / "media") + PROVIDERS)
    await idle(running)
    return running


async def test_every_video_without_artwork_gets_a_real_picture(server: RunningServer) -> None:
    movie = by_title(await items(server, kind="movie"))["Night Film"]
    assert set(movie["artwork"]) == {"poster", "thumb"}
    poster = await image(server, movie["artwork"]["poster"])
    assert poster.height > poster.width  # a poster-shaped crop for the poster tiles
    assert_a_picture(poster)
    still = await image(server, movie["artwork"]["thumb"])
    assert abs(still.width / still.height - 16 / 9) < 0.02
    assert_a_picture(still)
    episodes = by_title(await items(server, kind="episode"))
    videos = by_title(await items(server, kind="video"))
    for item in (episodes["Arrival"], episodes["Storm"], videos["2020-01-01 Party"]):
        assert set(item["artwork"]) == {"thumb"}, item["title"]
        still = await image(server, item["artwork"]["thumb"])
        assert abs(still.width / still.height - 16 / 9) < 0.02
        assert_a_picture(still)


async def test_shows_and_seasons_show_their_first_episode_and_artists_their_album(
    server: RunningServer,
) -> None:
    episodes = by_title(await items(server, kind="episode"))
    first = await image(server, episodes["Arrival"]["artwork"]["thumb"])
    show = by_title(await items(server, kind="show"))["Harbour"]
    seasons = by_title(await items(server, kind="season"))
    for container in (show, seasons["Season 1"]):  # specials (season 0) come last
        assert set(container["artwork"]) == {"poster", "thumb"}
        assert (await image(server, container["artwork"]["thumb"])).tobytes() == first.tobytes()
        assert_a_picture(await image(server, container["artwork"]["poster"]))
    making_of = await image(server, seasons["Specials"]["artwork"]["thumb"])
    specials_first = await image(server, episodes["Making Of"]["artwork"]["thumb"])
    assert making_of.tobytes() == specials_first.tobytes()
    artist = by_title(await items(server, kind="artist"))["Ada Reed"]
    cover = await image(server, artist["artwork"]["thumb"], 160)
    red, green, blue = ImageStat.Stat(cover).mean
    assert red > 180 and green < 60 and blue < 60  # the album's red cover


@pytest.mark.allow_errors  # FFmpeg's decoder may log the noise it meets at ERROR
async def test_damaged_and_too_short_files_get_a_reason_not_a_picture(
    server: RunningServer, caplog: pytest.LogCaptureFixture
) -> None:
    videos = by_title(await items(server, kind="video"))
    assert videos["2020-02-02 Broken"]["artwork"] == {}
    assert videos["2020-03-03 Blink"]["artwork"] == {}
    status = await server.get_json("/api/scan")
    problems = {p["item"]: p["reason"] for p in status["artwork"]["problems"]}  # type: ignore[index]
    assert problems["2020-03-03 Blink"] == "It is too short for a representative frame (1.0 s)."
    assert problems["2020-02-02 Broken"].startswith("It has ")
    setup = caplog.get_records("setup")  # the scan ran while the fixture started the server
    logged = [r.getMessage() for r in setup if r.name == "hearth.stills"]
    assert any("2020-02-02 Broken.mkv: it has " in line for line in logged)


async def test_a_second_scan_decodes_nothing_and_rewrites_no_file(server: RunningServer) -> None:
    before = stills_on_disk(server)
    assert len([n for n in before if n.endswith("-poster.jpg")]) == 5  # 1 movie, 3 episodes, party
    server.hub.scans.request_all()
    job = await idle(server)
    assert stills_on_disk(server) == before
    assert job.status()["made"] == 0 and job.status()["failed"] == 2


async def test_the_job_waits_while_someone_watches_a_conversion(
    start_server: StartServer, tmp_path: Path
) -> None:
    media = tmp_path / "media"
    for folder in ("Movies", "TV", "Music", "Photos", "Videos"):
        (media / folder).mkdir(parents=True)
    server = await start_server(library_yaml(media) + PROVIDERS)
    job = await idle(server)
    job.pause_for_streams, job.poll = True, 0.02  # as on a Pi; looks again quickly
    playback = server.hub.playback
    assert playback is not None
    weight = playback.capacity.acquire(encodes_video=True)  # a transcode is running
    film(media / "Movies/Night Film (2001).mp4")
    server.hub.scans.request_all()
    await job.wait_until(lambda status: status["state"] == "paused")
    assert "someone is watching" in job.status()["paused_because"]
    assert stills_on_disk(server) == {}
    playback.capacity.release(weight)
    await job.wait_until(lambda status: status["state"] == "idle")
    assert job.status()["made"] == 1
    movie = by_title(await items(server, kind="movie"))["Night Film"]
    assert_a_picture(await image(server, movie["artwork"]["poster"]))


async def test_the_frame_worker_ends_when_the_job_pauses_and_when_it_is_idle(
    start_server: StartServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trims: list[int] = []
    monkeypatch.setattr(stills, "trim_blocking", lambda: trims.append(1))
    media = tmp_path / "media"
    for folder in ("Movies", "TV", "Music", "Photos", "Videos"):
        (media / folder).mkdir(parents=True)
    server = await start_server(library_yaml(media) + PROVIDERS)
    job = await idle(server)
    job.pause_for_streams, job.poll = True, 0.02
    playback = server.hub.playback
    assert playback is not None
    film(media / "Videos/2020-01-01 Party.mp4")
    film(media / "Videos/2020-01-02 Picnic.mp4")
    server.hub.scans.request_all()
    await job.wait_until(lambda status: status["made"] == 1)
    weight = playback.capacity.acquire(encodes_video=True)  # someone starts watching
    await job.wait_until(lambda status: status["state"] == "paused")
    assert not job.worker_running  # a film lasts hours: its ~50 MB are not kept meanwhile
    playback.capacity.release(weight)
    await job.wait_until(lambda status: status["state"] == "idle")
    assert job.status()["made"] == 2
    assert not job.worker_running
    assert trims  # each pass gave its freed heap back to the system when it ended


async def test_only_the_listed_problems_are_remembered(
    start_server: StartServer, tmp_path: Path
) -> None:
    media = tmp_path / "media"
    for folder in ("Movies", "TV", "Music", "Photos", "Videos"):
        (media / folder).mkdir(parents=True)
    clip = tmp_path / "clip.mp4"
    make_video(clip, 1.0)  # too short: a reason, no worker
    for number in range(60):
        (media / f"Videos/Clip {number:02d}.mp4").hardlink_to(clip)
    server = await start_server(library_yaml(media) + PROVIDERS)
    job = await idle(server)
    problems = job.status()["problems"]
    assert job.status()["failed"] == 60
    assert len(problems) == 50
    assert problems[0]["reason"] == "It is too short for a representative frame (1.0 s)."
    assert len(job._listed) == 50  # not one entry per failed item for as long as it runs


_SERVER_ALONE = """
import asyncio, json, sys
from pathlib import Path
from core.configuration import load_configuration
from core.hub import Hub

async def main() -> None:
    hub = Hub(load_configuration(Path(sys.argv[1])))
    await hub.start()
    try:
        await hub.bus.drain()
        await hub.scans.wait_idle()
        await hub.stills.wait_until(lambda status: status["state"] == "idle")
        rows = await hub.catalog.read(
            lambda db: db.execute(
                "SELECT json_extract(metadata, '$.artwork.thumb') FROM items WHERE kind = 'artist'"
            ).fetchall()
        )
        loaded = sorted(name for name in ("av", "PIL") if name in sys.modules)
        print(json.dumps({"artist": rows[0][0], "loaded": loaded}))
    finally:
        await hub.stop()

asyncio.run(main())
"""


async def test_pictures_are_made_without_loading_pillow_or_pyav_into_the_server(
    tmp_path: Path, measured: Path
) -> None:
    """A server in a process of its own (pytest has loaded both): after a first scan and the
    stills job, stills and the artist's picture from the album cover exist, and the server
    process never loaded Pillow or PyAV (~20 MB it would hold until it stopped)."""
    make_media(tmp_path / "media")
    data = tmp_path / "data"
    seed_measurements(measured, data)
    config = write_config(
        tmp_path / "config", core_yaml(data, library_yaml(tmp_path / "media") + PROVIDERS)
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _SERVER_ALONE,
        str(config),
        stdout=asyncio.subprocess.PIPE,
        cwd=Path(__file__).resolve().parents[3],
    )
    out, _ = await process.communicate()
    assert process.returncode == 0
    found = json.loads(out.decode().splitlines()[-1])
    assert found["artist"].startswith("still:")
    assert found["loaded"] == []
