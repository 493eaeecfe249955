"""Choosing how one file plays on one client: direct play, direct stream or transcode.

Direct play sends the file as it is. Direct stream keeps the video as it is but changes what
carries it (HLS, or progressive MPEG-TS for DLNA TVs) and, when needed, the audio (to AAC
stereo) — cheap even on a Pi. Transcode re-encodes the video to H.264, the expensive last
resort, taken only when the video itself does not fit the client or the requested quality.
Every answer carries reasons a person can read, because the API shows them to users asking
"why is this transcoding?".

Pure: takes the catalog's probe dict (`dataclasses.asdict(ProbeResult)`) and a DeviceProfile.
It never reads the file, never runs ffmpeg, and never asks whether this box *can* transcode —
that is the playback engine's call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from core.errors import HearthError
from core.media.languages import normalize_language
from core.playback.plan import (
    AudioPlan,
    Method,
    PlaybackPlan,
    Segments,
    SubtitlePlan,
    VideoPlan,
)
from core.playback.profiles import DeviceProfile

Stream = Mapping[str, Any]

_CODEC_NAMES = {
    "h264": "H.264", "hevc": "HEVC", "vp8": "VP8", "vp9": "VP9", "av1": "AV1",
    "mpeg1video": "MPEG-1", "mpeg2video": "MPEG-2", "mpeg4": "MPEG-4 Part 2", "vc1": "VC-1",
    "aac": "AAC", "ac3": "AC3", "eac3": "E-AC3", "dts": "DTS", "truehd": "TrueHD", "mp3": "MP3",
    "mp2": "MP2", "opus": "Opus", "vorbis": "Vorbis", "flac": "FLAC", "alac": "ALAC", "pcm": "PCM",
}  # fmt: skip
_LAYOUTS = {1: "mono", 2: "stereo", 3: "2.1", 6: "5.1", 7: "6.1", 8: "7.1"}
# FFmpeg names demuxers, not formats: one demuxer reads MP4 and MOV, another MKV and WebM.
_DEMUXERS = {"mov,mp4,m4a,3gp,3g2,mj2": "mp4", "matroska,webm": "mkv", "mpegts": "mpegts"}
_WEBM_CODECS = frozenset({"vp8", "vp9", "av1", "opus", "vorbis", "webvtt"})
# What each carrier can hold; a codec the client plays may still need encoding to travel.
CARRIED = {
    "fmp4": frozenset({"h264", "hevc", "av1", "vp9", "aac", "ac3", "eac3", "mp3", "opus", "flac"}),
    "mpegts": frozenset({"h264", "hevc", "mpeg1video", "mpeg2video", "aac", "ac3", "eac3", "mp3",
                         "mp2"}),
}  # fmt: skip
_CARRIER_NAMES = {
    ("hls", "fmp4"): "HLS (fMP4 segments)",
    ("hls", "mpegts"): "HLS (MPEG-TS segments)",
    ("mpegts", "mpegts"): "progressive MPEG-TS",
}
# H.264 bitrates that look good from each picture size up (as a 16:9 height); caps apply after.
_LADDER = (
    (2160, 20_000_000), (1440, 12_000_000), (1080, 8_000_000), (720, 4_000_000),
    (480, 2_000_000), (0, 1_000_000),
)  # fmt: skip
_MIN_VIDEO_BITRATE = 200_000
_GUESSED_AUDIO_BITRATE = 192_000


class UnplayableError(HearthError):
    """The probe holds no audio or video stream (a photo, say): there is nothing to play."""


def container_name(probe: Mapping[str, Any]) -> str:
    """The format a client knows ("mp4", "mkv", "webm") from FFmpeg's demuxer name."""
    demuxer = str(probe.get("container") or "")
    name = _DEMUXERS.get(demuxer, demuxer.split(",", maxsplit=1)[0])
    codecs = {_codec_key(s) for s in probe.get("streams") or ()}
    return "webm" if name == "mkv" and codecs <= _WEBM_CODECS else name


