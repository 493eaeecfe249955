"""The `relay:` block of configuration.yaml, validated into a frozen `RelayConfig`.

The relay's `scripts/relay/enrol NAME KEY` prints the block to paste: `server` (the host the
box dials), `ssh_port`, `name` (the box becomes `NAME.domain`, where `domain` is the server
unless the block names another), `host_key` (the relay's SSH host key, pinned: never learned
on first use) and `port` (the loopback port on the relay that its HTTPS front routes the box's
name to; the relay's authorized_keys lets this box listen there and nowhere else). `user` is
the relay's account (`hearth-relay`); `max_mbps` an optional bitrate ceiling for remote
streams. The server must also be listed under `hearth: egress: relay:`, which setup checks.
`acme_directory` is the ACME CA that issues the box's certificate for its public name (Let's
Encrypt unless set; its host must be listed under `hearth: egress: relay:` too, or the box keeps
its own certificate), `acme_ca` a CA bundle to trust for that directory instead of the system's
(a test CA such as Pebble), `acme_email` an optional contact for the CA.
It never reads anything but the block it is given, and never starts ssh (check-config
works without it).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import voluptuous as vol
from yarl import URL

from core.plugin_api import validators as cv

DEFAULT_USER = "hearth-relay"
LETS_ENCRYPT = "https://acme-v02.api.letsencrypt.org/directory"
_EMAIL = re.compile(r"[^@\s:/]+@[a-z0-9.-]+\.[a-z0-9-]+", re.IGNORECASE)
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_KEY_TYPES = (
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "ssh-rsa",
)


@dataclass(frozen=True, slots=True)
class RelayConfig:
    """Where the relay is, who the box is there, and how to know the relay."""

    server: str
    ssh_port: int
    name: str
    host_key: str  # "ssh-ed25519 AAAA…" (a comment after it is dropped)
    port: int  # the relay's loopback port this box's tunnel listens on
    user: str = DEFAULT_USER
    max_mbps: float | None = None
    domain: str | None = None  # when the relay's names are not under `server`
    acme_directory: str = LETS_ENCRYPT
    acme_ca: Path | None = None  # trusted for the ACME directory instead of the system's CAs
    acme_email: str | None = None

    @property
    def public_name(self) -> str:
        return f"{self.name}.{self.domain or self.server}"

    @property
    def public_url(self) -> str:
        return f"https://{self.public_name}"

    @property
    def acme_host(self) -> str:
        """The ACME directory's host: the owner lists it under `hearth: egress: relay:`."""
        return URL(self.acme_directory).host or ""

    @property
    def max_bitrate(self) -> int | None:
        return int(self.max_mbps * 1_000_000) if self.max_mbps else None


def _name(value: Any) -> str:
    text = cv.string(value).strip().lower()
    if not _LABEL.fullmatch(text):
        raise vol.Invalid("expected one DNS label such as smith (letters, digits, hyphens)")
    return text


def host_key(value: Any) -> str:
    """An OpenSSH public key line: the type, then base64 whose first field names that type."""
    words = cv.string(value).split()
    expected = "expected the relay's SSH host key, such as 'ssh-ed25519 AAAAC3Nz…'"
    if len(words) < 2 or words[0] not in _KEY_TYPES:
        raise vol.Invalid(expected)
    try:
        blob = base64.b64decode(words[1], validate=True)
    except (binascii.Error, ValueError) as err:
        raise vol.Invalid(expected) from err
    size = int.from_bytes(blob[:4], "big")
    if blob[4 : 4 + size] != words[0].encode():
        raise vol.Invalid(f"{expected}; this one's data is not a {words[0]} key")
    return f"{words[0]} {words[1]}"


def _mbps(value: Any) -> float | None:
    if value is None:  # `max_mbps:` left empty: no ceiling
        return None
    try:
        number = float(value)
    except (TypeError, ValueError) as err:
        raise vol.Invalid("expected a number of Mbit/s such as 8") from err
    if not 0.1 <= number <= 10_000 or isinstance(value, bool):
        raise vol.Invalid("expected a number of Mbit/s from 0.1 to 10000")
    return number


def _directory(value: Any) -> str:
    text = cv.string(value).strip()
    url = URL(text)
    if url.scheme != "https" or not url.host or url.user or url.fragment:
        raise vol.Invalid("expected the https:// URL of an ACME directory, such as " + LETS_ENCRYPT)
    return text


def _email(value: Any) -> str:
    text = cv.string(value).strip()
    if not _EMAIL.fullmatch(text):
        raise vol.Invalid("expected an email address such as owner@example.net")
    return text


def _build(data: dict[str, Any]) -> RelayConfig:
    return RelayConfig(
        server=data["server"],
        ssh_port=data["ssh_port"],
        name=data["name"],
        host_key=data["host_key"],
        port=data["port"],
        user=data["user"],
        max_mbps=data.get("max_mbps"),
        domain=data.get("domain"),
        acme_directory=data["acme_directory"],
        acme_ca=data.get("acme_ca"),
        acme_email=data.get("acme_email"),
    )


CONFIG_SCHEMA = vol.Schema(
    vol.All(
        {
            vol.Required("server"): cv.host_name,
            vol.Optional("ssh_port", default=22): cv.port,
            vol.Required("name"): _name,
            vol.Required("host_key"): host_key,
            vol.Required("port"): cv.port,
            vol.Optional("user", default=DEFAULT_USER): cv.non_empty_string,
            vol.Optional("max_mbps"): _mbps,
            vol.Optional("domain"): cv.host_name,
            vol.Optional("acme_directory", default=LETS_ENCRYPT): _directory,
            vol.Optional("acme_ca"): cv.absolute_path,
            vol.Optional("acme_email"): _email,
        },
        _build,
    )
)
