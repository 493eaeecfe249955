"""The box's SSH identity for remote access: one ed25519 key, made once, kept private.

A relay (`relay:` in configuration.yaml) lets the box in by this key alone: `hearth relay key`
prints its public half for the relay operator's `enrol`, and the relay plugin signs in with it
(through `PluginContext.ssh_identity`). The private key is written once, mode 0600, in
`data_dir/ssh/`, and never replaced, printed or sent anywhere: a new key would have to be
enrolled again. It never connects to anything.
"""

from __future__ import annotations

import base64
import hashlib
import os
import socket
from dataclasses import dataclass
from pathlib import Path

SSH_DIR = "ssh"
KEY_FILE = "id_ed25519"


class IdentityError(Exception):
    """The key file exists but cannot be used; the message names it and says why."""


@dataclass(frozen=True, slots=True)
class BoxIdentity:
    """Where the private key is, and what a relay operator needs from it."""

    private_key: Path
    public_key: str  # "ssh-ed25519 AAAA… hearth@host": one authorized_keys line
    fingerprint: str  # "SHA256:…", as `ssh-keygen -l` prints it


def identity_file(data_dir: Path) -> Path:
    return data_dir / SSH_DIR / KEY_FILE


def identity_blocking(data_dir: Path) -> BoxIdentity:
    """The box's key, made now if there is none (two processes racing make one key)."""
    path = identity_file(data_dir)
    if not path.exists():
        _make_blocking(path)
    return _read_blocking(path)


def _make_blocking(path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    pem = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(pem)
            file.flush()
            os.fsync(file.fileno())
        # link, not rename: a key another process made first is kept, never replaced
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        temporary.unlink(missing_ok=True)


def _read_blocking(path: Path) -> BoxIdentity:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    try:
        key = serialization.load_ssh_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as err:
        raise IdentityError(f"{path}: not a readable OpenSSH private key ({err})") from err
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise IdentityError(f"{path}: expected an ed25519 key")
    line = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    blob = base64.b64decode(line.split()[1])
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    comment = f"hearth@{socket.gethostname().split('.')[0] or 'box'}"
    return BoxIdentity(path, f"{line.decode()} {comment}", f"SHA256:{digest}")
