"""What a client says it can decode, as the web player reports it, turned into a DeviceProfile.

A User-Agent names a family of clients, not the one in hand: an Android phone may lack HEVC,
a Linux Chromium may have it. So the web player asks its own browser
(`MediaSource.isTypeSupported`, `canPlayType`) and sends the answer as `caps`, a comma list of
tokens from a fixed vocabulary:

- video: `h264.baseline`, `h264.main`, `h264.high`, `h264.high10`, `hevc.main`, `hevc.main10`,
  `vp8`, `vp9.p0`, `vp9.p2`, `av1.main`
- audio: `aac`, `mp3`, `ac3`, `eac3`, `opus`, `flac`, `vorbis`, `pcm`
- files the browser opens itself: `file.mp4`, `file.webm`, `file.mkv`, `file.ogg`
- HLS segments it plays, in the order it prefers them: `hls.ts`, `hls.fmp4`
- `hdr`: the screen shows high dynamic range

An explicit set replaces what the User-Agent profile says about codecs, containers and HLS;
sizes and bitrates still come from that profile. Unknown tokens are ignored, so a newer player
works with an older server. Pure: never looks at a file and never decides how one plays.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from core.playback.profiles import (
    AudioCodecSupport,
    DeviceProfile,
    SegmentContainer,
    VideoCodecSupport,
)

# token -> (codec, the FFmpeg profile names it stands for)
_VIDEO: dict[str, tuple[str, tuple[str, ...]]] = {
    "h264.baseline": ("h264", ("baseline", "constrained baseline")),
    "h264.main": ("h264", ("main",)),
    "h264.high": ("h264", ("high",)),
    "h264.high10": ("h264", ("high 10",)),
    "hevc.main": ("hevc", ("main",)),
    "hevc.main10": ("hevc", ("main 10",)),
    "vp8": ("vp8", ()),
    "vp9.p0": ("vp9", ("profile 0",)),
    "vp9.p2": ("vp9", ("profile 2",)),
    "av1.main": ("av1", ("main",)),
}
_AUDIO = ("aac", "mp3", "ac3", "eac3", "opus", "flac", "vorbis", "pcm")
_FILES = {"file.mp4": "mp4", "file.webm": "webm", "file.mkv": "mkv", "file.ogg": "ogg"}
_HLS: dict[str, SegmentContainer] = {"hls.ts": "mpegts", "hls.fmp4": "fmp4"}
MAX_LENGTH = 1000


class CapabilitiesError(ValueError):
    """The `caps` text is not a capability list at all (too long, or no known token)."""


@dataclass(frozen=True, slots=True)
class ClientCapabilities:
    """One client's own report: what it decodes, opens, and which HLS segments it takes."""

    video: tuple[VideoCodecSupport, ...]
    audio: tuple[str, ...]
    files: frozenset[str]
    hls: tuple[SegmentContainer, ...]  # most preferred first
    hdr: bool = False


def parse_capabilities(text: str) -> ClientCapabilities:
    """The tokens of a `caps` value; raises CapabilitiesError when none is known, since an
    empty set would make every file a transcode for a typo."""
    if len(text) > MAX_LENGTH:
        raise CapabilitiesError(f"caps is longer than {MAX_LENGTH} characters")
    tokens = [t.strip().lower() for t in text.split(",") if t.strip()]
    profiles: dict[str, list[str]] = {}
    audio: list[str] = []
    hls: list[SegmentContainer] = []
    known = 0
    for token in tokens:
        if token in _VIDEO:
            codec, names = _VIDEO[token]
            profiles.setdefault(codec, []).extend(names)
        elif token in _AUDIO:
            audio.append(token)
        elif token in _HLS:
            hls.append(_HLS[token])
        elif token not in _FILES and token != "hdr":
            continue
        known += 1
    if not known:
        raise CapabilitiesError(
            "caps names no codec, file type or HLS segment type this server knows"
        )
    return ClientCapabilities(
        video=tuple(VideoCodecSupport(c, tuple(dict.fromkeys(p))) for c, p in profiles.items()),
        audio=tuple(dict.fromkeys(audio)),
        files=frozenset(_FILES[t] for t in tokens if t in _FILES),
        hls=tuple(dict.fromkeys(hls)),
        hdr="hdr" in tokens,
    )


def with_capabilities(profile: DeviceProfile, caps: ClientCapabilities) -> DeviceProfile:
    """`profile` (found from the User-Agent) with the codecs and containers the client reported.

    Sizes, bitrates, channel counts and subtitles stay the profile's: a browser cannot report
    them. Reasons then name "this browser", since the report is about this one.
    """
    channels = {a.codec: a.max_channels for a in profile.audio}
    hls = caps.hls or (profile.hls_segment_container,)
    return replace(
        profile,
        label="this browser",
        containers=caps.files,
        video=tuple(replace(v, max_level=_level_of(profile, v.codec)) for v in caps.video),
        audio=tuple(AudioCodecSupport(a, channels.get(a)) for a in caps.audio),
        hls=True,
        hls_segment_container=hls[0],
        hls_segment_containers=hls,
    )


def _level_of(profile: DeviceProfile, codec: str) -> float | None:
    """The family's level limit, when it names the codec (a report says nothing of levels)."""
    support = profile.video_codec(codec)
    return support.max_level if support is not None else None
