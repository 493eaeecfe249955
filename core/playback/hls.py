"""HLS text: where segments begin and end, and the master, media and subtitle playlists.

We write every playlist ourselves, up front, from the file's duration (and, when the video is
copied, from the source's keyframe index), so a player sees the whole VOD timeline at once and
can seek anywhere before ffmpeg has produced a byte. Segment N always starts at the same media
time, whichever ffmpeg run produces it; `ffmpeg_args` cuts exactly there. Pure text and
arithmetic, plus one read of a container's index (through a descriptor opened as ffmpeg's runs
open theirs); this module never runs ffmpeg or serves HTTP.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

TS_TIMESTAMP_OFFSET = 1.4
"""Seconds ffmpeg's MPEG-TS muxer adds to every timestamp (twice its default 0.7 s mux delay):
segment PTS = media time + this, which WebVTT's X-TIMESTAMP-MAP must state."""

MIN_SEGMENT_FRACTION = 0.5
"""A keyframe-cut segment is never shorter than this fraction of the target, so a burst of
scene-change keyframes does not produce a string of tiny segments."""
_SEEK_TO_PTS = 0x4000000  # AVFMT_SEEK_TO_PTS
TAIL_FRACTION = 0.25
"""A last segment shorter than this fraction of the target joins the one before (audio often
outlasts the picture by a few milliseconds, which would otherwise be a segment of its own)."""


@dataclass(frozen=True, slots=True)
class SegmentTimeline:
    """Segment start times and the end, in the seconds the runs stamp on their output: from 0
    for re-encoded video, the source's own timestamps for copied video."""

    starts: tuple[float, ...]
    end: float
    seek_bias: float = 0.0  # see KeyframeIndex

    @classmethod
    def uniform(cls, duration: float, segment_seconds: float) -> SegmentTimeline:
        """Equal segments, for re-encoded video: the encoder is told to put keyframes there."""
        count = max(1, math.ceil(duration / segment_seconds - 1e-6))
        if count > 1 and duration - (count - 1) * segment_seconds < segment_seconds * TAIL_FRACTION:
            count -= 1
        return cls(tuple(round(n * segment_seconds, 6) for n in range(count)), duration)

    @classmethod
    def from_keyframes(cls, index: KeyframeIndex, segment_seconds: float) -> SegmentTimeline:
        """Segments that start on source keyframes, for copied video (which cannot be cut
        anywhere else): from the first keyframe, the first keyframe at or after each multiple
        of the target, but no sooner than half a target after the previous start."""
        origin = index.times[0]
        starts = [origin]
        for time in index.times[1:]:
            if time > index.end - segment_seconds * TAIL_FRACTION:
                break
            done = starts[-1] - origin
            grid = origin + math.ceil(done / segment_seconds + 1e-9) * segment_seconds
            if time >= max(grid, starts[-1] + segment_seconds * MIN_SEGMENT_FRACTION) - 1e-6:
                starts.append(round(time, 6))
        return cls(tuple(starts), max(index.end, starts[-1]), index.seek_bias)

    @property
    def count(self) -> int:
        return len(self.starts)

    @property
    def duration(self) -> float:
        return self.end - self.starts[0]

    def end_of(self, index: int) -> float:
        return self.starts[index + 1] if index + 1 < len(self.starts) else self.end

    def length_of(self, index: int) -> float:
        return self.end_of(index) - self.starts[index]

    @property
    def target_duration(self) -> int:
        return max(1, math.ceil(max(self.length_of(n) for n in range(self.count)) - 1e-3))


@dataclass(frozen=True, slots=True)
class KeyframeIndex:
    """Video keyframe presentation times and the container's start and end, in source seconds.

    `seek_bias`: ffmpeg's command line seeks 3/23 s *before* the asked time in containers that
    cannot seek by presentation time (Matroska) when a stream has B-frames, which would land a
    copy run one keyframe early; a copy run asks that much later to compensate. `start` is
    what ffmpeg counts `-ss` from without `-seek_timestamp` (an item's time 0).
    """

    times: tuple[float, ...]
    end: float
    seek_bias: float = 0.0
    start: float = 0.0


