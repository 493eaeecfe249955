"""The sealed file format of a backup: a versioned header, then AES-256-GCM chunks.

Layout (all integers big-endian):

    header  "HEARTHBK", format 1, KDF 1 (argon2id), cipher 1 (AES-256-GCM), lanes,
            time cost, memory cost (KiB), chunk size, 16-byte salt, 8-byte nonce prefix
    check   HMAC-SHA256 of the header under the passphrase's check key (32 bytes)
    chunks  flag (1 = final), ciphertext length, ciphertext with its 16-byte tag

argon2id turns the passphrase (NFC-normalised, so the same words typed on another keyboard
match) and the salt into 64 bytes: an encryption key and a check key. The check lets a wrong
passphrase be told apart from a damaged file before anything is written. The plaintext is
streamed in chunks of at most `chunk_size` bytes (1 MiB), so a large catalog never has to fit
in memory; chunk `i` uses the nonce prefix + `i` and authenticates the whole header, `i` and
its final flag as associated data, so chunks cannot be reordered, dropped, cut short or have
anything appended without the file being refused. KDF parameters read from a file are bounded,
so a crafted header cannot make a restore allocate gigabytes. It never touches the disk itself:
it reads and writes the file objects it is given.
"""

from __future__ import annotations

import hmac
import os
import struct
import unicodedata
from dataclasses import dataclass
from typing import BinaryIO

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from core.backup import BackupError, WrongPassphraseError

MAGIC = b"HEARTHBK"
FORMAT = 1
KDF_ARGON2ID = 1
CIPHER_AES_GCM = 1
CHUNK_SIZE = 1 << 20
TAG = 16
_HEADER = struct.Struct(">8sBBBBIII16s8s")
_RECORD = struct.Struct(">BI")
_CHUNK_AAD = struct.Struct(">QB")
CHECK_LENGTH = 32
HEADER_SIZE = _HEADER.size + CHECK_LENGTH  # what precedes the first chunk


@dataclass(frozen=True, slots=True)
class KdfParams:
    """argon2id costs; the defaults are argon2-cffi's RFC 9106 low-memory profile (64 MiB),
    which a Raspberry Pi derives in about a second."""

    time_cost: int = 3
    memory_kib: int = 64 * 1024
    lanes: int = 4

    def check(self) -> None:
        """Refuse costs no honest writer uses (a crafted header must not exhaust the box)."""
        if not (
            1 <= self.time_cost <= 64
            and 1 <= self.lanes <= 16
            and 8 * self.lanes <= self.memory_kib <= 1024 * 1024
        ):
            raise BackupError(
                "The file's key-derivation settings are out of range: it is damaged or not "
                "a Hearth backup."
            )


DEFAULT_KDF = KdfParams()


def _keys(passphrase: str, salt: bytes, params: KdfParams) -> tuple[bytes, bytes]:
    secret = unicodedata.normalize("NFC", passphrase).encode("utf-8")
    raw = hash_secret_raw(
        secret, salt, params.time_cost, params.memory_kib, params.lanes, 64, Type.ID
    )
    return raw[:32], raw[32:]


def _nonce(prefix: bytes, index: int) -> bytes:
    return prefix + struct.pack(">I", index)


class SealingWriter:
    """A write-only file object that seals what is written into `out` (tarfile writes here)."""

    def __init__(self, out: BinaryIO, passphrase: str, params: KdfParams = DEFAULT_KDF) -> None:
        params.check()
        salt, self._prefix = os.urandom(16), os.urandom(8)
        self._header = _HEADER.pack(
            MAGIC,
            FORMAT,
            KDF_ARGON2ID,
            CIPHER_AES_GCM,
            params.lanes,
            params.time_cost,
            params.memory_kib,
            CHUNK_SIZE,
            salt,
            self._prefix,
        )
        key, check_key = _keys(passphrase, salt, params)
        self._aead = AESGCM(key)
        self._out = out
        self._buffer = bytearray()
        self._index = 0
        self._finished = False
        out.write(self._header + hmac.digest(check_key, self._header, "sha256"))

    def write(self, data: bytes) -> int:
        if self._finished:
            raise ValueError("the backup is already sealed")
        self._buffer += data
        while len(self._buffer) > CHUNK_SIZE:  # keep at least one byte back for the final
            self._emit(bytes(self._buffer[:CHUNK_SIZE]), final=False)
            del self._buffer[:CHUNK_SIZE]
        return len(data)

    def finish(self) -> None:
        """Seal the rest as the final chunk (an empty one if nothing is left)."""
        if not self._finished:
            self._emit(bytes(self._buffer), final=True)
            self._buffer.clear()
            self._finished = True

    def _emit(self, plain: bytes, final: bool) -> None:
        aad = self._header + _CHUNK_AAD.pack(self._index, int(final))
        sealed = self._aead.encrypt(_nonce(self._prefix, self._index), plain, aad)
        self._out.write(_RECORD.pack(int(final), len(sealed)) + sealed)
        self._index += 1


