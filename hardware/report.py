"""One call that answers "what can this box transcode with, and how is it doing?".

`detect_blocking` gathers board identity, live health, device nodes, ffmpeg's listings and
test-encode-verified encoders into a frozen `HardwareReport`; `report_to_dict` and `render_text`
present it for `hearth hw` (JSON and human). The report states what was proven, not what was
hoped: an encoder counts only after its test encode succeeded. This module never chooses
transcode settings and never touches the catalog or the network.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hardware.board import BoardInfo, read_board_blocking
from hardware.cache import (
    ProbeResult,
    load_probe_blocking,
    probe_cache_key_blocking,
    store_probe_blocking,
)
from hardware.commands import CommandRunner, run_command_blocking
from hardware.devices import DeviceInventory, scan_devices_blocking
from hardware.encoders import (
    TEST_ENCODE_TIMEOUT_S,
    EncoderCapability,
    candidate_encoders,
    unmatched_hardware_encoders,
    verify_encoders_blocking,
)
from hardware.ffmpeg import FfmpegError, FfmpegInfo, find_ffmpeg_blocking, probe_ffmpeg_blocking
from hardware.health import BoardHealth, read_health_blocking


@dataclass(frozen=True, slots=True)
class HardwareReport:
    board: BoardInfo
    health: BoardHealth
    devices: DeviceInventory
    ffmpeg: FfmpegInfo | None
    encoders: tuple[EncoderCapability, ...]
    notes: tuple[str, ...]
    from_cache: bool

    @property
    def verified_encoders(self) -> tuple[EncoderCapability, ...]:
        return tuple(encoder for encoder in self.encoders if encoder.verified)

    @property
    def hardware_encoders(self) -> tuple[EncoderCapability, ...]:
        return tuple(encoder for encoder in self.verified_encoders if encoder.hardware)

    @property
    def software_only(self) -> bool:
        """True when encoding works but only in software (no hardware encoder passed its test)."""
        return bool(self.verified_encoders) and not self.hardware_encoders


def _probe_blocking(
    ffmpeg: Path, board: BoardInfo, devices: DeviceInventory, runner: CommandRunner, timeout: float
) -> ProbeResult:
    info = probe_ffmpeg_blocking(ffmpeg, runner)
    candidates = candidate_encoders(info, devices)
    return ProbeResult(
        info, verify_encoders_blocking(str(ffmpeg), candidates, board, runner, timeout)
    )


def _notes(
    board: BoardInfo, configured: str | os.PathLike[str] | None, ffmpeg: Path | None
) -> list[str]:
    notes = []
    if configured is not None and (ffmpeg is None or Path(configured) != ffmpeg):
        fallback = f"using {ffmpeg} from PATH" if ffmpeg else "and there is none on PATH"
        notes.append(f"configured ffmpeg {configured} is not an executable file; {fallback}")
    if ffmpeg is None:
        notes.append("ffmpeg not found (install it, e.g. apt install ffmpeg): no transcoding")
    if board.soc == "bcm2712":
        notes.append("Raspberry Pi 5 (BCM2712) has no hardware H.264 encoder: software only")
    return notes


def _probe_notes(probe: ProbeResult) -> list[str]:
    notes = []
    tried = [encoder.name for encoder in probe.encoders]
    listed_only = unmatched_hardware_encoders(probe.ffmpeg, tried)
    if listed_only:
        names = ", ".join(listed_only)
        notes.append(f"not tried, no matching device here: {names} (compiled into ffmpeg)")
    if not probe.ffmpeg.lists("libx264"):
        notes.append("this ffmpeg has no libx264: no software H.264 fallback")
    return notes


def detect_blocking(
    root: str | os.PathLike[str] = "/",
    ffmpeg_path: str | os.PathLike[str] | None = None,
    runner: CommandRunner = run_command_blocking,
    *,
    cache_path: Path | None = None,
    which: Callable[[str], str | None] = shutil.which,
    timeout: float = TEST_ENCODE_TIMEOUT_S,
) -> HardwareReport:
    """Detect everything; blocks for the test encodes (about a second each) unless cached.

    `root` prefixes every /proc, /sys and /dev read; `runner` runs ffmpeg and vcgencmd; `which`
    finds programs on PATH; `cache_path` (optional) keeps probe results across restarts.
    """
    board = read_board_blocking(root)
    health = read_health_blocking(root, runner, which)
    devices = scan_devices_blocking(root)
    ffmpeg = find_ffmpeg_blocking(ffmpeg_path, which)
    notes = _notes(board, ffmpeg_path, ffmpeg)
    if ffmpeg is None:
        return HardwareReport(board, health, devices, None, (), tuple(notes), from_cache=False)

    key = probe_cache_key_blocking(ffmpeg, board.kernel, devices) if cache_path else None
    probe = load_probe_blocking(cache_path, key) if cache_path and key else None
    from_cache = probe is not None
    if probe is None:
        try:
            probe = _probe_blocking(ffmpeg, board, devices, runner, timeout)
        except FfmpegError as err:
            notes.append(f"{ffmpeg} could not be probed: {err}")
            return HardwareReport(board, health, devices, None, (), tuple(notes), False)
        if cache_path and key:
            try:
                store_probe_blocking(cache_path, key, probe)
            except OSError as err:  # a read-only data dir costs a re-probe, not the report
                notes.append(f"could not save the probe cache {cache_path}: {err.strerror}")
    notes += _probe_notes(probe)
    return HardwareReport(
        board, health, devices, probe.ffmpeg, probe.encoders, tuple(notes), from_cache
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    return value


def report_to_dict(report: HardwareReport) -> dict[str, Any]:
    """A JSON-ready view (lists, not tuples); ffmpeg's full listing is trimmed to H.264/HEVC."""
    ffmpeg: dict[str, Any] | None = None
    if report.ffmpeg is not None:
        ffmpeg = {
            "path": report.ffmpeg.path,
            "version": dataclasses.asdict(report.ffmpeg.version),
            "hwaccels": report.ffmpeg.hwaccels,
            "h264_hevc_encoders": [
                e.name for e in report.ffmpeg.encoders if e.codec in {"h264", "hevc"}
            ],
        }
    document: dict[str, Any] = _jsonable(
        {
            "board": {
                **dataclasses.asdict(report.board),
                "is_raspberry_pi": report.board.is_raspberry_pi,
            },
            "health": {
                **dataclasses.asdict(report.health),
                "cpu_celsius": report.health.cpu_celsius,
            },
            "devices": dataclasses.asdict(report.devices),
            "ffmpeg": ffmpeg,
            "encoders": [
                {**dataclasses.asdict(e), "hardware": e.hardware} for e in report.encoders
            ],
            "hardware_encoders": [e.name for e in report.hardware_encoders],
            "software_only": report.software_only,
            "notes": report.notes,
            "from_cache": report.from_cache,
        }
    )
    return document