def keyframe_index_blocking(
    path: str | os.PathLike[str], stream_index: int | None
) -> KeyframeIndex | None:
    """Keyframe times from the container's own index, without reading a frame.

    Matroska keeps them in Cues (loaded on the first seek, hence the seek), MP4 in its sample
    tables. MPEG-TS, AVI and cue-less Matroska have no index: None, and the caller re-encodes.
    Times are the source's own timestamps (PyAV and ffmpeg agree on those, not always on a
    file's start time), which is why copy runs seek with `-seek_timestamp`.

    `path`: the checked real path of a library file. It is opened as ffmpeg's runs open it
    (`open_source_blocking`: 404 file_missing unless the opened file is the one at that path)
    and read through the descriptor, so a link put there since the check is never read.
    """
    import av  # here: PyAV stays out of the server's start-up

    from core.playback.ffmpeg_args import open_source_blocking  # it imports this module

    fd = open_source_blocking(Path(path))
    try:
        with av.open(
            f"/proc/self/fd/{fd}", container_options={"protocol_whitelist": "file"}
        ) as box:
            videos = [s for s in box.streams.video if stream_index in (None, s.index)]
            if not videos:
                return None
            stream = videos[0]
            box.seek(0, stream=stream)
            entries = [entry.timestamp for entry in stream.index_entries if entry.is_keyframe]
            if len(entries) < 2 or stream.time_base is None or not box.duration:
                return None
            # MP4 indexes decode times: shift by the first keyframe's reorder delay to get
            # presentation times, which is what the muxer cuts on (0 for Matroska's Cues).
            shift = (stream.start_time - entries[0]) if stream.start_time is not None else 0
            base = float(stream.time_base)
            start = (box.start_time or 0) / 1_000_000
            end = start + box.duration / 1_000_000
            delayed = any(s.codec_context.has_b_frames for s in box.streams.video)
            bias = 3 / 23 if delayed and not box.format.flags & _SEEK_TO_PTS else 0.0
            times = tuple(round((ts + shift) * base, 6) for ts in entries)
            return KeyframeIndex(times, end, bias, start)
    except (av.FFmpegError, OSError, ValueError):
        return None
    finally:
        os.close(fd)


@dataclass(frozen=True, slots=True)
class Variant:
    """The one stream a master playlist offers."""

    uri: str
    bandwidth: int
    resolution: tuple[int, int] | None
    codecs: str | None
    frame_rate: float | None = None


@dataclass(frozen=True, slots=True)
class SubtitleRendition:
    uri: str
    name: str
    language: str | None
    default: bool = False
    forced: bool = False


