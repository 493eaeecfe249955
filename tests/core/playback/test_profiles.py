"""Device profiles: the built-in YAML data, user overrides, clear errors, and header detection."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from multidict import CIMultiDict

from core.errors import ConfigError
from core.playback.profiles import DeviceProfile, detect_profile, load_profiles

BUILTINS = {"chromium", "firefox", "safari", "android", "dlna-generic", "samsung", "lg", "vlc-kodi"}

# Real-world headers -> the profile they must select.
USER_AGENTS = [
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/120.0.0.0 Safari/537.36", "chromium"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91", "chromium"),
    ("Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0", "firefox"),
    ("Mozilla/5.0 (Android 14; Mobile; rv:121.0) Gecko/121.0 Firefox/121.0", "android"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
     "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1", "safari"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
     "(KHTML, like Gecko) Version/17.1 Safari/605.1.15", "safari"),
    ("Mozilla/5.0 (iPad; CPU OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "CriOS/120.0.6099.119 Mobile/15E148 Safari/604.1", "safari"),
    ("AppleCoreMedia/1.0.0.21B91 (iPhone; U; CPU OS 17_1_1 like Mac OS X; en_us)", "safari"),
    ("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/120.0.0.0 Mobile Safari/537.36", "android"),
    ("Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-S901B) AppleWebKit/537.36 (KHTML, like Gecko) "
     "SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36", "android"),
    ("SEC_HHP_[TV] UE40ES6300/1.0 DLNADOC/1.50", "samsung"),
    ("DLNADOC/1.50 SEC_HHP_[TV] Samsung Q60 Series (55)/1.0 UPnP/1.0", "samsung"),
    ("SamsungWiselinkPro/1.0", "samsung"),
    ("Mozilla/5.0 (SMART-TV; LINUX; Tizen 6.0) AppleWebKit/537.36 (KHTML, like Gecko) "
     "76.0.3809.146/6.0 TV Safari/537.36", "samsung"),
    ("Linux/3.10.19-32.afro.4 UPnP/1.0 LGE_DLNA_SDK/1.6.0 DLNADOC/1.50", "lg"),
    ("Mozilla/5.0 (Web0S; Linux/SmartTV) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/79.0.3945.79 Safari/537.36 WebAppManager", "lg"),
    ("VLC/3.0.18 LibVLC/3.0.18", "vlc-kodi"),
    ("Kodi/20.2 (X11; Linux x86_64) Debian/12 App_Bitness/64 Version/20.2-(20.2.0)", "vlc-kodi"),
    ("libmpv", "vlc-kodi"),
    ("NSPlayer/12.00.19041.3636 WMFSDK/12.00.19041.3636", "dlna-generic"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; Xbox; Xbox One) AppleWebKit/537.36 "
     "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0", "chromium"),
    ("Linux/4.9 UPnP/1.0 DLNADOC/1.50 Portable SDK for UPnP devices/1.6.22", "dlna-generic"),
]  # fmt: skip


@pytest.fixture(scope="module")
def profiles() -> dict[str, DeviceProfile]:
    return load_profiles([])


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


MINIMAL = """\
    name: den-tv
    description: The TV in the den.
    match:
      user_agent: ['SEC_HHP_']
    containers: [mp4]
    video:
      h264:
    audio:
      aac:
    max_width: 1280
    max_height: 720
    max_bitrate: 8 Mbit/s
    max_audio_channels: 2
    hls: false
