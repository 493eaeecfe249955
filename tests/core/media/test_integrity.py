"""truncation_problem: declared container sizes against the size on disk."""

from __future__ import annotations

import io
from pathlib import Path

from core.media.integrity import truncation_problem
from tests.core.media.mediagen import make_video, truncate


def _check(data: bytes) -> str | None:
    return truncation_problem(io.BytesIO(data), len(data))


def test_whole_files_pass_and_cut_ones_say_by_how_much(tmp_path: Path) -> None:
    whole = make_video(tmp_path / "a.mkv").read_bytes()
    cut = truncate(tmp_path / "a.mkv", 0.7).read_bytes()

    assert _check(whole) is None
    assert _check(cut) == (
        f"is cut short: its header says it runs to byte {len(whole)} but the file has"
        f" {len(cut)} bytes"
    )


def test_cut_mp4_and_mov_files_are_found_by_their_box_sizes(tmp_path: Path) -> None:
    for name in ("a.mp4", "a.mov"):
        assert _check(make_video(tmp_path / name).read_bytes()) is None
        for fraction in (0.05, 0.5, 0.95):
            cut = truncate(make_video(tmp_path / name), fraction).read_bytes()
            assert (_check(cut) or "").startswith("is cut short"), (name, fraction)


def test_unknown_sizes_and_other_formats_cannot_be_judged() -> None:
    ebml = b"\x1a\x45\xdf\xa3" + b"\x80"  # empty EBML header
    live_segment = b"\x18\x53\x80\x67" + b"\x01\xff\xff\xff\xff\xff\xff\xff"  # size "unknown"
    assert _check(ebml + live_segment + b"\x00" * 10) is None
    assert _check(b"ID3\x04" + bytes(100)) is None
    assert _check(b"") is None
    to_eof = (0).to_bytes(4, "big") + b"mdat" + bytes(10)  # size 0: runs to the end
    assert _check((16).to_bytes(4, "big") + b"ftypisom" + bytes(4) + to_eof) is None


def test_trailing_junk_after_mp4_boxes_is_not_called_truncation() -> None:
    ftyp = (16).to_bytes(4, "big") + b"ftypisom" + bytes(4)
    junk = b"\xff\xff\xff\xff\x01\x02\x03\x04"
    assert _check(ftyp + junk) is None


def test_mp4_with_64_bit_box_size() -> None:
    ftyp = (16).to_bytes(4, "big") + b"ftypisom" + bytes(4)
    mdat = (1).to_bytes(4, "big") + b"mdat" + (1000).to_bytes(8, "big") + bytes(20)
    assert "runs to byte 1016" in (_check(ftyp + mdat) or "")
