"""What the installed ffmpeg says about itself: where it is, its version, hwaccels and encoders.

Parsing is done by pure functions over the text ffmpeg prints, so tests run on recorded outputs
from other machines. What ffmpeg *lists* is only what it was compiled with, never what this box
can do (a GPU-less Debian build lists h264_nvenc and h264_vaapi): this module never decides
capability — `hardware.encoders` does, with test encodes.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hardware.commands import CommandResult, CommandRunner

LISTING_TIMEOUT_S = 10.0
"""Listing is instant on a desktop; a Pi on a cold SD card can take a few seconds to load libav*."""

_VERSION_LINE = re.compile(r"^ffmpeg version (\S+)")
_VERSION_NUMBER = re.compile(r"^n?(\d+)\.(\d+)")
# " V....D libx264   libx264 H.264 / AVC ... (codec h264)": six flag columns, name, description.
_ENCODER_LINE = re.compile(r"^ ([VAS.][F.][S.][X.][B.][D.]) (\S+)\s+(.*)$")
_CODEC_SUFFIX = re.compile(r"\s*\(codec (\S+)\)\s*$")
_KINDS = {"V": "video", "A": "audio", "S": "subtitle"}


class FfmpegError(Exception):
    """ffmpeg was found but could not describe itself (crashed, hung, or printed nonsense)."""


@dataclass(frozen=True, slots=True)
class FfmpegVersion:
    """`raw` as printed ("5.1.9-0+deb12u1", "n6.1.1", "N-113000-g1a2b3c"); numbers if it has any."""

    raw: str
    major: int | None
    minor: int | None


@dataclass(frozen=True, slots=True)
class EncoderListing:
    """One line of `ffmpeg -encoders`: compiled in, not necessarily usable."""

    name: str
    kind: str
    codec: str
    description: str
    experimental: bool


@dataclass(frozen=True, slots=True)
class FfmpegInfo:
    path: str
    version: FfmpegVersion
    hwaccels: tuple[str, ...]
    encoders: tuple[EncoderListing, ...]

    def lists(self, encoder: str) -> bool:
        return any(listing.name == encoder for listing in self.encoders)


def parse_version(text: str) -> FfmpegVersion:
    """Read the version from `ffmpeg -version` output (the first line carries it)."""
    for line in text.splitlines():
        found = _VERSION_LINE.match(line.strip())
        if found:
            raw = found.group(1)
            number = _VERSION_NUMBER.match(raw)
            if number:
                return FfmpegVersion(raw, int(number.group(1)), int(number.group(2)))
            return FfmpegVersion(raw, None, None)
    raise FfmpegError("no 'ffmpeg version' line in -version output")


def parse_hwaccels(text: str) -> tuple[str, ...]:
    """Read `ffmpeg -hwaccels`: a header line, then one method per line."""
    methods: list[str] = []
    for line in text.splitlines():
        word = line.strip()
        if not word or word.endswith(":") or " " in word:
            continue  # the "Hardware acceleration methods:" header, blank lines
        methods.append(word)
    return tuple(methods)


def parse_encoders(text: str) -> tuple[EncoderListing, ...]:
    """Read `ffmpeg -encoders`; the legend above the `------` line is skipped.

    When an encoder's name equals its codec's, ffmpeg omits the "(codec …)" suffix, so the name
    stands in for the codec then.
    """
    lines = text.splitlines()
    start = next((i + 1 for i, line in enumerate(lines) if line.strip() == "------"), 0)
    listings: list[EncoderListing] = []
    for line in lines[start:]:
        found = _ENCODER_LINE.match(line)
        if not found or found.group(2) == "=":
            continue
        flags, name, description = found.groups()
        codec_match = _CODEC_SUFFIX.search(description)
        codec = codec_match.group(1) if codec_match else name
        if codec_match:
            description = description[: codec_match.start()]
        listings.append(
            EncoderListing(
                name=name,
                kind=_KINDS.get(flags[0], "unknown"),
                codec=codec,
                description=description.strip(),
                experimental=flags[3] == "X",
            )
        )
    return tuple(listings)


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def find_ffmpeg_blocking(
    configured: str | os.PathLike[str] | None = None,
    which: Callable[[str], str | None] = shutil.which,
) -> Path | None:
    """The configured ffmpeg if it is an executable file, else the first `ffmpeg` on PATH.

    A configured path that is missing falls back to PATH rather than failing: the caller compares
    the result with what it configured and says so, because a media server with the distro's
    ffmpeg is more useful than one that refuses to start.
    """
    if configured is not None and _is_executable(Path(configured)):
        return Path(configured)
    found = which("ffmpeg")
    return Path(found) if found else None


def _checked(result: CommandResult, what: str) -> str:
    if result.timed_out:
        raise FfmpegError(f"ffmpeg {what} timed out")
    if not result.ok:
        detail = result.stderr.strip().splitlines()
        raise FfmpegError(f"ffmpeg {what} failed: {detail[-1] if detail else result.returncode}")
    return result.stdout


def probe_ffmpeg_blocking(path: Path, runner: CommandRunner) -> FfmpegInfo:
    """Ask ffmpeg for its version, hwaccels and encoders (three quick runs, no encoding)."""
    exe = str(path)
    version_text, hwaccels_text, encoders_text = (
        _checked(runner([exe, "-hide_banner", option], LISTING_TIMEOUT_S), option)
        for option in ("-version", "-hwaccels", "-encoders")
    )
    encoders = parse_encoders(encoders_text)
    if not encoders:
        raise FfmpegError("ffmpeg -encoders listed no encoders")
    return FfmpegInfo(exe, parse_version(version_text), parse_hwaccels(hwaccels_text), encoders)
