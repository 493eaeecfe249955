"""The real box for the relay benchmark: Hearth in the home namespace with the `relay:` block.

Why: the relay issue's goals are for the box's own tunnel (the relay plugin: OpenSSH's `ssh -R`
as Hearth's child process, forwarding to the plugin's Unix socket, where the relay's PROXY
header is read and the socket handed to Hearth's HTTPS server) against a plain OpenSSH
`ssh -R` on the same namespaces. This module
gives bench/relay.py that box as an origin: Hearth's own HTTPS, a session token, and the same
200 MB file as the other cases, streamed byte for byte through /api/items/{id}/stream (a WAV
header over random bytes, so the library takes it as a track and nothing compresses it).
Cases: `Hearth direct` (the phone routed to Hearth's HTTPS port, no relay software on the
path) and `Hearth relay plugin` (phone -> relay's HAProxy -> sshd -> the plugin -> Hearth).

Also the box's idle cost: keepalive bytes on the relay's home link while only Hearth's link is
up (scaled to an hour), and the memory the plugin adds (Hearth's RSS with and without the
block, both idle, the second once the link is up).

It starts Hearth only inside the bench's home namespace, with mDNS and SSDP off.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import statistics
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from core.catalog import Catalog
from core.people.accounts import create_session_blocking, create_user_blocking
from core.relay_identity import identity_blocking
from tests.plugins.relay.relay_ns import visit
from tests.relay.topology import RELAY_HOME_SIDE
from tests.relay.world import DOMAIN, ROOT, RelayWorld, script

NAME = "hearth"
PUBLIC = f"{NAME}.{DOMAIN}"
# the name a plain `ssh -R` to Hearth's HTTPS port is reached by (bench/relay.py), as any
# owner would list a name of their own under hearth: http: hosts:
PLAIN = f"plain.{DOMAIN}"
HTTP_PORT, HTTPS_PORT = 18500, 18501
FILE = "big.wav"


def write_wav(path: Path, data: Path) -> None:
    """A 16-bit stereo 48 kHz WAV whose samples are `data`'s bytes (random: incompressible)."""
    size = data.stat().st_size
    header = (
        b"RIFF"
        + struct.pack("<I", 36 + size)
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, 2, 48000, 48000 * 4, 4, 16)
        + b"data"
        + struct.pack("<I", size)
    )
    with open(path, "wb") as out, open(data, "rb") as source:
        out.write(header)
        while chunk := source.read(1 << 20):
            out.write(chunk)


