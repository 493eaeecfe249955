"""Parsing recorded ffmpeg listings and finding the binary."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from hardware.commands import CommandResult
from hardware.ffmpeg import (
    FfmpegError,
    FfmpegVersion,
    find_ffmpeg_blocking,
    parse_encoders,
    parse_hwaccels,
    parse_version,
    probe_ffmpeg_blocking,
)


def test_version_is_read_from_debian_and_ubuntu_builds(recorded: Callable[[str], str]) -> None:
    debian = parse_version(recorded("ffmpeg/debian12-amd64/version.txt"))
    ubuntu = parse_version(recorded("ffmpeg/ubuntu2204-amd64/version.txt"))
    assert debian == FfmpegVersion("5.1.9-0+deb12u1", 5, 1)
    assert ubuntu == FfmpegVersion("4.4.2-0ubuntu0.22.04.1", 4, 4)


def test_version_of_tagged_and_git_builds_keeps_raw_text() -> None:
    assert parse_version("ffmpeg version n6.1.1 Copyright (c) 2000-2023") == FfmpegVersion(
        "n6.1.1", 6, 1
    )
    git = parse_version("ffmpeg version N-113000-g1a2b3c4d5e Copyright (c) 2000-2024")
    assert git == FfmpegVersion("N-113000-g1a2b3c4d5e", None, None)


def test_version_parse_rejects_output_without_a_version_line() -> None:
    with pytest.raises(FfmpegError):
        parse_version("Unrecognized option 'version'.\n")


def test_hwaccels_skip_the_header_line(recorded: Callable[[str], str]) -> None:
    methods = parse_hwaccels(recorded("ffmpeg/debian12-amd64/hwaccels.txt"))
    assert methods == ("vdpau", "cuda", "vaapi", "qsv", "drm", "opencl", "vulkan")


def test_encoders_skip_the_legend_and_carry_codec_kind_and_flags(
    recorded: Callable[[str], str],
) -> None:
    encoders = {e.name: e for e in parse_encoders(recorded("ffmpeg/debian12-amd64/encoders.txt"))}
    assert len(encoders) == 227 - 10  # ten lines of legend above the entries
    assert "=" not in encoders
    assert encoders["libx264"].codec == "h264"
    assert encoders["libx264"].kind == "video"
    assert encoders["libx264"].description.startswith("libx264 H.264 / AVC")
    assert encoders["hevc_vaapi"].codec == "hevc"
    assert encoders["aac"].kind == "audio"
    assert encoders["a64multi"].codec == "a64_multi"
    assert encoders["avui"].experimental
    assert not encoders["libx264"].experimental


def test_encoder_without_codec_suffix_is_its_own_codec() -> None:
    listing = parse_encoders(" ------\n V....D bmp    BMP (Windows and OS/2 bitmap)\n")
    assert [(e.name, e.codec, e.description) for e in listing] == [
        ("bmp", "bmp", "BMP (Windows and OS/2 bitmap)")
    ]


def test_pi_build_lists_v4l2m2m_but_no_nvenc_or_qsv(recorded: Callable[[str], str]) -> None:
    names = {e.name for e in parse_encoders(recorded("ffmpeg/rpios12-arm64/encoders.txt"))}
    assert {"h264_v4l2m2m", "h264_vaapi", "libx264"} <= names
    assert not {"h264_nvenc", "h264_qsv"} & names


def _executable(path: Path) -> Path:
    path.write_text("#!/bin/sh\n", encoding="utf-8")
    path.chmod(0o755)
    return path


def test_find_prefers_the_configured_executable_over_path(tmp_path: Path) -> None:
    configured = _executable(tmp_path / "ffmpeg")
    assert find_ffmpeg_blocking(configured, which=lambda _: "/usr/bin/ffmpeg") == configured


def test_find_falls_back_to_path_when_configured_is_missing_or_not_executable(
    tmp_path: Path,
) -> None:
    plain = tmp_path / "ffmpeg"
    plain.write_text("not a program", encoding="utf-8")
    on_path = Path("/usr/bin/ffmpeg")
    assert find_ffmpeg_blocking(tmp_path / "absent", which=lambda _: str(on_path)) == on_path
    assert find_ffmpeg_blocking(plain, which=lambda _: str(on_path)) == on_path


def test_find_returns_none_when_ffmpeg_is_nowhere(tmp_path: Path) -> None:
    assert find_ffmpeg_blocking(tmp_path / "absent", which=lambda _: None) is None


def test_probe_raises_when_ffmpeg_cannot_describe_itself() -> None:
    def broken(argv: Sequence[str], timeout: float) -> CommandResult:
        return CommandResult(127, "", "ffmpeg: error while loading shared libraries: libavdevice")

    with pytest.raises(FfmpegError, match="loading shared libraries"):
        probe_ffmpeg_blocking(Path("/usr/bin/ffmpeg"), broken)
