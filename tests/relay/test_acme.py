"""A certificate phones trust, with the key at home: the whole chain in three namespaces.

The relay is scripts/relay/setup --root + run (real sshd and HAProxy); beside it Pebble (Let's
Encrypt's test CA) and pebble-challtestsrv as the DNS that sends `*.DOMAIN` to the relay. The box
is Hearth in the home namespace with the `relay:` block enrol printed, plus the ACME directory
and the CA bundle for Pebble's own HTTPS. Shows: while the directory cannot be reached the box
shows its own certificate and health says why; with Pebble up the box gets a certificate by
TLS-ALPN-01 answered by itself through the relay (Pebble connects to relay:443 with ALPN
acme-tls/1, HAProxy passes it down the tunnel), a phone verifies the chain against Pebble's
root (no pinning), the certificate is renewed before it expires, and the relay's capture holds
the ACME ClientHellos but never a byte of what the phone and the box said. Needs root,
openssh-server, haproxy, tcpdump and pebble (scripts/test installs them).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import write_config
from tests.plugins.relay.test_tunnel import make_owner
from tests.relay import pebble
from tests.relay.topology import RELAY_HOME_SIDE, RELAY_PHONE_SIDE, three_namespaces
from tests.relay.world import (
    DOMAIN,
    HTTPS_PORT,
    ROOT,
    SSH_PORT,
    RelayWorld,
    script,
    unavailable_reason,
)

MISSING = unavailable_reason() or (
    None if pebble.available() else "pebble not installed (scripts/test installs it)"
)
pytestmark = pytest.mark.skipif(MISSING is not None, reason=str(MISSING))
NAME = f"smith.{DOMAIN}"
HTTP_PORT = 18492
VALIDITY = 30  # seconds: Pebble's certificates here, so a renewal comes within the test


class Box:
    """Hearth in the home namespace, with an owner's token to read health over loopback."""

    def __init__(self, world: RelayWorld, config: Path, token: str) -> None:
        self.world, self.config, self.token = world, config, token
        self.log = world.folder / "hearth.log"
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self.process = self.world.topology.start(
            self.world.topology.home,
            [sys.executable, "-m", "core", "run", "-c", str(self.config)],
            log=self.log,
            cwd=ROOT,
        )

    def stop(self) -> None:
        assert self.process is not None
        self.world.topology.stop(self.process)

    def certificate(self) -> dict[str, Any]:
        """The relay's health as the owner sees it at home: its `certificate` part and tls."""
        script = (
            "import json,sys,urllib.request;r=urllib.request.Request(sys.argv[1],"
            "headers={'Authorization':'Bearer '+sys.argv[2]});"
            "print(urllib.request.urlopen(r,timeout=5).read().decode())"
        )
        done = subprocess.run(
            [*self.world.topology.home.prefix, sys.executable, "-c", script,
             f"http://127.0.0.1:{HTTP_PORT}/api/health", self.token],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        if done.returncode != 0:
            return {}
        health = json.loads(done.stdout)
        relay = next((p for p in health.get("plugins", []) if p["domain"] == "relay"), {})
        detail = relay.get("detail") or {}
        return {**(detail.get("certificate") or {}), "tls": health.get("tls")}

    def wait_certificate(
        self, seconds: float, state: str, other_than: str | None = None
    ) -> dict[str, Any]:
        """Health's certificate once it is in `state` (and expires other than `other_than`)."""
        deadline = time.monotonic() + seconds
        while True:
            found = self.certificate()
            fresh = other_than is None or found.get("not_after") != other_than
            if found.get("state") == state and fresh:
                return found
            assert self.process is not None and self.process.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, (found, self.log.read_text())
            time.sleep(0.2)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[RelayWorld]:
    with three_namespaces() as topology:
        made = []
        for ns, lines in (
            (topology.home, f"{RELAY_HOME_SIDE} {DOMAIN}\n{RELAY_HOME_SIDE} {pebble.CA_NAME}\n"),
            (topology.phone, f"{RELAY_PHONE_SIDE} {NAME}\n"),
        ):
            folder = Path("/etc/netns") / ns.name  # `ip netns exec` mounts it over /etc/hosts
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "hosts").write_text(f"127.0.0.1 localhost\n{lines}")
            made.append(folder)
        try:
            yield RelayWorld(topology, tmp_path)
        finally:
            for folder in made:
                shutil.rmtree(folder, ignore_errors=True)


def phone(
    world: RelayWorld, root: Path | None, token: str = "-", retry: float = 0
) -> dict[str, Any]:
    """GET /api/health at https://NAME from the phone, verifying against `root` (None: not
    verifying, to see which certificate is shown)."""
    done = subprocess.run(
        [*world.topology.phone.prefix, sys.executable, "-m", "tests.relay.pebble", NAME,
         "/api/health", str(root) if root else "-", token, str(retry)],
        capture_output=True, text=True, timeout=60, cwd=ROOT, check=True,
    )  # fmt: skip
    found: dict[str, Any] = json.loads(done.stdout)
    return found


