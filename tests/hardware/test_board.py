"""Reading the board's identity from fake /proc trees."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from hardware.board import BoardInfo, parse_device_tree_string, parse_soc, read_board_blocking


def test_pi4_identity_comes_from_device_tree_cpuinfo_and_meminfo(
    make_box: Callable[..., Any],
) -> None:
    board = read_board_blocking(make_box("pi4").root)
    assert board == BoardInfo(
        model="Raspberry Pi 4 Model B Rev 1.4",
        soc="bcm2711",
        cpu_model="ARM Cortex-A72",
        cpu_cores=4,
        ram_total_bytes=3884328 * 1024,
        ram_available_bytes=3285120 * 1024,
        kernel="6.6.51+rpt-rpi-v8",
    )
    assert board.is_raspberry_pi


def test_pi5_is_a_bcm2712_with_cortex_a76_cores(make_box: Callable[..., Any]) -> None:
    board = read_board_blocking(make_box("pi5").root)
    assert board.model == "Raspberry Pi 5 Model B Rev 1.0"
    assert (board.soc, board.cpu_model, board.cpu_cores) == ("bcm2712", "ARM Cortex-A76", 4)


def test_pc_has_no_board_model_but_names_its_cpu(make_box: Callable[..., Any]) -> None:
    board = read_board_blocking(make_box("intel").root)
    assert board.model is None and board.soc is None and not board.is_raspberry_pi
    assert board.cpu_model == "Intel(R) Core(TM) i5-8259U CPU @ 2.30GHz"
    assert board.cpu_cores == 8
    assert board.kernel == "6.1.0-28-amd64"


def test_device_tree_strings_lose_their_nul_terminator() -> None:
    assert parse_device_tree_string(b"Raspberry Pi 4 Model B Rev 1.4\x00") == (
        "Raspberry Pi 4 Model B Rev 1.4"
    )
    assert parse_device_tree_string(b"\x00") is None


def test_soc_falls_back_to_the_model_when_compatible_is_missing() -> None:
    assert parse_soc(None, "Raspberry Pi 400 Rev 1.0") == "bcm2711"
    assert parse_soc(None, "Raspberry Pi 500 Rev 1.0") == "bcm2712"
    assert parse_soc(None, "Raspberry Pi Compute Module 5 Rev 1.0") == "bcm2712"
    assert parse_soc(None, "Raspberry Pi Zero 2 W Rev 1.0") == "bcm2837"
    assert parse_soc(None, "Raspberry Pi Model B Rev 2") is None


def test_fake_tree_without_proc_does_not_borrow_the_host_numbers(tmp_path: Path) -> None:
    board = read_board_blocking(tmp_path, cpu_count=lambda: 64)
    assert board == BoardInfo(None, None, None, None, None, None, None)


def test_live_root_reads_this_machines_cpu_and_ram() -> None:
    board = read_board_blocking("/")
    assert board.cpu_cores is not None and board.cpu_cores >= 1
    assert board.ram_total_bytes is not None and board.ram_total_bytes > 0
