"""Which of this server's addresses to search from, and which one a given TV can reach.

Searches go out of the configured interfaces' IPv4 addresses only, never loopback or link-local
ones (a loopback LOCATION is useless to anyone, and async_upnp_client drops it anyway). A TV is
handed URLs on the server's address in the TV's own subnet, else the address the kernel would
use to reach it (a UDP `connect`, which sends nothing). Blocking, but quick: call these
through `run_blocking`. It never sends a packet.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass

import psutil


@dataclass(frozen=True, slots=True)
class LanAddress:
    """One IPv4 address of this server and the subnet it is on."""

    address: str
    network: ipaddress.IPv4Network


def addresses_blocking(wanted: tuple[str, ...] = ()) -> list[LanAddress]:
    """IPv4 addresses of the interfaces named (by name or address) in `wanted`; all if empty."""
    found: dict[str, LanAddress] = {}
    for name, entries in psutil.net_if_addrs().items():
        for entry in entries:
            if entry.family != socket.AF_INET or not entry.netmask:
                continue
            if wanted and name not in wanted and entry.address not in wanted:
                continue
            network = ipaddress.IPv4Network(f"{entry.address}/{entry.netmask}", strict=False)
            found[entry.address] = LanAddress(entry.address, network)
    return [found[address] for address in sorted(found)]


def search_addresses_blocking(wanted: tuple[str, ...]) -> list[str]:
    """Where SSDP searches may go out: no loopback, no link-local."""
    return [
        lan.address
        for lan in addresses_blocking(wanted)
        if not lan.network.is_loopback and not lan.network.is_link_local
    ]


def address_facing_blocking(host: str) -> str:
    """This server's address a device at `host` can reach us on."""
    try:
        target = ipaddress.ip_address(host)
    except ValueError:
        target = None
    if isinstance(target, ipaddress.IPv4Address):
        ours = addresses_blocking()
        if any(lan.address == host for lan in ours):
            return host  # a renderer on this very box
        for lan in ours:
            if target in lan.network:
                return lan.address
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect((host, 9))  # UDP: picks the route, sends nothing
        address: str = probe.getsockname()[0]
    return address
