"""Device profiles: what a kind of client can play, kept as YAML data, and which one a request is.

A profile lists the containers, codecs (with allowed codec profiles and levels), sizes, bitrates
and subtitle formats a client plays as it is, plus whether it takes HLS. The built-ins live in
`profiles/*.yaml` beside this module; a user's YAML file with the same `name` replaces a built-in
whole, so a TV that does better (or worse) than its family is fixed by editing data, not code.
Files are checked with the configuration system's loader, so a mistake reads
`profiles/tv.yaml:7: video -> hevc -> max_level: expected a level such as 4.1, got 'high'`.

Detection looks only at request headers (User-Agent, X-AV-Client-Info, FriendlyName.DLNA.ORG);
the `profile=` query parameter is the caller's business. This module never probes a file, never
decides how to play one (that is `decision`), and never writes anything.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

import voluptuous as vol

from core.configuration import format_problems
from core.configuration.problems import describe_all
from core.configuration.validators import boolean, ensure_list, integer, non_empty_string, one_of
from core.configuration.yaml_loader import LoadContext, Mark, YamlLoadError, load_yaml
from core.errors import ConfigError

SubtitleDelivery = Literal["track", "caption-info-ex", "res", "none"]
SegmentContainer = Literal["fmp4", "mpegts"]

BUILTIN_DIR = Path(__file__).with_name("device_profiles")
# A profile that sets no priority is the user's own and should beat every built-in (all < 100).
USER_PRIORITY = 100

# The names a profile may use; a typo is reported with a "did you mean" instead of never matching.
CONTAINERS: tuple[str, ...] = (
    "mp4", "mkv", "webm", "mpegts", "avi", "mpeg", "asf", "ogg",
    "flac", "mp3", "wav", "aac", "aiff",
)  # fmt: skip
VIDEO_CODECS: tuple[str, ...] = (
    "h264", "hevc", "vp8", "vp9", "av1", "mpeg1video", "mpeg2video", "mpeg4", "vc1", "wmv3",
    "theora", "mjpeg",
)  # fmt: skip
AUDIO_CODECS: tuple[str, ...] = (
    "aac", "ac3", "eac3", "dts", "truehd", "mp3", "mp2", "opus", "vorbis", "flac", "alac", "pcm",
    "wmav2", "wmapro",
)  # fmt: skip
SUBTITLE_FORMATS = ("vtt", "srt", "ass", "ttml")
_BITRATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([km]?)\s*(?:bit/s|bps|b/s)?\s*$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class VideoCodecSupport:
    """One video codec a client decodes; empty `profiles` means any codec profile."""

    codec: str
    profiles: tuple[str, ...] = ()  # lower case, as FFmpeg names them: "high", "main 10"
    max_level: float | None = None  # as people write it: 4.1, 5.1

    def allows_profile(self, profile: str | None) -> bool:
        """Unknown profiles pass: refusing a file for a missing tag would transcode needlessly."""
        return not self.profiles or profile is None or profile.lower() in self.profiles


@dataclass(frozen=True, slots=True)
class AudioCodecSupport:
    """One audio codec a client decodes, and how many channels of it."""

    codec: str
    max_channels: int | None = None


@dataclass(frozen=True, slots=True)
class MatchRules:
    """Case-insensitive regular expressions per header; any hit matches, highest priority wins."""

    user_agent: tuple[re.Pattern[str], ...] = ()
    client_info: tuple[re.Pattern[str], ...] = ()
    friendly_name: tuple[re.Pattern[str], ...] = ()
    priority: int = USER_PRIORITY

    def matches(self, user_agent: str, client_info: str, friendly_name: str) -> bool:
        pairs = (
            (self.user_agent, user_agent),
            (self.client_info, client_info),
            (self.friendly_name, friendly_name),
        )
        return any(text and any(p.search(text) for p in patterns) for patterns, text in pairs)


@dataclass(frozen=True, slots=True)
class DeviceProfile:
    """Everything the decision needs to know about one kind of client."""

    name: str
    label: str  # how reasons name the client: "container mkv is not playable by Safari"
    description: str
    match: MatchRules
    containers: frozenset[str]
    video: tuple[VideoCodecSupport, ...]
    audio: tuple[AudioCodecSupport, ...]
    max_width: int
    max_height: int
    max_bitrate: int  # bits per second
    max_audio_channels: int
    subtitles: tuple[str, ...]  # formats it renders; empty when it shows no external subtitles
    subtitle_delivery: SubtitleDelivery  # how a target hands them over (HTML track, Samsung's...)
    hls: bool  # False: progressive MPEG-TS when the file cannot be sent as it is (DLNA TVs)
    hls_segment_container: SegmentContainer
    source: str = "built-in"  # the file it came from, as shown in messages
    builtin: bool = True
    # Every HLS segment type the client takes, preferred first (a browser's own report, see
    # `capabilities`); empty means just `hls_segment_container`.
    hls_segment_containers: tuple[SegmentContainer, ...] = ()

    def video_codec(self, codec: str | None) -> VideoCodecSupport | None:
        return next((item for item in self.video if item.codec == codec), None)

    def audio_codec(self, codec: str | None) -> AudioCodecSupport | None:
        return next((item for item in self.audio if item.codec == codec), None)


def _regex(value: Any) -> re.Pattern[str]:
    try:
        return re.compile(non_empty_string(value), re.IGNORECASE)
    except re.error as err:
        raise vol.Invalid(f"expected a regular expression ({err})") from err


def _level(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool) and 1 <= value <= 9:
        return float(value)
    raise vol.Invalid("expected a level such as 4.1")


def _bitrate(value: Any) -> int:
    """Bits per second, written as 20000000, '20M', '20 Mbit/s' or '640k'."""
    found = _BITRATE.match(str(value)) if not isinstance(value, bool) else None
    if found is None:
        raise vol.Invalid("expected a bitrate such as 20000000, '20M' or '640k'")
    scale = {"": 1, "k": 1_000, "m": 1_000_000}[found.group(2).lower()]
    return max(1, round(float(found.group(1)) * scale))


def _mapping(value: Any) -> Any:
    """`vp9:` with nothing after it means "this codec, no limits"."""
    return {} if value is None else value


def _profile_name(value: Any) -> str:
    name = non_empty_string(value)
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", name):
        raise vol.Invalid("expected a name of lower-case letters, digits, '-' and '_'")
    return name


def _texts(validator: Any) -> Any:
    return vol.All(ensure_list, [validator])


_VIDEO_CODEC = vol.All(
    _mapping,
    {
        vol.Optional("profiles", default=[]): _texts(non_empty_string),
        vol.Optional("max_level"): _level,
    },
)
_AUDIO_CODEC = vol.All(_mapping, {vol.Optional("max_channels"): integer(1, 16)})
_MATCH = {
    vol.Optional("user_agent", default=[]): _texts(_regex),
    vol.Optional("client_info", default=[]): _texts(_regex),
    vol.Optional("friendly_name", default=[]): _texts(_regex),
    vol.Optional("priority", default=USER_PRIORITY): integer(0, 1000),
}
PROFILE_SCHEMA = vol.Schema(
    {
        vol.Required("name"): _profile_name,
        vol.Optional("label"): non_empty_string,
        vol.Required("description"): non_empty_string,
        vol.Optional("match", default={}): vol.All(_mapping, _MATCH),
        vol.Required("containers"): _texts(one_of(*CONTAINERS)),
        vol.Required("video"): vol.All(
            _mapping, {vol.Optional(codec): _VIDEO_CODEC for codec in VIDEO_CODECS}
        ),
        vol.Required("audio"): vol.All(
            _mapping, {vol.Optional(codec): _AUDIO_CODEC for codec in AUDIO_CODECS}
        ),
        vol.Required("max_width"): integer(16, 16384),
        vol.Required("max_height"): integer(16, 16384),
        vol.Required("max_bitrate"): _bitrate,
        vol.Required("max_audio_channels"): integer(1, 16),
        vol.Optional("subtitles", default=[]): _texts(one_of(*SUBTITLE_FORMATS)),
        vol.Optional("subtitle_delivery", default="none"): one_of(
            "track", "caption-info-ex", "res", "none"
        ),
        vol.Required("hls"): boolean,
        vol.Optional("hls_segment_container", default="fmp4"): one_of("fmp4", "mpegts"),
    }
)


def _build(data: dict[str, Any], source: str, builtin: bool) -> DeviceProfile:
    match = data["match"]
    return DeviceProfile(
        name=data["name"],
        label=data.get("label", data["name"]),
        description=data["description"],
        match=MatchRules(
            tuple(match["user_agent"]),
            tuple(match["client_info"]),
            tuple(match["friendly_name"]),
            match["priority"],
        ),
        containers=frozenset(data["containers"]),
        video=tuple(
            VideoCodecSupport(
                codec,
                tuple(p.lower() for p in rule["profiles"]),
                rule.get("max_level"),
            )
            for codec, rule in data["video"].items()
        ),
        audio=tuple(
            AudioCodecSupport(codec, rule.get("max_channels"))
            for codec, rule in data["audio"].items()
        ),
        max_width=data["max_width"],
        max_height=data["max_height"],
        max_bitrate=data["max_bitrate"],
        max_audio_channels=data["max_audio_channels"],
        subtitles=tuple(data["subtitles"]),
        subtitle_delivery=cast(SubtitleDelivery, data["subtitle_delivery"]),
        hls=data["hls"],
        hls_segment_container=cast(SegmentContainer, data["hls_segment_container"]),
        source=source,
        builtin=builtin,
    )


def _profile_files(folder: Path) -> list[Path]:
    """The YAML files of one folder, in name order; a folder that does not exist holds none."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())


