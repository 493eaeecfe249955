"""Three private network namespaces for the relay: home, relay and phone, joined by veth pairs.

    home 198.18.7.2 --- 198.18.7.1 relay 100.64.7.1 --- 100.64.7.2 phone

The relay does not forward between its two links, so home and phone reach only the relay, as
behind two NATs; `route_directly` opens the path for a benchmark's direct reference. Nothing
here reaches a real interface. Processes started through `Topology.start` are ended (by their
process group, which they lead) before the namespaces are deleted. Names start with
$HEARTH_NETNS_PREFIX (default `hr1`). Needs root and `ip`.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from tests.netns import NetNs

HOME, RELAY_HOME_SIDE = "198.18.7.2", "198.18.7.1"
PHONE, RELAY_PHONE_SIDE = "100.64.7.2", "100.64.7.1"
_COUNTER = itertools.count()


@dataclass
class Topology:
    home: NetNs
    relay: NetNs
    phone: NetNs
    started: list[subprocess.Popen[str]] = field(default_factory=list)

    def start(
        self, ns: NetNs, args: list[str], log: Path | None = None, cwd: Path | None = None
    ) -> subprocess.Popen[str]:
        """A background process in ns, leading its own process group; stderr to log."""
        with open(log or os.devnull, "a") as err:  # the child keeps its own copy
            process = subprocess.Popen(
                [*ns.prefix, *args],
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
                start_new_session=True,
                cwd=cwd,
            )
        self.started.append(process)
        return process

    def stop(self, process: subprocess.Popen[str], sig: int = signal.SIGTERM) -> None:
        """End a process started here, and the group it leads (a shell loop's children)."""
        if process.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, sig)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        if process.stdout:
            process.stdout.close()


def _run(ns: NetNs, *args: str) -> None:
    subprocess.run([*ns.prefix, *args], check=True, capture_output=True, timeout=10)


@contextmanager
def three_namespaces() -> Iterator[Topology]:
    stem = f"{os.environ.get('HEARTH_NETNS_PREFIX', 'hr1')}-{os.getpid()}-{next(_COUNTER)}"
    names = [f"{stem}-{role}" for role in ("home", "relay", "phone")]
    made: list[str] = []
    try:
        for name in names:
            subprocess.run(["ip", "netns", "add", name], check=True, capture_output=True)
            made.append(name)
        topology = Topology(NetNs(names[0]), NetNs(names[1]), NetNs(names[2]))
        home, relay, phone = topology.home, topology.relay, topology.phone
        for ns in (home, relay, phone):
            _run(ns, "ip", "link", "set", "lo", "up")
        # each pair is made inside one namespace with its far end placed in the other, so no
        # interface ever appears in the machine's own namespace
        _run(
            home,
            "ip",
            "link",
            "add",
            "hv0",
            "type",
            "veth",
            "peer",
            "name",
            "rv0",
            "netns",
            relay.name,
        )
        _run(
            phone,
            "ip",
            "link",
            "add",
            "pv0",
            "type",
            "veth",
            "peer",
            "name",
            "rv1",
            "netns",
            relay.name,
        )
        for ns, device, address in (
            (home, "hv0", f"{HOME}/24"),
            (relay, "rv0", f"{RELAY_HOME_SIDE}/24"),
            (relay, "rv1", f"{RELAY_PHONE_SIDE}/24"),
            (phone, "pv0", f"{PHONE}/24"),
        ):
            _run(ns, "ip", "addr", "add", address, "dev", device)
            _run(ns, "ip", "link", "set", device, "up")
        _run(relay, "sysctl", "-qw", "net.ipv4.ip_forward=0")
        try:
            yield topology
        finally:
            for process in reversed(topology.started):
                topology.stop(process)
    finally:
        for name in made:
            subprocess.run(["ip", "netns", "delete", name], capture_output=True, timeout=10)


def route_directly(topology: Topology) -> None:
    """Let phone and home reach each other through the relay namespace's kernel (no relay
    software on the path): the benchmark's 'direct' reference."""
    _run(topology.relay, "sysctl", "-qw", "net.ipv4.ip_forward=1")
    _run(topology.home, "ip", "route", "add", f"{PHONE}/32", "via", RELAY_HOME_SIDE)
    _run(topology.phone, "ip", "route", "add", f"{HOME}/32", "via", RELAY_PHONE_SIDE)
