"""What makes a full scan cheap without changing what it finds: the fingerprint reads both ends
of a file (not its first MiB), a catalog fingerprinted the older way still finds a copied file,
and a scan with nothing else running probes with a worker per core."""

from __future__ import annotations

import os
import shutil
import sqlite3
import zlib
from pathlib import Path

import pytest

from core.bus import EventBus
from core.catalog import Catalog
from core.registry import Registry
from core.scan.analysis import head_hash_blocking, legacy_head_hash_blocking
from core.scan.manager import ScanManager
from tests.conftest import RunningServer
from tests.core.scan.library import Truth
from tests.core.scan.test_scanner import items, library_ids, scanned, settle

__all__ = ["scanned"]  # the fixture, shared with the scanner's tests


def test_the_fingerprint_tells_apart_files_that_differ_only_near_their_end(
    tmp_path: Path,
) -> None:
    body = os.urandom(3 * 1024 * 1024)
    first, second = tmp_path / "a.mkv", tmp_path / "b.mkv"
    first.write_bytes(body + b"end one")
    second.write_bytes(body + b"end two")
    assert head_hash_blocking(str(first)) != head_hash_blocking(str(second))
    assert head_hash_blocking(str(first)) == head_hash_blocking(str(tmp_path / "a.mkv"))
    small = tmp_path / "small.mp3"
    small.write_bytes(b"ID3" + bytes(1000))
    assert head_hash_blocking(str(small)) == f"ht:{zlib.crc32(small.read_bytes()):08x}-3eb"


async def test_a_copy_then_delete_is_found_by_an_older_catalogs_fingerprint(
    scanned: tuple[RunningServer, Path, dict[str, list[Truth]]],
) -> None:
    server, base, _ = scanned
    ids = await library_ids(server)
    before = {m["title"]: m["id"] for m in await items(server, library=ids["Movies"], kind="movie")}
    original = base / "Movies/Alien (1979).mp4"
    with sqlite3.connect(server.hub.catalog.path) as db:  # as a scan before 64 KiB ends wrote it
        db.execute(
            "UPDATE files SET head_hash = ? WHERE relpath = ?",
            [legacy_head_hash_blocking(str(original)), os.fsencode("Alien (1979).mp4")],
        )
    shutil.copy2(original, base / "Movies/Alien.1979.mp4")
    os.remove(original)
    server.hub.scans.request_all()
    await settle(server)
    after = {m["title"]: m["id"] for m in await items(server, library=ids["Movies"], kind="movie")}
    assert after == before
    assert server.hub.scans.last["Movies"].moved == 1


@pytest.mark.parametrize(("configured", "expected"), [(0, 4), (1, 1)])
async def test_a_scan_with_nothing_else_running_uses_a_worker_per_core(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, configured: int, expected: int
) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    catalog = await Catalog.open(tmp_path)
    bus = EventBus()
    try:
        scans = ScanManager(
            catalog, bus, Registry("source", bus), Registry("metadata", bus), configured
        )
        assert scans.workers == (configured or 2)  # the server stays gentle
        scans.run_alone()
        assert scans.workers == expected
    finally:
        await catalog.close()