def _gib(size: int | None) -> str:
    return "?" if size is None else f"{size / 2**30:.1f} GiB"


def _encoder_line(encoder: EncoderCapability) -> str:
    where = f" {encoder.device}" if encoder.device else ""
    head = f"  {'ok  ' if encoder.verified else 'FAIL'} {encoder.name:<13} {encoder.api}{where}"
    if not encoder.verified:
        return f"{head}: {encoder.failure}"
    limits = []
    if encoder.max_resolution:
        limits.append(f"max {encoder.max_resolution}")
    if encoder.max_streams:
        limits.append(f"~{encoder.max_streams} concurrent")
    if encoder.note:
        limits.append(encoder.note)
    return f"{head} ({encoder.seconds:.1f} s)" + (f"; {'; '.join(limits)}" if limits else "")


def render_text(report: HardwareReport) -> str:
    """The human summary printed by `hearth hw`."""
    board, health = report.board, report.health
    lines = [
        f"Board:    {board.model or 'not a device-tree board'}"
        + (f" ({board.soc})" if board.soc else ""),
        f"CPU:      {board.cpu_model or '?'}, {board.cpu_cores or '?'} cores",
        f"RAM:      {_gib(board.ram_total_bytes)} total, "
        f"{_gib(board.ram_available_bytes)} available",
        f"Kernel:   {board.kernel or '?'}",
    ]
    celsius = health.cpu_celsius
    lines.append(f"Temp:     {'no sensor' if celsius is None else f'{celsius:.1f} °C'}")
    if health.throttle is not None:
        now = ", ".join(health.throttle.now.names()) or "none"
        past = ", ".join(health.throttle.since_boot.names()) or "none"
        raw = f"0x{health.throttle.raw:x}"
        lines.append(f"Throttle: now: {now}; since boot: {past} ({raw})")
    nodes = [f"{n.path} ({n.driver or '?'})" for n in report.devices.render_nodes]
    nodes += [f"{n.path} ({n.name})" for n in report.devices.v4l2_nodes]
    nodes += list(report.devices.nvidia_nodes)
    lines.append(f"Devices:  {', '.join(nodes) or 'none'}")
    if report.ffmpeg is None:
        lines.append("ffmpeg:   not available")
    else:
        cached = " (cached probe)" if report.from_cache else ""
        lines.append(f"ffmpeg:   {report.ffmpeg.path} {report.ffmpeg.version.raw}{cached}")
        lines.append("Encoders:")
        lines += [_encoder_line(encoder) for encoder in report.encoders] or ["  none"]
    if report.hardware_encoders:
        names = ", ".join(e.name for e in report.hardware_encoders)
        verdict = f"hardware encoding available ({names})"
    elif report.software_only:
        names = ", ".join(e.name for e in report.verified_encoders)
        verdict = f"software only ({names})"
    else:
        verdict = "no working encoder"
    lines.append(f"Verdict:  {verdict}")
    lines += [f"Note:     {note}" for note in report.notes]
    return "\n".join(lines) + "\n"
