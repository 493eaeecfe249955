"""The decision table: every built-in profile against real, probed files, plus caps and choices."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from core.playback.decision import UnplayableError, container_name, decide
from core.playback.profiles import DeviceProfile, load_profiles
from tests.core.playback.samples import TABLE_FILES, make_samples

Probes = dict[str, dict[str, Any]]
Row = dict[str, tuple[str, tuple[str, ...]]]
DP, DS, TC = "direct_play", "direct_stream", "transcode"
MP4, HEVC, H264_AC3, VP9, MPEG2, FLAC, MP3 = TABLE_FILES

# (profile, file) -> (method, reasons that must appear, each as a substring of one reason).
BROWSER_TABLE: Row = {
    MP4: (DP, ("direct play: {label} plays this mp4 file as it is (H.264 High and AAC stereo)",)),
    HEVC: (
        TC,
        (
            "container mkv is not playable by {label}",
            "video HEVC Main 10 is not supported by {label}",
            "audio AC3 5.1 → AAC stereo ({label} does not play AC3)",
            "video HEVC Main 10 → H.264 128x72",
        ),
    ),
    H264_AC3: (
        DS,
        (
            "container mkv is not playable by {label}",
            "audio AC3 5.1 → AAC stereo ({label} does not play AC3)",
            "video H.264 High is copied as it is",
            "sent as HLS (MPEG-TS segments)",
        ),
    ),
    VP9: (DP, ("plays this webm file as it is (VP9 Profile 0 and Opus stereo)",)),
    MPEG2: (
        TC,
        (
            "container mpegts is not playable by {label}",
            "video MPEG-2 Main is not supported by {label}",
            "audio MP2 stereo → AAC stereo ({label} does not play MP2)",
        ),
    ),
    FLAC: (DP, ("plays this flac file as it is (FLAC stereo)",)),
    MP3: (DP, ("plays this mp3 file as it is (MP3 stereo)",)),
}
TV_TABLE: Row = {
    MP4: (DP, ("direct play: {label} plays this mp4 file as it is",)),
    HEVC: (DP, ("plays this mkv file as it is (HEVC Main 10 and AC3 5.1)",)),
    H264_AC3: (DP, ("plays this mkv file as it is (H.264 High and AC3 5.1)",)),
    VP9: (
        TC,
        (
            "container webm is not playable by {label}",
            "video VP9 Profile 0 is not supported by {label}",
            "audio Opus stereo → AAC stereo ({label} does not play Opus)",
            "sent as progressive MPEG-TS",
        ),
    ),
    MPEG2: (DP, ("plays this mpegts file as it is (MPEG-2 Main and MP2 stereo)",)),
    FLAC: (DP, ("plays this flac file as it is",)),
    MP3: (DP, ("plays this mp3 file as it is",)),
}
TABLE: dict[str, Row] = {
    "chromium": BROWSER_TABLE,
    "firefox": {
        **BROWSER_TABLE,
        H264_AC3: (
            DS,
            (
                "container mkv is not playable by {label}",
                "audio AC3 5.1 → AAC stereo ({label} does not play AC3)",
                "video H.264 High is copied as it is",
                "sent as HLS (fMP4 segments)",
            ),
        ),
    },
    "android": {
        **BROWSER_TABLE,
        HEVC: (TC, ("video HEVC Main 10 is not supported by Android",)),
    },
    "safari": {
        **BROWSER_TABLE,
        HEVC: (
            DS,
            (
                "container mkv is not playable by Safari",
                "video HEVC Main 10 is copied as it is",
                "sent as HLS (fMP4 segments)",
            ),
        ),
        H264_AC3: (DS, ("container mkv is not playable by Safari", "video H.264 High is copied")),
        VP9: (
            TC,
            (
                "container webm is not playable by Safari",
                "video VP9 Profile 0 is not supported by Safari",
                "audio Opus stereo → AAC stereo (Safari does not play Opus)",
            ),
        ),
    },
    "dlna-generic": {
        **TV_TABLE,
        HEVC: (
            TC,
            (
                "container mkv is not playable by a generic DLNA TV",
                "video HEVC Main 10 is not supported by a generic DLNA TV",
                "sent as progressive MPEG-TS",
            ),
        ),
        H264_AC3: (
            DS,
            (
                "container mkv is not playable by a generic DLNA TV",
                "video H.264 High is copied as it is",
                "sent as progressive MPEG-TS",
            ),
        ),
        FLAC: (
            TC,
            (
                "container flac is not playable by a generic DLNA TV",
                "audio FLAC stereo → AAC stereo (a generic DLNA TV does not play FLAC)",
            ),
        ),
    },
    "samsung": TV_TABLE,
    "lg": TV_TABLE,
    "vlc-kodi": {name: (DP, ("VLC/Kodi plays this",)) for name in TABLE_FILES},
}
CASES = [(profile, name) for profile, row in TABLE.items() for name in row]


@pytest.fixture(scope="module")
def probes(tmp_path_factory: pytest.TempPathFactory) -> Probes:
    return make_samples(tmp_path_factory.mktemp("samples"))


@pytest.fixture(scope="module")
def profiles() -> dict[str, DeviceProfile]:
    return load_profiles([])


def test_the_table_covers_every_built_in_profile(profiles: dict[str, DeviceProfile]) -> None:
    assert set(TABLE) == set(profiles)
    assert all(set(row) == set(TABLE_FILES) for row in TABLE.values())


@pytest.mark.parametrize(("profile_name", "file_name"), CASES)
def test_decision_table(
    probes: Probes, profiles: dict[str, DeviceProfile], profile_name: str, file_name: str
) -> None:
    profile = profiles[profile_name]
    method, expected = TABLE[profile_name][file_name]
    plan = decide(probes[file_name], profile)
    assert plan.method == method, plan.reasons
    for text in expected:
        wanted = text.format(label=profile.label)
        assert any(wanted in reason for reason in plan.reasons), (wanted, plan.reasons)
    assert plan.profile == profile_name
    audio_only = probes[file_name]["kind"] == "audio"
    if method == DP:
        assert (plan.container, plan.needs_ffmpeg) == ("file", False)
    else:
        assert plan.container == ("hls" if profile.hls else "mpegts")
    assert plan.video.action == {DP: "copy", DS: "copy", TC: "encode"}[method] or audio_only
    if audio_only:
        assert plan.video.action == "none"
        assert plan.audio.action == ("encode" if method == TC else "copy")
    if plan.video.action == "encode":
        assert (plan.video.codec, plan.video.stream_index) == ("h264", 0)
    if plan.audio.action == "encode":
        assert (plan.audio.codec, plan.audio.channels) == ("aac", 2)


def test_tv_copies_audio_it_plays_while_video_is_converted(
    probes: Probes, profiles: dict[str, DeviceProfile]
) -> None:
    plan = decide(probes[HEVC], profiles["dlna-generic"])
    assert plan.audio.action == "copy"
    assert (plan.audio.codec, plan.audio.channels) == ("ac3", 6)
    assert not any(reason.startswith("audio") for reason in plan.reasons)


def test_safari_remux_copies_both_streams(
    probes: Probes, profiles: dict[str, DeviceProfile]
) -> None:
    plan = decide(probes[HEVC], profiles["safari"])
    assert (plan.video.action, plan.video.codec) == ("copy", "hevc")
    assert (plan.audio.action, plan.audio.codec) == ("copy", "ac3")


def test_webm_and_mkv_are_told_apart_by_their_codecs(probes: Probes) -> None:
    names = {name: container_name(probes[name]) for name in TABLE_FILES}
    assert names == {
        MP4: "mp4",
        HEVC: "mkv",
        H264_AC3: "mkv",
        VP9: "webm",
        MPEG2: "mpegts",
        FLAC: "flac",
        MP3: "mp3",
    }


def test_a_tv_gets_oversized_video_scaled_to_its_screen(
    probes: Probes, profiles: dict[str, DeviceProfile]
) -> None:
    plan = decide(probes["h264_1440p.mp4"], profiles["dlna-generic"])
    assert plan.method == TC
    assert "video 2560x1440 is larger than a generic DLNA TV's 1920x1080" in plan.reasons
    assert (plan.video.max_width, plan.video.max_height) == (1920, 1080)
    assert plan.video.max_bitrate == 8_000_000
    assert plan.audio.action == "copy"


def test_requested_height_forces_a_transcode_that_keeps_the_shape(
    probes: Probes, profiles: dict[str, DeviceProfile]
) -> None:
    plan = decide(probes["h264_1440p.mp4"], profiles["chromium"], max_height=720)
    assert plan.method == TC
    assert plan.reasons[0] == "video height 1440 is above the requested 720"
    assert (plan.video.max_width, plan.video.max_height) == (1280, 720)
    assert "video H.264 High → H.264 1280x720 at 4 Mbit/s" in plan.reasons
    assert decide(probes["h264_1440p.mp4"], profiles["chromium"], max_height=1440).method == DP


def test_requested_bitrate_forces_a_transcode_within_the_cap(
    probes: Probes, profiles: dict[str, DeviceProfile]
) -> None:
    probe = probes[MPEG2]
    plan = decide(probe, profiles["dlna-generic"], max_bitrate=700_000)
    assert plan.method == TC
    assert any(r.endswith("is above the requested 700 kbit/s") for r in plan.reasons)
    audio_rate = probe["streams"][1]["bit_rate"]
    assert plan.audio.action == "copy"
    assert plan.video.max_bitrate == 700_000 - audio_rate
    assert decide(probe, profiles["dlna-generic"], max_bitrate=2_000_000).method == DP


def test_requested_bitrate_re_encodes_lossless_music(
    probes: Probes, profiles: dict[str, DeviceProfile]
) -> None:
    plan = decide(probes[FLAC], profiles["chromium"], max_bitrate=128_000)
    assert plan.method == TC
    assert plan.reasons[0] == (
        "audio FLAC stereo → AAC stereo (272 kbit/s is above the requested 128 kbit/s)"
    )
    assert (plan.video.action, plan.audio.action) == ("none", "encode")


def test_a_level_above_the_tv_limit_transcodes(
    probes: Probes, profiles: dict[str, DeviceProfile]
) -> None:
    """The probe does not store a level yet; when a dict carries one, it is checked."""
    video = {**probes[MP4]["streams"][0], "level": 51}
    probe = {**probes[MP4], "streams": [video, probes[MP4]["streams"][1]]}
    plan = decide(probe, profiles["dlna-generic"])
    assert plan.method == TC
    assert "video H.264 level 5.1 is above a generic DLNA TV's limit of 4.1" in plan.reasons
    assert decide(probe, profiles["samsung"]).method == DP


@pytest.mark.parametrize(
    ("language", "index", "method"),
    [(None, 1, DP), ("eng", 1, DP), ("en", 1, DP), ("French", 2, DS), ("fre", 2, DS)],
)
def test_audio_language_picks_the_track(
    probes: Probes,
    profiles: dict[str, DeviceProfile],
    language: str | None,
    index: int,
    method: str,
) -> None:
    plan = decide(probes["two_languages.mp4"], profiles["chromium"], audio_language=language)
    assert (plan.audio.stream_index, plan.method) == (index, method)
    if method == DS:
        assert plan.reasons[0] == (
            "audio track 2 (fre) is not the one players pick by themselves, "
            "so it is selected by remuxing"
        )
        assert (plan.video.action, plan.audio.action) == ("copy", "copy")


def test_a_missing_language_falls_back_to_the_default_track(
    probes: Probes, profiles: dict[str, DeviceProfile]
) -> None:
    plan = decide(probes["two_languages.mp4"], profiles["chromium"], audio_language="ger")
    assert (plan.method, plan.audio.stream_index) == (DP, 1)
    assert "no audio track in 'ger'; playing track 1 (eng)" in plan.reasons


def test_text_subtitles_are_offered(probes: Probes, profiles: dict[str, DeviceProfile]) -> None:
    plan = decide(probes["subtitled.mkv"], profiles["samsung"])
    assert plan.method == DP
    assert [(s.stream_index, s.language, s.title) for s in plan.subtitles] == [
        (2, "eng", "English"),
        (3, "fre", None),
    ]
    assert plan.subtitles[1].forced is probes["subtitled.mkv"]["streams"][3]["forced"]
    chosen = decide(probes["subtitled.mkv"], profiles["chromium"], subtitle_index=3)
    assert chosen.method == DS
    assert [s.stream_index for s in chosen.subtitles] == [3]


def test_subtitle_requests_that_cannot_be_met_say_why(
    probes: Probes, profiles: dict[str, DeviceProfile]
) -> None:
    plan = decide(probes["subtitled.mkv"], profiles["samsung"], subtitle_index=7)
    assert plan.subtitles == ()
    assert "subtitle stream 7 does not exist in this file" in plan.reasons
    generic = decide(probes["subtitled.mkv"], profiles["dlna-generic"])
    assert generic.subtitles == ()
    assert (
        "subtitles are not offered: a generic DLNA TV shows no external subtitles"
        in generic.reasons
    )


def test_picture_subtitles_are_never_offered(profiles: dict[str, DeviceProfile]) -> None:
    probe: dict[str, Any] = {
        "kind": "video",
        "container": "matroska,webm",
        "bit_rate": 1_000_000,
        "streams": [
            {"index": 0, "kind": "video", "codec": "h264", "profile": "High", "width": 1920,
             "height": 1080},
            {"index": 1, "kind": "audio", "codec": "aac", "channels": 2},
            {"index": 2, "kind": "subtitle", "codec": "hdmv_pgs_subtitle", "text_based": False},
        ],
    }  # fmt: skip
    plan = decide(probe, profiles["samsung"], subtitle_index=2)
    assert plan.subtitles == ()
    assert any(
        r.startswith("subtitle stream 2 (hdmv_pgs_subtitle) is pictures") for r in plan.reasons
    )
    assert decide(probe, profiles["samsung"]).subtitles == ()


def test_a_file_with_nothing_to_play_is_refused(profiles: dict[str, DeviceProfile]) -> None:
    photo = {"kind": "photo", "size": 10, "container": "jpeg", "streams": []}
    with pytest.raises(UnplayableError):
        decide(photo, profiles["chromium"])


def test_a_user_profile_changes_the_decision(
    tmp_path: Path, probes: Probes, profiles: dict[str, DeviceProfile]
) -> None:
    """A Chrome that decodes HEVC (Windows with a GPU) is one YAML file away."""
    folder = tmp_path / "profiles"
    folder.mkdir()
    builtin = (
        Path(__file__).parents[3] / "core/playback/device_profiles/chromium.yaml"
    ).read_text()
    (folder / "chromium.yaml").write_text(
        builtin.replace("  vp8:\n", "  vp8:\n  hevc:\n    profiles: [Main, Main 10]\n")
    )
    mine = load_profiles([folder])["chromium"]
    assert decide(probes[HEVC], profiles["chromium"]).method == TC
    plan = decide(probes[HEVC], mine)
    assert plan.method == DS
    assert (plan.video.action, plan.audio.action) == ("copy", "encode")
