"""Packed walk records come back exactly as they went in, odd names and odd stats included."""

from __future__ import annotations

import os
from pathlib import Path

from core.kinds import FileRecord
from core.scan.records import PackedRecords


def test_records_round_trip_in_order() -> None:
    movies, shows = Path("/media/Movies"), Path("/media/TV")
    pairs = [
        (FileRecord(movies, "Alien (1979).mkv", 1234, 1_700_000_000_123_456_789, 42), "video"),
        (FileRecord(shows, "Show/Season 01/S01E01.srt", 0, -5, 2**64 - 1), "subtitle"),
        (FileRecord(movies, os.fsdecode(b"caf\xe9/\xff\xfe.mkv"), 7, 8, 9), "video"),  # Latin-1
        (FileRecord(movies, "日本/映画.mp4", 1, 2, 3), "video"),
        (FileRecord(shows, "far future.mkv", 5, 2**70, 6), "video"),  # past what 64 bits hold
    ]
    packed = PackedRecords()
    for record, role in pairs:
        packed.append(record, role)

    assert len(packed) == len(pairs) and bool(packed)
    assert list(packed) == pairs
    assert list(packed.between(1, 3)) == pairs[1:3]
    assert list(packed.between(3, 100)) == pairs[3:]
    assert not PackedRecords()


def test_only_one_role_keeps_order_and_takes_more() -> None:
    root = Path("/media")
    packed = PackedRecords()
    for n, role in enumerate(["video", "nfo", "video", "artwork", "video"]):
        packed.append(FileRecord(root, f"{n}", n, 2**70 if n == 4 else n, n), role)

    videos = packed.only("video")
    videos.append(FileRecord(Path("/other"), "late.mkv", 1, 1, 1), "video")

    assert [(r.relpath, role) for r, role in videos] == [
        ("0", "video"),
        ("2", "video"),
        ("4", "video"),
        ("late.mkv", "video"),
    ]
    assert [r.root for r, _ in videos][-1] == Path("/other")
    assert len(packed) == 5 and len(packed.only("subtitle")) == 0


def test_parts_put_back_together_are_the_list() -> None:
    """The walk child sends a first scan's new files in parts; the server joins them."""
    pairs = [
        (FileRecord(Path(f"/media/{n % 2}"), f"{n}.mkv", n, 2**70 if n == 3 else n, n), "video")
        for n in range(7)
    ]
    packed = PackedRecords()
    for record, role in pairs:
        packed.append(record, role)
    joined = PackedRecords()
    for part in packed.parts(3):
        assert len(part) <= 3
        joined.extend(part)
    other = PackedRecords()  # roots and roles of its own: its records are packed again
    other.append(FileRecord(Path("/else"), "x.srt", 1, 1, 1), "subtitle")
    joined.extend(other)

    assert list(joined) == [*pairs, *other]
