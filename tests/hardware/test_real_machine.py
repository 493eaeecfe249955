"""Detection on the machine running the tests, with the real ffmpeg and real test encodes.

The development and CI machines are GPU-less x86_64 VMs: there the honest answer is "software
only, libx264 verified", even though Debian's ffmpeg lists NVENC, VAAPI, QSV and V4L2 encoders.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hardware.board import BoardInfo
from hardware.commands import run_command_blocking
from hardware.encoders import EncoderCandidate, verify_encoders_blocking
from hardware.report import detect_blocking, render_text, report_to_dict

FFMPEG = shutil.which("ffmpeg")
pytestmark = pytest.mark.skipif(FFMPEG is None, reason="ffmpeg is not installed on this machine")


def test_this_machine_is_software_only_with_libx264_verified(tmp_path: Path) -> None:
    report = detect_blocking(cache_path=tmp_path / "hardware.json")
    assert report.ffmpeg is not None and report.ffmpeg.path == FFMPEG
    libx264 = next(e for e in report.encoders if e.name == "libx264")
    assert libx264.verified, libx264.failure
    assert report.devices.paths() == (), "this test describes a machine without encoder devices"
    assert report.software_only
    assert report.hardware_encoders == ()
    assert report.ffmpeg.lists("h264_nvenc")  # listed by Debian's build, yet not claimed
    assert "software only (libx264)" in render_text(report)
    assert report_to_dict(report)["software_only"] is True


def test_real_test_encode_rejects_a_listed_encoder_without_hardware() -> None:
    assert FFMPEG is not None
    assert not Path("/dev/nvidiactl").exists(), "this test describes a machine without NVIDIA"
    nvenc = EncoderCandidate("h264_nvenc", "h264", "nvenc", "/dev/nvidia0")
    board = BoardInfo(None, None, None, None, None, None, None)
    (result,) = verify_encoders_blocking(FFMPEG, (nvenc,), board, run_command_blocking)
    assert not result.verified
    assert result.failure  # e.g. "Cannot load libcuda.so.1"


def test_second_detection_reuses_the_cached_probe(tmp_path: Path) -> None:
    cache = tmp_path / "hardware.json"
    first = detect_blocking(cache_path=cache)
    second = detect_blocking(cache_path=cache)
    assert (first.from_cache, second.from_cache) == (False, True)
    assert [e.name for e in second.verified_encoders] == [e.name for e in first.verified_encoders]