def _read_profiles(
    files: Iterable[Path], shown_from: Path, builtin: bool, problems: list[tuple[Mark, str]]
) -> list[tuple[DeviceProfile, Mark]]:
    """Validate each file on its own, so one broken file never hides another's problems."""
    found: list[tuple[DeviceProfile, Mark]] = []
    for path in files:
        ctx = LoadContext(config_dir=shown_from)
        top = Mark(ctx.shown(path), 1)
        try:
            raw = load_yaml(path, ctx)
        except YamlLoadError as err:
            problems.append((err.mark, err.message))
            continue
        problems.extend(ctx.problems)
        if not isinstance(raw, dict):
            problems.append((top, "expected a mapping with name, description, containers, ..."))
            continue
        try:
            data = PROFILE_SCHEMA(raw)
        except vol.Invalid as err:
            problems.extend(describe_all(err, raw, [], PROFILE_SCHEMA, top))
            continue
        name_mark = getattr(raw, "key_marks", {}).get("name", top)
        found.append((_build(data, top.file, builtin), name_mark))
    return found


def load_profiles(extra_dirs: list[Path]) -> dict[str, DeviceProfile]:
    """The built-in profiles, then each user folder's; raises ConfigError listing every problem.

    A user profile named like a built-in replaces it; two user files with one name are an error,
    since which of them won would depend on folder order.
    """
    problems: list[tuple[Mark, str]] = []
    profiles: dict[str, DeviceProfile] = {}
    builtins = _read_profiles(_profile_files(BUILTIN_DIR), BUILTIN_DIR.parents[2], True, problems)
    for profile, _ in builtins:
        profiles[profile.name] = profile
    for folder in extra_dirs:
        for profile, mark in _read_profiles(_profile_files(folder), folder.parent, False, problems):
            earlier = profiles.get(profile.name)
            if earlier is not None and not earlier.builtin:
                problems.append(
                    (mark, f"name: '{profile.name}' is already defined in {earlier.source}")
                )
                continue
            profiles[profile.name] = profile
    if problems:
        raise ConfigError(format_problems(problems))
    return profiles


def _header(headers: Mapping[str, str], name: str) -> str:
    """A header's value whether or not the mapping ignores case (aiohttp's does, dicts do not)."""
    value = headers.get(name)
    if value is None:
        value = next((v for k, v in headers.items() if k.lower() == name.lower()), "")
    return value


def detect_profile(
    profiles: Mapping[str, DeviceProfile], headers: Mapping[str, str], default: str = "chromium"
) -> DeviceProfile:
    """The matching profile with the highest priority (a user's beats a built-in on a tie).

    Falls back to `default`, because an unknown client is most often a browser; raises KeyError
    when `default` names no loaded profile.
    """
    user_agent = _header(headers, "User-Agent")
    client_info = _header(headers, "X-AV-Client-Info")
    friendly_name = _header(headers, "FriendlyName.DLNA.ORG")
    candidates = [
        profile
        for profile in profiles.values()
        if profile.match.matches(user_agent, client_info, friendly_name)
    ]
    if not candidates:
        return profiles[default]
    return min(candidates, key=lambda p: (-p.match.priority, p.builtin, p.name))
