"""The `dlna:` block of configuration.yaml, validated into a frozen `DlnaConfig`.

Defaults suit a home: the server's own name, SSDP on its standard port on the server's
network interfaces (`hearth: network: interfaces`), every LAN-visible library shown, no rating
limit (`max_rating: PG` hides anything rated above PG from every TV).
`ssdp` is `true` (multicast announcements and answers), `false` (no SSDP socket at all: TVs
must be pointed at the description URL) or `unicast` (answers M-SEARCH sent straight to the
configured addresses, never joins the multicast group: for tests on loopback). It never reads
anything but the block it is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import voluptuous as vol

from core.plugin_api import LEVELS, limit_rank
from core.plugin_api import validators as cv

SSDP_MODES = ("multicast", "off", "unicast")


@dataclass(frozen=True, slots=True)
class DlnaConfig:
    """The plugin's settings. `friendly_name` None: the server's name; `interfaces` empty:
    the server's own (`hearth: network: interfaces`); `libraries` None: every LAN-visible
    library; `max_rating` None: no rating limit for TVs."""

    friendly_name: str | None
    interfaces: tuple[str, ...]
    ssdp: str
    ssdp_port: int
    max_age: int
    libraries: tuple[str, ...] | None
    max_rating: str | None = None


def _ssdp_mode(value: Any) -> str:
    if isinstance(value, str) and value.strip().lower() == "unicast":
        return "unicast"
    try:
        return "multicast" if cv.boolean(value) else "off"
    except vol.Invalid as err:
        raise vol.Invalid("expected true, false or unicast") from err


def _rating(value: Any) -> str:
    text = cv.non_empty_string(value)
    try:
        limit_rank(text)
    except ValueError as err:
        raise vol.Invalid(f"expected a rating ({', '.join(LEVELS)}) or an age") from err
    return text


def _build(data: dict[str, Any]) -> DlnaConfig:
    libraries = data.get("libraries")
    return DlnaConfig(
        friendly_name=data.get("friendly_name"),
        interfaces=tuple(data["interfaces"]),
        ssdp=data["ssdp"],
        ssdp_port=data["ssdp_port"],
        max_age=data["max_age"],
        libraries=None if libraries is None else tuple(libraries),
        max_rating=data.get("max_rating"),
    )


CONFIG_SCHEMA = vol.Schema(
    vol.All(
        {
            vol.Optional("friendly_name"): vol.All(cv.non_empty_string, vol.Length(max=64)),
            vol.Optional("interfaces", default=list): vol.All(
                cv.ensure_list, [cv.non_empty_string]
            ),
            vol.Optional("ssdp", default=True): _ssdp_mode,
            vol.Optional("ssdp_port", default=1900): cv.port,
            vol.Optional("max_age", default=1800): cv.integer(60, 86400),
            vol.Optional("libraries"): vol.All(cv.ensure_list, [cv.non_empty_string]),
            vol.Optional("max_rating"): _rating,
        },
        _build,
    )
)
