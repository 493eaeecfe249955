"""A library, Hearth with TMDB and MusicBrainz enabled, and the fake services, in one namespace.

Run by tests/core/enrichment/test_online_metadata.py as
`ip netns exec NS python -m tests.core.enrichment.world FOLDER MEASURED`: inside a private network
namespace whose own hosts file (/etc/netns/NS/hosts) points api.themoviedb.org,
image.tmdb.org, musicbrainz.org, coverartarchive.org and archive.org at 198.18.0.2, where the
fakes (fakes.py) listen, so the providers' real host names pass the egress gate and nothing
can leave. It scans, lets enrichment finish (through a provider answering 500 and one timing
out), measures the API meanwhile, fixes one match, locks another, rescans, and writes what it
saw to FOLDER/result.json for the test to judge.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import shutil
import sqlite3
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from core.configuration import load_configuration
from core.hub import Hub
from core.media.facts import AudioTags
from tests.conftest import make_user, seed_measurements, write_config
from tests.core.enrichment import fakes, screens
from tests.core.media.mediagen import make_audio, make_video

ADDRESS = "198.18.0.2"
HOSTS = (
    "api.themoviedb.org",
    "image.tmdb.org",
    "musicbrainz.org",
    "coverartarchive.org",
    "archive.org",
)
PORTS = {"tmdb": 8001, "images": 8002, "musicbrainz": 8003, "caa": 8004, "archive": 8005}
HEAT_NFO = "<movie><title>Heat</title><plot>Our own plot of Heat.</plot><year>1995</year></movie>"


def build_media(media: Path) -> None:
    for folder, name in (
        ("The Matrix (1999)", "The Matrix (1999)"),
        ("Heat (1995)", "Heat (1995)"),
        ("Broken (2001)", "Broken (2001)"),
        ("Slow (2002)", "Slow (2002)"),
    ):
        (media / "Movies" / folder).mkdir(parents=True)
        make_video(media / "Movies" / folder / f"{name}.mkv", 0.5)
    (media / "Movies/Heat (1995)/movie.nfo").write_text(HEAT_NFO, encoding="utf-8")
    for season in (1, 2):
        folder = media / f"TV/Night Shift/Season {season:02d}"
        folder.mkdir(parents=True)
        for episode in (1, 2):
            make_video(folder / f"Night Shift - S{season:02d}E{episode:02d}.mkv", 0.5)
    ok = media / "Music/Radiohead/OK Computer (1997)"
    ok.mkdir(parents=True)
    make_audio(
        ok / "01 - Airbag.mp3",
        0.5,
        tags=AudioTags(
            title="Airbag",
            artists=("Radiohead",),
            album="OK Computer",
            album_artists=("Radiohead",),
            track_number=1,
            date="1997",
            musicbrainz_album_id=fakes.OK_COMPUTER,
            musicbrainz_artist_id=fakes.RADIOHEAD,
            musicbrainz_album_artist_id=fakes.RADIOHEAD,
        ),
    )
    third = media / "Music/Portishead/Third (2008)"
    third.mkdir(parents=True)
    tags = AudioTags(title="Silence", artists=("Portishead",), album="Third", track_number=1)
    make_audio(third / "01 - Silence.mp3", 0.5, tags=tags)
    dummy = media / "Music/Portishead/Dummy (1994)"
    dummy.mkdir(parents=True)
    make_audio(
        dummy / "01 - Mysterons.mp3",
        0.5,
        tags=AudioTags(
            title="Mysterons",
            artists=("Portishead",),
            album="Dummy",
            album_artists=("Portishead",),
            track_number=1,
            date="1994",
        ),
    )


def config_yaml(folder: Path, media: Path) -> str:
    return f"""\
hearth:
  data_dir: {folder / "data"}
  http: {{host: 127.0.0.1, port: 0, https_port: 0}}
  network: {{interfaces: [127.0.0.1], mdns: false}}
  egress:
    tmdb: [api.themoviedb.org, image.tmdb.org]
    musicbrainz: [musicbrainz.org, coverartarchive.org, archive.org]
folders:
  libraries:
    - {{name: Movies, kind: movies, paths: [{media / "Movies"}]}}
    - {{name: TV, kind: shows, paths: [{media / "TV"}]}}
    - {{name: Music, kind: music, paths: [{media / "Music"}]}}
