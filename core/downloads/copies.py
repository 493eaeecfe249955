"""Phone-sized copies for downloads: H.264/AAC MP4 (moov first) made by ffmpeg, one at a time.

A copy is made only while the playback engine's capacity rules (core.playback.capacity) leave
room for a whole live transcode beside it, and it never takes that room from a viewer: it holds
no slot, runs at the lowest CPU and I/O priority, and is paused (SIGSTOP) whenever live streams
leave less than one stream of room (the board throttling or hot shrinks the limit too), then
continued. It is written to a `.part` file and renamed when done, so the finished file is
served with Range (a download resumes). Copies live in `<data folder>/downloads/` and are
deleted by `sweep` when nobody waits for them any more. It never decides who may download.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
from dataclasses import dataclass, field
from pathlib import Path

from core.http.errors import ApiError
from core.playback.capacity import TranscodeCapacity
from core.playback.ffmpeg_args import INPUT_ARGS, open_source_blocking

_LOGGER = logging.getLogger("hearth.downloads")
PRESETS = {"480p": (480, 1_200_000), "720p": (720, 2_500_000), "1080p": (1080, 5_000_000)}
"""Phone sizes: the picture's height at most, and the video bitrate it may peak at."""
ROOM_EVERY = 2.0  # how often a running copy looks whether live streams need the room
SUFFIX = ".mp4"
KEEP_FREE = 500_000_000  # a copy never takes the last of the disk the catalog lives on
AUDIO_BITRATE = 128_000


@dataclass
class CopyJob:
    """One copy being made (or made): what the app shows as its state and progress."""

    name: str
    source: Path
    target: Path
    quality: str
    duration: float | None
    state: str = "queued"  # queued, waiting (for room), making, paused, ready, failed
    progress: float = 0.0
    error: str | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)


def copy_name(item_id: str, quality: str, source_size: int, source_mtime_ns: int) -> str:
    """A copy's file name: a changed original gets a new copy, never the old one."""
    return f"{item_id}~{quality}~{source_size:x}-{source_mtime_ns:x}{SUFFIX}"


def copy_key(name: str) -> tuple[str, str] | None:
    """(item id, quality) of a copy's file name, or None for anything else."""
    parts = name.removesuffix(".part").removesuffix(SUFFIX).split("~")
    return (parts[0], parts[1]) if len(parts) == 3 else None


def largest_size(job: CopyJob) -> int | None:
    """The most bytes a copy can take (its peak bitrates for its whole length), if known."""
    if not job.duration:
        return None
    return int((PRESETS[job.quality][1] + AUDIO_BITRATE) * job.duration / 8)


def ffmpeg_command(ffmpeg: Path, job: CopyJob, preset: str) -> list[str]:
    height, bitrate = PRESETS[job.quality]
    return [
        str(ffmpeg), "-hide_banner", "-nostdin", "-loglevel", "error", "-nostats",
        "-progress", "pipe:1", *INPUT_ARGS, "-i", str(job.source),
        "-map", "0:v:0", "-map", "0:a:0?", "-sn", "-dn", "-map_metadata", "-1",
        # never upscale; an even width keeps x264 happy with any aspect ratio
        "-vf", f"scale=-2:'min({height},ih)':flags=bicubic,format=yuv420p",
        "-c:v", "libx264", "-preset", preset, "-crf", "23", "-profile:v", "high",
        "-maxrate", str(bitrate), "-bufsize", str(bitrate * 2),
        "-c:a", "aac", "-b:a", str(AUDIO_BITRATE), "-ac", "2",
        "-movflags", "+faststart", "-f", "mp4", "-y", str(job.target) + ".part",
    ]  # fmt: skip


