"""Item XML made ahead of time (fragments.py, prerender.py): what TVs are sent from the store is
byte for byte what the catalog would give, a change is never answered from a stale store, a
restart with nothing changed writes nothing, and a damaged store is replaced."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import sqlite3
from pathlib import Path
from typing import Any
from xml.sax.saxutils import unescape

import pytest

from core.events import LibraryChanged
from plugins.dlna import prerender
from plugins.dlna.fragments import FragmentStore
from plugins.dlna.prerender import Prerenderer
from plugins.dlna.service import DlnaService
from tests.conftest import RunningServer, StartServer
from tests.core.scan.test_scanner import settle
from tests.plugins.dlna.dms import browse_args, envelope, library_server, soap

_CONTAINER_ID = re.compile(r'<container id="([^"]+)"')
_RESULT = re.compile(r"<Result>(.*)</Result>", re.S)


def service_of(server: RunningServer) -> DlnaService:
    context = server.hub.records["dlna"].context
    assert context is not None
    service: DlnaService = context.state
    return service


async def browse(server: RunningServer, object_id: str, flt: str = "*") -> str:
    status, text = await soap(server, envelope("Browse", browse_args(object_id, Filter=flt)))
    assert status == 200, text
    found = _RESULT.search(text)
    assert found is not None
    return unescape(found[1])


async def walk(server: RunningServer, flt: str = "*") -> dict[str, str]:
    """Every container's children (one page each) from the root down."""
    pages: dict[str, str] = {}
    todo = ["0"]
    while todo:
        object_id = todo.pop()
        pages[object_id] = await browse(server, object_id, flt)
        todo += [i for i in _CONTAINER_ID.findall(pages[object_id]) if i not in pages]
    return pages


def counting_lookups(service: DlnaService) -> list[int]:
    """Wrap the store's lookup; the list grows by the number of bodies each lookup found."""
    found: list[int] = []
    lookup = service.fragments.lookup_blocking

    def counted(pks: Any) -> Any:
        result = lookup(pks)
        found.append(len(result))
        return result

    service.fragments.lookup_blocking = counted  # type: ignore[method-assign]
    return found


def hold_rendering(service: DlnaService) -> asyncio.Event:
    """Keep the store stale (not ready) until the returned event is set."""
    held = asyncio.Event()
    render = service.prerender._render

    async def held_render(library: int) -> None:
        await held.wait()
        await render(library)

    service.prerender._render = held_render  # type: ignore[method-assign]
    return held


async def prepared(start_server: StartServer, tmp_path: Path) -> tuple[RunningServer, DlnaService]:
    """A scanned test library whose DLNA pages are all prepared."""
    server = await library_server(start_server, tmp_path / "media")
    service = service_of(server)
    # artists get their pictures from the stills job (made in its worker, after the scan): a
    # walk before it ends and one after differ in the artists' albumArtURI
    assert server.hub.stills is not None
    await server.hub.stills.wait_until(lambda status: status["state"] == "idle")
    await service.prerender.wait_ready()
    return server, service


def digest(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.name.startswith("didl.db")
    }


async def test_stored_items_are_sent_exactly_as_built_ones(
    start_server: StartServer, tmp_path: Path
) -> None:
    server, service = await prepared(start_server, tmp_path)
    assert service.prerender.written > 0
    health = await server.get_json("/api/health")
    dlna = next(p for p in health["plugins"] if p["domain"] == "dlna")  # type: ignore[index]
    assert dlna["detail"]["pages_prepared"] is True
    found = counting_lookups(service)
    stored = await walk(server)
    assert sum(found) >= 15  # movies, episodes, tracks, photos and videos came from the store
    assert any("sec:CaptionInfoEx" in page for page in stored.values())  # Alien's subtitle
    assert any("albumArtURI" in page and "musicTrack" in page for page in stored.values())

    held = hold_rendering(service)
    service.prerender.changed(0)  # no such library: only makes the store "not ready"
    service.pages.clear()
    before = sum(found)
    built = await walk(server)
    assert sum(found) == before  # nothing came from the store this time
    assert built == stored
    held.set()
    await service.prerender.wait_ready()