nfo:
embedded:
filename:
local_artwork:
web:
tmdb:
  api_key: !secret tmdb_key
  base_url: http://api.themoviedb.org:{PORTS["tmdb"]}/3
  image_base_url: http://image.tmdb.org:{PORTS["images"]}/t/p
  timeout: 2
musicbrainz:
  base_url: http://musicbrainz.org:{PORTS["musicbrainz"]}/ws/2
  cover_art_url: http://coverartarchive.org:{PORTS["caa"]}
"""


class Fakes:
    def __init__(self) -> None:
        self.seen = {name: fakes.Seen() for name in PORTS}
        self.runners: list[web.AppRunner] = []

    async def start(self) -> None:
        archive = f"http://archive.org:{PORTS['archive']}"
        apps = {
            "tmdb": fakes.tmdb_app(self.seen["tmdb"]),
            "images": fakes.images_app(self.seen["images"], "/t/p"),
            "musicbrainz": fakes.musicbrainz_app(self.seen["musicbrainz"]),
            "caa": fakes.cover_art_app(self.seen["caa"], archive),
            "archive": fakes.images_app(
                self.seen["archive"], "/download", {fakes.THIRD: f"{fakes.STORAGE_NODE}:8005"}
            ),
        }
        for name, app in apps.items():
            runner = web.AppRunner(app, handler_cancellation=True)
            await runner.setup()
            await web.TCPSite(runner, ADDRESS, PORTS[name]).start()
            self.runners.append(runner)

    async def stop(self) -> None:
        for runner in self.runners:
            await runner.cleanup()


class Warnings(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.levelname} {record.name}: {record.getMessage()}")


def items_blocking(db_path: Path) -> dict[str, Any]:
    """'kind:title' (episodes 'episode:S1E2') -> the item's id, title and metadata."""
    db = sqlite3.connect(db_path)
    rows = db.execute(
        "SELECT i.id, i.kind, i.title, i.index_number, p.index_number, i.metadata FROM items i "
        "LEFT JOIN items p ON p.pk = i.parent_pk"
    ).fetchall()
    db.close()
    found = {}
    for item_id, kind, title, index, parent_index, metadata in rows:
        key = f"episode:S{parent_index}E{index}" if kind == "episode" else f"{kind}:{title}"
        if kind == "season":
            key = f"season:{index}"
        found[key] = {"id": item_id, "title": title, "metadata": json.loads(metadata)}
    return found


def missing_pictures(data: Path, items: dict[str, Any]) -> list[str]:
    """The `online:` references in items' artwork whose picture is not in the cache."""
    refs = {
        ref.removeprefix("online:")
        for item in items.values()
        for ref in (item["metadata"].get("artwork") or {}).values()
        if ref.startswith("online:")
    }
    return sorted(n for n in refs if not (data / "thumbnails/online" / n[:2] / n).exists())


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under `folder`: (mtime in ns, size)."""
    return {
        str(path.relative_to(folder)): (path.stat().st_mtime_ns, path.stat().st_size)
        for path in folder.rglob("*")
        if path.is_file()
    }


def latency(times: list[float]) -> dict[str, float | int | None]:
    """Count, median and 95th percentile; none when enrichment ended before browsing began
    (a slow start can outlast a small library's whole enrichment)."""
    if len(times) < 2:
        return {"count": len(times), "p50": None, "p95": None}
    p95 = statistics.quantiles(times, n=20)[-1]
    return {"count": len(times), "p50": statistics.median(times), "p95": p95}


async def watch_api(session: aiohttp.ClientSession, url: str, stop: asyncio.Event) -> list[float]:
    """Browse while enrichment runs: the latency of each request, in milliseconds."""
    times = []
    while not stop.is_set():
        for path in ("/api/libraries", "/api/items?limit=50", "/api/recent"):
            begun = time.perf_counter()
            async with session.get(url + path) as response:
                await response.read()
            times.append((time.perf_counter() - begun) * 1000)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.05)
    return times