@dataclass
class HearthBox:
    """A Hearth data folder and config in the bench's work folder, enrolled on the relay."""

    world: RelayWorld
    folder: Path
    library: Path
    token: str = ""
    block: str = ""
    item: str = ""
    process: subprocess.Popen[str] | None = None

    def prepare(self) -> None:
        """An owner session, the box's key enrolled as NAME (its block as enrol printed it),
        and the relay's name in the home namespace's hosts file."""
        data = self.folder / "data"
        self.token = asyncio.run(make_owner(data))
        key = identity_blocking(data).public_key
        topology = self.world.topology
        enrolled = script("enrol", NAME, key, "--root", str(self.world.root), ns=topology.relay)
        if enrolled.returncode != 0:
            raise RuntimeError(enrolled.stderr)
        self.block = enrolled.stdout[enrolled.stdout.index("\nrelay:\n") + 1 :]
        hosts = Path("/etc/netns") / topology.home.name
        hosts.mkdir(parents=True, exist_ok=True)
        (hosts / "hosts").write_text(f"127.0.0.1 localhost\n{RELAY_HOME_SIDE} {DOMAIN}\n")

    def forget(self) -> None:
        hosts = Path("/etc/netns") / self.world.topology.home.name
        (hosts / "hosts").unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            hosts.rmdir()

    def config(self, relay: bool) -> Path:
        text = (
            f"hearth:\n  data_dir: {self.folder / 'data'}\n"
            f"  http: {{host: 0.0.0.0, port: {HTTP_PORT}, https_port: {HTTPS_PORT}, "
            f"hosts: [{PLAIN}]}}\n"
            f"  network: {{mdns: false}}\n  egress: {{relay: [{DOMAIN}]}}\n"
            "dlna: {ssdp: false}\n"
            f"folders:\n  watch: false\n  libraries:\n"
            f"    - {{name: Music, kind: music, paths: ['{self.library}']}}\n"
        )
        folder = self.folder / "config"
        folder.mkdir(exist_ok=True)
        (folder / "configuration.yaml").write_text(text + (self.block if relay else ""))
        return folder

    def start(self, relay: bool) -> int:
        """Hearth running, its library scanned and (with the block) its link up; its PID."""
        topology = self.world.topology
        self.process = topology.start(
            topology.home,
            [sys.executable, "-m", "core", "run", "--allow-root", "-c", str(self.config(relay))],
            log=self.folder / "hearth.log",
            cwd=ROOT,
        )
        self.until("/api/items?kind=track", "total", 1)
        if relay:
            self.until("/api/health", "plugins.relay.detail.state", "connected")
        items = self.home("get", "/api/items?kind=track", self.token)
        self.item = items["body"]["items"][0]["id"]
        return self.process.pid

    def stop(self) -> None:
        if self.process is not None:
            self.world.topology.stop(self.process)
            self.process = None

    def home(self, step: str, *args: Any) -> dict[str, Any]:
        spec = {"step": step, "args": list(args), "base": f"http://127.0.0.1:{HTTP_PORT}"}
        return visit(self.world.topology.home.prefix, spec)

    def until(self, path: str, key: str, wanted: Any) -> None:
        found = self.home("until", path, self.token, key, wanted, 60)
        if "body" not in found:
            log = (self.folder / "hearth.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"Hearth: {found}\n{log}")


async def make_owner(data_dir: Path) -> str:
    """An owner account and a session token for it, made straight in the catalog."""
    catalog = await Catalog.open(data_dir)
    try:

        def create(db: Any) -> str:
            user = create_user_blocking(db, "owner", "owner", secrets.token_urlsafe(), None, None)
            return create_session_blocking(db, user, "session", "bench", None, None).token

        token: str = await catalog.write(create)
        return token
    finally:
        await catalog.close()


def link_pids(hearth: int) -> list[int]:
    """Hearth's relay link: its child `ssh` processes (one while the link is up)."""
    return [child.pid for child in psutil.Process(hearth).children() if child.name() == "ssh"]


def rss_kib(pid: int) -> float:
    """Resident memory of Hearth and its link's ssh, the median of a few reads a second
    apart (the allocator settles)."""
    reads = []
    for _ in range(5):
        pids = [pid, *link_pids(pid)]
        reads.append(sum(psutil.Process(p).memory_info().rss for p in pids) / 1024)
        time.sleep(1)
    return statistics.median(reads)


def idle_cost(
    box: HearthBox, seconds: float, link_bytes: Callable[[], int], relay_pss: Callable[[], int]
) -> dict[str, float]:
    """What a connected, idle Hearth box costs: keepalive bytes per hour on the relay's home
    link (only this box's link up), Hearth's memory with the plugin against without, and
    the relay's memory for the box's session."""
    without = rss_kib(box.start(relay=False))
    box.stop()
    before = relay_pss()
    pid = box.start(relay=True)
    try:
        with_plugin = rss_kib(pid)
        session = relay_pss() - before
        start_bytes, start = link_bytes(), time.monotonic()
        time.sleep(seconds)
        carried = (link_bytes() - start_bytes) / (time.monotonic() - start) * 3600
    finally:
        box.stop()
    return {
        "Hearth keepalive bytes per hour": carried,
        "Hearth RSS without relay KiB": without,
        "Hearth RSS added by the relay plugin KiB": with_plugin - without,
        "relay PSS for the Hearth box KiB": session,
    }
