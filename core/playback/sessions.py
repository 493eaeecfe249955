"""Transcode sessions: one ffmpeg-backed HLS session per (client, item), and progressive TS.

A session owns a scratch folder and at most one ffmpeg run writing `<n>.ts` files (or fMP4
`<n>.m4s` ones after an `init-<run>.mp4` header) on the timeline its playlist promised. A
request for a segment far from the run (a seek) replaces the run; a run far ahead of the
player is paused (SIGSTOP) and segments well behind it are deleted, so a two-hour remux never
fills an SD card. Idle or stopped sessions lose their process
(SIGTERM, SIGKILL after 2 s) and their folder. ffmpeg runs niced, without stdin, its stderr
kept; a failed run is logged once at WARNING and clients get a JSON error. This module never
decides what a client can play and never builds argument lists itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import secrets
import shutil
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from core.events import Event, PlaybackStarted, PlaybackStopped
from core.http.errors import ApiError
from core.playback import ffmpeg_args
from core.playback.constant_rate import ConstantRate
from core.playback.ffmpeg_args import (
    EncoderSettings,
    FfmpegProcess,
    StreamStart,
    transcode_failed,
)
from core.playback.hls import (
    TS_TIMESTAMP_OFFSET,
    SegmentTimeline,
    keyframe_index_blocking,
    with_timestamp_map,
)
from core.playback.plan import PlaybackPlan
from core.playback.progressive import ProgressiveStreams
from core.playback.scratch import MB, used_bytes_blocking

_LOGGER = logging.getLogger("hearth.playback")
POLL_S = 0.1
KEEP_BEHIND_S = 12.0  # played segments kept for a small rewind before being deleted


class Capacity(Protocol):
    """The transcode limiter (`capacity.TranscodeCapacity` fits): `acquire` returns the weight
    taken, or raises ApiError(503, Retry-After) when the box is full; `release` gives it back."""

    def acquire(self, encodes_video: bool) -> float: ...

    def release(self, weight: float) -> None: ...


class UnlimitedCapacity:
    """No limit: for tests and until the real limiter is wired."""

    def acquire(self, encodes_video: bool) -> float:
        return 0.0

    def release(self, weight: float) -> None:
        return None


_ENDED = "This playback session has ended; request master.m3u8 again."


@dataclass(frozen=True, slots=True)
class HlsSource:
    """What a session plays: the item, its file and probe, and the plan it follows."""

    item_id: str
    path: Path
    probe: Mapping[str, Any]
    plan: PlaybackPlan
    default_subtitle: int | None = None


@dataclass(frozen=True, slots=True)
class HlsSettings:
    ffmpeg: Path
    encoder: EncoderSettings
    segment_seconds: float
    segment_timeout: float
    buffer_seconds: float
    seek_gap_seconds: float  # a request this far past the run's progress is a seek
    capacity: Capacity


class HlsSession:
    """One client watching one item: a timeline, a scratch folder, and the ffmpeg run."""

    def __init__(
        self,
        session_id: str,
        key: str,
        source: HlsSource,
        timeline: SegmentTimeline,
        folder: Path,
        settings: HlsSettings,
    ) -> None:
        self.id, self.key, self.source = session_id, key, source
        self.requested = source  # what the client asked for, before any fallback
        self.timeline, self.folder, self._settings = timeline, folder, settings
        self.last_used = asyncio.get_running_loop().time()
        self.failure: str | None = None
        self.closed = False
        self._run: FfmpegProcess | None = None
        self._first = self._next = self._last = 0
        self.run_starts: list[int] = []  # where each ffmpeg run began, for logs and tests
        self._header: Path | None = None  # fMP4's init segment once served
        self._done: set[int] = set()
        self._wanted = 0
        self._holding: float | None = None  # the capacity weight while a run may be going
        self._lock = asyncio.Lock()
        self._extractors: set[FfmpegProcess] = set()
        self._subtitle_lock = asyncio.Lock()

    @property
    def plan(self) -> PlaybackPlan:
        return self.source.plan

    @property
    def paused(self) -> bool:
        """Whether ffmpeg is stopped (SIGSTOP) because it is far enough ahead of the player."""
        return self._run is not None and self._run.paused

    def touch(self) -> None:
        self.last_used = asyncio.get_running_loop().time()

    def segment_path(self, n: int) -> Path:
        return self.folder / f"{n}.{ffmpeg_args.segment_extension(self.plan)}"

    async def init_segment(self) -> Path:
        """fMP4's shared header (EXT-X-MAP): the one of the earliest run that wrote it. Runs
        of one session write the same header (same streams, same settings), so any will do;
        it is complete once its run's first segment file exists (the muxer closes it first)."""
        if self.plan.segments != "fmp4":
            raise ApiError(404, "This session sends MPEG-TS segments; they have no init segment.")
        deadline = asyncio.get_running_loop().time() + self._settings.segment_timeout
        while True:
            self.touch()
            self._refresh()
            if self._header is not None and self._header.exists():
                return self._header
            for first in self.run_starts:
                header = self.folder / f"init-{first}.mp4"
                made = first in self._done or self.segment_path(first).exists()
                if header.exists() and (made or (first == self._first and self._next > first)):
                    self._header = header  # the one served first stays: players keep it
                    return header
            if self.failure is not None:
                raise transcode_failed(self.failure)
            if asyncio.get_running_loop().time() >= deadline:
                raise ApiError(
                    503, "The init segment is not ready yet.", "segment_not_ready",
                    **{"Retry-After": "2"},
                )  # fmt: skip
            await asyncio.sleep(POLL_S)

    async def segment(self, n: int) -> Path:
        """The finished segment file, once it exists; restarts ffmpeg there for a seek."""
        if not 0 <= n < self.timeline.count:
            raise ApiError(404, f"This item has segments 0 to {self.timeline.count - 1}.")
        self._wanted = n
        deadline = asyncio.get_running_loop().time() + self._settings.segment_timeout
        while True:
            self.touch()
            self._refresh()
            if n in self._done:
                return self.segment_path(n)
            if self.failure is not None:
                raise transcode_failed(self.failure)
            if self._needs_run(n):
                await self._launch(n)
                continue
            if self._run is not None:
                self._run.resume()
            if asyncio.get_running_loop().time() >= deadline:
                raise ApiError(
                    503,
                    f"Segment {n} is not ready yet.",
                    "segment_not_ready",
                    **{"Retry-After": "2"},
                )
            await asyncio.sleep(POLL_S)

    def _needs_run(self, n: int) -> bool:
        run = self._run
        if run is None or run.returncode is not None or run.stopping:
            return True
        gap = math.ceil(self._settings.seek_gap_seconds / self._settings.segment_seconds)
        return not self._first <= n <= self._last or n > self._next + gap

    def _refresh(self) -> None:
        """Mark segments finished: a file is complete when the next exists or ffmpeg ended well."""
        run = self._run
        if run is None:
            return
        while self._next < self._last and self.segment_path(self._next + 1).exists():
            self._done.add(self._next)
            self._next += 1
        if run.returncode == 0 and self._next <= self._last:
            if self.segment_path(self._next).exists():
                self._done.add(self._next)
            self._next = self._last + 1

    async def start(self) -> None:
        await self._launch(0)

    async def _launch(self, n: int) -> None:
        async with self._lock:
            if self.closed:
                raise ApiError(404, _ENDED, "session_ended")
            if n in self._done or not self._needs_run(n):
                return
            await self._end_run()
            if self._holding is None:
                self._holding = self._settings.capacity.acquire(self.plan.encodes_video)
            for stale in [k for k in self._done if k >= n]:
                self._done.discard(stale)
                self.segment_path(stale).unlink(missing_ok=True)
            # what an earlier run wrote past its end (see ffmpeg_args.COPY_OVERRUN), and its
            # header: neither may pass for this run's while it writes its own
            self.segment_path(n).unlink(missing_ok=True)
            (self.folder / f"init-{n}.mp4").unlink(missing_ok=True)
            settings = self._settings
            argv, last = ffmpeg_args.hls_run_command(
                settings.ffmpeg,
                self.source.path,
                self.plan,
                self.source.probe,
                settings.encoder,
                self.timeline,
                n,
                self.folder,
                settings.segment_seconds,
            )
            try:
                self._run = await FfmpegProcess.start(
                    argv, on_exit=self._run_ended, source=self.source.path
                )
            except ApiError:
                self._release()
                raise
            self._first = self._next = n
            self._last = last
            self.run_starts.append(n)

    async def _run_ended(self, run: FfmpegProcess) -> None:
        if run is not self._run or run.stopping:
            return
        if run.returncode == 0:
            self._refresh()
            if self._last + 1 not in self._done:  # a copy run's overrun, never a segment
                self.segment_path(self._last + 1).unlink(missing_ok=True)
        else:
            self.failure = run.problem()
            _LOGGER.warning(
                "ffmpeg failed on %s (exit status %s):\n%s",
                self.source.path,
                run.returncode,
                "\n".join(run.tail),
            )
            await asyncio.to_thread(_empty_folder_blocking, self.folder)
            self._done.clear()
        self._release()

    async def _end_run(self) -> None:
        """Stop the current run and delete its unfinished segment."""
        run = self._run
        if run is None:
            return
        if run.returncode is None:
            await run.stop()
        self._refresh()
        for k in (self._next, self._next + 1):
            if k not in self._done:
                self.segment_path(k).unlink(missing_ok=True)

    def _release(self) -> None:
        if self._holding is not None:
            self._settings.capacity.release(self._holding)
            self._holding = None

    def maintain(self, tight: bool = False) -> None:
        """Pause a run that is far ahead of the player, resume it as the player catches up,
        and delete segments well behind the player. `tight`: the scratch space is nearly full,
        so read ahead only the next two segments."""
        self._refresh()
        run, seg = self._run, self._settings.segment_seconds
        ahead = self._next - self._wanted
        limit = 2 if tight else max(2, math.ceil(self._settings.buffer_seconds / seg))
        if run is not None and run.returncode is None and not run.stopping:
            if ahead > limit:
                run.pause()
            elif ahead <= limit // 2:
                run.resume()
        behind = self._wanted - max(1, math.ceil(KEEP_BEHIND_S / seg))
        for old in [k for k in self._done if k < behind]:
            self._done.discard(old)
            self.segment_path(old).unlink(missing_ok=True)

    async def subtitle(self, stream_index: int) -> Path:
        """The stream as WebVTT, extracted once per session (a demux, not an encode)."""
        if stream_index not in {sub.stream_index for sub in self.plan.subtitles}:
            raise ApiError(404, f"Subtitle stream {stream_index} is not offered for this item.")
        self.touch()
        path = self.folder / f"subs{stream_index}.vtt"
        async with self._subtitle_lock:
            if self.closed:
                raise ApiError(404, _ENDED, "session_ended")
            if path.exists():
                return path
            partial = self.folder / f"subs{stream_index}.part"
            argv = ffmpeg_args.webvtt_command(
                self._settings.ffmpeg,
                self.source.path,
                stream_index,
                partial,
                source_times=self.plan.video.action == "copy",
            )
            run = await FfmpegProcess.start(argv, source=self.source.path)
            self._extractors.add(run)
            try:
                # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancel that
                # arrives with the result (the server stopping, the client gone)
                async with asyncio.timeout(self._settings.segment_timeout):
                    status = await run.wait()
            except TimeoutError as err:
                raise ApiError(504, "Extracting the subtitles took too long.") from err
            finally:
                await run.stop()
                self._extractors.discard(run)
            if status != 0:
                _LOGGER.warning("Subtitle extraction failed on %s: %s", self.source.path, run.tail)
                raise transcode_failed(f"subtitles could not be extracted: {run.problem()}")
            offset = 0.0 if self.plan.segments == "fmp4" else TS_TIMESTAMP_OFFSET
            await asyncio.to_thread(_finish_vtt_blocking, partial, path, offset)
            return path

    async def close(self) -> None:
        """Stop every process, give back the capacity slot, delete the folder."""
        self.closed = True
        async with self._lock:
            if self._run is not None and self._run.returncode is None:
                await self._run.stop()
        for run in list(self._extractors):
            await run.stop()
        self._release()
        await asyncio.to_thread(shutil.rmtree, self.folder, True)


