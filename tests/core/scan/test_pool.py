"""The probe workers: answers in order, a worker killed mid-scan costs nothing, a file that crashes
its worker becomes that file's error, workers are recycled one at a time and never outlive the
pool, and neither side imports more than it needs."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from core.media.naming import parse_name
from core.scan.analysis import analyze_blocking
from core.scan.pool import PoolClosedError, ProbePool, WorkerStartError
from core.scan.worker import Job
from tests.core.media.mediagen import make_audio, make_video

# A worker whose probe segfaults on any file named *crash*, as FFmpeg might on a hostile file
CRASHING = (
    sys.executable,
    "-c",
    "import os, signal\n"
    "from core.scan.analysis import analyze_many_blocking\n"
    "from core.scan.worker import serve\n"
    "def analyse(jobs, roots):\n"
    "    if any('crash' in relpath for _, relpath, _ in jobs):\n"
    "        os.kill(os.getpid(), signal.SIGSEGV)\n"
    "    return analyze_many_blocking(jobs, roots)\n"
    "serve(analyse)\n",
)


def movies(root: Path, count: int, crash: frozenset[int] = frozenset()) -> list[Job]:
    """`count` movie files (hardlinks to one small video); those in `crash` are named *crash*."""
    sample = make_video(root / ".sample.mkv", 0.2)
    jobs: list[Job] = []
    for n in range(count):
        relpath = f"Film {n} {'crash ' if n in crash else ''}(2001).mkv"
        os.link(sample, root / relpath)
        jobs.append((str(root), relpath, "movies"))
    return jobs


def chunks(jobs: list[Job], size: int) -> list[list[Job]]:
    return [jobs[i : i + size] for i in range(0, len(jobs), size)]


async def test_answers_match_an_in_process_analysis_in_order(tmp_path: Path) -> None:
    (tmp_path / "Artist" / "Album").mkdir(parents=True)
    make_audio(tmp_path / "Artist" / "Album" / "01 - Song.mp3")
    (tmp_path / "broken.mkv").write_bytes(b"")
    jobs = [*movies(tmp_path, 3)]
    music: list[Job] = [(str(tmp_path), "Artist/Album/01 - Song.mp3", "music")]
    broken: list[Job] = [(str(tmp_path), "broken.mkv", "movies")]
    pool = ProbePool(1)
    try:
        results = await asyncio.gather(pool.analyse(jobs), pool.analyse(music + broken))
    finally:
        await pool.close()
    expected = [analyze_blocking(*job) for job in jobs + music + broken]
    assert results[0] + results[1] == expected
    assert expected[-1].error and not any(a.error for a in expected[:-1])
    assert pool.pids == []


async def test_a_worker_killed_mid_scan_costs_no_file(tmp_path: Path) -> None:
    jobs = movies(tmp_path, 96)
    pool = ProbePool(1)
    try:
        tasks = [asyncio.ensure_future(pool.analyse(chunk)) for chunk in chunks(jobs, 8)]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        (victim,) = pool.pids
        os.kill(victim, signal.SIGKILL)
        results = [a for part in await asyncio.gather(*tasks) for a in part]
        assert pool.pids and victim not in pool.pids
    finally:
        await pool.close()
    assert [(a.root, a.relpath) for a in results] == [job[:2] for job in jobs]
    assert not [a.error for a in results if a.error]


async def test_a_file_that_crashes_its_worker_is_that_files_error(tmp_path: Path) -> None:
    jobs = movies(tmp_path, 40, crash=frozenset({5, 33}))
    pool = ProbePool(1, command=CRASHING)
    try:
        parts = await asyncio.gather(*map(pool.analyse, chunks(jobs, 8)))
    finally:
        await pool.close()
    results = [a for part in parts for a in part]
    errors = {a.relpath: a.error for a in results if a.error}
    assert [a.relpath for a in results] == [job[1] for job in jobs]
    assert set(errors) == {jobs[5][1], jobs[33][1]}
    assert all("crashed the worker (killed by SIGSEGV)" in str(e) for e in errors.values())
    crashed = next(a for a in results if a.error)
    assert crashed.name == parse_name(jobs[5][1], "movies")


async def test_workers_are_recycled_one_at_a_time(tmp_path: Path) -> None:
    jobs = movies(tmp_path, 12)
    pool = ProbePool(1, recycle_after=4)
    seen: set[int] = set()
    try:
        for chunk in chunks(jobs, 2):
            task = asyncio.ensure_future(pool.analyse(chunk))
            await asyncio.sleep(0)
            assert len(pool.pids) <= 1
            seen.update(pool.pids)
            assert not [a for a in await task if a.error]
    finally:
        await pool.close()
    assert len(seen) == 3  # 12 files, a fresh worker after every 4


async def test_a_worker_that_cannot_start_fails_the_request(tmp_path: Path) -> None:
    pool = ProbePool(1, command=(sys.executable, "-c", "raise SystemExit(3)"))
    try:
        with pytest.raises(WorkerStartError, match="exit status 3"):
            await pool.analyse(movies(tmp_path, 2))
    finally:
        await pool.close()


async def test_close_stops_busy_workers_and_refuses_new_work(tmp_path: Path) -> None:
    jobs = movies(tmp_path, 64)
    pool = ProbePool(1)
    tasks = [asyncio.ensure_future(pool.analyse(chunk)) for chunk in chunks(jobs, 16)]
    await asyncio.sleep(0.2)
    pids = pool.pids
    for task in tasks:
        task.cancel()
    await pool.close(grace=5.0)
    assert pool.pids == []
    assert pids and not [pid for pid in pids if Path(f"/proc/{pid}").exists()]  # reaped
    with pytest.raises(PoolClosedError):
        await pool.analyse(jobs[:1])


def test_neither_side_imports_more_than_it_needs(tmp_path: Path) -> None:
    """The worker loads no server code; the process that reads its answers loads no PyAV."""
    movies(tmp_path, 1)
    heavy = {
        "aiohttp",
        "sqlite_utils",
        "multiprocessing",
        "core.cli",
        "importlib.metadata",
        "pillow_heif",  # ~8 MB: loaded only by a worker that meets a HEIC
    }
    worker = subprocess.run(
        [sys.executable, "-c", "import sys, core.scan.worker; print(' '.join(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert not heavy & set(worker.stdout.split())
    script = (
        "import asyncio, sys\n"
        "from core.scan.pool import ProbePool\n"
        "async def main():\n"
        "    pool = ProbePool(1)\n"
        f"    [a] = await pool.analyse([({str(tmp_path)!r}, 'Film 0 (2001).mkv', 'movies')])\n"
        "    await pool.close()\n"
        "    assert a.probe is not None and a.probe.video_streams, a\n"
        "    print(' '.join(sys.modules))\n"
        "asyncio.run(main())\n"
    )
    main = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert not {"av", "PIL", "mutagen", "pillow_heif", "core.media.probe"} & set(
        main.stdout.split()
    )