def decide(
    probe: Mapping[str, Any],
    profile: DeviceProfile,
    *,
    max_bitrate: int | None = None,
    max_height: int | None = None,
    audio_language: str | None = None,
    subtitle_index: int | None = None,
) -> PlaybackPlan:
    """The cheapest way to play `probe` on `profile` within the requested caps, and why.

    `subtitle_index` None offers every text subtitle stream; an index offers just that one,
    so the engine extracts only what will be shown.
    """
    streams: Sequence[Stream] = probe.get("streams") or ()
    video = next((s for s in streams if s.get("kind") == "video"), None)
    audios = [s for s in streams if s.get("kind") == "audio"]
    # The track a player picks by itself: the default-flagged one, else the first.
    natural = next((s for s in audios if s.get("default")), audios[0] if audios else None)
    audio, notes = _pick_audio(audios, natural, audio_language)
    if video is None and audio is None:
        raise UnplayableError("the file holds no audio or video stream to play")
    container = container_name(probe)
    faults: list[str] = []
    if container not in profile.containers:
        faults.append(f"container {container} is not playable by {profile.label}")
    if audio is not None and audio is not natural:
        faults.append(
            f"audio track {audio.get('index')} ({audio.get('language') or 'no language'}) is not "
            "the one players pick by themselves, so it is selected by remuxing"
        )
    video_faults = _video_faults(video, probe, profile, max_bitrate, max_height) if video else []
    audio_fault = _audio_fault(audio, profile) if audio else None
    if video is None and audio_fault is None and _over(probe.get("bit_rate"), max_bitrate):
        audio_fault = f"{_rate(probe['bit_rate'])} is above the requested {_rate(max_bitrate)}"
    subtitles = _subtitles(streams, profile, subtitle_index, notes)
    if faults or video_faults or audio_fault is not None:
        plan = _convert(profile, video, audio, video_faults, audio_fault, max_bitrate, max_height)
        return replace(plan, reasons=(*faults, *plan.reasons, *notes), subtitles=subtitles)
    described = " and ".join(
        [_video_text(s) for s in (video,) if s] + [_audio_text(s) for s in (audio,) if s]
    )
    summary = f"direct play: {profile.label} plays this {container} file as it is ({described})"
    return PlaybackPlan(
        "direct_play",
        (summary, *notes),
        "file",
        video=_copy_video(video) if video else VideoPlan("none"),
        audio=_copy_audio(audio) if audio else AudioPlan("none"),
        subtitles=subtitles,
        profile=profile.name,
        segments=_segments(profile, video, audio) if profile.hls else "mpegts",
    )


def _convert(
    profile: DeviceProfile,
    video: Stream | None,
    audio: Stream | None,
    video_faults: list[str],
    audio_fault: str | None,
    max_bitrate: int | None,
    max_height: int | None,
) -> PlaybackPlan:
    """Direct stream or transcode: copy what travels and fits, encode the rest."""
    target = "hls" if profile.hls else "mpegts"
    copied = (video if not video_faults else None, audio if audio_fault is None else None)
    segments = _segments(profile, *copied) if profile.hls else "mpegts"
    carrier = _CARRIER_NAMES[(target, segments)]
    if video is not None and not video_faults and _codec_key(video) not in CARRIED[segments]:
        video_faults = [f"video {_video_text(video)} cannot be carried in {carrier}"]
    if audio is not None and audio_fault is None and _codec_key(audio) not in CARRIED[segments]:
        audio_fault = f"{_codec_name(audio)} cannot be carried in {carrier}"
    reasons = list(video_faults)
    audio_plan = _copy_audio(audio) if audio else AudioPlan("none")
    if audio is not None and audio_fault is not None:
        audio_plan = _encode_audio(audio)
        reasons.append(
            f"audio {_audio_text(audio)} → AAC {_layout(audio_plan.channels)} ({audio_fault})"
        )
    method: Method = "direct_stream"
    video_plan = VideoPlan("none")
    if video is not None and video_faults:
        method = "transcode"
        video_plan = _encode_video(video, profile, audio_plan, max_bitrate, max_height)
        reasons.append(
            f"video {_video_text(video)} → H.264 {video_plan.max_width}x{video_plan.max_height} "
            f"at {_rate(video_plan.max_bitrate)}"
        )
    elif video is not None:
        video_plan = _copy_video(video)
        reasons.append(f"video {_video_text(video)} is copied as it is")
    elif audio_plan.action == "encode":
        method = "transcode"  # with no video, encoding the audio is re-encoding everything
    reasons.append(f"sent as {carrier}")
    return PlaybackPlan(
        method,
        tuple(reasons),
        target,
        video_plan,
        audio_plan,
        profile=profile.name,
        segments=segments,
    )


