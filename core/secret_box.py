"""Sealing small secrets the server must read back (TOTP secrets, app passwords) before they go
into the catalog, with a key kept beside it in its own file, `data/secret.key`.

A catalog copied off the box (a backup, a stolen SD card image without the key, a support
upload) then yields no second factors. The key is 32 random bytes, readable by the server's
user only, made the first time something is sealed: a server that never seals anything never
writes it (idle means no writes). Sealed text is `v1.` + URL-safe base64 of a 12-byte nonce and
the AES-256-GCM ciphertext; `purpose` (e.g. `totp:7`) is bound in as associated data, so a
sealed value moved to another person's row does not open. Secrets whose stored value has
no `v1.` prefix predate sealing and are read as they are (start-up seals them).

It never logs, prints or returns the key; it never hashes (passwords are argon2, elsewhere).
Reading and making the key touch the disk: the methods end in `_blocking`.
"""

from __future__ import annotations

import base64
import contextlib
import os
import threading
from pathlib import Path

KEY_FILE = "secret.key"
KEY_BYTES = 32
PREFIX = "v1."


class SecretBoxError(Exception):
    """A sealed value cannot be opened; the message says why, for the log."""


def is_sealed(stored: str) -> bool:
    """Whether a stored value was sealed (base32 TOTP secrets never contain a dot)."""
    return stored.startswith(PREFIX)


class SecretBox:
    """Seal and open with the data folder's key; the key is read (or made) once, on first use."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / KEY_FILE
        self._key: bytes | None = None
        self._lock = threading.Lock()  # catalog threads may seal at the same time

    def seal_blocking(self, plain: str, purpose: str) -> str:
        # cryptography's Rust library is ~8 MB resident: loaded by the first secret sealed
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        nonce = os.urandom(12)
        sealed = AESGCM(self._key_blocking(create=True)).encrypt(
            nonce, plain.encode(), purpose.encode()
        )
        return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()

    def open_blocking(self, stored: str, purpose: str) -> str:
        """The plain secret; a value from before sealing comes back unchanged."""
        if not is_sealed(stored):
            return stored
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        try:
            raw = base64.urlsafe_b64decode(stored[len(PREFIX) :])
        except ValueError as err:
            raise SecretBoxError("a sealed secret in the catalog is damaged") from err
        try:
            return (
                AESGCM(self._key_blocking(create=False))
                .decrypt(raw[:12], raw[12:], purpose.encode())
                .decode()
            )
        except InvalidTag as err:
            raise SecretBoxError(
                f"a sealed secret does not open with {self.path} (the key was replaced, or the "
                "catalog comes from another box)"
            ) from err

    def _key_blocking(self, create: bool) -> bytes:
        with self._lock:
            if self._key is None:
                self._key = _read_or_make_blocking(self.path, create)
            return self._key


def _read_or_make_blocking(path: Path, create: bool) -> bytes:
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        if not create:
            raise SecretBoxError(f"{path} is missing, so sealed secrets cannot be read") from None
        key = _make_blocking(path)
    if len(key) != KEY_BYTES:
        raise SecretBoxError(f"{path} is not a key ({len(key)} bytes, expected {KEY_BYTES})")
    return key


def _make_blocking(path: Path) -> bytes:
    """Write a new key whole, then link it into place: a crash never leaves half a key, and
    of two processes making one at once (the server and `hearth user`), the first wins and
    the other reads it."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(os.urandom(KEY_BYTES))
            file.flush()
            os.fsync(file.fileno())
        with contextlib.suppress(FileExistsError):  # another process's key won: use theirs
            os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    folder = os.open(path.parent, os.O_RDONLY)
    try:  # the new name itself must survive a power cut: secrets sealed with it will
        os.fsync(folder)
    finally:
        os.close(folder)
    return path.read_bytes()
