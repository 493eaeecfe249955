"""ffmpeg command lines for one PlaybackPlan: HLS segment runs, progressive MPEG-TS, WebVTT.

Every HLS run is cut to the segment timeline `hls` published and stamps its output with the
timeline's own clock (`-ss S -i … -output_ts_offset S`, negative-timestamp shifting off; copy
runs seek by source timestamp), so a segment is the same whichever run made it and a seek is
just a new run. Re-encoded video gets keyframes forced on the segment grid; copied video is cut
only at the source keyframes the timeline was built from. One MPEG-TS muxer writes all of a
run's segments (the segment muxer only switches files), so continuity counters, PCR and
timestamps carry from one segment to the next and a player reads one continuous stream; the
first packets of a run that starts mid-item carry the discontinuity indicator, the one place
the counters do restart. `FfmpegProcess` runs one such line: niced, no stdin, stderr tail kept,
stopped with SIGTERM then SIGKILL. This module never decides what a client can play and never
tracks which session a process belongs to.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import signal
import stat
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.http.errors import ApiError
from core.playback.hls import SegmentTimeline, stream_facts
from core.playback.plan import PlaybackPlan
from hardware.encoders import EncoderCapability

if TYPE_CHECKING:
    from core.playback.constant_rate import ConstantRate

BASE_ARGS = ("-hide_banner", "-nostdin", "-nostats", "-loglevel", "error")
# The demuxers a library file may be read with. A file whose content is a playlist (HLS, DASH,
# ffconcat) names other files, and ffmpeg would read them into the stream: a `.mkv` swapped for
# an HLS playlist after the scan streamed a film from outside every library folder. None of
# those is here; every library extension's container is (core.media.classify).
MEDIA_DEMUXERS = (
    "matroska,mov,avi,mpegts,mpeg,mpegvideo,m4v,flv,asf,ogg,rm,wtv,mp3,aac,ac3,eac3,dts,truehd,"
    "flac,wav,w64,aiff,ape,wv,dsf,iff,mpc,mpc8,spdif,caf,amr,au"
)
# a crafted file must not make ffmpeg fetch URLs, nor read files a playlist in it names
INPUT_ARGS = ("-protocol_whitelist", "file", "-format_whitelist", MEDIA_DEMUXERS)
SOURCE_GONE = "The file is gone from disk; a rescan will tidy up."
CUT_EPSILON = 0.0005
"""Half a millisecond, less than any frame interval. Cut times are listed this much early, so a
time rounded a hair past its keyframe cannot push the cut to the next one. A copy run seeks this
much late: ffmpeg seeks to the last keyframe at or before the time and, copying, keeps every
packet from there, so seeking early would start one GOP too soon."""
NICENESS = 10
STOP_GRACE_S = 2.0
COPY_OVERRUN = 1.0
"""Seconds a copy run that ends before the item does reads past its last cut: more than any
reorder delay, so every packet shown before the cut is in (see `hls_run_command`)."""
MAX_RUN_SEGMENTS = 8000
"""Cut points per run (about 13 bytes each), keeping `-segment_times` under Linux's 128 KiB per
argument: 9 hours of 4-second segments, so a film plays through in one run and one continuous
stream; a longer item needs another run when the player gets there."""


@dataclass(frozen=True, slots=True)
class EncoderSettings:
    """How to drive one H.264 encoder: its options, device set-up, and how frames reach it."""

    name: str = "libx264"
    preset: str | None = "veryfast"
    args: tuple[str, ...] = ()
    global_args: tuple[str, ...] = ()  # before -i: hardware device set-up
    upload: str = "format=yuv420p"  # last filters: pixel format, or the upload to the GPU

    @classmethod
    def for_encoder(
        cls,
        name: str,
        *,
        preset: str | None = None,
        args: Sequence[str] = (),
        device: str | None = None,
    ) -> EncoderSettings:
        """Settings for a named encoder; `device` is the render node VAAPI and QSV need."""
        if name == "h264_vaapi":
            return cls(
                name,
                None,
                tuple(args),
                ("-vaapi_device", device or "/dev/dri/renderD128"),
                "format=nv12,hwupload",
            )
        if name == "h264_qsv":
            node = device or "/dev/dri/renderD128"
            return cls(
                name,
                None,
                tuple(args),
                ("-init_hw_device", f"qsv=hw,child_device={node}", "-filter_hw_device", "hw"),
                "format=nv12,hwupload=extra_hw_frames=64,format=qsv",
            )
        return cls(name, preset if name == "libx264" else None, tuple(args))

    @classmethod
    def from_capability(
        cls, capability: EncoderCapability, preset: str | None = "veryfast"
    ) -> EncoderSettings:
        """Settings for an encoder the hardware report verified."""
        if capability.codec != "h264" or not capability.verified:
            raise ValueError(f"{capability.name} is not a verified H.264 encoder")
        return cls.for_encoder(capability.name, preset=preset, device=capability.device)


@dataclass(frozen=True, slots=True)
class StreamStart:
    """Where a progressive stream starts (see `seek.stream_start_blocking`): `seconds` into the
    item, which is what the client is told, and the `-ss` that gets ffmpeg there, in source
    timestamps (`-seek_timestamp`) when the video is copied from a keyframe."""

    seconds: float = 0.0
    seek: float = 0.0
    source_times: bool = False
    clock: float | None = None
    """Where ffmpeg's output time zero (the `-ss` point) is on the item's clock, when it is not
    `seconds`: a copy seeks by source timestamp a hair past its keyframe."""

    @property
    def output_offset(self) -> float:
        """`-output_ts_offset` that keeps the item's clock (a constant-rate range)."""
        return self.seconds if self.clock is None else self.clock