def _segments(profile: DeviceProfile, *copied_streams: Stream | None) -> Segments:
    """The client's preferred HLS segment type, unless another it takes carries what is sent
    as it is: fMP4 for copied HEVC (Apple's players take HEVC in fMP4 only), or a codec
    MPEG-TS cannot carry."""
    options = profile.hls_segment_containers or (profile.hls_segment_container,)
    copied = {_codec_key(s) for s in copied_streams if s is not None}
    if "fmp4" in options and ("hevc" in copied or not copied <= CARRIED["mpegts"]):
        return "fmp4"
    return options[0]


def _pick_audio(
    audios: list[Stream], natural: Stream | None, language: str | None
) -> tuple[Stream | None, list[str]]:
    """The asked-for language (its default-flagged track first), else the track players pick."""
    if natural is None or not language:
        return natural, []
    wanted = normalize_language(language) or language.strip().lower()
    matches = [s for s in audios if s.get("language") == wanted]
    if matches:
        return next((s for s in matches if s.get("default")), matches[0]), []
    heard = natural.get("language") or "no language"
    return natural, [f"no audio track in '{language}'; playing track {natural.get('index')} "
                     f"({heard})"]  # fmt: skip


def _video_faults(
    video: Stream,
    probe: Mapping[str, Any],
    profile: DeviceProfile,
    max_bitrate: int | None,
    max_height: int | None,
) -> list[str]:
    """Every reason the video stream itself cannot reach this client unchanged."""
    faults = []
    support = profile.video_codec(_codec_key(video))
    if support is None or not support.allows_profile(video.get("profile")):
        faults.append(f"video {_video_text(video)} is not supported by {profile.label}")
    level = _level(video)
    if support is not None and level and support.max_level and level > support.max_level:
        faults.append(
            f"video {_codec_name(video)} level {level:g} is above {profile.label}'s "
            f"limit of {support.max_level:g}"
        )
    width, height = video.get("width") or 0, video.get("height") or 0
    if width > profile.max_width or height > profile.max_height:
        faults.append(
            f"video {width}x{height} is larger than {profile.label}'s "
            f"{profile.max_width}x{profile.max_height}"
        )
    stream_rate = video.get("bit_rate") or probe.get("bit_rate")
    if _over(stream_rate, profile.max_bitrate):
        faults.append(
            f"video bitrate {_rate(stream_rate)} is above {profile.label}'s limit of "
            f"{_rate(profile.max_bitrate)}"
        )
    if max_height is not None and height > max_height:
        faults.append(f"video height {height} is above the requested {max_height}")
    file_rate = probe.get("bit_rate") or stream_rate
    if _over(file_rate, max_bitrate):
        faults.append(f"bitrate {_rate(file_rate)} is above the requested {_rate(max_bitrate)}")
    return faults


def _audio_fault(audio: Stream, profile: DeviceProfile) -> str | None:
    """Why the audio stream must be encoded for this client, or None when it plays."""
    support = profile.audio_codec(_codec_key(audio))
    if support is None:
        return f"{profile.label} does not play {_codec_name(audio)}"
    limit = min(support.max_channels or profile.max_audio_channels, profile.max_audio_channels)
    if (audio.get("channels") or 2) > limit:
        return f"{profile.label} plays at most {_layout(limit)} {_codec_name(audio)}"
    return None


