"""Progressive MPEG-TS streams: ffmpeg's stdout handed over chunk by chunk, one transcode slot
each, and a TV's newer request taking over the slot of its own older one.

A TV that seeks (by bytes or by time) or resumes often opens the new request before it closes
the old one, and GStreamer-based ones keep the old connection open a moment longer. On a box
whose transcode slots are all taken, that new request would be refused (503) by the very stream
it replaces. So each stream is held under its client's key (address and item): when the box is
full, the oldest stream under the same key is ended (its ffmpeg stopped, its slot given back,
its body cut short) and the new one takes the slot. With room to spare nothing is ended: a TV
that reads two places of one file at once keeps both. This module never builds argument lists
and never decides what to encode.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import AsyncGenerator, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from core.events import Event, PlaybackStarted, PlaybackStopped
from core.http.errors import ApiError
from core.playback.ffmpeg_args import FfmpegProcess, transcode_failed

if TYPE_CHECKING:
    from core.playback.sessions import Capacity

_LOGGER = logging.getLogger("hearth.playback")
CHUNK = 64 * 1024


def replaced_error() -> ApiError:
    return ApiError(409, "A newer request from this client took over this stream.", "replaced")


class _Hold:
    """One stream's transcode slot and ffmpeg run."""

    def __init__(self, capacity: Capacity, weight: float) -> None:
        self.capacity, self.weight = capacity, weight
        self.run: FfmpegProcess | None = None
        self.replaced = False
        self._released = False

    def release(self) -> None:
        if not self._released:
            self._released = True
            self.capacity.release(self.weight)

    async def end(self) -> None:
        """Give the slot back now and stop ffmpeg; the stream's reader then ends."""
        self.replaced = True
        self.release()
        if self.run is not None:
            await self.run.stop()


class ProgressiveStreams:
    """Every progressive stream of one transcode manager, by client key."""

    def __init__(self, publish: Callable[[Event], None] = lambda event: None) -> None:
        self._holds: dict[str, list[_Hold]] = {}
        self._publish = publish
        self._numbers = itertools.count(1)

    async def _acquire(self, capacity: Capacity, encodes: bool, key: str | None) -> _Hold:
        while True:
            try:
                return _Hold(capacity, capacity.acquire(encodes))
            except ApiError:
                older = self._holds.get(key) if key is not None else None
                if not older:
                    raise
                stale = older.pop(0)
                _LOGGER.info("A newer request for %s takes over its older stream's slot", key)
                await stale.end()

    def _forget(self, key: str | None, hold: _Hold) -> None:
        if key is None:
            return
        holds = self._holds.get(key, [])
        if hold in holds:
            holds.remove(hold)
        if not holds:
            self._holds.pop(key, None)

    async def stream(
        self,
        argv: Sequence[str],
        capacity: Capacity,
        encodes: bool,
        source: Path,
        key: str | None = None,
    ) -> AsyncGenerator[bytes, None]:
        """ffmpeg's stdout for `argv`; closing the iterator stops ffmpeg and frees the slot.

        Raises ApiError if ffmpeg fails (transcode_failed), or when a newer request with the
        same `key` took the stream over (replaced_error); callers that already sent headers
        just end the body.
        """
        hold = await self._acquire(capacity, encodes, key)
        if key is not None:
            self._holds.setdefault(key, []).append(hold)
        stream_id = f"progressive-{next(self._numbers)}"
        self._publish(PlaybackStarted(stream_id, "progressive"))
        try:
            run = hold.run = await FfmpegProcess.start(argv, stdout=True, source=source)
            try:
                assert run.stdout is not None
                while chunk := await run.stdout.read(CHUNK):
                    yield chunk
                status = await run.wait()
                if hold.replaced:
                    raise replaced_error()
                if status != 0:
                    _LOGGER.warning("ffmpeg failed streaming %s:\n%s", source, "\n".join(run.tail))
                    raise transcode_failed(run.problem())
            finally:
                await run.stop()
        finally:
            hold.release()
            self._forget(key, hold)
            self._publish(PlaybackStopped(stream_id, "progressive"))
