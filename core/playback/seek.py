"""Where a progressive MPEG-TS stream starts when a client asks for a time, and what to tell it.

Re-encoded video starts exactly at the asked time: ffmpeg decodes from the keyframe before and
drops what comes earlier. Copied video can only start on a source keyframe, so the stream starts
at the keyframe at or before the asked time, and that time is the one the client is told (a
TV's answered `TimeSeekRange.dlna.org`), never the asked one it did not get. Audio, copied or
encoded, starts where the video does (`ffmpeg_args.progressive_command`). Copied video in a
container without a keyframe index (MPEG-TS, AVI) is re-encoded for a seek, as HLS does. Reads
one container's index; never runs ffmpeg and never serves HTTP.
"""

from __future__ import annotations

import bisect
import logging
import os
from dataclasses import replace

from core.playback.ffmpeg_args import CUT_EPSILON, StreamStart
from core.playback.hls import keyframe_index_blocking
from core.playback.plan import PlaybackPlan

_LOGGER = logging.getLogger("hearth.playback")


def stream_start_blocking(
    path: str | os.PathLike[str], plan: PlaybackPlan, asked: float
) -> tuple[PlaybackPlan, StreamStart]:
    """The plan to follow (video re-encoded if it cannot be copied from `asked`) and where the
    stream starts, `asked` seconds into the item."""
    if asked <= 0:
        return plan, StreamStart()
    if plan.video.action != "copy":
        return plan, StreamStart(asked, asked)
    index = keyframe_index_blocking(path, plan.video.stream_index)
    if index is None:
        _LOGGER.info(
            "%s has no keyframe index; re-encoding its video to start at %.1f s", path, asked
        )
        video = replace(plan.video, action="encode", codec="h264")
        return replace(plan, method="transcode", video=video), StreamStart(asked, asked)
    # the last keyframe at or before the asked time (a hair of rounding counts as at)
    target = index.start + asked + CUT_EPSILON
    keyframe = index.times[max(0, bisect.bisect_right(index.times, target) - 1)]
    seconds = max(0.0, keyframe - index.start)
    seek = keyframe + CUT_EPSILON + index.seek_bias
    return plan, StreamStart(round(seconds, 6), seek, True, round(seek - index.start, 6))
