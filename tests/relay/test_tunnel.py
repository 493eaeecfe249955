"""The relay end to end, in three namespaces: a phone reaches the home's TLS server by name
through real HAProxy and sshd, TLS ends at home, and the relay carries only ciphertext; an
enrolled key can do nothing but listen on its own port; revoke cuts a box off at once; a box
that dials again comes back after the relay restarts. Needs root, openssh-server, haproxy and
tcpdump (scripts/test installs them)."""

from __future__ import annotations

import secrets
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.relay.topology import PHONE, three_namespaces
from tests.relay.world import (
    DOMAIN,
    HOME_TLS_PORT,
    HTTPS_PORT,
    ROOT,
    SSH_PORT,
    RelayWorld,
    make_certificate,
    unavailable_reason,
)

MISSING = unavailable_reason()
pytestmark = pytest.mark.skipif(MISSING is not None, reason=str(MISSING))
NAME = "smith"
SNI = f"{NAME}.{DOMAIN}"


@pytest.fixture
def world(tmp_path: Path) -> Iterator[RelayWorld]:
    with three_namespaces() as topology:
        yield RelayWorld(topology, tmp_path)


@dataclass(frozen=True)
class Started:
    relay: subprocess.Popen[str]
    key: Path  # the box's private key
    port: int  # its loopback port on the relay
    home_sha: str  # SHA-256 of the home server's certificate


def start_all(world: RelayWorld) -> Started:
    """Relay running, a box enrolled and its home server up (its tunnel not yet)."""
    relay = world.start_relay()
    key = world.box_key(NAME)
    block = world.enrol(NAME, key.with_suffix(".pub"))
    certificate = make_certificate(world.folder, SNI)
    world.start_home(certificate)
    return Started(relay, key, int(block["port"]), certificate.sha256)


def test_phone_gets_the_homes_certificate_and_the_relay_sees_only_ciphertext(
    world: RelayWorld,
) -> None:
    started = start_all(world)
    key, port, home_sha = started.key, started.port, started.home_sha
    capture = world.folder / "relay.pcap"
    tcpdump = world.topology.start(
        world.topology.relay,
        ["tcpdump", "-i", "any", "--immediate-mode", "-U", "-n", "-w", str(capture),
         f"tcp port {HTTPS_PORT} or tcp port {SSH_PORT} or tcp port {port}"],
        log=world.folder / "tcpdump.log",
    )  # fmt: skip
    # capturing before the box dials: its SSH banner is the only cleartext the tunnel sends
    while "listening on" not in (world.folder / "tcpdump.log").read_text():
        assert tcpdump.poll() is None, (world.folder / "tcpdump.log").read_text()
        time.sleep(0.02)
    world.start_tunnel(key, port)
    secret = f"phone-secret-{secrets.token_hex(12)}"

    answer = world.phone("phone", SNI, secret)
    stranger = world.phone("hello", f"nobody.{DOMAIN}")
    world.topology.stop(tcpdump, subprocess.signal.SIGINT)  # type: ignore[attr-defined]

    # the home's TLS server, after the relay's PROXY header naming the phone
    assert answer == {"sha256": home_sha, "reply": f"home got: {secret} (from {PHONE})\n"}
    assert stranger == {"answered": 0}  # an unknown name: closed without a byte
    captured = capture.read_bytes()
    assert SNI.encode() in captured  # the capture saw the phone's ClientHello...
    assert b"SSH-2.0-OpenSSH" in captured  # ...and the box's SSH connection
    assert secret.encode() not in captured  # but never what the phone said inside TLS
    assert b"home got: " not in captured  # nor the home's answer


