"""SSDP messages: reading an M-SEARCH, deciding what answers it, writing responses and NOTIFYs.

Pure functions over bytes and text, so every rule is testable without a socket. A datagram is
believed only if it is small, ASCII, and exactly `M-SEARCH * HTTP/1.1` with
`MAN: "ssdp:discover"` and a search target; anything else is ignored, never answered with an
error (an error reply would itself be an amplification vector). Search targets match per the
UPnP Device Architecture: a device or service type at a version no newer than ours. It never
touches the network.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.utils import formatdate

SSDP_GROUP = "239.255.255.250"
MAX_DATAGRAM = 2048
MAX_HEADERS = 32
MAX_MX = 5  # seconds: UDA 1.1 says treat anything larger as 5
_TYPE = re.compile(r"^(urn:[^:\s]+:(?:device|service):[^:\s]+):(\d{1,4})$")


@dataclass(frozen=True, slots=True)
class SearchRequest:
    """A valid M-SEARCH: what is sought and how long the asker waits (None: unicast, no MX)."""

    target: str
    mx: int | None


@dataclass(frozen=True, slots=True)
class Identity:
    """Who this device says it is in every SSDP message."""

    udn: str  # "uuid:…"
    device_type: str
    service_types: tuple[str, ...]
    server: str
    max_age: int
    boot_id: int
    config_id: int = 1

    @property
    def notification_types(self) -> tuple[str, ...]:
        """The NTs announced (and answered for ssdp:all): root, uuid, device, services."""
        return ("upnp:rootdevice", self.udn, self.device_type, *self.service_types)

    def usn(self, nt: str) -> str:
        return self.udn if nt == self.udn else f"{self.udn}::{nt}"


def parse_search(data: bytes) -> SearchRequest | None:
    """The M-SEARCH in a datagram, or None for anything that is not a well-formed one."""
    if len(data) > MAX_DATAGRAM:
        return None
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        return None
    lines = text.split("\r\n")
    if lines[0] != "M-SEARCH * HTTP/1.1" or len(lines) > MAX_HEADERS + 3:
        return None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            return None
        headers[name.strip().lower()] = value.strip()
    if headers.get("man") != '"ssdp:discover"':
        return None
    target = headers.get("st", "")
    if not target or len(target) > 256:
        return None
    mx_text = headers.get("mx")
    if mx_text is None:
        return SearchRequest(target, None)
    if not mx_text.isdigit() or len(mx_text) > 3:
        return None
    return SearchRequest(target, min(int(mx_text), MAX_MX))


def matching_types(identity: Identity, target: str) -> list[tuple[str, str]]:
    """(ST to echo, NT it answers for) per response owed; empty when the target is not us."""
    if target == "ssdp:all":
        return [(nt, nt) for nt in identity.notification_types]
    if target in ("upnp:rootdevice", identity.udn):
        return [(target, target)]
    wanted = _TYPE.match(target)
    if wanted is None:
        return []
    for ours in (identity.device_type, *identity.service_types):
        have = _TYPE.match(ours)
        if have and have[1] == wanted[1] and int(wanted[2]) <= int(have[2]):
            return [(target, ours)]
    return []


def _lines(start: str, fields: list[tuple[str, str]]) -> bytes:
    return ("\r\n".join([start, *(f"{k}: {v}" for k, v in fields)]) + "\r\n\r\n").encode()


def search_response(identity: Identity, st: str, nt: str, location: str) -> bytes:
    """The unicast `HTTP/1.1 200 OK` answering one search target."""
    return _lines(
        "HTTP/1.1 200 OK",
        [
            ("CACHE-CONTROL", f"max-age={identity.max_age}"),
            ("DATE", formatdate(usegmt=True)),
            ("EXT", ""),
            ("LOCATION", location),
            ("SERVER", identity.server),
            ("ST", st),
            ("USN", identity.usn(nt)),
            ("BOOTID.UPNP.ORG", str(identity.boot_id)),
            ("CONFIGID.UPNP.ORG", str(identity.config_id)),
            ("Content-Length", "0"),
        ],
    )


def notify(identity: Identity, nt: str, alive: bool, location: str) -> bytes:
    """A multicast NOTIFY: `ssdp:alive` with where to find us, or `ssdp:byebye`."""
    fields = [("HOST", f"{SSDP_GROUP}:1900")]
    if alive:
        fields += [
            ("CACHE-CONTROL", f"max-age={identity.max_age}"),
            ("LOCATION", location),
            ("SERVER", identity.server),
        ]
    fields += [
        ("NT", nt),
        ("NTS", "ssdp:alive" if alive else "ssdp:byebye"),
        ("USN", identity.usn(nt)),
        ("BOOTID.UPNP.ORG", str(identity.boot_id)),
        ("CONFIGID.UPNP.ORG", str(identity.config_id)),
        ("Content-Length", "0"),
    ]
    return _lines("NOTIFY * HTTP/1.1", fields)