@dataclass(frozen=True, slots=True)
class VideoOutput:
    """What the client receives: for the master playlist and the encoder alike."""

    copy: bool
    width: int | None
    height: int | None
    frame_rate: float | None
    bitrate: int
    codec: str
    profile: str | None = None
    scale: bool = False


def output_size(
    width: int, height: int, max_width: int | None, max_height: int | None
) -> tuple[int, int]:
    """The largest even size within the limits that keeps the picture's shape."""
    factor = min(
        1.0,
        (max_width or width) / width,
        (max_height or height) / height,
    )
    return max(2, round(width * factor / 2) * 2), max(2, round(height * factor / 2) * 2)


def default_bitrate(height: int) -> int:
    """A bit rate that looks right at this height when the plan names none (bits/s)."""
    for limit, rate in ((360, 1_000_000), (480, 1_500_000), (720, 3_000_000), (1088, 6_000_000)):
        if height <= limit:
            return rate
    return 12_000_000


def video_output(plan: PlaybackPlan, probe: Mapping[str, Any]) -> VideoOutput | None:
    """The picture the plan promises, or None when there is no video."""
    if plan.video.action == "none":
        return None
    facts = stream_facts(probe, "video", plan.video.stream_index)
    width, height = int(facts.get("width") or 0), int(facts.get("height") or 0)
    rate = facts.get("frame_rate")
    if plan.video.action == "copy":
        bitrate = facts.get("bit_rate") or probe.get("bit_rate") or default_bitrate(height)
        codec, profile = str(facts.get("codec")), facts.get("profile")
        return VideoOutput(True, width or None, height or None, rate, int(bitrate), codec, profile)
    if width and height:
        size = output_size(width, height, plan.video.max_width, plan.video.max_height)
    else:
        size = (plan.video.max_width or 1280, plan.video.max_height or 720)
    bitrate = plan.video.max_bitrate or default_bitrate(size[1])
    scale = (width, height) != size
    return VideoOutput(False, size[0], size[1], rate, bitrate, "h264", "High", scale)


def _video_args(
    plan: PlaybackPlan,
    probe: Mapping[str, Any],
    encoder: EncoderSettings,
    keyframe_seconds: float | None,
    constant: int | None = None,
) -> list[str]:
    """`constant`: hold the encoder to this bitrate (a one-second buffer) for a constant-rate
    stream, spending it on the picture rather than on the muxer's padding."""
    out = video_output(plan, probe)
    if out is None:
        return ["-vn"]
    index = plan.video.stream_index
    args = ["-map", f"0:{index}" if index is not None else "0:v:0"]
    if out.copy:
        return [*args, "-c:v", "copy"]
    filters = [f"scale={out.width}:{out.height}"] if out.scale else []
    args += ["-vf", ",".join([*filters, encoder.upload]), "-c:v", encoder.name]
    rate = str(constant or out.bitrate)
    if constant:
        args += ["-preset", encoder.preset] if encoder.preset else []
        args += ["-profile:v", "high"] if encoder.name == "libx264" else []
        args += ["-b:v", rate, "-maxrate", rate, "-bufsize", rate]
    elif encoder.name == "libx264":
        args += ["-preset", encoder.preset or "veryfast", "-profile:v", "high", "-crf", "23"]
        args += ["-maxrate", rate, "-bufsize", str(out.bitrate * 2)]
    else:
        args += ["-b:v", rate, "-maxrate", rate, "-bufsize", str(out.bitrate * 2)]
    if keyframe_seconds is not None:
        args += ["-force_key_frames", f"expr:gte(t,n_forced*{keyframe_seconds:g})"]
        if encoder.name != "libx264" and out.frame_rate:
            # Some hardware encoders ignore forced keyframes; a GOP of one segment still aligns.
            args += ["-g", str(max(1, round(out.frame_rate * keyframe_seconds)))]
    return [*args, *encoder.args]


