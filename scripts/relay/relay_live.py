"""The running relay: HAProxy's runtime socket, the sshd sessions of boxes, Debian packages.

Standard library only. It changes HAProxy's map in memory, ends the sshd session process that
holds a box's loopback port, and installs packages; it never writes the relay's files
(relay_files.py does) and never ends a process that is not an sshd holding that port.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from relay_files import RelayError

LISTEN = "0A"  # TCP state in /proc/net/tcp


class HaproxyRuntime:
    """HAProxy's stats socket at level admin: one command per connection."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def running(self) -> bool:
        try:
            self.command("show info")
        except OSError:
            return False
        return True

    def command(self, line: str) -> str:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(5)
            conn.connect(str(self.path))
            conn.sendall(line.encode() + b"\n")
            chunks = []
            while chunk := conn.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode(errors="replace").strip()

    def set_route(self, map_file: Path, key: str, value: str) -> None:
        """key -> value in the live map, whether or not key was there."""
        found = self.command(f"get map {map_file} {key}")
        if "found=yes" in found:
            if f'value="{value}"' not in found:
                self._expect_empty(f"set map {map_file} {key} {value}")
        else:
            self._expect_empty(f"add map {map_file} {key} {value}")

    def remove_route(self, map_file: Path, key: str) -> None:
        answer = self.command(f"del map {map_file} {key}")
        if answer and "not found" not in answer.lower():
            raise RelayError(f"haproxy refused to remove {key}: {answer}")

    def _expect_empty(self, line: str) -> None:
        answer = self.command(line)
        if answer:
            raise RelayError(f"haproxy refused {line.split(maxsplit=1)[0]} map: {answer}")


def listening_ports() -> set[int]:
    """Ports something listens on in this network namespace (IPv4 and IPv6)."""
    return {port for port, _ in _listeners()}


def _listeners() -> list[tuple[int, str]]:
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == LISTEN:
                found.append((int(fields[1].rsplit(":", 1)[1], 16), fields[9]))
    return found


def holders_of_port(port: int) -> list[int]:
    """PIDs of the sshd processes with a socket listening on port (a box's session)."""
    inodes = {f"socket:[{inode}]" for p, inode in _listeners() if p == port}
    holders = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != "sshd":
                continue
            for fd in (entry / "fd").iterdir():
                if os.readlink(fd) in inodes:
                    holders.append(int(entry.name))
                    break
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return holders


def end_processes(pids: list[int], grace: float = 5.0) -> None:
    """SIGTERM, then SIGKILL for whatever is still there after grace seconds."""
    for pid in pids:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while pids and time.monotonic() < deadline:
        pids = [pid for pid in pids if _alive(pid)]
        time.sleep(0.05)
    for pid in pids:
        _signal(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    """Running, not a zombie waiting for a parent (that may never reap it) to reap it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def descendants(pid: int) -> list[int]:
    """Children, grandchildren... of pid: the sshd sessions a listening sshd forked."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(entry.name))
    found, pending = [], [pid]
    while pending:
        children = parents.get(pending.pop(), [])
        found.extend(children)
        pending.extend(children)
    return found


def _signal(pid: int, number: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, number)


def wait_listening(
    ports: set[int], children: dict[str, subprocess.Popen[bytes]], timeout: float
) -> None:
    """Return once every port listens; fail if a child exits or timeout passes first."""
    deadline = time.monotonic() + timeout
    while not ports <= listening_ports():
        for name, process in children.items():
            if process.poll() is not None:
                raise RelayError(f"{name} exited with {process.returncode} at start")
        if time.monotonic() > deadline:
            missing = sorted(ports - listening_ports())
            raise RelayError(f"nothing listens on port(s) {missing} after {timeout:.0f} s")
        time.sleep(0.05)


def install_packages(packages: dict[str, str]) -> None:
    """Install the Debian packages whose command is missing (command -> package); root only.

    The packages' own services (the system sshd, a stock haproxy) are not started by the
    install: policy-rc.d refuses while it runs, as scripts/bootstrap.sh does. The relay's
    instance is started by `run` or its systemd unit.
    """
    missing = [pkg for command, pkg in packages.items() if not shutil.which(command)]
    if not missing:
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        names = " ".join(missing)
        raise RelayError(f"missing {names}; as root, install them with: apt-get install {names}")
    guard = Path("/usr/sbin/policy-rc.d")
    made = not guard.exists()
    if made:
        guard.write_text("#!/bin/sh\nexit 101\n")
        guard.chmod(0o755)
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        print(f"hearth-relay: installing {' '.join(missing)} with apt-get", flush=True)
        subprocess.run(["apt-get", "update", "-q"], check=True, env=environment)
        subprocess.run(
            ["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing],
            check=True,
            env=environment,
        )
    finally:
        if made:
            guard.unlink()