# Lists clients send: Home Assistant's dlna_dms (browse, resolve, path), lists like Sony's and
# Samsung's (some res attributes, names this server does not know), and the edge cases.
FILTERS = (
    "id,upnp:class,dc:title,res,@childCount,upnp:albumArtURI",
    "id,upnp:class,res",
    "id,upnp:class,dc:title",
    "dc:title,dc:date,upnp:class,upnp:album,upnp:artist,upnp:albumArtURI,res,res@duration,"
    "res@size,res@resolution,res@protocolInfo,av:mediaClass",
    "dc:creator,upnp:genre,upnp:originalTrackNumber,sec:CaptionInfoEx,res,res@bitrate,"
    "res@sampleFrequency,res@nrAudioChannels,@searchable",
    "",
    "res@size,res@duration",  # attributes without their element: no res at all
)


async def test_a_filter_list_is_served_from_the_store_exactly_as_built(
    start_server: StartServer, tmp_path: Path
) -> None:
    """Every container, under every Filter in FILTERS: the stored `*` bodies trimmed to the
    list are what building each item from the catalog with that list gives."""
    server, service = await prepared(start_server, tmp_path)
    found = counting_lookups(service)
    stored = {flt: await walk(server, flt) for flt in FILTERS}
    assert sum(found) >= 15 * len(FILTERS)  # the items came from the store every time
    held = hold_rendering(service)
    service.prerender.changed(0)
    service.pages.clear()
    before = sum(found)
    built = {flt: await walk(server, flt) for flt in FILTERS}
    assert sum(found) == before
    held.set()
    for flt in FILTERS:
        assert stored[flt] == built[flt], flt
    ha = stored[FILTERS[0]]
    assert any("<res protocolInfo=" in page for page in ha.values())
    assert not any(
        "res@" in page or " size=" in page or "<dc:date>" in page for page in ha.values()
    )
    assert any('duration="' in page and " size=" in page for page in stored[FILTERS[3]].values())
    assert not any("<res" in page for page in stored[FILTERS[-1]].values())


async def test_a_change_is_never_answered_from_a_stale_store(
    start_server: StartServer, tmp_path: Path
) -> None:
    server, service = await prepared(start_server, tmp_path)
    pages = await walk(server)
    holder = next(i for i, page in pages.items() if "<dc:title>Pilot</dc:title>" in page)

    def rename(db: Any) -> int:
        db.execute("UPDATE items SET title = 'Pilot (extended)' WHERE title = 'Pilot'")
        return int(
            db.execute("SELECT library_id FROM items WHERE title LIKE 'Pilot%'").fetchone()[0]
        )

    held = hold_rendering(service)
    library_id = await server.hub.catalog.write(rename)
    server.hub.bus.publish(LibraryChanged(library_id))
    await server.hub.bus.drain()
    assert not service.prerender.ready
    assert "<dc:title>Pilot (extended)</dc:title>" in await browse(server, holder)
    held.set()
    await service.prerender.wait_ready()
    found = counting_lookups(service)
    service.pages.clear()
    assert "<dc:title>Pilot (extended)</dc:title>" in await browse(server, holder)
    assert sum(found) > 0


async def test_items_gone_from_the_catalog_leave_the_store(
    start_server: StartServer, tmp_path: Path
) -> None:
    server, service = await prepared(start_server, tmp_path)

    def count(db: Any) -> int:
        return int(db.execute("SELECT count(*) FROM items WHERE file_id IS NOT NULL").fetchone()[0])

    def stored_count() -> int:
        db = service.fragments._db()[0]
        return int(db.execute("SELECT count(*) FROM fragments").fetchone()[0])

    assert stored_count() == await server.hub.catalog.read(count)
    (tmp_path / "media" / "Videos" / "2019-07-04 Fireworks.mp4").unlink()
    server.hub.scans.request_all()
    await settle(server)
    await service.prerender.wait_ready()
    assert stored_count() == await server.hub.catalog.read(count)