class OpeningReader:
    """A read-only file object giving back what a SealingWriter sealed, chunk by chunk.

    The passphrase is checked when it is made (WrongPassphraseError); every chunk is
    authenticated as it is read (BackupError), and the end of the stream is only reported
    after the final chunk, with nothing after it."""

    def __init__(self, source: BinaryIO, passphrase: str, name: str) -> None:
        self._source = source
        self._name = name
        head = source.read(HEADER_SIZE)
        if len(head) < len(MAGIC) or head[: len(MAGIC)] != MAGIC:
            raise BackupError(f"{name} is not a Hearth backup.")
        if len(head) > len(MAGIC) and head[len(MAGIC)] != FORMAT:
            raise BackupError(
                f"{name} is a backup format {head[len(MAGIC)]} file; this Hearth reads format "
                f"{FORMAT} (a newer Hearth wrote it)."
            )
        if len(head) < HEADER_SIZE:
            raise BackupError(f"{name} is cut short: it ends inside its header.")
        self._header, check = head[: _HEADER.size], head[_HEADER.size :]
        (_, _, kdf, cipher, lanes, time_cost, memory, chunk, salt, self._prefix) = _HEADER.unpack(
            self._header
        )
        if kdf != KDF_ARGON2ID or cipher != CIPHER_AES_GCM or not 4096 <= chunk <= 1 << 24:
            raise BackupError(f"{name} names a key derivation or cipher this Hearth does not know.")
        params = KdfParams(time_cost, memory, lanes)
        params.check()
        key, check_key = _keys(passphrase, salt, params)
        if not hmac.compare_digest(hmac.digest(check_key, self._header, "sha256"), check):
            raise WrongPassphraseError(
                f"The passphrase does not open {name}: check it and try again."
            )
        self._aead = AESGCM(key)
        self._chunk = chunk
        self._buffer = bytearray()
        self._index = 0
        self._ended = False

    def read(self, size: int = -1) -> bytes:
        while (size < 0 or len(self._buffer) < size) and not self._ended:
            self._next_chunk()
        take = len(self._buffer) if size < 0 else min(size, len(self._buffer))
        data = bytes(self._buffer[:take])
        del self._buffer[:take]
        return data

    def drain(self) -> None:
        """Read and authenticate everything that is left."""
        while not self._ended:
            self._next_chunk()
            self._buffer.clear()

    def _damaged(self, why: str) -> BackupError:
        return BackupError(
            f"{self._name} was changed or damaged after it was written ({why}); "
            "it cannot be trusted and was not restored."
        )

    def _next_chunk(self) -> None:
        record = self._source.read(_RECORD.size)
        if len(record) < _RECORD.size:
            raise self._damaged(f"it ends before its last part, after part {self._index}")
        final, length = _RECORD.unpack(record)
        if final not in (0, 1) or not TAG <= length <= self._chunk + TAG:
            raise self._damaged(f"part {self._index + 1} has an impossible length")
        sealed = self._source.read(length)
        if len(sealed) < length:
            raise self._damaged(f"it ends inside part {self._index + 1}")
        aad = self._header + _CHUNK_AAD.pack(self._index, final)
        try:
            plain = self._aead.decrypt(_nonce(self._prefix, self._index), sealed, aad)
        except InvalidTag:
            raise self._damaged(f"part {self._index + 1} fails its check") from None
        self._buffer += plain
        self._index += 1
        if final:
            if self._source.read(1):
                raise self._damaged("something was added after its last part")
            self._ended = True
