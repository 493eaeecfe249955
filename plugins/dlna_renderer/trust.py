"""Which SSDP messages about TVs are believed, and which addresses a TV may send us to.

SSDP is unauthenticated UDP: anyone who can put a datagram on a socket of ours can claim to be
a TV and name a LOCATION for us to fetch. So a NOTIFY or a search answer is used only when its
source is on the home network (`HomeNetwork.classify` says `lan`: an attached subnet or one the
owner listed), and its LOCATION is an IP literal on that same subnet - never a host name (no
DNS query leaves the home on a stranger's say-so), never loopback (services that listen only
on 127.0.0.1 trust that nobody else reaches them), never another subnet. A LOCATION the owner
listed under `dlna_renderer: renderers:` is believed as written. After that, every request to
a TV stays on the host its LOCATION named (`requester.py`), so a description cannot point the
control calls elsewhere. Pure functions; it never touches the network.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection
from urllib.parse import urlsplit

from core.plugin_api import HomeNetwork, parse_address


def sender_refusal(home: HomeNetwork, sender: str | None) -> str | None:
    """Why a datagram from `sender` is not believed, or None when it is from the home."""
    if home.classify(sender) != "lan":
        return "it was sent from outside the home network"
    return None


def literal_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The IP address written in a URL's host, or None for a name. Only the canonical forms
    count: `127.1` or `0x7f.0.0.1` are names here, though a resolver would read them as
    addresses, so they are refused rather than looked up."""
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None


def location_refusal(
    home: HomeNetwork, sender: str | None, location: str, listed: Collection[str] = ()
) -> str | None:
    """Why an SSDP LOCATION heard from `sender` is not fetched, or None when it may be."""
    refused = sender_refusal(home, sender)
    if refused is not None or location in listed:
        return refused
    try:
        parts = urlsplit(location)
        host = parts.hostname or ""
        parts.port  # noqa: B018  (raises ValueError for a port that is not a number)
    except ValueError:
        return "its LOCATION is not a URL"
    if parts.scheme != "http" or not host:
        return "its LOCATION is not an http:// URL"
    address = literal_address(host)
    if address is None:
        return "its LOCATION names a host instead of an address (list it under renderers:)"
    address = parse_address(str(address)) or address  # ::ffff:a.b.c.d is judged as IPv4
    origin = parse_address(sender)
    if address.is_loopback or address.is_unspecified or address.is_multicast:
        return "its LOCATION is not a device's address"
    if origin is None or not home.same_subnet(origin, address):
        return "its LOCATION is not on the sender's subnet"
    return None