def master_playlist(
    variant: Variant, subtitles: Sequence[SubtitleRendition] = (), version: int = 3
) -> str:
    """One variant and, when there are text subtitles, one WebVTT rendition group."""
    lines = ["#EXTM3U", f"#EXT-X-VERSION:{version}", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for sub in subtitles:
        attributes = [
            "TYPE=SUBTITLES",
            'GROUP-ID="subs"',
            f'NAME="{_quoted(sub.name)}"',
            *([f'LANGUAGE="{_quoted(sub.language)}"'] if sub.language else []),
            f"DEFAULT={'YES' if sub.default else 'NO'}",
            f"AUTOSELECT={'YES' if sub.default or sub.forced else 'NO'}",
            f"FORCED={'YES' if sub.forced else 'NO'}",
            f'URI="{sub.uri}"',
        ]
        lines.append("#EXT-X-MEDIA:" + ",".join(attributes))
    info = [f"BANDWIDTH={variant.bandwidth}"]
    if variant.resolution:
        info.append(f"RESOLUTION={variant.resolution[0]}x{variant.resolution[1]}")
    if variant.codecs:
        info.append(f'CODECS="{variant.codecs}"')
    if variant.frame_rate:
        info.append(f"FRAME-RATE={variant.frame_rate:.3f}")
    if subtitles:
        info.append('SUBTITLES="subs"')
    lines += ["#EXT-X-STREAM-INF:" + ",".join(info), variant.uri, ""]
    return "\n".join(lines)


def media_playlist(
    timeline: SegmentTimeline, segment_uri: str = "{n}.ts", init_uri: str | None = None
) -> str:
    """The complete VOD list: every segment with its exact length, then ENDLIST. With
    `init_uri` (fMP4 segments) the list names their shared header in EXT-X-MAP, version 7."""
    lines = [
        "#EXTM3U",
        f"#EXT-X-VERSION:{7 if init_uri else 3}",
        "#EXT-X-PLAYLIST-TYPE:VOD",
        f"#EXT-X-TARGETDURATION:{timeline.target_duration}",
        "#EXT-X-MEDIA-SEQUENCE:0",
        *([f'#EXT-X-MAP:URI="{init_uri}"'] if init_uri else []),
    ]
    for n in range(timeline.count):
        lines += [f"#EXTINF:{timeline.length_of(n):.6f},", segment_uri.format(n=n)]
    lines += ["#EXT-X-ENDLIST", ""]
    return "\n".join(lines)


def subtitle_playlist(duration: float, vtt_uri: str) -> str:
    """One WebVTT file spanning the whole item: extracting it is cheap, and one file seeks
    as well as many."""
    return media_playlist(SegmentTimeline((0.0,), duration), vtt_uri)


def with_timestamp_map(vtt: str, offset: float = TS_TIMESTAMP_OFFSET) -> str:
    """Tell the player that cue time 0 is segment time `offset` (MPEG-TS segments: the
    muxer's `TS_TIMESTAMP_OFFSET`; fMP4 ones carry the timeline's own times, 0), so cues line
    up with our segments (ffmpeg's WebVTT muxer does not write the header)."""
    mapping = f"X-TIMESTAMP-MAP=MPEGTS:{round(offset * 90_000)},LOCAL:00:00:00.000"
    head, newline, rest = vtt.partition("\n")
    if not head.startswith("WEBVTT"):
        return f"WEBVTT\n{mapping}\n\n{vtt}"
    return f"{head}\n{mapping}{newline}{rest}"


def _quoted(text: str) -> str:
    return text.replace('"', "'").replace("\n", " ")


_AVC_PROFILES = {
    "baseline": "4200",
    "constrained baseline": "42e0",
    "main": "4d00",
    "extended": "5800",
    "high": "6400",
    "high 10": "6e00",
    "high 4:2:2": "7a00",
}
_AUDIO_CODECS = {"mp3": "mp4a.40.34", "ac3": "ac-3", "eac3": "ec-3"}
_AAC_PROFILES = {"he-aac": "mp4a.40.5", "he-aacv2": "mp4a.40.29"}


def _avc_level(height: int, frame_rate: float | None) -> str:
    """A level that holds the picture: the probe does not record the real one."""
    fast = (frame_rate or 30.0) > 31
    if height <= 480:
        return "1e"
    if height <= 720:
        return "20" if fast else "1f"
    if height <= 1088:
        return "2a" if fast else "28"
    return "33"


def video_codec_tag(
    codec: str,
    profile: str | None,
    height: int,
    frame_rate: float | None,
    sample_entry: str = "hev1",
) -> str | None:
    """An RFC 6381 tag such as avc1.640028, or None when we cannot name it honestly.
    `sample_entry` names HEVC: hev1 in MPEG-TS, hvc1 in our fMP4 (see ffmpeg_args)."""
    if codec == "h264":
        head = _AVC_PROFILES.get((profile or "high").casefold())
        return f"avc1.{head}{_avc_level(height, frame_rate)}" if head else None
    if codec == "hevc":
        main10 = (profile or "").casefold() == "main 10"
        level = 150 if height > 1088 else 120
        return f"{sample_entry}.{2 if main10 else 1}.{4 if main10 else 6}.L{level}.B0"
    return None


def audio_codec_tag(codec: str, profile: str | None) -> str | None:
    if codec == "aac":
        return _AAC_PROFILES.get((profile or "").casefold(), "mp4a.40.2")
    return _AUDIO_CODECS.get(codec)


def codecs_attribute(video: str | None, audio: str | None, has_video: bool, has_audio: bool) -> str:
    """The CODECS value, or "" when a stream we send has no tag (better none than wrong)."""
    if (has_video and not video) or (has_audio and not audio):
        return ""
    return ",".join(tag for tag in (video, audio) if tag)


@lru_cache(maxsize=64)
def bcp47_language(code: str | None) -> str | None:
    """`fre` -> `fr`: HLS LANGUAGE is BCP 47, the catalog keeps ISO 639-2/B."""
    if not code:
        return None
    try:
        import babelfish  # type: ignore[import-untyped]

        language: Any = babelfish.Language.fromalpha3b(code)
        return str(language.alpha2)
    except Exception:  # babelfish raises several unrelated types for unknown codes
        return code


def stream_facts(probe: Mapping[str, Any], kind: str, index: int | None) -> Mapping[str, Any]:
    """One stream's probe facts: the one at `index`, else the first of `kind`, else {}."""
    streams = [s for s in probe.get("streams") or () if s.get("kind") == kind]
    chosen = [s for s in streams if index is None or s.get("index") == index]
    return chosen[0] if chosen else {}
