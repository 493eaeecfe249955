"""What the home network is, and where an address stands in it: loopback, lan or remote.

`lan` means the address is inside a subnet attached to one of the box's configured interfaces
(`hearth: network: interfaces:`, every interface when empty), or inside a subnet the owner
listed under `hearth: network: lan_subnets:` (a second VLAN behind the home router, say). It
does not mean "any private range": a VPN, a carrier-grade NAT or a router port-forward can all
bring private-looking addresses that are not the home. Everything else is `remote`, and so is
every connection that did not arrive over IP at all (the relay hands connections in over a
Unix socket, so they are remote whatever the tunnel's far end looked like).

Interface addresses are read again at most every `REFRESH_SECONDS` (DHCP renewals, a cable
plugged in); reading them is a few system calls, so it is done inline. It never sends a packet.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import psutil

Origin = Literal["loopback", "lan", "remote"]
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
REFRESH_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class Attached:
    """One address of this box and the subnet it sits on."""

    interface: str
    address: IpAddress
    network: IpNetwork


def parse_address(text: str | None) -> IpAddress | None:
    """An IP address from a socket or header value (zone ids dropped, IPv4-mapped unwrapped)."""
    if not text:
        return None
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def wanted_by(attached: Attached, wanted: tuple[str, ...]) -> bool:
    """Whether an interface list (names or addresses) names this address's interface."""
    return attached.interface in wanted or str(attached.address) in wanted


def attached_blocking(wanted: tuple[str, ...] = ()) -> list[Attached]:
    """Every address of the interfaces named (by name or address) in `wanted`; all if empty."""
    found: list[Attached] = []
    for name, entries in psutil.net_if_addrs().items():
        for entry in entries:
            if entry.family not in (socket.AF_INET, socket.AF_INET6) or not entry.netmask:
                continue
            address = parse_address(entry.address)
            if address is None:
                continue
            try:
                network = ipaddress.ip_network(f"{address}/{entry.netmask}", strict=False)
            except ValueError:
                continue
            attached = Attached(name, address, network)
            if not wanted or wanted_by(attached, wanted):
                found.append(attached)
    return found


class HomeNetwork:
    """Classifies addresses against the attached subnets and the owner's extra ones."""

    def __init__(
        self,
        interfaces: tuple[str, ...] = (),
        lan_subnets: Iterable[IpNetwork] = (),
    ) -> None:
        self._interfaces = interfaces
        self._extra = tuple(lan_subnets)
        self._every: list[Attached] = []
        self._read_at = float("-inf")

    def _read(self) -> list[Attached]:
        now = time.monotonic()
        if now - self._read_at > REFRESH_SECONDS:
            self._every = attached_blocking()
            self._read_at = now
        return self._every

    def attached(self) -> list[Attached]:
        """The configured interfaces' addresses and subnets, re-read when stale."""
        wanted = self._interfaces
        return [a for a in self._read() if not wanted or wanted_by(a, wanted)]

    def networks(self) -> list[IpNetwork]:
        """Every subnet that counts as home: attached ones first, then the owner's."""
        return [a.network for a in self.attached()] + list(self._extra)

    def own_addresses(self) -> set[IpAddress]:
        """This box's addresses on every interface (loopback included), for Host checks."""
        return {a.address for a in self._read()}

    def classify(self, remote: str | None) -> Origin:
        """Where a peer address stands; anything that is not an IP address is remote."""
        address = parse_address(remote)
        if address is None:
            return "remote"
        if address.is_loopback:
            return "loopback"
        return "lan" if self.in_home(address) else "remote"

    def in_home(self, address: IpAddress) -> bool:
        """Inside an attached subnet or one the owner listed (loopback is not a subnet here)."""
        return any(
            address.version == network.version and address in network and not network.is_loopback
            for network in self.networks()
        )

    def same_subnet(self, sender: IpAddress, other: IpAddress) -> bool:
        """Whether `other` is inside the attached (or listed) subnet that `sender` is in: a
        device may point us at addresses on its own network, never elsewhere."""
        return any(
            sender in network and other in network
            for network in self.networks()
            if sender.version == network.version == other.version and not network.is_loopback
        )
