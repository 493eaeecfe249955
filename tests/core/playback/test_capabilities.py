"""The decision from what a browser reports it decodes (`caps`), not from its User-Agent."""

from __future__ import annotations

from typing import Any

import pytest

from core.playback.capabilities import (
    CapabilitiesError,
    parse_capabilities,
    with_capabilities,
)
from core.playback.decision import decide
from core.playback.profiles import DeviceProfile, load_profiles
from tests.core.playback.samples import TABLE_FILES, make_samples

MP4, HEVC, H264_AC3, VP9, _, _, _ = TABLE_FILES
# What Debian's Chromium answers (no HEVC, no AC3; MPEG-TS through Media Source).
CHROMIUM = "h264.baseline,h264.main,h264.high,vp8,vp9.p0,av1.main,aac,mp3,opus,flac,file.mp4,file.webm,hls.ts,hls.fmp4"  # noqa: E501
# A phone that decodes 10-bit HEVC and AC3, and plays HLS itself (Safari-like).
HEVC_PHONE = "h264.high,hevc.main,hevc.main10,aac,ac3,eac3,file.mp4,hls.fmp4,hls.ts"


@pytest.fixture(scope="module")
def probes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    return make_samples(tmp_path_factory.mktemp("samples"))


@pytest.fixture(scope="module")
def profiles() -> dict[str, DeviceProfile]:
    return load_profiles([])


def test_an_android_user_agent_that_reports_no_hevc_gets_h264(
    probes: dict[str, dict[str, Any]], profiles: dict[str, DeviceProfile]
) -> None:
    """The dead end of issue 14: by its User-Agent alone an Android phone gets HEVC copied."""
    android = profiles["android"]
    hevc_main = {**probes[HEVC], "streams": [
        {**s, "profile": "Main"} if s.get("kind") == "video" else s
        for s in probes[HEVC]["streams"]
    ]}  # fmt: skip
    assert decide(hevc_main, android).video.action == "copy"
    reported = with_capabilities(android, parse_capabilities(CHROMIUM))
    plan = decide(hevc_main, reported)
    assert plan.method == "transcode" and plan.video.action == "encode"
    assert "video HEVC Main is not supported by this browser" in plan.reasons
    assert plan.segments == "mpegts"


def test_a_browser_that_reports_hevc_and_ac3_gets_both_copied_in_fmp4(
    probes: dict[str, dict[str, Any]], profiles: dict[str, DeviceProfile]
) -> None:
    """A Chromium User-Agent (whose profile has neither) on a machine that decodes both."""
    reported = with_capabilities(profiles["chromium"], parse_capabilities(HEVC_PHONE))
    plan = decide(probes[HEVC], reported)
    assert (plan.method, plan.video.action, plan.audio.action) == ("direct_stream", "copy", "copy")
    assert plan.segments == "fmp4"
    assert "sent as HLS (fMP4 segments)" in plan.reasons
    assert "container mkv is not playable by this browser" in plan.reasons


def test_the_reported_segment_order_is_kept_unless_the_streams_need_fmp4(
    probes: dict[str, dict[str, Any]], profiles: dict[str, DeviceProfile]
) -> None:
    chromium = profiles["chromium"]
    ts_first = with_capabilities(chromium, parse_capabilities("h264.high,aac,hls.ts,hls.fmp4"))
    fmp4_first = with_capabilities(chromium, parse_capabilities("h264.high,aac,hls.fmp4,hls.ts"))
    fmp4_only = with_capabilities(chromium, parse_capabilities("h264.high,aac,hls.fmp4"))
    assert decide(probes[H264_AC3], ts_first).segments == "mpegts"
    assert decide(probes[H264_AC3], fmp4_first).segments == "fmp4"
    assert decide(probes[H264_AC3], fmp4_only).segments == "fmp4"
    # VP9 and Opus travel only in fMP4: a client that takes both gets fMP4, not a transcode
    vp9 = with_capabilities(chromium, parse_capabilities("vp9.p0,opus,hls.ts,hls.fmp4"))
    plan = decide(probes[VP9], vp9)
    assert (plan.method, plan.segments) == ("direct_stream", "fmp4")


def test_direct_play_needs_the_reported_file_type(
    probes: dict[str, dict[str, Any]], profiles: dict[str, DeviceProfile]
) -> None:
    chromium = profiles["chromium"]
    assert decide(
        probes[MP4], with_capabilities(chromium, parse_capabilities(CHROMIUM))
    ).method == ("direct_play")
    no_files = with_capabilities(chromium, parse_capabilities("h264.high,aac,hls.ts"))
    plan = decide(probes[MP4], no_files)
    assert plan.method == "direct_stream"
    assert "container mp4 is not playable by this browser" in plan.reasons


def test_profiles_and_limits_still_come_from_the_user_agent_profile(
    profiles: dict[str, DeviceProfile],
) -> None:
    android = profiles["android"]
    reported = with_capabilities(android, parse_capabilities("h264.main,h264.high,aac,hls.ts"))
    h264 = reported.video_codec("h264")
    assert h264 is not None and h264.profiles == ("main", "high") and h264.max_level == 5.1
    assert reported.video_codec("hevc") is None
    assert (reported.max_bitrate, reported.max_height) == (android.max_bitrate, android.max_height)
    assert reported.label == "this browser"


def test_unknown_tokens_are_ignored_but_a_list_of_none_is_refused() -> None:
    caps = parse_capabilities("h264.high, AAC ,vvc.main,hls.fmp4,hdr")
    assert [v.codec for v in caps.video] == ["h264"] and caps.audio == ("aac",)
    assert caps.hls == ("fmp4",) and caps.hdr
    with pytest.raises(CapabilitiesError, match="names no codec"):
        parse_capabilities("vvc.main,,lc3")
    with pytest.raises(CapabilitiesError, match="longer than"):
        parse_capabilities("aac," * 400)