"""


def test_every_built_in_profile_loads(profiles: dict[str, DeviceProfile]) -> None:
    assert set(profiles) == BUILTINS
    for name, profile in profiles.items():
        assert profile.name == name and profile.builtin
        assert profile.label and profile.description
        assert profile.source == f"core/playback/device_profiles/{name}.yaml"
        assert profile.video_codec("h264") is not None, name
        assert profile.audio_codec("aac") is not None, name
        assert profile.hls or profile.hls_segment_container == "mpegts"


def test_built_in_facts_the_decision_relies_on(profiles: dict[str, DeviceProfile]) -> None:
    generic = profiles["dlna-generic"]
    assert "mkv" not in generic.containers and not generic.hls
    assert (generic.max_width, generic.max_height) == (1920, 1080)
    h264 = generic.video_codec("h264")
    assert h264 is not None and h264.max_level == 4.1 and h264.allows_profile("High")
    assert not h264.allows_profile("High 10")
    assert profiles["chromium"].video_codec("hevc") is None
    assert profiles["safari"].video_codec("hevc") is not None
    assert "mkv" not in profiles["safari"].containers
    assert profiles["samsung"].subtitles == ("srt",)
    assert profiles["samsung"].subtitle_delivery == "caption-info-ex"
    assert profiles["chromium"].subtitles == ("vtt",)
    assert profiles["chromium"].max_bitrate == 80_000_000


@pytest.mark.parametrize(("user_agent", "expected"), USER_AGENTS)
def test_detect_by_user_agent(
    profiles: dict[str, DeviceProfile], user_agent: str, expected: str
) -> None:
    assert detect_profile(profiles, {"User-Agent": user_agent}).name == expected


def test_detect_by_other_headers_in_any_case(profiles: dict[str, DeviceProfile]) -> None:
    sony = 'av=5.0; cn="Sony Corporation"; mn="BRAVIA KDL-40EX720"; mv="1.7";'
    assert detect_profile(profiles, {"x-av-client-info": sony}).name == "dlna-generic"
    samsung = CIMultiDict({"friendlyname.dlna.org": "[TV] Samsung Q60 Series (55)"})
    assert detect_profile(profiles, samsung).name == "samsung"
    lg = {"FriendlyName.DLNA.ORG": "[LG] webOS TV OLED55C9PLA"}
    assert detect_profile(profiles, lg).name == "lg"
    assert detect_profile(profiles, {"user-agent": "VLC/3.0.20 LibVLC/3.0.20"}).name == "vlc-kodi"


def test_unknown_clients_get_the_default(profiles: dict[str, DeviceProfile]) -> None:
    assert detect_profile(profiles, {}).name == "chromium"
    assert detect_profile(profiles, {"User-Agent": "curl/8.4.0"}).name == "chromium"
    assert detect_profile(profiles, {"User-Agent": "curl/8.4.0"}, default="vlc-kodi").name == (
        "vlc-kodi"
    )


def test_a_user_profile_overrides_a_built_in(tmp_path: Path) -> None:
    folder = tmp_path / "profiles"
    write(folder, "samsung.yaml", MINIMAL.replace("den-tv", "samsung"))
    samsung = load_profiles([folder])["samsung"]
    assert not samsung.builtin
    assert samsung.source == "profiles/samsung.yaml"
    assert samsung.label == "samsung"
    assert (samsung.max_height, samsung.max_bitrate, samsung.containers) == (
        720,
        8_000_000,
        frozenset({"mp4"}),
    )
    assert samsung.video_codec("hevc") is None


def test_a_user_profile_beats_built_ins_matching_the_same_client(tmp_path: Path) -> None:
    profiles = load_profiles([write(tmp_path / "profiles", "den.yaml", MINIMAL).parent])
    assert {"den-tv", "samsung"} <= set(profiles)
    found = detect_profile(profiles, {"User-Agent": "SEC_HHP_[TV] UE40ES6300/1.0 DLNADOC/1.50"})
    assert found.name == "den-tv"


def test_missing_user_folders_are_ignored(tmp_path: Path) -> None:
    assert set(load_profiles([tmp_path / "nowhere"])) == BUILTINS


def test_a_broken_user_profile_names_file_line_and_key(tmp_path: Path) -> None:
    write(
        tmp_path / "profiles",
        "den.yaml",
        """\
        name: Den TV
        description: The TV in the den.
        match:
          user_agent: ['(unclosed']
        containers: [mkv, mp5]
        video:
          hevcc:
          h264: {max_level: high}
        audio:
          aac:
        max_width: 1920
        max_height: tall
        max_bitrate: fast
        max_audio_channels: 2
        hls: maybe
        """,
    )
    with pytest.raises(ConfigError) as caught:
        load_profiles([tmp_path / "profiles"])
    assert caught.value.problems == [
        "profiles/den.yaml:1: name: expected a name of lower-case letters, digits, '-' and '_', "
        "got 'Den TV'",
        "profiles/den.yaml:4: match -> user_agent -> 0: expected a regular expression "
        "(missing ), unterminated subpattern at position 0), got '(unclosed'",
        "profiles/den.yaml:5: containers -> 1: expected one of mp4, mkv, webm, mpegts, avi, mpeg, "
        "asf, ogg, flac, mp3, wav, aac, aiff, got 'mp5'",
        "profiles/den.yaml:7: video: 'hevcc' is not an option here; did you mean 'hevc'?",
        "profiles/den.yaml:8: video -> h264 -> max_level: expected a level such as 4.1, got 'high'",
        "profiles/den.yaml:12: max_height: expected an integer from 16 to 16384, got 'tall'",
        "profiles/den.yaml:13: max_bitrate: expected a bitrate such as 20000000, '20M' or "
        "'640k', got 'fast'",
        "profiles/den.yaml:15: hls: expected true or false, got 'maybe'",
    ]


def test_every_broken_file_is_reported_at_once(tmp_path: Path) -> None:
    folder = tmp_path / "profiles"
    write(folder, "a.yaml", "name: [unclosed\n")
    write(folder, "b.yaml", "- just\n- a list\n")
    write(folder, "c.yaml", MINIMAL.replace("    hls: false\n", ""))
    write(folder, "d.yaml", MINIMAL)
    write(folder, "e.yaml", MINIMAL)
    with pytest.raises(ConfigError) as caught:
        load_profiles([folder])
    problems = caught.value.problems
    assert len(problems) == 4, problems
    assert problems[0].startswith("profiles/a.yaml:2: invalid YAML:")
    assert problems[1:] == [
        "profiles/b.yaml:1: expected a mapping with name, description, containers, ...",
        "profiles/c.yaml:1: 'hls' is required",
        "profiles/e.yaml:1: name: 'den-tv' is already defined in profiles/d.yaml",
    ]
