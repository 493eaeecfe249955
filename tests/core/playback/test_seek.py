"""Where a progressive stream starts: on the asked time when the video is decoded, on the
keyframe at or before it when the video is copied, and re-encoded where no index finds one."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.playback.ffmpeg_args import CUT_EPSILON, StreamStart
from core.playback.plan import AudioPlan, PlaybackPlan, VideoPlan
from core.playback.seek import stream_start_blocking
from tests.core.playback.films import make_film

COPY = PlaybackPlan("direct_stream", (), "mpegts", VideoPlan("copy"), AudioPlan("copy"))
ENCODE = PlaybackPlan("transcode", (), "mpegts", VideoPlan("encode"), AudioPlan("copy"))


def test_copied_video_starts_on_the_keyframe_before(tmp_path: Path) -> None:
    film = make_film(tmp_path / "film.mp4", 8.0, keyframe_seconds=3.0)  # keyframes 0, 3, 6
    assert stream_start_blocking(film, COPY, 0.0) == (COPY, StreamStart())
    for asked, keyframe in ((2.9, 0.0), (3.0, 3.0), (5.99, 3.0), (7.5, 6.0)):
        plan, start = stream_start_blocking(film, COPY, asked)
        assert plan == COPY and start.source_times
        assert start.seconds == pytest.approx(keyframe, abs=0.001), asked
        assert start.seek == pytest.approx(keyframe + CUT_EPSILON, abs=0.001)
    assert stream_start_blocking(film, ENCODE, 7.5) == (ENCODE, StreamStart(7.5, 7.5))


def test_copied_video_without_an_index_is_encoded_to_start_on_time(tmp_path: Path) -> None:
    film = make_film(tmp_path / "film.ts", 4.0)  # MPEG-TS keeps no keyframe index
    plan, start = stream_start_blocking(film, COPY, 2.5)
    assert (plan.method, plan.video.action, plan.audio.action) == ("transcode", "encode", "copy")
    assert start == StreamStart(2.5, 2.5)