def _audio_args(plan: PlaybackPlan, probe: Mapping[str, Any]) -> list[str]:
    audio = plan.audio
    if audio.action == "none":
        return ["-an"]
    args = ["-map", f"0:{audio.stream_index}" if audio.stream_index is not None else "0:a:0?"]
    if audio.action == "copy":
        return [*args, "-c:a", "copy"]
    args += ["-c:a", "aac", "-ac", str(audio.channels), "-b:a", str(audio.bitrate)]
    facts = stream_facts(probe, "audio", audio.stream_index)
    if int(facts.get("sample_rate") or 48_000) > 48_000:
        args += ["-ar", "48000"]
    return args


def _seconds(value: float) -> str:
    return f"{max(0.0, value):.6f}"


def hls_run_command(
    ffmpeg: str | Path,
    source: str | Path,
    plan: PlaybackPlan,
    probe: Mapping[str, Any],
    encoder: EncoderSettings,
    timeline: SegmentTimeline,
    first: int,
    out_dir: Path,
    segment_seconds: float,
) -> tuple[list[str], int]:
    """The run that writes segments `first`… as `<n>.ts` (or `<n>.m4s`, with the fMP4 header
    as `init-<first>.mp4`) into `out_dir`, and its last index.

    The segment muxer cuts at the first keyframe at or after each listed time and names files
    from `first`; a file is complete once the next one exists or ffmpeg exits 0.
    """
    last = min(timeline.count - 1, first + MAX_RUN_SEGMENTS - 1)
    start = timeline.starts[first]
    copy = plan.video.action == "copy"
    seek = start + CUT_EPSILON + timeline.seek_bias if copy else start
    encodes = plan.video.action == "encode"
    args = [str(ffmpeg), *BASE_ARGS, *(encoder.global_args if encodes else ())]
    if copy:  # the timeline is in source timestamps, not offsets from the file's start
        args += ["-seek_timestamp", "1", "-ss", _seconds(seek)]
    elif seek > 0:
        args += ["-ss", _seconds(seek)]
    args += [*INPUT_ARGS, "-i", str(source)]
    args += _video_args(plan, probe, encoder, None if copy else segment_seconds)
    args += _audio_args(plan, probe)
    args += ["-sn", "-dn", "-map_metadata", "-1", "-map_chapters", "-1"]
    args += ["-max_muxing_queue_size", "1024"]
    ends = range(first + 1, last + 1)
    if last < timeline.count - 1 and copy:
        # Copying stops on decode time, so a `-t` at the cut would keep the next keyframe
        # (decoded before the frames shown ahead of it) at the end of segment `last`, and the
        # next run would send it again. Cut there instead and run a little past: what follows
        # the cut goes to a file the session discards.
        ends = range(first + 1, last + 2)
        args += ["-t", _seconds(timeline.end_of(last) - seek + COPY_OVERRUN)]
    elif last < timeline.count - 1:
        args += ["-t", _seconds(timeline.end_of(last) - seek - CUT_EPSILON)]
    cuts = ",".join(_seconds(timeline.starts[n] - CUT_EPSILON) for n in ends)
    args += ["-avoid_negative_ts", "disabled", "-output_ts_offset", _seconds(seek)]
    # one muxer for the whole run (no header or trailer per file): the counters carry on
    muxer = "avoid_negative_ts=disabled"
    if plan.segments == "fmp4":
        args += _fmp4_tags(plan, probe)
        args += ["-f", "segment", "-segment_format", "mp4", "-individual_header_trailer", "0"]
        args += ["-segment_header_filename", str(out_dir / f"init-{first}.mp4")]
        # One fragment per segment (flushed at each cut), its decode time on the timeline's
        # clock (frag_discont: from the first packet, not from zero), so runs agree.
        muxer += f":movflags={FMP4_FLAGS}"
    else:
        args += ["-f", "segment", "-segment_format", "mpegts", "-individual_header_trailer", "0"]
        if first > 0:  # the player may have read segment first-1 from another run: say so
            muxer += ":mpegts_flags=+initial_discontinuity"
    args += ["-segment_format_options", muxer]
    # Always list a cut: without one the segment muxer falls back to 2-second segments.
    args += ["-segment_times", cuts or _seconds(timeline.duration + 3600)]
    name = f"%d.{segment_extension(plan)}"
    args += ["-segment_start_number", str(first), str(out_dir / name)]
    return args, last


