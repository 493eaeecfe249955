"""Running a Hearth server and a peer script together inside a private network namespace.

The peer (peers.py) plays the TVs, the strangers and the person at the remote; it writes
`ready` when it listens, then drives the server's API and writes its findings to
`result.json`. The server runs with every name lookup it makes written to a file
(`socket.getaddrinfo` wrapped), and `trap.test` resolving to 127.0.0.1, so a test can prove
that no DNS query was made for a name a stranger sent, and what would happen if it were.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.catalog import Catalog
from core.people.accounts import create_session_blocking, create_user_blocking
from tests import netns
from tests.conftest import PASSWORD

STRANGER = "100.64.0.2"
PEERS = (
    "tests.plugins.dlna_renderer.peers"  # outside the home subnet: a VPN peer, a carrier-grade NAT
)

# The server, with its name lookups recorded: argv = lookups file, config folder.
SERVER = textwrap.dedent(
    """
    import runpy, socket, sys
    LOOKUPS, CONFIG = sys.argv[1:3]
    real = socket.getaddrinfo

    def recorded(host, *args, **kwargs):
        with open(LOOKUPS, "a") as out:
            out.write(f"{host}\\n")
        return real("127.0.0.1" if host == "trap.test" else host, *args, **kwargs)

    socket.getaddrinfo = recorded
    sys.argv = ["hearth", "run", "-c", CONFIG]
    runpy.run_module("core", run_name="__main__", alter_sys=True)
    """
)


async def owner_token(data_dir: Path) -> str:
    """An owner and a session in a fresh catalog, made before the server opens it."""
    catalog = await Catalog.open(data_dir)
    try:

        def create(db: object) -> str:
            user = create_user_blocking(db, "owner", "owner", PASSWORD, None, None)  # type: ignore[arg-type]
            return create_session_blocking(db, user, "session", "tests", None, None).token  # type: ignore[arg-type]

        token: str = await catalog.write(create)
        return token
    finally:
        await catalog.close()


def wait_for(path: Path, seconds: float, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        if process.poll() is not None:
            raise AssertionError(f"the peer ended early: {process.communicate()[1]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{path.name} did not appear within {seconds} s")
        time.sleep(0.05)


def add_tv_and_stranger(ns: netns.NetNs) -> None:
    """Make the veth's far end (PEER_ADDRESS) a second host of the home subnet, and give it a
    stranger's address outside it: both ends live in one namespace, so each must accept
    datagrams from the other's (local) address; multicast then crosses the pair as on a LAN."""
    for device in ("hv0", "hv1"):
        ns.run("sysctl", "-qw", f"net.ipv4.conf.{device}.accept_local=1")
    ns.run("ip", "addr", "add", f"{STRANGER}/10", "dev", "hv1")


@dataclass(frozen=True)
class Outcome:
    """What the peer found, what the server logged, and the names the server looked up."""

    result: dict[str, Any]
    log: str
    lookups: list[str]


def run_with_peer(
    ns: netns.NetNs,
    out: Path,
    config: Path,
    peer: str,
    arguments: list[str],
    seconds: float = 60,
    module: str = PEERS,
) -> Outcome:
    """Start the peer (a name in peers.py, or in another `module` run as `-m module NAME`), then
    the server once the peer is ready; stop the server when the peer is done (it must end with
    status 0 and a `result.json`)."""
    lookups = out / "lookups.txt"
    lookups.touch()
    process = subprocess.Popen(
        [*ns.prefix, sys.executable, "-m", module, peer, str(out), *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    server: subprocess.Popen[str] | None = None
    try:
        wait_for(out / "ready", 20, process)
        server = subprocess.Popen(
            [*ns.prefix, sys.executable, "-c", SERVER, str(lookups), str(config)],
            stderr=subprocess.PIPE,
            text=True,
        )
        _, peer_log = process.communicate(timeout=seconds)
        server.terminate()
        _, log = server.communicate(timeout=15)
        (out / "server.log").write_text(log)  # kept for a failing test's reader
        assert process.returncode == 0, f"{peer_log}\n--- server:\n{log}"
        assert server.returncode == 0, log
    finally:
        for each in (server, process):
            if each is not None and each.poll() is None:
                each.kill()
                each.communicate()
    result = json.loads((out / "result.json").read_text())
    return Outcome(result, log, lookups.read_text().split())
