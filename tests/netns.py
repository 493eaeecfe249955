"""Private network namespaces for tests that need multicast (mDNS, SSDP).

Inside a namespace nothing can reach a real interface of the machine: only its own loopback
(with multicast routed to it) and a veth pair whose both ends stay inside, addressed from the
benchmark range 198.18.0.0/15 so servers have a non-loopback "LAN" address. Needs root and `ip`.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

_COUNTER = itertools.count()
LAN_ADDRESS = "198.18.0.1"
PEER_ADDRESS = "198.18.0.2"


def unavailable_reason() -> str | None:
    """Why namespaces cannot be made here, or None when they can."""
    if os.geteuid() != 0:
        return "network namespaces need root; using unicast on loopback instead"
    if shutil.which("ip") is None:
        return "the `ip` command (iproute2) is not installed"
    return None


@dataclass(frozen=True)
class NetNs:
    """A namespace's name and the prefix that runs a command inside it."""

    name: str

    @property
    def prefix(self) -> list[str]:
        return ["ip", "netns", "exec", self.name]

    def run(self, *args: str) -> None:
        subprocess.run([*self.prefix, *args], check=True, capture_output=True, timeout=10)


@contextmanager
def network_namespace(prefix: str = "hearth-t") -> Iterator[NetNs]:
    """A fresh namespace with lo (multicast on) and an internal veth pair; deleted afterwards.
    `prefix` starts its name (a bench run beside others names its own)."""
    name = f"{prefix}{os.getpid()}-{next(_COUNTER)}"
    subprocess.run(["ip", "netns", "add", name], check=True, capture_output=True, timeout=10)
    ns = NetNs(name)
    try:
        ns.run("ip", "link", "set", "lo", "up")
        ns.run("ip", "link", "set", "lo", "multicast", "on")
        ns.run("ip", "link", "add", "hv0", "type", "veth", "peer", "name", "hv1")
        ns.run("ip", "addr", "add", f"{LAN_ADDRESS}/24", "dev", "hv0")
        ns.run("ip", "addr", "add", f"{PEER_ADDRESS}/24", "dev", "hv1")
        ns.run("ip", "link", "set", "hv0", "up")
        ns.run("ip", "link", "set", "hv1", "up")
        ns.run("ip", "route", "add", "224.0.0.0/4", "dev", "hv0")
        yield ns
    finally:
        subprocess.run(["ip", "netns", "delete", name], capture_output=True, timeout=10)
