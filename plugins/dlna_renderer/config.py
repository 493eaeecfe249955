"""The `dlna_renderer:` block of configuration.yaml, validated into a frozen `RendererConfig`.

Defaults suit a home: renderers are found with SSDP on the server's own network interfaces
(`hearth: network: interfaces`), searched for again every five minutes, and a playing TV is
asked where it is every two seconds. `renderers` lists description URLs of TVs to add without
SSDP (TVs that do not answer searches, TVs on another subnet or known by a host name, tests on
loopback): only these may be names or addresses off the sender's subnet, since SSDP alone is
never trusted with that (trust.py). `discovery: false` turns SSDP off.
It never reads anything but the block it is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import voluptuous as vol

from core.plugin_api import validators as cv


@dataclass(frozen=True, slots=True)
class RendererConfig:
    """The plugin's settings; `interfaces` empty: the server's own."""

    discovery: bool
    interfaces: tuple[str, ...]
    renderers: tuple[str, ...]
    search_interval: int  # seconds between M-SEARCHes
    poll_interval: float  # seconds between status polls while a TV plays


def _description_url(value: Any) -> str:
    text = cv.non_empty_string(value).strip()
    parts = urlsplit(text)
    if parts.scheme != "http" or not parts.hostname:
        raise vol.Invalid("expected a device description URL such as http://192.168.1.20:9197/dmr")
    return text


def _build(data: dict[str, Any]) -> RendererConfig:
    return RendererConfig(
        discovery=data["discovery"],
        interfaces=tuple(data["interfaces"]),
        renderers=tuple(data["renderers"]),
        search_interval=data["search_interval"],
        poll_interval=float(data["poll_interval"]),
    )


CONFIG_SCHEMA = vol.Schema(
    vol.All(
        {
            vol.Optional("discovery", default=True): cv.boolean,
            vol.Optional("interfaces", default=list): vol.All(
                cv.ensure_list, [cv.non_empty_string]
            ),
            vol.Optional("renderers", default=list): vol.All(cv.ensure_list, [_description_url]),
            vol.Optional("search_interval", default=300): cv.integer(30, 3600),
            vol.Optional("poll_interval", default=2): cv.integer(1, 30),
        },
        _build,
    )
)