def test_enrolled_key_may_only_listen_on_its_own_port(world: RelayWorld) -> None:
    world.start_relay()
    key = world.box_key(NAME)
    port = int(world.enrol(NAME, key.with_suffix(".pub"))["port"])
    home = world.topology.home

    def ssh(*options: str, command: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*home.prefix, *world.ssh(key, *options, command=command)],
                              capture_output=True, text=True, timeout=30,
                              stdin=subprocess.DEVNULL)  # fmt: skip

    fail = ["-N", "-o", "ExitOnForwardFailure=yes"]
    other = ssh(*fail, "-R", f"127.0.0.1:{port + 1}:127.0.0.1:{HOME_TLS_PORT}")
    everywhere = ssh(*fail, "-R", f"0.0.0.0:{port}:127.0.0.1:{HOME_TLS_PORT}")
    command = ssh(command=("id",))
    shell = ssh("-tt")
    stdio = ssh("-W", f"127.0.0.1:{SSH_PORT}")
    assert other.returncode == 255 and (
        f"remote port forwarding failed for listen port {port + 1}" in other.stderr
    )
    assert "remote port forwarding failed" in everywhere.stderr and everywhere.returncode == 255
    for refused in (command, shell):  # MaxSessions 0: no session channel at all
        assert refused.returncode == 255 and refused.stdout == ""
        assert "open failed" in refused.stderr, refused.stderr
    assert "administratively prohibited" in stdio.stderr and stdio.returncode == 255
    # -L: the local listener is the client's own, but the relay refuses every channel it asks
    forward = ["-N", "-L", f"127.0.0.1:7000:127.0.0.1:{SSH_PORT}"]
    local = world.topology.start(home, world.ssh(key, *forward), log=world.folder / "local.log")
    probe = ["python3", "-c", "import socket,sys,time\n"
             "for _ in range(100):\n"
             "    try: s = socket.create_connection(('127.0.0.1', 7000)); break\n"
             "    except OSError: time.sleep(0.05)\n"
             "print(len(s.recv(100)))"]  # fmt: skip
    got = subprocess.run([*home.prefix, *probe], capture_output=True, text=True, timeout=30)
    world.topology.stop(local)
    assert got.stdout.strip() == "0"  # closed: not even sshd's banner came through
    assert "administratively prohibited" in (world.folder / "local.log").read_text()


def test_revoke_cuts_the_live_tunnel_and_the_name_stops_routing(world: RelayWorld) -> None:
    started = start_all(world)
    key, port, home_sha = started.key, started.port, started.home_sha
    box = world.start_tunnel(key, port)
    holding = world.topology.start(
        world.topology.phone, world.phone_args("phone", SNI, "hello", "--hold"),
        log=world.folder / "phone.log", cwd=ROOT,
    )  # fmt: skip
    assert holding.stdout is not None
    first = holding.stdout.readline()
    assert home_sha in first and f"home got: hello (from {PHONE})" in first

    said = world.revoke(NAME)

    assert said.strip().endswith("key and route removed; ended 1 live tunnel")
    assert holding.stdout.readline().startswith('{"closed": true')  # the open connection cut
    assert box.wait(timeout=10) == 255  # the box's ssh was disconnected
    assert world.phone("hello", SNI) == {"answered": 0}  # the name no longer routes
    assert not world.listening(port)
    again = subprocess.run(
        [*world.topology.home.prefix,
         *world.ssh(key, "-N", "-R", f"127.0.0.1:{port}:127.0.0.1:{HOME_TLS_PORT}")],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert again.returncode == 255 and "Permission denied (publickey)" in again.stderr


def test_box_that_dials_again_comes_back_after_the_relay_restarts(world: RelayWorld) -> None:
    started = start_all(world)
    key, port, home_sha = started.key, started.port, started.home_sha
    world.start_tunnel(key, port, loop=True)
    assert world.phone("phone", SNI, "before")["reply"] == f"home got: before (from {PHONE})\n"

    world.topology.stop(started.relay)  # sshd, haproxy and every box session end
    assert not world.listening(port)
    world.start_relay()

    after = world.phone("phone", SNI, "after", "--retry-for", "30")
    assert after == {"sha256": home_sha, "reply": f"home got: after (from {PHONE})\n"}
