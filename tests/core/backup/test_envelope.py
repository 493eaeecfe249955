"""The sealed format on its own: what spans several chunks comes back byte for byte, and a
chunk moved, dropped or repeated is refused (each is bound to its place and to the header)."""

from __future__ import annotations

import io
import os
import struct

import pytest

from core.backup import BackupError, WrongPassphraseError
from core.backup.envelope import CHUNK_SIZE, HEADER_SIZE, OpeningReader, SealingWriter
from tests.core.backup.boxes import FAST, PASSPHRASE


def sealed(plain: bytes, passphrase: str = PASSPHRASE) -> bytes:
    out = io.BytesIO()
    writer = SealingWriter(out, passphrase, FAST)
    for start in range(0, len(plain), 100_000):  # tarfile writes in small pieces too
        writer.write(plain[start : start + 100_000])
    writer.finish()
    return out.getvalue()


def opened(data: bytes, passphrase: str = PASSPHRASE) -> bytes:
    reader = OpeningReader(io.BytesIO(data), passphrase, "test.backup")
    return reader.read()


def records(data: bytes) -> list[bytes]:
    """The chunk records after the header, each with its flag and length."""
    found, at = [], HEADER_SIZE
    while at < len(data):
        length = struct.unpack(">I", data[at + 1 : at + 5])[0]
        found.append(data[at : at + 5 + length])
        at += 5 + length
    return found


def test_what_spans_several_chunks_comes_back_whole() -> None:
    plain = os.urandom(2 * CHUNK_SIZE + 12345)
    data = sealed(plain)
    assert len(records(data)) == 3
    assert opened(data) == plain
    assert opened(sealed(b"")) == b""
    exactly = os.urandom(CHUNK_SIZE)
    assert opened(sealed(exactly)) == exactly


def test_a_chunk_moved_dropped_or_repeated_is_refused() -> None:
    data = sealed(os.urandom(2 * CHUNK_SIZE + 10))
    head, parts = data[:HEADER_SIZE], records(data)
    for shuffled in (
        [parts[1], parts[0], parts[2]],
        [parts[0], parts[2]],
        [parts[0], parts[1]],
        [parts[0], parts[0], parts[1], parts[2]],
    ):
        with pytest.raises(BackupError, match="was changed or damaged"):
            opened(head + b"".join(shuffled))


def test_a_chunk_from_another_file_is_refused() -> None:
    """Same passphrase, another file: its chunks do not open under this header."""
    plain = os.urandom(CHUNK_SIZE + 10)
    one, other = sealed(plain), sealed(plain)
    mixed = one[:HEADER_SIZE] + records(one)[0] + records(other)[1]
    with pytest.raises(BackupError, match="part 2 fails its check"):
        opened(mixed)


def test_the_passphrase_is_checked_before_anything_is_read() -> None:
    data = sealed(b"hello")
    with pytest.raises(WrongPassphraseError):
        OpeningReader(io.BytesIO(data), PASSPHRASE + "!", "test.backup")
    with pytest.raises(BackupError, match="is not a Hearth backup"):
        opened(b"PK\x03\x04 a zip file")
    newer = data[:8] + b"\x02" + data[9:]
    with pytest.raises(BackupError, match="backup format 2"):
        opened(newer)


def test_a_passphrase_typed_on_another_keyboard_opens() -> None:
    """é as one code point (most keyboards) or as e + combining accent (some phones)."""
    data = sealed(b"hello", "caf\u00e9 au lait, two sugars")
    assert opened(data, "cafe\u0301 au lait, two sugars") == b"hello"