def _empty_folder_blocking(folder: Path) -> None:
    with contextlib.suppress(FileNotFoundError):  # closed meanwhile: already gone
        for entry in folder.iterdir():
            entry.unlink(missing_ok=True)


def _finish_vtt_blocking(partial: Path, final: Path, offset: float) -> None:
    final.write_text(with_timestamp_map(partial.read_text("utf-8"), offset), "utf-8")
    partial.unlink()


class TranscodeManager:
    """Every HLS session and progressive stream on this server, and their clean-up."""

    def __init__(
        self,
        ffmpeg: Path,
        scratch_dir: Path,
        encoder: str | EncoderSettings = "libx264",
        encoder_args: Sequence[str] = (),
        preset: str | None = "veryfast",
        idle_timeout: float = 60.0,
        segment_seconds: float = 4.0,
        capacity: Capacity | None = None,
        segment_timeout: float = 30.0,
        buffer_seconds: float = 120.0,
        seek_gap_seconds: float = 8.0,
        publish: Callable[[Event], None] | None = None,
        scratch_limit: int | None = None,
    ) -> None:
        if isinstance(encoder, str):
            encoder = EncoderSettings.for_encoder(encoder, preset=preset, args=encoder_args)
        self._settings = HlsSettings(
            ffmpeg,
            encoder,
            segment_seconds,
            segment_timeout,
            buffer_seconds,
            seek_gap_seconds,
            capacity or UnlimitedCapacity(),
        )
        self.scratch_dir = scratch_dir
        self.scratch_limit = scratch_limit  # bytes (core.playback.scratch); None: no bound
        self.idle_timeout = idle_timeout
        self._sessions: dict[str, HlsSession] = {}
        self.encoder_name = encoder.name
        self._janitor: asyncio.Task[None] | None = None
        self._opening = asyncio.Lock()
        # PlaybackStarted/PlaybackStopped for each session and stream (the box's LED shows them)
        self._publish = publish or (lambda event: None)
        self._progressive = ProgressiveStreams(self._publish)

    def use_encoder(self, encoder: EncoderSettings) -> None:
        """Switch to a verified hardware encoder once detection has finished (new sessions)."""
        self._settings = replace(self._settings, encoder=encoder)
        self.encoder_name = encoder.name

    @property
    def sessions(self) -> tuple[HlsSession, ...]:
        return tuple(self._sessions.values())

    def get(
        self, session_id: str, item_id: str | None = None, key: str | None = None
    ) -> HlsSession | None:
        """The live session with this id; with `item_id` or `key`, only if it plays that item
        for that client. A session id alone is no credential: another client, even an admin,
        is told the session does not exist rather than that it belongs to someone else."""
        session = self._sessions.get(session_id)
        if session is None or session.closed:
            return None
        if key is not None and session.key != key:
            return None
        return session if item_id in (None, session.source.item_id) else None

    async def open(self, key: str, source: HlsSource) -> HlsSession:
        """The client's session for this item: reused while the plan is unchanged and healthy,
        else replaced, so a client never holds two sessions for one item."""
        async with self._opening:
            return await self._open(key, source)

    async def _open(self, key: str, source: HlsSource) -> HlsSession:
        for session in self.sessions:
            if session.key == key and session.source.item_id == source.item_id:
                if session.failure is None and session.requested == source:
                    session.touch()
                    return session
                await self.stop(session.id)
        duration = float(source.probe.get("duration") or 0)
        if duration <= 0:
            raise ApiError(422, "The file's duration is unknown, so it cannot be segmented.")
        timeline, effective = await self._timeline(source, duration)
        if self.scratch_limit is not None:
            used = await asyncio.to_thread(used_bytes_blocking, self.scratch_dir)
            if used >= self.scratch_limit:
                raise ApiError(
                    503,
                    f"The transcode scratch space ({self.scratch_limit // MB} MB) is full; "
                    "try again when another stream has ended.",
                    "scratch_full",
                    **{"Retry-After": "30"},
                )
        session_id = secrets.token_urlsafe(9)
        folder = self.scratch_dir / session_id
        await asyncio.to_thread(folder.mkdir, 0o700, True, True)
        session = HlsSession(session_id, key, effective, timeline, folder, self._settings)
        session.requested = source
        try:
            await session.start()
        except BaseException:
            await session.close()
            raise
        self._sessions[session_id] = session
        self._publish(PlaybackStarted(session_id, "hls", source.item_id))
        if self._janitor is None or self._janitor.done():
            self._janitor = asyncio.create_task(self._sweep(), name="hearth-hls-janitor")
        return session

    async def _timeline(
        self, source: HlsSource, duration: float
    ) -> tuple[SegmentTimeline, HlsSource]:
        """Copied video is cut on the source's keyframes; without an index to find them up
        front (MPEG-TS, AVI, cue-less Matroska) the video is re-encoded instead."""
        seconds = self._settings.segment_seconds
        plan = source.plan
        if plan.video.action == "copy":
            index = await asyncio.to_thread(
                keyframe_index_blocking, source.path, plan.video.stream_index
            )
            if index is not None:
                return SegmentTimeline.from_keyframes(index, seconds), source
            _LOGGER.info("%s has no keyframe index; re-encoding its video for HLS", source.path)
            video = replace(plan.video, action="encode", codec="h264")
            source = replace(source, plan=replace(plan, video=video))
        return SegmentTimeline.uniform(duration, seconds), source

    async def stop(self, session_id: str) -> bool:
        """End a session; it stays listed until its process and folder are gone."""
        session = self._sessions.get(session_id)
        if session is None or session.closed:
            return False
        await session.close()
        self._sessions.pop(session_id, None)
        self._publish(PlaybackStopped(session_id, "hls"))
        return True

    async def _sweep(self) -> None:
        """End idle sessions and pace the rest; exits when none are left."""
        tick = min(1.0, self.idle_timeout / 4)
        while self._sessions:
            await asyncio.sleep(tick)
            now = asyncio.get_running_loop().time()
            tight = await self.scratch_tight()
            for session in self.sessions:
                if now - session.last_used > self.idle_timeout:
                    _LOGGER.debug("HLS session %s idle; stopping it", session.id)
                    await self.stop(session.id)
                else:
                    session.maintain(tight)

    async def scratch_tight(self) -> bool:
        """Whether the scratch space is three quarters full: then no run reads far ahead."""
        if self.scratch_limit is None:
            return False
        used = await asyncio.to_thread(used_bytes_blocking, self.scratch_dir)
        return used * 4 > self.scratch_limit * 3

    async def close(self) -> None:
        """Stop everything (server shutdown)."""
        for session_id in list(self._sessions):
            await self.stop(session_id)
        if self._janitor is not None:
            self._janitor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._janitor
            self._janitor = None

    def progressive_ts(
        self,
        path: Path,
        plan: PlaybackPlan,
        start: StreamStart | None = None,
        probe: Mapping[str, Any] | None = None,
        constant: ConstantRate | None = None,
        client: str | None = None,
    ) -> AsyncGenerator[bytes, None]:
        """MPEG-TS from ffmpeg's stdout, chunk by chunk; closing the iterator stops ffmpeg.
        `constant`: at that constant rate, timestamps on the item's clock (a byte range).
        `client`: who asks for what (address and item); on a full box its newer request takes
        over its older stream's slot (core.playback.progressive).

        Raises ApiError if ffmpeg fails; callers that already sent headers just end the body.
        """
        settings = self._settings
        argv = ffmpeg_args.progressive_command(
            settings.ffmpeg, path, plan, probe or {}, settings.encoder, start, constant
        )
        return self._progressive.stream(argv, settings.capacity, plan.encodes_video, path, client)

    def progressive_audio(
        self,
        path: Path,
        audio: AudioOutput,
        start: float = 0.0,
        client: str | None = None,
    ) -> AsyncGenerator[bytes, None]:
        """The first audio stream re-encoded as `audio` from `start` seconds, from ffmpeg's
        stdout (music apps: Subsonic `stream` with `format`, `maxBitRate`, `timeOffset`).
        Audio encodes are light, so they never wait for a video slot."""
        argv = [
            str(self._settings.ffmpeg),
            *("-nostdin", "-hide_banner", "-v", "error"),
            *(("-ss", f"{start:.3f}") if start > 0 else ()),
            *(*ffmpeg_args.INPUT_ARGS, "-i", str(path), "-map", "0:a:0", "-vn", "-sn"),
            *("-map_metadata", "-1"),
            *("-c:a", audio.codec, "-b:a", f"{audio.kbps}k", "-f", audio.container, "pipe:1"),
        ]
        return self._progressive.stream(argv, self._settings.capacity, False, path, client)


@dataclass(frozen=True, slots=True)
class AudioOutput:
    """An audio-only transcode: ffmpeg's encoder, its bitrate and the container it writes."""

    codec: str  # libmp3lame, libopus, aac
    kbps: int
    container: str  # mp3, ogg, adts
