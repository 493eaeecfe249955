"""A relay, a box and a phone in three namespaces, driven as an operator and a box would.

The relay is scripts/relay/setup --root + run (real sshd and HAProxy) in the relay namespace;
the box is plain OpenSSH `ssh -N -R` with its enrolled key, in the home namespace, forwarding to
a small TLS server there (tests/relay/peers.py) whose certificate is for NAME.DOMAIN; the phone
is peers.py in the phone namespace. Used by tests/relay and bench/relay.py.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests import netns
from tests.relay.topology import RELAY_HOME_SIDE, RELAY_PHONE_SIDE, Topology

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts" / "relay"
DOMAIN = "relay.hearth.test"
SSH_PORT, HTTPS_PORT, HOME_TLS_PORT = 2222, 443, 8443
PEERS = "tests.relay.peers"
NEEDED = {"/usr/sbin/sshd": "openssh-server", "haproxy": "haproxy", "tcpdump": "tcpdump"}


def unavailable_reason() -> str | None:
    reason = netns.unavailable_reason()
    if reason:
        return reason
    missing = [pkg for command, pkg in NEEDED.items() if not shutil.which(command)]
    if missing:
        return f"{' '.join(missing)} not installed (scripts/test installs them with apt-get)"
    return None


def script(
    name: str, *args: str, ns: netns.NetNs | None = None
) -> subprocess.CompletedProcess[str]:
    """One of scripts/relay/*, as an operator runs it (its own python3, no Hearth)."""
    prefix = ns.prefix if ns else []
    return subprocess.run(
        [*prefix, str(SCRIPTS / name), *args], capture_output=True, text=True, timeout=60
    )


def relay_block(text: str) -> dict[str, str]:
    """The `relay:` block enrol prints, as key -> value (comments dropped)."""
    block = text.split("relay:\n", 1)[1]
    pairs = (line.split("#")[0].strip().split(": ", 1) for line in block.splitlines())
    return {key: value.strip('"') for key, value in pairs}


@dataclass(frozen=True)
class HomeCertificate:
    cert: Path
    key: Path
    sha256: str


def make_certificate(folder: Path, name: str) -> HomeCertificate:
    """A self-signed EC P-256 certificate for name, as a box has before ACME."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    paths = HomeCertificate(folder / "home.crt", folder / "home.key", "")
    paths.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    der = cert.public_bytes(serialization.Encoding.DER)
    return HomeCertificate(paths.cert, paths.key, hashlib.sha256(der).hexdigest())


class RelayWorld:
    """The three namespaces with a relay set up in `folder / "relay"` (not yet running)."""

    def __init__(self, topology: Topology, folder: Path) -> None:
        self.topology, self.folder = topology, folder
        self.root = folder / "relay"
        done = script("setup", "--root", str(self.root), "--domain", DOMAIN, ns=topology.relay)
        assert done.returncode == 0, done.stderr
        self.setup_output = done.stdout
        self.user = json.loads((self.root / "relay.json").read_text())["user"]
        host_key = (self.root / "ssh_host_ed25519_key.pub").read_text().split()[:2]
        self.known_hosts = folder / "known_hosts"
        self.known_hosts.write_text(f"[{RELAY_HOME_SIDE}]:{SSH_PORT} {' '.join(host_key)}\n")

    # --- the relay ---------------------------------------------------------------------------

    def start_relay(self) -> subprocess.Popen[str]:
        process = self.topology.start(
            self.topology.relay,
            [str(SCRIPTS / "run"), "--root", str(self.root)],
            log=self.folder / "relay.log",
        )
        assert process.stdout is not None
        line = process.stdout.readline()
        assert "ready" in line, (self.folder / "relay.log").read_text()
        return process

    def enrol(self, name: str, public_key: Path) -> dict[str, str]:
        done = script(
            "enrol", name, str(public_key), "--root", str(self.root), ns=self.topology.relay
        )
        assert done.returncode == 0, done.stderr
        return relay_block(done.stdout)

    def revoke(self, name: str) -> str:
        done = script("revoke", name, "--root", str(self.root), ns=self.topology.relay)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def listening(self, port: int) -> bool:
        tables = subprocess.run(
            [*self.topology.relay.prefix, "cat", "/proc/net/tcp"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return any(
            fields[3] == "0A" and fields[1] == f"0100007F:{port:04X}"
            for fields in (line.split() for line in tables.splitlines()[1:])
        )

    def wait_listening(self, port: int, process: subprocess.Popen[str], seconds: float) -> None:
        """Until the box's forward listens on the relay (the tunnel is up)."""
        deadline = time.monotonic() + seconds
        while not self.listening(port):
            assert process.poll() is None, (self.folder / "box.log").read_text()
            assert time.monotonic() < deadline, f"no tunnel on port {port} within {seconds} s"
            time.sleep(0.05)

    # --- the box -----------------------------------------------------------------------------

    def box_key(self, name: str) -> Path:
        key = self.folder / f"{name}_ed25519"
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"box {name}", "-f", str(key)],
            check=True,
        )
        return key

    def ssh(self, key: Path, *options: str, command: tuple[str, ...] = ()) -> list[str]:
        """OpenSSH as a box runs it: its own key only, the relay's host key pinned."""
        return [
            "ssh", "-F", "/dev/null", "-i", str(key), "-o", "IdentitiesOnly=yes",
            "-o", f"UserKnownHostsFile={self.known_hosts}", "-o", "StrictHostKeyChecking=yes",
            "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", "-p", str(SSH_PORT),
            *options, f"{self.user}@{RELAY_HOME_SIDE}", *command,
        ]  # fmt: skip

    def start_tunnel(
        self,
        key: Path,
        port: int,
        *,
        loop: bool = False,
        target: int = HOME_TLS_PORT,
        options: tuple[str, ...] = ("-o", "ServerAliveInterval=2", "-o", "ServerAliveCountMax=3"),
    ) -> subprocess.Popen[str]:
        """Plain OpenSSH as the box: `ssh -N -R 127.0.0.1:PORT:127.0.0.1:TARGET`, up on return."""
        forward = ["-N", "-o", "ExitOnForwardFailure=yes", *options,
                   "-R", f"127.0.0.1:{port}:127.0.0.1:{target}"]  # fmt: skip
        command = self.ssh(key, *forward)
        if loop:  # what a box's supervisor does: dial again whenever ssh ends
            quoted = " ".join(f"'{part}'" for part in command)
            command = ["sh", "-c", f"while :; do {quoted}; sleep 0.3; done"]
        process = self.topology.start(self.topology.home, command, log=self.folder / "box.log")
        self.wait_listening(port, process, 20)
        return process

    def start_home(self, certificate: HomeCertificate, *extra: str) -> subprocess.Popen[str]:
        process = self.topology.start(
            self.topology.home,
            [sys.executable, "-m", PEERS, "home", str(certificate.cert), str(certificate.key),
             str(HOME_TLS_PORT), *extra],
            log=self.folder / "home.log",
            cwd=ROOT,
        )  # fmt: skip
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready"
        return process

    # --- the phone ---------------------------------------------------------------------------

    def phone_args(self, role: str, sni: str, *extra: str) -> list[str]:
        return [sys.executable, "-m", PEERS, role, RELAY_PHONE_SIDE, str(HTTPS_PORT), sni, *extra]

    def phone(self, role: str, sni: str, *extra: str) -> dict[str, Any]:
        done = subprocess.run(
            [*self.topology.phone.prefix, *self.phone_args(role, sni, *extra)],
            capture_output=True, text=True, timeout=60, cwd=ROOT, check=True,
        )  # fmt: skip
        result: dict[str, Any] = json.loads(done.stdout.splitlines()[0])
        return result
