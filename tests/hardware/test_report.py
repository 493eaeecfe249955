"""End to end on fake boxes: detection, JSON and text rendering, and the probe cache."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hardware.commands import CommandResult
from hardware.encoders import Resolution
from hardware.report import detect_blocking, render_text, report_to_dict


def test_pi4_verifies_v4l2m2m_capped_at_1080p_and_reports_throttling(
    make_box: Callable[..., Any],
) -> None:
    box = make_box("pi4")
    report = box.detect()
    assert box.runner.encoded == ["h264_v4l2m2m", "libx264"]
    assert [e.name for e in report.hardware_encoders] == ["h264_v4l2m2m"]
    (pi,) = report.hardware_encoders
    assert (pi.device, pi.max_resolution, pi.max_streams) == (
        "/dev/video11",
        Resolution(1920, 1080),
        1,
    )
    assert not report.software_only
    assert report.board.model == "Raspberry Pi 4 Model B Rev 1.4"
    assert report.health.cpu_celsius == 52.582
    assert report.health.throttle is not None
    assert report.health.throttle.now.under_voltage and report.health.throttle.now.throttled
    assert report.health.throttle.since_boot.under_voltage
    assert report.notes == (
        "not tried, no matching device here: h264_vaapi, hevc_vaapi (compiled into ffmpeg)",
    )


def test_pi5_is_software_only_even_though_ffmpeg_lists_v4l2m2m(
    make_box: Callable[..., Any],
) -> None:
    box = make_box("pi5")
    report = box.detect()
    assert box.runner.encoded == ["libx264"]
    assert report.software_only
    assert [e.name for e in report.verified_encoders] == ["libx264"]
    assert report.encoders[0].note is not None and "benchmark" in report.encoders[0].note
    assert "Raspberry Pi 5 (BCM2712) has no hardware H.264 encoder: software only" in report.notes
    assert report.health.throttle is not None and report.health.throttle.raw == 0
    assert report.board.soc == "bcm2712"


def test_intel_box_verifies_vaapi_and_qsv_on_its_render_node(make_box: Callable[..., Any]) -> None:
    box = make_box("intel")
    report = box.detect()
    assert [e.name for e in report.hardware_encoders] == ["h264_vaapi", "hevc_vaapi", "h264_qsv"]
    assert {e.device for e in report.hardware_encoders} == {"/dev/dri/renderD128"}
    assert report.health.throttle is None  # no vcgencmd on a PC, and it was not run
    assert not any("vcgencmd" in call[0] for call in box.runner.calls)
    assert report.health.cpu_celsius == 45.0


def test_nvidia_box_verifies_nvenc_and_rejects_vaapi_on_the_nvidia_node(
    make_box: Callable[..., Any],
) -> None:
    report = make_box("nvidia").detect()
    assert report.ffmpeg is not None and report.ffmpeg.version.raw == "4.4.2-0ubuntu0.22.04.1"
    verdicts = {e.name: (e.verified, e.failure) for e in report.encoders}
    assert verdicts == {
        "h264_vaapi": (False, "Failed to initialise VAAPI connection: -1 (unknown libva error)."),
        "hevc_vaapi": (False, "Failed to initialise VAAPI connection: -1 (unknown libva error)."),
        "h264_nvenc": (True, None),
        "libx264": (True, None),
    }
    nvenc = report.hardware_encoders[0]
    assert (nvenc.device, nvenc.max_resolution) == ("/dev/nvidia0", Resolution(4096, 4096))


def test_listed_encoder_with_device_is_not_trusted_when_its_test_encode_fails(
    make_box: Callable[..., Any], failed_encode: Callable[[str], CommandResult]
) -> None:
    failing = failed_encode("vaapi-no-display")
    box = make_box(
        "intel",
        encodes={
            "h264_vaapi": failing,
            "hevc_vaapi": failing,
            "h264_qsv": CommandResult(None, "", "", timed_out=True),
        },
    )
    report = box.detect(timeout=2.0)
    assert report.software_only
    assert [e.failure for e in report.encoders if not e.verified] == [
        "No VA display found for device /dev/dri/renderD128.",
        "No VA display found for device /dev/dri/renderD128.",
        "test encode timed out after 2 s",
    ]
    assert "software only (libx264)" in render_text(report)


def test_report_dict_survives_a_json_round_trip(make_box: Callable[..., Any]) -> None:
    document = report_to_dict(make_box("pi4").detect())
    assert json.loads(json.dumps(document)) == document
    assert document["hardware_encoders"] == ["h264_v4l2m2m"]
    assert document["software_only"] is False
    assert document["board"]["is_raspberry_pi"] is True
    assert document["health"]["throttle"]["raw"] == 0x50005
    assert document["encoders"][0]["max_resolution"] == {"width": 1920, "height": 1080}
    assert "h264_v4l2m2m" in document["ffmpeg"]["h264_hevc_encoders"]


def test_text_rendering_names_board_throttle_encoders_and_verdict(
    make_box: Callable[..., Any],
) -> None:
    text = render_text(make_box("pi4").detect())
    assert "Board:    Raspberry Pi 4 Model B Rev 1.4 (bcm2711)" in text
    assert "CPU:      ARM Cortex-A72, 4 cores" in text
    assert "Temp:     52.6 °C" in text
    assert (
        "Throttle: now: under-voltage, throttled; since boot: under-voltage, throttled (0x50005)"
        in text
    )
    assert "/dev/video11 (bcm2835-codec-encode)" in text
    assert "ok   h264_v4l2m2m  v4l2m2m /dev/video11" in text
    assert "max 1920x1080; ~1 concurrent" in text
    assert "Verdict:  hardware encoding available (h264_v4l2m2m)" in text


def test_cache_spares_the_test_encodes_on_restart(
    make_box: Callable[..., Any], tmp_path: Path
) -> None:
    box = make_box("pi4")
    cache = tmp_path / "state" / "hardware.json"
    first = box.detect(cache_path=cache)
    calls_after_first = len(box.runner.calls)
    second = box.detect(cache_path=cache)
    assert not first.from_cache and second.from_cache
    assert second.encoders == first.encoders and second.ffmpeg == first.ffmpeg
    new_calls = box.runner.calls[calls_after_first:]
    assert [call[0] for call in new_calls] == ["/usr/bin/vcgencmd"]  # live health only
    assert "(cached probe)" in render_text(second)


def test_cache_is_ignored_when_the_ffmpeg_binary_changes(
    make_box: Callable[..., Any], tmp_path: Path
) -> None:
    box = make_box("intel")
    cache = tmp_path / "hardware.json"
    box.detect(cache_path=cache)
    box.ffmpeg.write_text("#!/bin/sh\n# upgraded build\nexit 99\n", encoding="utf-8")
    encodes_before = len(box.runner.encoded)
    report = box.detect(cache_path=cache)
    assert not report.from_cache
    assert len(box.runner.encoded) == 2 * encodes_before


def test_cache_is_ignored_when_an_encoder_device_appears(
    make_box: Callable[..., Any], tmp_path: Path
) -> None:
    box = make_box("nvidia")
    cache = tmp_path / "hardware.json"
    box.detect(cache_path=cache)
    (box.root / "dev" / "nvidia1").touch()
    assert not box.detect(cache_path=cache).from_cache
    assert box.detect(cache_path=cache).from_cache


def test_damaged_cache_is_a_miss_and_gets_rewritten(
    make_box: Callable[..., Any], tmp_path: Path
) -> None:
    box = make_box("pi5")
    cache = tmp_path / "hardware.json"
    cache.write_text("{not json", encoding="utf-8")
    assert not box.detect(cache_path=cache).from_cache
    assert json.loads(cache.read_text(encoding="utf-8"))["encoders"][0]["name"] == "libx264"


def test_cache_hit_writes_nothing(make_box: Callable[..., Any], tmp_path: Path) -> None:
    box = make_box("pi5")
    cache = tmp_path / "hardware.json"
    box.detect(cache_path=cache)
    os.utime(cache, ns=(1_000_000_000, 1_000_000_000))
    box.detect(cache_path=cache)
    assert cache.stat().st_mtime_ns == 1_000_000_000


def test_missing_ffmpeg_reports_no_transcoding(tmp_path: Path) -> None:
    report = detect_blocking(tmp_path, which=lambda _: None)
    assert report.ffmpeg is None and report.encoders == () and not report.software_only
    assert any("ffmpeg not found" in note for note in report.notes)
    assert "Verdict:  no working encoder" in render_text(report)


def test_configured_ffmpeg_that_is_missing_falls_back_to_path_with_a_note(
    make_box: Callable[..., Any],
) -> None:
    box = make_box("pi5")
    missing = box.ffmpeg.parent / "not-here"
    report = detect_blocking(
        box.root,
        missing,
        box.runner,
        which=lambda name: str(box.ffmpeg) if name == "ffmpeg" else None,
    )
    assert report.software_only
    assert (
        report.notes[0]
        == f"configured ffmpeg {missing} is not an executable file; using {box.ffmpeg} from PATH"
    )


def test_ffmpeg_that_cannot_describe_itself_gives_no_encoders_and_a_note(tmp_path: Path) -> None:
    ffmpeg = tmp_path / "ffmpeg"
    ffmpeg.write_text("#!/bin/sh\n", encoding="utf-8")
    ffmpeg.chmod(0o755)

    def crashing(argv: Any, timeout: float) -> CommandResult:
        return CommandResult(-11, "", "")

    report = detect_blocking(tmp_path, ffmpeg, crashing, which=lambda _: None)
    assert report.ffmpeg is None and report.encoders == ()
    assert report.notes == (f"{ffmpeg} could not be probed: ffmpeg -version failed: -11",)


def test_unwritable_cache_costs_a_note_not_the_report(
    make_box: Callable[..., Any], tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("", encoding="utf-8")
    report = make_box("pi5").detect(cache_path=blocker / "hardware.json")
    assert report.software_only
    assert any(note.startswith("could not save the probe cache") for note in report.notes)
