"""Candidate selection, the test-encode command and how its outcome is judged."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from hardware.board import BoardInfo
from hardware.commands import CommandResult
from hardware.devices import DeviceInventory, RenderNode, scan_devices_blocking
from hardware.encoders import (
    EncoderCandidate,
    Resolution,
    candidate_encoders,
    encode_probe_command,
    frames_encoded,
    judge_encode_probe,
    known_limits,
    unmatched_hardware_encoders,
    verify_encoders_blocking,
)
from hardware.ffmpeg import FfmpegInfo, FfmpegVersion, parse_encoders

PC = BoardInfo(None, None, "AMD EPYC", 2, None, None, None)


def _info(recorded: Callable[[str], str], build: str) -> FfmpegInfo:
    encoders = parse_encoders(recorded(f"ffmpeg/{build}/encoders.txt"))
    return FfmpegInfo("/usr/bin/ffmpeg", FfmpegVersion("5.1", 5, 1), (), encoders)


def test_candidates_are_listed_encoders_whose_devices_exist(
    recorded: Callable[[str], str], make_box: Callable[..., Any]
) -> None:
    info = _info(recorded, "debian12-amd64")
    intel = candidate_encoders(info, scan_devices_blocking(make_box("intel").root))
    assert [(c.name, c.device) for c in intel] == [
        ("h264_vaapi", "/dev/dri/renderD128"),
        ("hevc_vaapi", "/dev/dri/renderD128"),
        ("h264_qsv", "/dev/dri/renderD128"),
        ("libx264", None),
    ]
    nothing = DeviceInventory((), (), ())
    assert [c.name for c in candidate_encoders(info, nothing)] == ["libx264"]
    assert unmatched_hardware_encoders(info, ["libx264"]) == (
        "h264_v4l2m2m",
        "h264_vaapi",
        "hevc_vaapi",
        "h264_qsv",
        "h264_nvenc",
    )


def test_pi4_candidates_use_the_codec_node_not_the_v3d_render_node(
    recorded: Callable[[str], str], make_box: Callable[..., Any]
) -> None:
    info = _info(recorded, "rpios12-arm64")
    candidates = candidate_encoders(info, scan_devices_blocking(make_box("pi4").root))
    assert candidates == (
        EncoderCandidate("h264_v4l2m2m", "h264", "v4l2m2m", "/dev/video11"),
        EncoderCandidate("libx264", "h264", "software", None),
    )


def test_qsv_needs_an_intel_render_node(recorded: Callable[[str], str]) -> None:
    info = _info(recorded, "debian12-amd64")
    amd = DeviceInventory((RenderNode("/dev/dri/renderD128", "amdgpu", "0x1002"),), (), ())
    assert [c.name for c in candidate_encoders(info, amd)] == [
        "h264_vaapi",
        "hevc_vaapi",
        "libx264",
    ]


def test_vaapi_command_opens_the_device_and_uploads_frames() -> None:
    candidate = EncoderCandidate("h264_vaapi", "h264", "vaapi", "/dev/dri/renderD129")
    argv = encode_probe_command("/usr/bin/ffmpeg", candidate)
    assert argv[0] == "/usr/bin/ffmpeg"
    assert argv[argv.index("-vaapi_device") + 1] == "/dev/dri/renderD129"
    assert argv.index("-vaapi_device") < argv.index("-i")
    assert argv[argv.index("-i") + 1] == "testsrc2=size=1280x720:rate=30"
    assert argv[argv.index("-t") + 1] == "1"
    assert argv[argv.index("-vf") + 1] == "format=nv12,hwupload"
    assert argv[argv.index("-c:v") + 1] == "h264_vaapi"
    assert argv[-3:] == ["-f", "null", "-"]


def test_other_commands_carry_their_encoder_specific_arguments() -> None:
    def command(name: str, api: str, device: str | None) -> list[str]:
        return encode_probe_command("ffmpeg", EncoderCandidate(name, "h264", api, device))

    qsv = command("h264_qsv", "qsv", "/dev/dri/renderD128")
    assert qsv[qsv.index("-init_hw_device") + 1] == "qsv=hw,child_device=/dev/dri/renderD128"
    v4l2 = command("h264_v4l2m2m", "v4l2m2m", "/dev/video11")
    assert v4l2[v4l2.index("-pix_fmt") + 1] == "yuv420p"
    nvenc = command("h264_nvenc", "nvenc", "/dev/nvidia0")
    assert "-vaapi_device" not in nvenc and "-init_hw_device" not in nvenc
    software = command("libx264", "software", None)
    assert software[software.index("-preset") + 1] == "veryfast"


def test_success_needs_exit_zero_and_encoded_frames(encode_ok: CommandResult) -> None:
    assert frames_encoded(encode_ok.stdout) == 30
    assert judge_encode_probe(encode_ok, 15) is None
    assert judge_encode_probe(CommandResult(0, "progress=end\n", ""), 15) == (
        "ffmpeg exited 0 but encoded no frames"
    )


def test_failure_reason_is_the_first_error_line_without_the_context_prefix(
    failed_encode: Callable[[str], CommandResult],
) -> None:
    assert judge_encode_probe(failed_encode("nvenc-no-libcuda"), 15) == "Cannot load libcuda.so.1"
    assert judge_encode_probe(failed_encode("v4l2m2m-no-device"), 15) == (
        "Could not find a valid device"
    )
    assert judge_encode_probe(failed_encode("vaapi-no-display"), 15) == (
        "No VA display found for device /dev/dri/renderD128."
    )


def test_timeout_and_unstartable_ffmpeg_are_failures() -> None:
    hung = CommandResult(None, "frame=3\n", "", timed_out=True)
    assert judge_encode_probe(hung, 15) == "test encode timed out after 15 s"
    missing = CommandResult(None, "", "")
    assert judge_encode_probe(missing, 15) == "ffmpeg could not be started"
    assert judge_encode_probe(CommandResult(-9, "", ""), 15) == "ffmpeg exited with status -9"


def test_pi_encoder_is_known_to_stop_at_1080p_and_one_stream() -> None:
    pi = EncoderCandidate("h264_v4l2m2m", "h264", "v4l2m2m", "/dev/video11")
    resolution, streams, _ = known_limits(pi, PC)
    assert (resolution, streams) == (Resolution(1920, 1080), 1)
    software = EncoderCandidate("libx264", "h264", "software", None)
    assert known_limits(software, PC) == (None, None, None)


def test_verification_runs_one_encode_per_candidate_and_keeps_limits_only_if_verified(
    failed_encode: Callable[[str], CommandResult], encode_ok: CommandResult
) -> None:
    outcomes = {"h264_v4l2m2m": failed_encode("v4l2m2m-no-device"), "libx264": encode_ok}
    seen: list[str] = []

    def runner(argv: Sequence[str], timeout: float) -> CommandResult:
        assert timeout == 7
        encoder = argv[list(argv).index("-c:v") + 1]
        seen.append(encoder)
        return outcomes[encoder]

    candidates = (
        EncoderCandidate("h264_v4l2m2m", "h264", "v4l2m2m", "/dev/video11"),
        EncoderCandidate("libx264", "h264", "software", None),
    )
    pi, x264 = verify_encoders_blocking("ffmpeg", candidates, PC, runner, timeout=7)
    assert seen == ["h264_v4l2m2m", "libx264"]
    assert not pi.verified and pi.failure == "Could not find a valid device"
    assert pi.max_resolution is None and pi.max_streams is None
    assert x264.verified and x264.failure is None and not x264.hardware