def _encode_video(
    video: Stream,
    profile: DeviceProfile,
    audio: AudioPlan,
    max_bitrate: int | None,
    max_height: int | None,
) -> VideoPlan:
    """H.264 no larger than the source, the client or the request, at a bitrate within every
    cap — but never under 200 kbit/s, below which H.264 is not worth watching."""
    box_height = min(profile.max_height, max_height or profile.max_height)
    width, height = _fit(video.get("width"), video.get("height"), profile.max_width, box_height)
    size = max(height, width * 9 // 16)  # 1920x800 is "1080p" to a viewer, and to the ladder
    rate = min(next(r for h, r in _LADDER if size >= h), profile.max_bitrate)
    audio_rate = (audio.bitrate or _GUESSED_AUDIO_BITRATE) if audio.action != "none" else 0
    if max_bitrate is not None:
        rate = min(rate, max_bitrate - audio_rate)
    rate = max(rate, _MIN_VIDEO_BITRATE)
    return VideoPlan("encode", video.get("index"), width, height, rate, "h264")


def _fit(width: int | None, height: int | None, box_w: int, box_h: int) -> tuple[int, int]:
    """Scale down into the box keeping the shape; never up; even sides, as H.264 4:2:0 needs."""
    if not width or not height:
        return box_w - box_w % 2, box_h - box_h % 2
    scale = min(1.0, box_w / width, box_h / height)
    return max(2, int(width * scale) // 2 * 2), max(2, int(height * scale) // 2 * 2)


def _encode_audio(audio: Stream) -> AudioPlan:
    channels = min(audio.get("channels") or 2, 2)
    return AudioPlan("encode", audio.get("index"), channels, 160_000 if channels == 2 else 96_000)


def _copy_video(video: Stream) -> VideoPlan:
    return VideoPlan("copy", video.get("index"), codec=_codec_key(video))


def _copy_audio(audio: Stream) -> AudioPlan:
    """The copied stream as it is; bitrate 0 when the file does not say."""
    channels, rate = audio.get("channels") or 2, audio.get("bit_rate") or 0
    return AudioPlan("copy", audio.get("index"), channels, rate, _codec_key(audio))


def _subtitles(
    streams: Sequence[Stream], profile: DeviceProfile, index: int | None, reasons: list[str]
) -> tuple[SubtitlePlan, ...]:
    """Text subtitle streams as WebVTT; picture ones would need burning in, which is not done."""
    subs = [s for s in streams if s.get("kind") == "subtitle"]
    if index is not None:
        chosen = next((s for s in subs if s.get("index") == index), None)
        if chosen is None:
            reasons.append(f"subtitle stream {index} does not exist in this file")
            return ()
        if not chosen.get("text_based"):
            reasons.append(
                f"subtitle stream {index} ({chosen.get('codec')}) is pictures, not text; "
                "showing it would mean burning it in, which is not done"
            )
            return ()
        subs = [chosen]
    texts = [s for s in subs if s.get("text_based")]
    if texts and not profile.subtitles:
        reasons.append(f"subtitles are not offered: {profile.label} shows no external subtitles")
        return ()
    return tuple(
        SubtitlePlan(s["index"], s.get("language"), s.get("title"), bool(s.get("forced")))
        for s in texts
    )


def _codec_key(stream: Stream) -> str:
    """FFmpeg's codec name, with the many PCM sample formats folded into "pcm"."""
    codec = str(stream.get("codec") or "")
    return "pcm" if codec.startswith("pcm_") else codec


def _codec_name(stream: Stream) -> str:
    key = _codec_key(stream)
    return _CODEC_NAMES.get(key, key.upper() or "unknown codec")


def _video_text(stream: Stream) -> str:
    """How reasons name a video stream: "HEVC Main 10", "H.264 High", "VP9 Profile 0"."""
    return " ".join(filter(None, [_codec_name(stream), stream.get("profile")]))


def _audio_text(stream: Stream) -> str:
    """How reasons name an audio stream: "AC3 5.1", "AAC stereo"."""
    return f"{_codec_name(stream)} {_layout(stream.get('channels') or 2)}"


def _layout(channels: int) -> str:
    return _LAYOUTS.get(channels, f"{channels}-channel")


def _level(video: Stream) -> float | None:
    """The level as people write it (4.1), from FFmpeg's number (41 for H.264, 123 for HEVC).

    The probe does not record a level yet; when it does, this starts to check it.
    """
    raw = video.get("level")
    if not isinstance(raw, int) or raw <= 0:
        return None
    divisor = {"h264": 10, "hevc": 30}.get(_codec_key(video))
    return round(raw / divisor, 1) if divisor else None


def _over(value: Any, cap: int | None) -> bool:
    return cap is not None and isinstance(value, int) and value > cap


def _rate(bits: int | None) -> str:
    """A bitrate as people read it: "8 Mbit/s", "1.5 Mbit/s", "320 kbit/s"."""
    value = bits or 0
    if value >= 1_000_000:
        return f"{round(value / 1_000_000, 1):g} Mbit/s"
    return f"{round(value / 1000):g} kbit/s"