async def test_rendering_again_with_nothing_changed_writes_nothing(
    start_server: StartServer, tmp_path: Path
) -> None:
    server, service = await prepared(start_server, tmp_path)
    folder = service.fragments.path.parent
    service.fragments.close()  # checkpoints the WAL: the files settle
    before = digest(folder)
    again = Prerenderer(
        service.fragments, server.hub.catalog, service._subtitles, logging.getLogger("t")
    )
    task = asyncio.get_running_loop().create_task(again.run())
    try:
        await asyncio.wait_for(again.wait_ready(), 30)
        assert again.written == 0
        service.fragments.close()
        assert digest(folder) == before
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def test_a_damaged_store_is_replaced(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "didl.db"
    path.write_bytes(b"this is not a database" * 100)
    store = FragmentStore(path)
    with caplog.at_level(logging.WARNING):
        store.open_blocking()
    assert "unreadable" in caplog.text
    assert store.update_blocking(3, {7: ("abc", "<dc:title>x</dc:title></item>")}) == 1
    assert store.update_blocking(3, {7: ("abc", "<dc:title>x</dc:title></item>")}) == 0
    assert store.lookup_blocking([7, 8]) == {7: ("abc", "<dc:title>x</dc:title></item>")}
    assert store.keep_only_blocking(3, 0, None, set()) == 1
    assert store.lookup_blocking([7]) == {}
    store.close()


def test_an_unreadable_store_answers_nothing(tmp_path: Path) -> None:
    store = FragmentStore(tmp_path / "missing-folder" / "didl.db")
    assert store.lookup_blocking([1, 2]) == {}


async def test_a_failing_store_is_logged_once_and_tried_again(
    start_server: StartServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _, service = await prepared(start_server, tmp_path)
    monkeypatch.setattr(prerender, "RETRY_SECONDS", 0.05)
    update = service.fragments.update_blocking
    failures = [3]

    def flaky(library_id: int, fresh: Any) -> int:
        if failures[0]:
            failures[0] -= 1
            raise sqlite3.OperationalError("disk I/O error")
        return update(library_id, fresh)

    service.fragments.update_blocking = flaky  # type: ignore[method-assign]
    service.prerender.changed(1)
    for _ in range(200):
        if not failures[0] and service.prerender.ready:
            break
        await asyncio.sleep(0.02)
    assert service.prerender.ready and not failures[0]
    warnings = [r for r in caplog.records if "cannot be used" in r.getMessage()]
    assert len(warnings) == 1  # one outage, one line
    assert any("works again" in r.getMessage() for r in caplog.records)


async def test_pages_are_prepared_only_while_no_scan_runs(
    start_server: StartServer, tmp_path: Path
) -> None:
    """Rendering waits for the scans to be idle (the real `ctx.scans_idle`), batch by batch."""
    server, service = await prepared(start_server, tmp_path)
    scanning = asyncio.Event()
    quiet = service.prerender._quiet
    assert quiet is not None

    async def held() -> None:  # as if a scan were running until `scanning` is set
        await scanning.wait()
        await quiet()

    service.prerender._quiet = held
    before = service.prerender.written
    await server.hub.catalog.write(
        lambda db: db.execute(
            "UPDATE items SET title = title || ' (restored)' WHERE kind = 'movie'"
        )
    )
    service.prerender.changed(1)
    await asyncio.sleep(0.3)
    assert not service.prerender.ready and service.prerender.written == before
    scanning.set()
    await asyncio.wait_for(service.prerender.wait_ready(), 10)
    assert service.prerender.written > before


async def test_a_finished_render_gives_its_memory_back(
    start_server: StartServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once every library is prepared nothing the job used is kept: the subtitle maps are
    dropped, every store connection's page cache too (small to begin with), and the heap the
    batches freed is returned to the system."""
    _server, service = await prepared(start_server, tmp_path)
    assert service._subtitle_maps == {}
    trims: list[int] = []
    monkeypatch.setattr(prerender, "trim_blocking", lambda: trims.append(1))
    shrunk: list[int] = []
    shrink = service.fragments.shrink_blocking

    def counted() -> None:
        shrink()
        shrunk.append(1)

    service.fragments.shrink_blocking = counted  # type: ignore[method-assign]
    service.prerender.changed(1)
    await service.prerender.wait_ready()
    assert (trims, shrunk) == ([1], [1])
    assert service._subtitle_maps == {}
    with service.fragments._use() as db:
        assert db.execute("PRAGMA cache_size").fetchone()[0] == -256