async def fix_matches(
    http: aiohttp.ClientSession, url: str, matrix: str, heat: str, result: dict[str, Any]
) -> None:
    """The owner's "Fix match": search, pick another film for one, lock the other to local."""
    async with http.get(f"{url}/api/items/{matrix}/artwork/poster?size=320") as response:
        result["poster"] = [response.status, response.content_type]
    async with http.get(
        f"{url}/api/items/{matrix}/match/search", params={"provider": "tmdb", "q": "Matrix"}
    ) as response:
        result["search"] = [response.status, await response.json()]
    async with http.post(
        f"{url}/api/items/{matrix}/match", json={"provider": "tmdb", "match_id": "604"}
    ) as response:
        result["picked"] = [response.status, await response.json()]
    async with http.post(
        f"{url}/api/items/{heat}/match", json={"provider": "tmdb", "local": True}
    ) as response:
        result["locked"] = [response.status, await response.json()]


async def rescan_without_pictures(
    hub: Hub, service: Fakes, folder: Path, result: dict[str, Any]
) -> None:
    """Lose the picture cache (as a box restored from a backup has), rescan, look again."""
    before = len(service.seen["tmdb"].requests)
    pictures = len(service.seen["images"].requests)
    shutil.rmtree(folder / "data/thumbnails/online")
    hub.scans.request_all()
    await settle(hub)
    result["tmdb_requests_after_rescan"] = len(service.seen["tmdb"].requests) - before
    result["pictures_fetched_again"] = len(service.seen["images"].requests) - pictures
    result["second"] = await asyncio.to_thread(items_blocking, folder / "data/catalog.db")
    result["pictures_missing"] = missing_pictures(folder / "data", result["second"])
    hub.scans.request_all()  # the stills job makes artists' pictures from covers now back
    await settle(hub)


async def settle(hub: Hub) -> None:
    """Until scans, enrichment (through its backoffs) and the stills job are all done."""
    await hub.bus.drain()
    await hub.scans.wait_idle()
    await hub.bus.drain()
    assert hub.enrichment is not None and hub.stills is not None
    await hub.enrichment.idle(through_backoff=True)
    await hub.stills.wait_until(lambda status: status["state"] == "idle")
    await hub.egress.ledger.flush()  # rows are written half a second after their request


async def run(folder: Path, measured: Path) -> dict[str, Any]:
    seed_measurements(measured, folder / "data")  # as a box that measured itself before
    build_media(folder / "media")
    config = write_config(folder / "config", config_yaml(folder, folder / "media"))
    (config / "secrets.yaml").write_text(f"tmdb_key: {fakes.API_KEY}\n", encoding="utf-8")
    warnings = Warnings()
    logging.getLogger("hearth").addHandler(warnings)
    service = Fakes()
    service.seen["tmdb"].trouble = {"broken": ["500", "500"], "slow": ["hang"]}
    await service.start()
    hub = Hub(load_configuration(config))
    result: dict[str, Any] = {}
    try:
        await hub.start()
        assert hub.enrichment is not None
        hub.enrichment.backoff = (0.3, 2.0)
        token = await make_user(hub, "owner", "owner")
        url = f"http://127.0.0.1:{hub.port}"
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http:
            stop = asyncio.Event()
            watcher = asyncio.create_task(watch_api(http, url, stop))
            await settle(hub)
            stop.set()
            times = await watcher
            result["api_ms"] = latency(times)
            result["status"] = hub.enrichment.status()
            db = folder / "data" / "catalog.db"
            result["first"] = await asyncio.to_thread(items_blocking, db)
            matrix = result["first"]["movie:The Matrix"]["id"]
            heat = result["first"]["movie:Heat"]["id"]
            result["first_requests"] = {n: len(seen.requests) for n, seen in service.seen.items()}
            result["screens"] = await screens.take(url, result["first"])
            await fix_matches(http, url, matrix, heat, result)
            await rescan_without_pictures(hub, service, folder, result)
            before_idle = snapshot(folder / "data")
            hub.scans.request_all()  # nothing changed: nothing may be written, nor asked
            await settle(hub)
            result["idle_changes"] = sorted(
                name
                for name, state in snapshot(folder / "data").items()
                if before_idle.get(name) != state
            )
            async with http.get(f"{url}/api/privacy?limit=1000") as response:
                result["privacy"] = await response.json()
            async with http.get(f"{url}/api/health") as response:
                result["health"] = await response.json()
    finally:
        await hub.stop()
        await service.stop()
    result["requests"] = {name: seen.requests for name, seen in service.seen.items()}
    result["warnings"] = warnings.lines
    return result


def main() -> None:
    folder = Path(sys.argv[1])
    result = asyncio.run(run(folder, Path(sys.argv[2])))
    (folder / "result.json").write_text(json.dumps(result, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
