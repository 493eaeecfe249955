"""Which H.264/HEVC encoders this box can really use, proven by a one-second test encode each.

Candidates are the encoders ffmpeg lists *and* whose device nodes exist (plus libx264, which
needs none); each is then verified by encoding a synthetic 720p clip to the null muxer, because
a listing and a device node together still are not capability (missing libcuda, no VA driver,
no permission on the node). Known limits (the Pi 4 encoder stops at 1080p) are attached to the
verified ones. This module never picks the encoder for a stream and never encodes real media.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from hardware.board import BoardInfo
from hardware.commands import CommandResult, CommandRunner
from hardware.devices import DeviceInventory
from hardware.ffmpeg import FfmpegInfo

TEST_ENCODE_TIMEOUT_S = 15.0
"""Generous: a working encoder needs well under a second; a Pi on a cold start may need several."""

TEST_SOURCE = "testsrc2=size=1280x720:rate=30"

HARDWARE_ENCODERS = ("h264_v4l2m2m", "h264_vaapi", "hevc_vaapi", "h264_qsv", "h264_nvenc")
SOFTWARE_ENCODERS = ("libx264",)


@dataclass(frozen=True, slots=True)
class Resolution:
    width: int
    height: int

    def __str__(self) -> str:
        return f"{self.width}x{self.height}"


@dataclass(frozen=True, slots=True)
class EncoderCandidate:
    """An encoder worth a test encode; `device` is the node it will use (None for software)."""

    name: str
    codec: str
    api: str
    device: str | None

    @property
    def hardware(self) -> bool:
        return self.api != "software"


@dataclass(frozen=True, slots=True)
class EncoderCapability:
    """A candidate after its test encode.

    `failure` says why an unverified one failed; the limits are known figures, None when not known
    (a rough concurrent-stream count is only given where one is documented).
    """

    name: str
    codec: str
    api: str
    device: str | None
    verified: bool
    failure: str | None
    seconds: float
    max_resolution: Resolution | None
    max_streams: int | None
    note: str | None

    @property
    def hardware(self) -> bool:
        return self.api != "software"


def candidate_encoders(info: FfmpegInfo, devices: DeviceInventory) -> tuple[EncoderCandidate, ...]:
    """Pair what ffmpeg lists with the devices present; hardware first, software last."""
    found: list[EncoderCandidate] = []
    pi_encoder = devices.pi_h264_encoder
    if info.lists("h264_v4l2m2m") and pi_encoder is not None:
        found.append(EncoderCandidate("h264_v4l2m2m", "h264", "v4l2m2m", pi_encoder.path))
    for node in devices.render_nodes:
        if not node.may_have_vaapi:
            continue
        for name, codec in (("h264_vaapi", "h264"), ("hevc_vaapi", "hevc")):
            if info.lists(name):
                found.append(EncoderCandidate(name, codec, "vaapi", node.path))
    intel = next((node for node in devices.render_nodes if node.is_intel), None)
    if info.lists("h264_qsv") and intel is not None:
        found.append(EncoderCandidate("h264_qsv", "h264", "qsv", intel.path))
    if info.lists("h264_nvenc") and devices.has_nvidia:
        gpu = next(p for p in devices.nvidia_nodes if p != "/dev/nvidiactl")
        found.append(EncoderCandidate("h264_nvenc", "h264", "nvenc", gpu))
    if info.lists("libx264"):
        found.append(EncoderCandidate("libx264", "h264", "software", None))
    return tuple(found)


def unmatched_hardware_encoders(info: FfmpegInfo, tried: Iterable[str]) -> tuple[str, ...]:
    """Hardware encoders ffmpeg was built with but that were not `tried` (no device here)."""
    names = set(tried)
    return tuple(name for name in HARDWARE_ENCODERS if info.lists(name) and name not in names)


def encode_probe_command(ffmpeg: str, candidate: EncoderCandidate) -> list[str]:
    """The ffmpeg argv that encodes one second of synthetic 720p30 with `candidate`.

    `-progress pipe:1` prints `frame=N` to stdout, so success means exit 0 *and* frames out.
    """
    global_args: list[str] = []
    output_args: list[str] = []
    device = candidate.device or ""
    if candidate.api == "vaapi":
        global_args = ["-vaapi_device", device]
        output_args = ["-vf", "format=nv12,hwupload"]
    elif candidate.api == "qsv":
        global_args = [
            "-init_hw_device",
            f"qsv=hw,child_device={device}",
            "-filter_hw_device",
            "hw",
        ]
        output_args = ["-vf", "format=nv12,hwupload=extra_hw_frames=64,format=qsv"]
    elif candidate.api == "v4l2m2m":
        output_args = ["-pix_fmt", "yuv420p"]
    output_args += ["-c:v", candidate.name]
    if candidate.api == "software":
        output_args += ["-preset", "veryfast"]
    return [
        ffmpeg,
        "-hide_banner",
        "-nostdin",
        "-nostats",
        "-loglevel",
        "error",
        *global_args,
        "-f",
        "lavfi",
        "-i",
        TEST_SOURCE,
        "-t",
        "1",
        *output_args,
        "-progress",
        "pipe:1",
        "-f",
        "null",
        "-",
    ]


def frames_encoded(progress: str) -> int:
    """The last `frame=N` in ffmpeg's `-progress` output (0 if none)."""
    frames = 0
    for line in progress.splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "frame" and value.strip().isdigit():
            frames = int(value.strip())
    return frames


