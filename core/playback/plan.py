"""What the playback engine is asked to do with one file: the contract between the decision
(which looks at the file and the client) and the transcoder (which runs ffmpeg).

Plain frozen values only, so both sides can be built and tested apart. It never decides and
never runs anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Method = Literal["direct_play", "direct_stream", "transcode"]
Segments = Literal["mpegts", "fmp4"]
VideoAction = Literal["copy", "encode", "none"]
AudioAction = Literal["copy", "encode", "none"]


@dataclass(frozen=True, slots=True)
class VideoPlan:
    """Copy the video stream, or encode it to H.264 within these limits."""

    action: VideoAction
    stream_index: int | None = None
    max_width: int | None = None
    max_height: int | None = None
    max_bitrate: int | None = None  # bits per second, for the encoder's rate control
    codec: str = "h264"  # what the client receives (the source codec when copying)


@dataclass(frozen=True, slots=True)
class AudioPlan:
    """Copy one audio stream, or encode it to AAC (stereo unless the client takes more)."""

    action: AudioAction
    stream_index: int | None = None
    channels: int = 2
    bitrate: int = 160_000
    codec: str = "aac"


@dataclass(frozen=True, slots=True)
class SubtitlePlan:
    """A text subtitle stream offered to the client as WebVTT (never burned in here)."""

    stream_index: int
    language: str | None = None
    title: str | None = None
    forced: bool = False


@dataclass(frozen=True, slots=True)
class PlaybackPlan:
    """The decision's whole answer: how, why, and what the transcoder must do."""

    method: Method
    reasons: tuple[str, ...]
    container: str  # "file" for direct play, else "hls" (fMP4 or MPEG-TS segments) or "mpegts"
    video: VideoPlan = field(default_factory=lambda: VideoPlan("none"))
    audio: AudioPlan = field(default_factory=lambda: AudioPlan("none"))
    subtitles: tuple[SubtitlePlan, ...] = ()
    profile: str = "generic"
    segments: Segments = "mpegts"  # HLS segment type; for direct play, the one a remux would use

    @property
    def needs_ffmpeg(self) -> bool:
        return self.method != "direct_play"

    @property
    def encodes_video(self) -> bool:
        return self.video.action == "encode"
