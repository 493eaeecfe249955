"""The data folder is readable by the server's user only: an install from before (0755 folders,
0644 files) is fixed at start and says so once; everything made afterwards (the catalog and
its -wal and -shm, TLS files, plugin folders and databases) is born private; a symbolic link
out of the folder is left alone, and so is what it points at."""

from __future__ import annotations

import logging
import os
import re
import stat
from pathlib import Path

import pytest

from core.data_folder import make_private_blocking
from tests.conftest import StartServer


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def loose(folder: Path) -> list[str]:
    """Everything under `folder` that its group or others may use."""
    return [
        f"{p.relative_to(folder)} {mode(p):o}"
        for p in [folder, *folder.rglob("*")]
        if not p.is_symlink() and mode(p) & 0o077
    ]


def old_install(data: Path, outside: Path) -> None:
    """What an earlier version (umask 022) left behind, and a link out of the folder."""
    os.umask(0o022)
    data.mkdir(mode=0o755)
    (data / "hardware.json").write_text("{}")
    (data / "thumbnails" / "ab").mkdir(parents=True, mode=0o755)
    (data / "thumbnails" / "ab" / "x.jpg").write_bytes(b"jpeg")
    (data / "run.sh").write_text("#!/bin/sh\n")
    (data / "run.sh").chmod(0o755)
    outside.write_text("not ours")
    (data / "linked.txt").symlink_to(outside)
    os.chmod(data, 0o755)


async def test_an_old_install_is_made_private_at_start_and_new_files_are_born_private(
    start_server: StartServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data, outside = tmp_path / "data", tmp_path / "outside.txt"
    old_install(data, outside)
    server = await start_server("dlna: {ssdp: false}\nweb:\n")
    await server.hub.bus.drain()
    assert mode(data) == 0o700
    assert mode(data / "hardware.json") == 0o600
    assert mode(data / "thumbnails") == mode(data / "thumbnails" / "ab") == 0o700
    assert mode(data / "thumbnails" / "ab" / "x.jpg") == 0o600
    assert mode(data / "run.sh") == 0o700  # the owner keeps what they had
    assert mode(outside) == 0o644  # not ours: a link is never followed
    for name in ("catalog.db", "catalog.db-wal", "catalog.db-shm"):
        assert mode(data / name) == 0o600, name
    assert (data / "plugins" / "dlna").is_dir() and (data / "tls" / "key.pem").is_file()
    assert loose(data) == []
    fixed = [r.getMessage() for r in caplog.records if r.name == "hearth.data"]
    assert len(fixed) == 1  # six of ours, and the measurements the test harness copied in
    assert re.fullmatch(
        rf"Made \d+ file\(s\) and folder\(s\) in {re.escape(str(data))} "
        r"readable by the server's user only",
        fixed[0],
    ), fixed


def test_a_private_folder_is_only_read(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    data = tmp_path / "data"
    assert make_private_blocking(data) == 0  # made 0700 from the start: nothing to fix
    (data / "catalog.db").write_bytes(b"")
    before = {p: p.stat().st_ctime_ns for p in [data, *data.rglob("*")]}
    assert make_private_blocking(data) == 0
    assert {p: p.stat().st_ctime_ns for p in before} == before  # not even a chmod
    assert not [r for r in caplog.records if r.name == "hearth.data"]


async def test_the_command_line_makes_a_private_catalog_too(tmp_path: Path) -> None:
    """`hearth user add` on a box where the server never ran: the catalog and its WAL are
    private whatever the shell's umask."""
    from core.catalog import Catalog

    os.umask(0o022)
    catalog = await Catalog.open(tmp_path / "data")
    try:
        await catalog.write(lambda db: db.execute("SELECT 1"))
        for name in ("catalog.db", "catalog.db-wal", "catalog.db-shm"):
            assert mode(tmp_path / "data" / name) == 0o600, name
        assert mode(tmp_path / "data") == 0o700
    finally:
        await catalog.close()
        os.umask(0o077)


def test_the_log_line_is_written_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    old_install(tmp_path / "data", tmp_path / "outside.txt")
    os.umask(0o077)
    assert make_private_blocking(tmp_path / "data") == 6  # folders, files; not the link
    assert make_private_blocking(tmp_path / "data") == 0
    assert len([r for r in caplog.records if r.name == "hearth.data"]) == 1


def test_only_what_others_could_reach_is_walked(tmp_path: Path) -> None:
    """Inside a private folder nothing is reachable by others, whatever its own modes: a start
    reads the data folder's own entries and walks only folders that others could enter (not
    the 100k thumbnails of a private thumbnails folder at every start)."""
    data = tmp_path / "data"
    assert make_private_blocking(data) == 0
    os.umask(0o022)
    (data / "thumbnails" / "ab").mkdir(parents=True)
    (data / "thumbnails" / "ab" / "x.jpg").write_bytes(b"jpeg")
    (data / "thumbnails").chmod(0o700)
    (data / "tls").mkdir()
    (data / "tls" / "key.pem").write_text("key")
    (data / "hardware.json").write_text("{}")
    assert make_private_blocking(data) == 3  # hardware.json, tls and its key
    assert mode(data / "tls") == 0o700 and mode(data / "tls" / "key.pem") == 0o600
    assert mode(data / "hardware.json") == 0o600
    assert mode(data / "thumbnails" / "ab") == 0o755  # not walked: behind a private folder
    os.chmod(data, 0o755)  # a copy that loosened the top: everything is walked again
    assert make_private_blocking(data) == 3
    assert loose(data) == []
