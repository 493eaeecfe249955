"""Telling a truncated Matroska or MP4 file from a whole one, by the sizes its header declares.

FFmpeg happily opens a half-copied or half-downloaded `.mkv` and reports the full duration from
its header; playback then dies in the middle. Both formats state up front how long they are (the
Matroska Segment's size, each top-level MP4 box's size), so comparing that with the size on disk
catches files still being copied and downloads that stopped, for the cost of reading a few bytes.

Never decodes, never trusts the extension (the magic bytes decide), and answers "don't know"
(None) rather than guess for formats it does not understand or headers that do not say.
"""

from __future__ import annotations

from typing import BinaryIO

_EBML_MAGIC = b"\x1a\x45\xdf\xa3"
_MATROSKA_SEGMENT_ID = 0x18538067
# A file of thousands of MP4 fragments is not walked to the end; its first boxes are checked.
_MAX_BOXES = 64
_MP4_FIRST_BOXES = frozenset({b"ftyp", b"styp", b"moov", b"mdat", b"free", b"skip", b"wide"})


def truncation_problem(file: BinaryIO, size: int) -> str | None:
    """A sentence saying how the file is cut short, or None if it is whole or cannot be told."""
    file.seek(0)
    head = file.read(12)
    if head.startswith(_EBML_MAGIC):
        declared = _matroska_declared_size(file)
    elif len(head) >= 8 and head[4:8] in _MP4_FIRST_BOXES:
        declared = _mp4_declared_size(file, size)
    else:
        return None
    if declared is None or declared <= size:
        return None
    return f"is cut short: its header says it runs to byte {declared} but the file has {size} bytes"


def _read_vint(file: BinaryIO, *, keep_marker: bool) -> tuple[int, bool] | None:
    """One EBML variable-length integer and whether all its value bits are set ("unknown")."""
    first = file.read(1)
    if not first or first[0] == 0:
        return None
    length = 9 - first[0].bit_length()
    rest = file.read(length - 1)
    if len(rest) != length - 1:
        return None
    marker = 1 << (7 - (length - 1))
    value = first[0] if keep_marker else first[0] & (marker - 1)
    for byte in rest:
        value = (value << 8) | byte
    all_ones = (1 << (7 * length)) - 1
    return value, (not keep_marker and value == all_ones)


def _matroska_declared_size(file: BinaryIO) -> int | None:
    """Where the Segment says it ends: the EBML header, then the Segment's own size field."""
    file.seek(0)
    for _ in range(2):
        element_id = _read_vint(file, keep_marker=True)
        element_size = _read_vint(file, keep_marker=False)
        if element_id is None or element_size is None:
            return None
        (identifier, _), (length, unknown) = element_id, element_size
        if identifier == _MATROSKA_SEGMENT_ID:
            # Live-written files leave the size "unknown"; they cannot be checked this way.
            return None if unknown else file.tell() + length
        file.seek(length, 1)
    return None


def _mp4_declared_size(file: BinaryIO, size: int) -> int | None:
    """Where the last top-level box says it ends, walking box headers only."""
    offset = 0
    for _ in range(_MAX_BOXES):
        if offset >= size:
            return offset
        file.seek(offset)
        header = file.read(16)
        if len(header) < 8:
            return offset + 8
        box_size = int.from_bytes(header[:4], "big")
        if box_size == 1:  # a 64-bit size follows the type
            if len(header) < 16:
                return offset + 16
            box_size = int.from_bytes(header[8:16], "big")
        elif box_size == 0:  # "extends to the end of the file" — whole by definition
            return None
        if box_size < 8 or not header[4:8].isalnum():
            return None  # not a box header (trailing junk, say): cannot be judged
        offset += box_size
    return None