def start_box(world: RelayWorld, ca_bundle: Path) -> Box:
    folder, home = world.folder, world.topology.home
    data = folder / "data"
    token = asyncio.run(make_owner(data))
    core_yaml = (
        f"hearth:\n  data_dir: {data}\n"
        f"  http: {{host: 127.0.0.1, port: {HTTP_PORT}, https_port: {HTTP_PORT + 1}}}\n"
        f"  network: {{mdns: false}}\n  egress: {{relay: [{DOMAIN}, {pebble.CA_NAME}]}}\n"
        "dlna: {ssdp: false}\n"
    )
    config = write_config(folder / "config", core_yaml)
    printed = subprocess.run(
        [*home.prefix, sys.executable, "-m", "core", "relay", "key", "-c", str(config)],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )  # fmt: skip
    enrolled = script("enrol", "smith", printed.stdout.strip(), "--root", str(world.root),
                      ns=world.topology.relay)  # fmt: skip
    assert enrolled.returncode == 0, enrolled.stderr
    block = enrolled.stdout[enrolled.stdout.index("\nrelay:\n") + 1 :]  # pasted as printed
    acme = f"  acme_directory: {pebble.DIRECTORY}\n  acme_ca: {ca_bundle}\n"
    write_config(folder / "config", core_yaml + block + acme)
    box = Box(world, config, token)
    box.start()
    return box


def capture(world: RelayWorld) -> subprocess.Popen[str]:
    """tcpdump on every interface of the relay: the phone's side, the box's, and loopback."""
    log = world.folder / "tcpdump.log"
    process = world.topology.start(
        world.topology.relay,
        # a 64 MiB buffer: on a busy machine the default one drops packets (a ClientHello)
        ["tcpdump", "-i", "any", "-B", "65536", "--immediate-mode", "-U", "-n", "-w",
         str(world.folder / "relay.pcap"), f"tcp port {HTTPS_PORT} or tcp port {SSH_PORT}"],
        log=log,
    )  # fmt: skip
    while "listening on" not in log.read_text():
        assert process.poll() is None, log.read_text()
        time.sleep(0.05)
    return process


def test_the_box_proves_its_name_through_the_relay_and_phones_trust_it_without_pinning(
    world: RelayWorld,
) -> None:
    world.start_relay()
    bundle, _, _ = pebble.https_certificate(world.folder)
    box = start_box(world, bundle)  # Pebble is not up yet: the directory cannot be reached

    failing = box.wait_certificate(30, "retrying")
    own = phone(world, None, retry=10)

    box.stop()  # a new start tries again at once (a running box would wait a minute)
    ca = pebble.start_pebble(world.topology, world.folder, RELAY_PHONE_SIDE, VALIDITY)
    tcpdump = capture(world)
    restarted = time.monotonic()
    box.start()
    issued = box.wait_certificate(30, "valid")
    took = time.monotonic() - restarted
    root = world.folder / "pebble-root.pem"
    root.write_bytes(ca.root())
    trusted = phone(world, root, box.token, retry=5)
    renewed = box.wait_certificate(VALIDITY, "valid", other_than=issued["not_after"])
    again = phone(world, root, retry=5)
    world.topology.stop(tcpdump, 2)  # SIGINT: tcpdump writes what it holds
    print(f"from starting the box to Pebble's certificate in its health: {took:.1f} s")

    # directory unreachable: the box's own certificate, and health says why
    assert failing["source"] == "own" and failing["issuer"] is None
    assert failing["last_error"].startswith(f"cannot connect to {pebble.CA_NAME}"), failing
    assert own["sha256"] == failing["tls"]["fingerprint_sha256"].replace(":", "").lower()
    # Pebble's certificate, proved through the relay, verified by the phone with Pebble's root
    assert issued["source"] == "acme" and issued["issuer"].startswith("Pebble Intermediate CA")
    assert trusted["status"] == 200, trusted
    assert trusted["issuer"].startswith("CN=Pebble Intermediate CA")
    assert json.loads(trusted["body"])["plugins"]  # the owner's view, over the relay
    # renewed before it expired: a new certificate, served at once
    assert renewed["not_after"] > issued["not_after"]
    assert again["status"] == 200 and again["serial"] != trusted["serial"]
    # the relay carried Pebble's validation ClientHello (ALPN acme-tls/1) down the tunnel but
    # never anything the phone and the box said inside TLS
    captured = (world.folder / "relay.pcap").read_bytes()
    assert b"acme-tls/1" in captured and NAME.encode() in captured
    assert b"GET /api/health" not in captured and box.token.encode() not in captured
    assert b'"plugins"' not in captured