FMP4_FLAGS = "+frag_custom+empty_moov+default_base_moof+frag_discont"


def segment_extension(plan: PlaybackPlan) -> str:
    return "m4s" if plan.segments == "fmp4" else "ts"


def _fmp4_tags(plan: PlaybackPlan, probe: Mapping[str, Any]) -> list[str]:
    """HEVC as `hvc1`, the sample entry Apple's players require; FLAC and Opus in MP4 are
    still marked experimental in FFmpeg 5, though every browser that plays them reads them."""
    args = ["-strict", "experimental"]
    source = stream_facts(probe, "video", plan.video.stream_index)
    if plan.video.action == "copy" and source.get("codec") == "hevc":
        args += ["-tag:v", "hvc1"]
    return args


def progressive_command(
    ffmpeg: str | Path,
    source: str | Path,
    plan: PlaybackPlan,
    probe: Mapping[str, Any],
    encoder: EncoderSettings,
    start: StreamStart | None = None,
    constant: ConstantRate | None = None,
) -> list[str]:
    """One MPEG-TS stream on stdout from `start`, for DLNA TVs that want a plain URL.

    Timestamps begin at zero where the stream starts; in a `constant`-rate stream they go on
    from the item's start instead (a range is a piece of one long stream), and the muxer pads
    to the constant rate (core.playback.constant_rate). Decoded streams are cut exactly at the
    start (ffmpeg's accurate seek); copied audio drops its packets from before it, since ffmpeg
    keeps a copied stream from wherever the demuxer landed, up to a keyframe interval early.
    """
    encodes = plan.video.action == "encode"
    args = [str(ffmpeg), *BASE_ARGS, *(encoder.global_args if encodes else ())]
    start = start or StreamStart()
    if start.source_times:
        args += ["-seek_timestamp", "1", "-ss", _seconds(start.seek)]
    elif start.seek > 0:
        args += ["-ss", _seconds(start.seek)]
    args += [*INPUT_ARGS, "-i", str(source)]
    keyframes = 2.0 if encodes else None  # TVs resync faster with a keyframe every 2 s
    video_rate = constant.video_bitrate if constant else None
    args += _video_args(plan, probe, encoder, keyframes, video_rate)
    args += _audio_args(plan, probe)
    if start.seek > 0 and plan.audio.action == "copy":
        args += ["-copypriorss:a", "0"]
    args += ["-sn", "-dn", "-map_metadata", "-1", "-max_muxing_queue_size", "1024"]
    if constant is not None:
        args += ["-muxrate", str(constant.muxrate)]
        args += ["-output_ts_offset", _seconds(start.output_offset)]
    return [*args, "-f", "mpegts", "pipe:1"]


def webvtt_command(
    ffmpeg: str | Path, source: str | Path, stream_index: int, output: Path, source_times: bool
) -> list[str]:
    """Extract one text subtitle stream to WebVTT, timed like the segments: in the source's own
    timestamps when the video is copied, else from the file's start."""
    return [
        str(ffmpeg),
        *BASE_ARGS,
        *(["-copyts"] if source_times else []),
        *INPUT_ARGS,
        "-i",
        str(source),
        "-map",
        f"0:{stream_index}",
        "-c:s",
        "webvtt",
        "-f",
        "webvtt",
        str(output),
    ]


def audio_bitrate(plan: PlaybackPlan, probe: Mapping[str, Any]) -> int:
    """The audio's share of the variant's BANDWIDTH."""
    if plan.audio.action == "none":
        return 0
    if plan.audio.action == "encode":
        return plan.audio.bitrate
    facts = stream_facts(probe, "audio", plan.audio.stream_index)
    return int(facts.get("bit_rate") or 640_000)


def peak_bandwidth(plan: PlaybackPlan, probe: Mapping[str, Any]) -> int:
    """BANDWIDTH for the master playlist: the video's cap (or the source's rate when copied),
    plus audio, plus ~10 % MPEG-TS overhead."""
    video = video_output(plan, probe)
    total = (video.bitrate if video else 0) + audio_bitrate(plan, probe)
    return max(64_000, math.ceil(total * 1.1))


def transcode_failed(detail: str) -> ApiError:
    return ApiError(500, f"The transcode failed: {detail}", "transcode_failed")