def _first_error(stderr: str) -> str:
    for line in stderr.splitlines():
        text = line.strip()
        if text.startswith("[") and "] " in text:  # "[h264_nvenc @ 0x55…] Cannot load libcuda"
            text = text.split("] ", 1)[1]
        if text:
            return text[:200]
    return ""


def judge_encode_probe(result: CommandResult, timeout: float) -> str | None:
    """None when the test encode proves the encoder works, else a one-line reason."""
    if result.timed_out:
        return f"test encode timed out after {timeout:g} s"
    if result.returncode is None:
        return _first_error(result.stderr) or "ffmpeg could not be started"
    if result.returncode != 0:
        return _first_error(result.stderr) or f"ffmpeg exited with status {result.returncode}"
    if frames_encoded(result.stdout) == 0:
        return "ffmpeg exited 0 but encoded no frames"
    return None


def known_limits(
    candidate: EncoderCandidate, board: BoardInfo
) -> tuple[Resolution | None, int | None, str | None]:
    """Documented limits: (max resolution, rough concurrent streams, note); None where unknown."""
    if candidate.api == "v4l2m2m":
        # bcm2835-codec: H.264 level 4.x; the driver's max is 1920x1920 and 4K is unsupported.
        return Resolution(1920, 1080), 1, "Raspberry Pi H.264 encoder: 1080p30 (or 720p60)"
    if candidate.api == "nvenc":
        return Resolution(4096, 4096), None, "concurrent sessions depend on the GPU and driver"
    if candidate.api in {"vaapi", "qsv"}:
        return None, None, "limits depend on the GPU generation"
    if board.soc == "bcm2712":
        return None, None, "Pi 5 libx264 throughput is unmeasured: benchmark before promising"
    return None, None, None


def verify_encoders_blocking(
    ffmpeg: str,
    candidates: tuple[EncoderCandidate, ...],
    board: BoardInfo,
    runner: CommandRunner,
    timeout: float = TEST_ENCODE_TIMEOUT_S,
) -> tuple[EncoderCapability, ...]:
    """Test-encode each candidate in turn (up to `timeout` seconds each) and record the outcome.

    One at a time on purpose: parallel test encodes would contend for the same GPU or the Pi's
    single encoder and fail for reasons that are not about capability.
    """
    checked = []
    for candidate in candidates:
        started = time.monotonic()
        result = runner(encode_probe_command(ffmpeg, candidate), timeout)
        elapsed = round(time.monotonic() - started, 3)
        failure = judge_encode_probe(result, timeout)
        max_resolution, max_streams, note = known_limits(candidate, board)
        checked.append(
            EncoderCapability(
                name=candidate.name,
                codec=candidate.codec,
                api=candidate.api,
                device=candidate.device,
                verified=failure is None,
                failure=failure,
                seconds=elapsed,
                max_resolution=max_resolution if failure is None else None,
                max_streams=max_streams if failure is None else None,
                note=note,
            )
        )
    return tuple(checked)
