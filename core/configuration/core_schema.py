"""The `hearth:` section: what the core itself needs to start.

Relative paths are resolved from the working directory, which is what `./data` means to the
person who typed `scripts/run`. Nothing here enables a plugin; plugin blocks are validated by
their own schemas.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import voluptuous as vol

from core.configuration import validators as cv
from core.logs import LEVELS


@dataclass(frozen=True, slots=True)
class HttpConfig:
    """Where the API and web app listen. Port 0 picks a free port (tests, side-by-side runs)."""

    host: str
    port: int
    https_port: int
    redirect_non_lan: bool = False  # send plain HTTP from outside the home to HTTPS
    hosts: tuple[str, ...] = ()  # extra names the box answers to (a router's DNS name...)


@dataclass(frozen=True, slots=True)
class TlsConfig:
    """HTTPS: on unless disabled, with a certificate made on first start or the owner's own."""

    enabled: bool = True
    certificate: Path | None = None
    key: Path | None = None


@dataclass(frozen=True, slots=True)
class NetworkConfig:
    """Where discovery announces: interface names or addresses; empty means every interface.
    The subnets of those interfaces, plus `lan_subnets`, are the home network (core.network)."""

    interfaces: tuple[str, ...]
    mdns: bool
    lan_subnets: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()


@dataclass(frozen=True, slots=True)
class BackupConfig:
    """The nightly encrypted backup (core.backup.nightly): where, how many, with what."""

    path: Path
    passphrase: str
    keep: int = 7
    at: tuple[int, int] = (3, 30)  # local hour and minute


@dataclass(frozen=True, slots=True)
class HearthConfig:
    """The core's validated settings."""

    name: str
    data_dir: Path
    http: HttpConfig
    network: NetworkConfig
    log_level: str
    ffmpeg: Path | None
    scan_workers: int
    # -- people and privacy: hosts the owner let each internet plugin reach (being listed is
    # consent; the manifest must list them too), and how long viewing history is kept.
    egress: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    history_days: int = 365
    tls: TlsConfig = field(default_factory=TlsConfig)
    backup: BackupConfig | None = None
    # -- transcode scratch (core.playback.scratch): where, and at most how much
    scratch_dir: Path | None = None
    scratch_max_mb: int = 1024


def _build(data: dict[str, Any]) -> HearthConfig:
    http = data["http"]
    network = data["network"]
    tls = data["tls"]
    return HearthConfig(
        name=data["name"],
        data_dir=data["data_dir"].resolve(),
        http=HttpConfig(
            http["host"],
            http["port"],
            http["https_port"],
            http["redirect_non_lan"],
            tuple(http["hosts"]),
        ),
        network=NetworkConfig(
            tuple(network["interfaces"]), network["mdns"], tuple(network["lan_subnets"])
        ),
        log_level=data["log_level"],
        ffmpeg=data.get("ffmpeg"),
        scan_workers=data["scan_workers"],
        egress={str(k): tuple(v) for k, v in (data.get("egress") or {}).items()},
        history_days=data["history_days"],
        tls=TlsConfig(tls["enabled"], tls.get("certificate"), tls.get("key")),
        backup=data.get("backup"),
        scratch_dir=data["scratch_dir"].resolve() if "scratch_dir" in data else None,
        scratch_max_mb=data["scratch_max_mb"],
    )


_HTTP = vol.Schema(
    {
        vol.Optional("host", default="0.0.0.0"): cv.non_empty_string,
        vol.Optional("port", default=8440): cv.port_or_zero,
        vol.Optional("https_port", default=8443): cv.port_or_zero,
        vol.Optional("redirect_non_lan", default=False): cv.boolean,
        vol.Optional("hosts", default=list): vol.All(cv.ensure_list, [cv.host_name]),
    }
)


def _certificate_with_key(data: dict[str, Any]) -> dict[str, Any]:
    for given, missing in (("certificate", "key"), ("key", "certificate")):
        if given in data and missing not in data:
            raise vol.Invalid(
                f"needed with '{given}' (give both, or neither for a made certificate)",
                path=[missing],
            )
    return data


_TLS = vol.Schema(
    vol.All(
        {
            vol.Optional("enabled", default=True): cv.boolean,
            vol.Optional("certificate"): cv.absolute_path,
            vol.Optional("key"): cv.absolute_path,
        },
        _certificate_with_key,
    )
)

_NETWORK = vol.Schema(
    {
        vol.Optional("interfaces", default=list): vol.All(cv.ensure_list, [cv.non_empty_string]),
        vol.Optional("mdns", default=True): cv.boolean,
        vol.Optional("lan_subnets", default=list): vol.All(cv.ensure_list, [cv.ip_network]),
    }
)


def _time_of_day(value: Any) -> tuple[int, int]:
    """Hour and minute from "03:30" (an unquoted 3:30 is read by YAML 1.1 as 210, base 60)."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
        return divmod(value, 60)
    parts = str(value).strip().split(":")
    if len(parts) == 2 and all(p.isdigit() for p in parts):
        hour, minute = int(parts[0]), int(parts[1])
        if hour < 24 and minute < 60:
            return hour, minute
    raise vol.Invalid("expected a time of day such as 03:30")


def _passphrase(value: Any) -> str:
    text = cv.string(value)
    if len(text) < 12:  # it guards password hashes and the box's keys
        raise vol.Invalid("expected a passphrase of at least 12 characters")
    return text


_BACKUP = vol.Schema(
    vol.All(
        {
            vol.Required("path"): cv.absolute_path,
            vol.Required("passphrase"): _passphrase,
            vol.Optional("keep", default=7): cv.integer(1, 365),
            vol.Optional("at"): _time_of_day,
        },
        lambda d: BackupConfig(d["path"], d["passphrase"], d["keep"], d.get("at", (3, 30))),
    )
)

# plugin domain -> the hosts of its manifest the owner enabled
_EGRESS = vol.Schema(
    {cv.non_empty_string: vol.All(cv.ensure_list, [vol.All(cv.non_empty_string, str.lower)])}
)

HEARTH_SCHEMA = vol.Schema(
    vol.All(
        {
            vol.Optional("name", default="Hearth"): cv.non_empty_string,
            vol.Optional("data_dir", default="./data"): cv.path,
            vol.Optional("http", default=dict): vol.Any(None, _HTTP),
            vol.Optional("network", default=dict): vol.Any(None, _NETWORK),
            vol.Optional("log_level", default="info"): cv.one_of(*LEVELS),
            vol.Optional("ffmpeg"): cv.absolute_path,
            vol.Optional("tls", default=dict): vol.Any(None, _TLS),
            # -- people and privacy
            vol.Optional("egress", default=dict): vol.Any(None, _EGRESS),
            vol.Optional("history_days", default=365): cv.integer(
                0, 36500, "expected a number of days from 0 (keep forever) to 36500"
            ),
            vol.Optional("scan_workers", default=0): cv.integer(0, 16),
            vol.Optional("scratch_dir"): cv.path,
            vol.Optional("scratch_max_mb", default=1024): cv.integer(
                1, 1048576, "expected a size in MB from 1 to 1048576"
            ),
            vol.Optional("backup"): _BACKUP,  # core.backup.nightly
        },
        lambda d: {
            **d,
            "http": d["http"] or _HTTP({}),
            "network": d["network"] or _NETWORK({}),
            "tls": d["tls"] or _TLS({}),
        },
        _build,
    )
)