def open_source_blocking(source: Path) -> int:
    """A descriptor for the regular file whose real path is `source`, or 404 file_missing when
    what that name opens now is something else (a link, a swapped folder, a FIFO, nothing)."""
    try:
        fd = os.open(source, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError as err:
        raise ApiError(404, SOURCE_GONE, "file_missing") from err
    try:
        regular = stat.S_ISREG(os.fstat(fd).st_mode)
        if regular and os.readlink(f"/proc/self/fd/{fd}") == str(source):
            return fd
    except OSError:
        pass
    os.close(fd)
    raise ApiError(404, SOURCE_GONE, "file_missing")


class FfmpegProcess:
    """One ffmpeg child: started niced, stderr tail kept, stopped politely then firmly."""

    def __init__(
        self,
        process: asyncio.subprocess.Process,
        on_exit: Callable[[FfmpegProcess], Awaitable[None]] | None,
    ) -> None:
        self._process = process
        self._on_exit = on_exit
        self.tail: deque[str] = deque(maxlen=12)
        self.stopping = False
        self.paused = False
        self._monitor = asyncio.create_task(self._watch(), name=f"ffmpeg-{process.pid}")

    @classmethod
    async def start(
        cls,
        argv: Sequence[str],
        *,
        stdout: bool = False,
        on_exit: Callable[[FfmpegProcess], Awaitable[None]] | None = None,
        source: Path | None = None,
    ) -> FfmpegProcess:
        """`source`: the checked real path of the library file in `argv`. It is opened here and
        ffmpeg reads the open file (`/dev/fd/N`), never the name: a run started minutes after
        the check (a seek in an HLS session) cannot be led out of the library by a link put at
        that path since."""
        fd = await asyncio.to_thread(open_source_blocking, source) if source else None
        if fd is not None:
            argv = [f"/dev/fd/{fd}" if arg == str(source) else arg for arg in argv]
        try:
            process = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE if stdout else asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
                pass_fds=() if fd is None else (fd,),
            )
        except OSError as err:
            raise transcode_failed(f"ffmpeg could not be started ({err.strerror or err})") from err
        finally:
            if fd is not None:
                os.close(fd)  # the child holds its own copy
        with contextlib.suppress(OSError):  # lowered from here: no preexec_fn, no fork hazards
            os.setpriority(os.PRIO_PROCESS, process.pid, NICENESS)
        return cls(process, on_exit)

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def returncode(self) -> int | None:
        return self._process.returncode

    @property
    def stdout(self) -> asyncio.StreamReader | None:
        return self._process.stdout

    def problem(self) -> str:
        """The last thing ffmpeg said, for logs and error messages."""
        return self.tail[-1] if self.tail else f"ffmpeg exited with status {self.returncode}"

    async def _watch(self) -> None:
        assert self._process.stderr is not None
        async for line in self._process.stderr:
            text = line.decode("utf-8", "replace").strip()
            if text:
                self.tail.append(text)
        await self._process.wait()
        if self._on_exit is not None:
            await self._on_exit(self)

    def _signal(self, number: int) -> None:
        if self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._process.pid, number)

    def pause(self) -> None:
        if not self.paused:
            self._signal(signal.SIGSTOP)
            self.paused = True

    def resume(self) -> None:
        if self.paused:
            self._signal(signal.SIGCONT)
            self.paused = False

    async def wait(self) -> int:
        await asyncio.shield(self._monitor)
        return self._process.returncode or 0

    async def stop(self) -> None:
        """SIGTERM, then SIGKILL after a grace period; returns once the child is reaped."""
        self.stopping = True
        # Whatever is left on stdout is read and dropped: ffmpeg blocked writing to a full pipe
        # never gets to act on SIGTERM, and asyncio reports no exit while a pipe it stopped
        # reading (its buffer full) is still open.
        stdout = self._process.stdout
        drain = asyncio.create_task(_drain(stdout)) if stdout is not None else None
        self._signal(signal.SIGTERM)
        self.resume()  # a stopped process cannot act on SIGTERM until continued
        try:
            await asyncio.wait_for(asyncio.shield(self._monitor), STOP_GRACE_S)
        except TimeoutError:
            self._signal(signal.SIGKILL)
            await asyncio.shield(self._monitor)
        finally:
            if drain is not None:
                drain.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await drain


async def _drain(stdout: asyncio.StreamReader) -> None:
    with contextlib.suppress(RuntimeError):  # someone else is reading it: the pipe flows
        while await stdout.read(1 << 16):
            pass
