"""A home and a relay, as two network namespaces joined by a veth pair, for the relay tests.

The relay namespace runs a real OpenSSH sshd configured the way a relay is (key-only,
`AllowTcpForwarding remote`, no shell, pty, agent or X11; the box's key in authorized_keys with
`restrict,port-forwarding,permitlisten="127.0.0.1:PORT"`) and a real HAProxy in front of the
forwarded port that starts each connection with a PROXY v2 header (`send-proxy-v2`), as the
relay's does; written here so the tests do not depend on scripts/relay. The home namespace
runs Hearth, reaches only the relay (198.18.7.2, by the name `relay.test` from the namespace's
own /etc/netns hosts file), and the phone runs in the relay namespace, connecting to HAProxy
on loopback (`PHONE_PORT`). Needs root, `ip`, sshd and haproxy.
Namespace names start with $HEARTH_NETNS_PREFIX (default `hearth-t`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[3]
SSHD = Path("/usr/sbin/sshd")
HOME_ADDRESS, RELAY_ADDRESS = "198.18.7.1", "198.18.7.2"
RELAY_NAME, SSH_PORT = "relay.test", 2222
PHONE_PORT = 18444  # HAProxy, in front of the box's forwarded port


def unavailable_reason() -> str | None:
    if os.geteuid() != 0:
        return "the relay tests need root for network namespaces"
    if shutil.which("ip") is None:
        return "the `ip` command (iproute2) is not installed"
    if not SSHD.exists() or shutil.which("ssh-keygen") is None:
        return "OpenSSH's sshd is not installed (Debian: openssh-server)"
    if shutil.which("haproxy") is None:
        return "HAProxy is not installed (Debian: haproxy)"
    return None


@dataclass(frozen=True)
class Namespaces:
    home: str
    relay: str

    def prefix(self, name: str) -> list[str]:
        return ["ip", "netns", "exec", name]


@contextmanager
def home_and_relay() -> Iterator[Namespaces]:
    """Two fresh namespaces and a veth pair between them; deleted afterwards."""
    stem = f"{os.environ.get('HEARTH_NETNS_PREFIX', 'hearth-t')}-{os.getpid()}"
    spaces = Namespaces(f"{stem}-home", f"{stem}-relay")
    hosts = Path("/etc/netns") / spaces.home
    try:
        for name in (spaces.home, spaces.relay):
            _ip("netns", "add", name)
            _ip("netns", "exec", name, "ip", "link", "set", "lo", "up")
        _ip(
            "netns",
            "exec",
            spaces.home,
            "ip",
            "link",
            "add",
            "h0",
            "type",
            "veth",
            "peer",
            "name",
            "r0",
            "netns",
            spaces.relay,
        )
        for name, link, address in (
            (spaces.home, "h0", HOME_ADDRESS),
            (spaces.relay, "r0", RELAY_ADDRESS),
        ):
            _ip("netns", "exec", name, "ip", "addr", "add", f"{address}/24", "dev", link)
            _ip("netns", "exec", name, "ip", "link", "set", link, "up")
        hosts.mkdir(parents=True, exist_ok=True)  # `ip netns exec` mounts it over /etc/hosts
        (hosts / "hosts").write_text(f"127.0.0.1 localhost\n{RELAY_ADDRESS} {RELAY_NAME}\n")
        yield spaces
    finally:
        for name in (spaces.home, spaces.relay):
            subprocess.run(["ip", "netns", "delete", name], capture_output=True, timeout=10)
        shutil.rmtree(hosts, ignore_errors=True)


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


def host_key_pair(folder: Path, name: str) -> str:
    """A new ed25519 key pair in `folder`; returns the public line (type and data)."""
    path = folder / name
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "", "-f", str(path)],
        check=True,
        capture_output=True,
    )
    return " ".join(path.with_suffix(".pub").read_text().split()[:2])


class Relay:
    """The relay's sshd in its namespace; restartable the way an operator restarts it."""

    def __init__(self, spaces: Namespaces, folder: Path, box_key: str, port: int) -> None:
        self.spaces = spaces
        self.port = port
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.host_key = host_key_pair(folder, "host_key")
        user = psutil.Process().username()
        (folder / "authorized_keys").write_text(
            f'restrict,port-forwarding,permitlisten="127.0.0.1:{port}" {box_key}\n'
        )
        (folder / "sshd_config").write_text(
            textwrap.dedent(
                f"""\
                Port {SSH_PORT}
                ListenAddress {RELAY_ADDRESS}
                HostKey {folder / "host_key"}
                PidFile none
                AuthorizedKeysFile {folder / "authorized_keys"}
                StrictModes no
                UsePAM no
                AllowUsers {user}
                PermitRootLogin prohibit-password
                PubkeyAuthentication yes
                PasswordAuthentication no
                KbdInteractiveAuthentication no
                AllowTcpForwarding remote
                AllowStreamLocalForwarding no
                GatewayPorts no
                AllowAgentForwarding no
                X11Forwarding no
                PermitTTY no
                PermitTunnel no
                PermitUserRC no
                ForceCommand /bin/false
                ClientAliveInterval 10
                ClientAliveCountMax 3
                LogLevel VERBOSE
                """
            )
        )
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation
        self.user = user
        self.process: subprocess.Popen[bytes] | None = None
        self.haproxy: subprocess.Popen[bytes] | None = None
        self.log = folder / "sshd.log"

    def start_haproxy(self) -> None:
        """HAProxy passing phones' connections to the forwarded port, each after a PROXY v2
        header naming the phone (the relay's own is scripts/relay/relay_configs.py)."""
        config = self.folder / "haproxy.cfg"
        config.write_text(
            textwrap.dedent(
                f"""\
                defaults
                    mode tcp
                    timeout connect 5s
                    timeout client 1m
                    timeout server 1m
                frontend phones
                    bind 127.0.0.1:{PHONE_PORT}
                    default_backend box
                backend box
                    server box 127.0.0.1:{self.port} send-proxy-v2
                """
            )
        )
        with (self.folder / "haproxy.log").open("ab") as log:
            self.haproxy = subprocess.Popen(
                [*self.spaces.prefix(self.spaces.relay), "haproxy", "-db", "-f", str(config)],
                stdout=log,
                stderr=log,
            )

    def stop_haproxy(self) -> None:
        if self.haproxy is not None:
            self.haproxy.terminate()
            self.haproxy.wait(timeout=10)
            self.haproxy = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    *self.spaces.prefix(self.spaces.relay),
                    str(SSHD),
                    "-D",
                    "-e",
                    "-f",
                    str(self.folder / "sshd_config"),
                ],
                stdout=log,
                stderr=log,
            )

    def stop(self) -> None:
        """The listener and every session it started (a restart that drops the tunnels)."""
        if self.process is None:
            return
        try:
            sessions = psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            sessions = []
        self.process.terminate()
        for session in sessions:
            with suppress(psutil.NoSuchProcess):
                session.terminate()
        self.process.wait(timeout=10)
        psutil.wait_procs(sessions, timeout=10)
        self.process = None


class Box:
    """A Hearth server in the home namespace, run from a config folder."""

    def __init__(self, spaces: Namespaces, config: Path) -> None:
        self.spaces = spaces
        self.config = config
        self.log = config / "hearth.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    *self.spaces.prefix(self.spaces.home),
                    sys.executable,
                    "-m",
                    "core",
                    "run",
                    "-c",
                    str(self.config),
                ],
                stdout=log,
                stderr=log,
                cwd=ROOT,
            )

    def command(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`hearth ARGS -c CONFIG` in the home namespace."""
        return subprocess.run(
            [
                *self.spaces.prefix(self.spaces.home),
                sys.executable,
                "-m",
                "core",
                *args,
                "-c",
                str(self.config),
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
        )

    def stop(self) -> str:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.log.read_text(errors="replace")


def visit(namespace: list[str], spec: dict[str, Any], timeout: float = 60) -> dict[str, Any]:
    """Run one phone step (tests/plugins/relay/phone.py) in a namespace; its JSON findings."""
    done = subprocess.run(
        [*namespace, sys.executable, "-m", "tests.plugins.relay.phone", json.dumps(spec)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise AssertionError(f"phone step {spec['step']} failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result
