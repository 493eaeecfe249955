"""`hearth scan` as a person runs it: straight into the catalog, through a running server, and
after the process was killed in the middle of a scan."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import psutil

from tests.conftest import core_yaml, write_config
from tests.core.cli_helpers import wait_for_port
from tests.core.scan.library import build_library, library_yaml, video

HEARTH = [sys.executable, "-m", "core"]


def test_scan_without_a_server_scans_into_the_catalog_and_summarises(tmp_path: Path) -> None:
    base = tmp_path / "media"
    build_library(base)
    (base / "Movies" / "broken.mkv").write_bytes(b"\x1aE\xdf\xa3" + b"\0" * 64)
    folder = write_config(tmp_path / "config", core_yaml(tmp_path / "data") + library_yaml(base))
    result = subprocess.run(
        [*HEARTH, "scan", "-c", str(folder)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "Movies: 2 movies" in lines
    assert "TV: 4 episodes, 3 seasons, 1 shows" in lines
    assert "Music: 2 albums, 2 artists, 4 tracks" in lines
    assert "1 file(s) could not be read:" in lines
    assert any("broken.mkv" in line for line in lines)
    again = subprocess.run(
        [*HEARTH, "scan", "-c", str(folder), "--library", "TV"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert again.stdout.splitlines() == ["TV: 4 episodes, 3 seasons, 1 shows"]
    unknown = subprocess.run(
        [*HEARTH, "scan", "-c", str(folder), "--library", "Nope"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert unknown.returncode == 1 and "No library named 'Nope'" in unknown.stderr


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_scan_with_a_server_running_asks_the_server_and_follows_it(tmp_path: Path) -> None:
    base = tmp_path / "media"
    build_library(base)
    port = free_port()
    yaml = core_yaml(tmp_path / "data").replace("port: 0,", f"port: {port},")
    folder = write_config(tmp_path / "config", yaml + library_yaml(base))
    subprocess.run(
        [*HEARTH, "user", "add", "ann", "--role", "owner", "--password-stdin", "-c", str(folder)],
        input="correct horse battery\n",
        text=True,
        check=True,
        capture_output=True,
    )
    server = subprocess.Popen(
        [*HEARTH, "run", "-c", str(folder)], stderr=subprocess.PIPE, text=True
    )
    try:
        assert wait_for_port(server) == port
        video(base / "Movies", "Heat (1995).mkv")
        result = subprocess.run(
            [*HEARTH, "scan", "-c", str(folder), "--library", "Movies", "--wait"],
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=10)
    assert result.returncode == 0, result.stderr
    assert f"The server at http://127.0.0.1:{port} is scanning: folders:Movies" in result.stderr
    assert result.stdout.splitlines() == ["Movies: 3 movies"]


def clips(tmp_path: Path, count: int) -> tuple[Path, Path]:
    """A config folder with one library of `count` hard links of one clip, and its catalog."""
    base = tmp_path / "media"
    first = video(base / "Videos", "clip-0000.mp4")
    for n in range(1, count):
        os.link(first, base / "Videos" / f"clip-{n:04d}.mp4")
    folder = write_config(
        tmp_path / "config",
        core_yaml(tmp_path / "data")
        + "folders:\n  libraries:\n"
        + f"    - {{name: Clips, kind: videos, paths: ['{base}/Videos']}}\n",
    )
    return folder, tmp_path / "data" / "catalog.db"


def test_a_scan_killed_midway_loses_nothing_and_the_next_one_finishes(tmp_path: Path) -> None:
    folder, database = clips(tmp_path, 1500)
    process = subprocess.Popen(
        [*HEARTH, "scan", "-c", str(folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    written = 0
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=1) as conn:
                written = conn.execute("SELECT count(*) FROM items").fetchone()[0]
        except sqlite3.Error:
            written = 0
        if written > 0:
            break
        time.sleep(0.02)
    workers = psutil.Process(process.pid).children()
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    assert 0 < written < 1500, "the kill must land in the middle of the scan"
    assert workers, "a probe worker was running"
    _, orphans = psutil.wait_procs(workers, timeout=15)  # their input ends: they exit
    assert not orphans
    result = subprocess.run(
        [*HEARTH, "scan", "-c", str(folder)], capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, result.stderr
    assert "Clips: 1500 videos" in result.stdout.splitlines()
    with sqlite3.connect(database) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT count(*) FROM files").fetchone()[0] == 1500
        assert conn.execute("SELECT count(*) FROM items WHERE file_id IS NULL").fetchone()[0] == 0
        orphans = conn.execute(
            "SELECT count(*) FROM files WHERE role = 'video' AND id NOT IN "
            "(SELECT file_id FROM items WHERE file_id IS NOT NULL)"
        ).fetchone()[0]
        assert orphans == 0


def test_a_probe_worker_killed_mid_scan_costs_no_file(tmp_path: Path) -> None:
    """A worker dying mid-scan (as when FFmpeg crashes on a hostile file) does not stop the scan;
    the files it was probing are probed again, and only a file that kills a worker on its own
    would be reported (tests/core/scan/test_pool.py)."""
    folder, database = clips(tmp_path, 800)
    process = subprocess.Popen(
        [*HEARTH, "scan", "-c", str(folder)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    victims: list[psutil.Process] = []
    deadline = time.monotonic() + 60
    while not victims and time.monotonic() < deadline and process.poll() is None:
        with (
            contextlib.suppress(sqlite3.Error),
            sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=1) as conn,
        ):
            if conn.execute("SELECT count(*) FROM items").fetchone()[0] > 0:
                victims = psutil.Process(process.pid).children()
        time.sleep(0.02)
    for victim in victims:
        victim.kill()
    out, err = process.communicate(timeout=120)
    assert victims, "the kill must land in the middle of the scan"
    assert process.returncode == 0, err
    assert out.decode().splitlines() == ["Clips: 800 videos"]
    assert b"crashed a worker" not in err  # the chunk it was probing was sent again