class CopyMaker:
    """Makes copies one after another, yielding to live streams."""

    def __init__(self, ffmpeg: Path, folder: Path, capacity: TranscodeCapacity, preset: str):
        self.folder = folder
        self._ffmpeg = ffmpeg
        self._capacity = capacity
        self._preset = preset
        self._jobs: dict[str, CopyJob] = {}
        self._queue: asyncio.Queue[CopyJob] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._current: asyncio.subprocess.Process | None = None

    def job(self, name: str) -> CopyJob | None:
        return self._jobs.get(name)

    def jobs(self) -> list[CopyJob]:
        return list(self._jobs.values())

    def want(self, name: str, source: Path, quality: str, duration: float | None) -> CopyJob:
        """The job for this copy: finished already, under way, or queued now."""
        job = self._jobs.get(name)
        target = self.folder / name
        # a failed copy stays failed (the app says so) until the original changes or the
        # server restarts, rather than running ffmpeg again at every listing
        if job is not None and (job.state != "ready" or target.exists()):
            return job
        job = CopyJob(name, source, target, quality, duration)
        self._jobs[name] = job
        if target.exists():
            job.state, job.progress = "ready", 1.0
            job.done.set()
            return job
        self._queue.put_nowait(job)
        if self._worker is None or self._worker.done():
            loop = asyncio.get_running_loop()
            self._worker = loop.create_task(self._work(), name="download-copies")
        return job

    def room(self) -> bool:
        """Whether live streams leave room for one whole transcode beside them."""
        limit, _why = self._capacity.limit()
        return self._capacity.in_use + 1.0 <= limit + 1e-9

    async def _work(self) -> None:
        while not self._queue.empty():
            job = self._queue.get_nowait()
            if self._jobs.get(job.name) is not job:
                continue  # dropped (nobody wants it any more) while it waited
            try:
                await self._make(job)
            except OSError as err:
                job.state, job.error = "failed", f"Could not run ffmpeg: {err}"
            finally:
                job.done.set()

    async def _make(self, job: CopyJob) -> None:
        job.state = "waiting"
        # The capacity announces nothing: its limit follows the board's health, read when asked.
        while not self.room():  # noqa: ASYNC110
            await asyncio.sleep(ROOM_EVERY)
        await asyncio.to_thread(self.folder.mkdir, mode=0o700, parents=True, exist_ok=True)
        needed = largest_size(job)
        free = (await asyncio.to_thread(shutil.disk_usage, self.folder)).free
        if needed is not None and free < needed + KEEP_FREE:
            job.state = "failed"
            job.error = (
                f"The server's disk has too little room for this copy (about "
                f"{needed / 1e6:.0f} MB, and {KEEP_FREE / 1e6:.0f} MB stay free for the catalog)."
            )
            _LOGGER.warning("Not making %s: %s", job.name, job.error)
            return
        command = ffmpeg_command(self._ffmpeg, job, self._preset)
        nice = shutil.which("nice")
        if nice:  # the lowest CPU priority: a live stream's ffmpeg always goes first
            command = [nice, "-n", "19", *command]
        try:  # ffmpeg reads the file opened and checked now, not a name (a copy may wait long)
            fd = await asyncio.to_thread(open_source_blocking, job.source)
        except ApiError as gone:
            job.state, job.error = "failed", gone.message
            _LOGGER.warning("Not making %s: %s", job.name, job.error)
            return
        command = [f"/dev/fd/{fd}" if arg == str(job.source) else arg for arg in command]
        job.state = "making"
        try:
            process = await asyncio.create_subprocess_exec(
                *command,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                pass_fds=(fd,),
            )
        finally:
            os.close(fd)  # the child holds its own copy
        self._current = process
        yielding = asyncio.get_running_loop().create_task(
            self._yield_to_live(job, process), name="download-copy-yield"
        )
        try:
            await self._follow(job, process)
            _out, err = await process.communicate()
        finally:
            yielding.cancel()
            self._current = None
        part = Path(str(job.target) + ".part")
        if process.returncode != 0:
            await asyncio.to_thread(part.unlink, missing_ok=True)
            job.state = "failed"
            job.error = (err.decode(errors="replace").strip().splitlines() or ["ffmpeg failed"])[-1]
            _LOGGER.warning("Making %s failed: %s", job.name, job.error)
            return
        await asyncio.to_thread(os.replace, part, job.target)
        job.state, job.progress = "ready", 1.0

    async def _follow(self, job: CopyJob, process: asyncio.subprocess.Process) -> None:
        """Progress from ffmpeg's `-progress` lines (out_time_us against the duration)."""
        assert process.stdout is not None
        async for raw in process.stdout:
            key, _, value = raw.decode(errors="replace").strip().partition("=")
            if key == "out_time_us" and value.isdigit() and job.duration:
                job.progress = min(0.99, int(value) / 1e6 / job.duration)

    async def _yield_to_live(self, job: CopyJob, process: asyncio.subprocess.Process) -> None:
        stopped = False
        try:
            while process.returncode is None:
                room = self.room()
                if stopped == room:  # paused with room again, or running without it
                    process.send_signal(signal.SIGCONT if stopped else signal.SIGSTOP)
                    stopped = not stopped
                    job.state = "paused" if stopped else "making"
                await asyncio.sleep(ROOM_EVERY)
        finally:
            if stopped and process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(signal.SIGCONT)

    def drop(self, keep: set[tuple[str, str]]) -> None:
        """Forget (and delete) every copy whose (item id, quality) is not in `keep`: finished
        files, `.part` files and the job under way."""
        for name, job in list(self._jobs.items()):
            if copy_key(name) not in keep:
                del self._jobs[name]
                if job.state in ("making", "paused") and self._current is not None:
                    with contextlib.suppress(ProcessLookupError):
                        self._current.send_signal(signal.SIGCONT)
                        self._current.kill()
        if not self.folder.is_dir():
            return
        for file in self.folder.iterdir():
            if copy_key(file.name) not in keep:
                file.unlink(missing_ok=True)

    async def close(self) -> None:
        if self._current is not None:
            with contextlib.suppress(ProcessLookupError):
                self._current.send_signal(signal.SIGCONT)
                self._current.kill()
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
