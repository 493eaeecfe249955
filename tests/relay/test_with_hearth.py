"""The operator's path end to end with a real Hearth box: `hearth relay key` on the box,
scripts/relay/enrol on the relay with that key, the printed `relay:` block pasted into the box's
configuration.yaml; the phone then reaches the box's own HTTPS server by name through the
relay (the box's certificate, TLS ending at home), and revoke cuts it off. Three namespaces;
the box resolves the relay's name from its namespace's own hosts file (/etc/netns/NAME/hosts,
which `ip netns exec` mounts over /etc/hosts). Needs root, openssh-server and haproxy."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import write_config
from tests.relay.topology import RELAY_HOME_SIDE, three_namespaces
from tests.relay.world import DOMAIN, ROOT, RelayWorld, script, unavailable_reason

MISSING = unavailable_reason()
pytestmark = pytest.mark.skipif(MISSING is not None, reason=str(MISSING))
SNI = f"smith.{DOMAIN}"


@pytest.fixture
def world(tmp_path: Path) -> Iterator[RelayWorld]:
    with three_namespaces() as topology:
        hosts = Path("/etc/netns") / topology.home.name
        hosts.mkdir(parents=True, exist_ok=True)
        (hosts / "hosts").write_text(f"127.0.0.1 localhost\n{RELAY_HOME_SIDE} {DOMAIN}\n")
        try:
            yield RelayWorld(topology, tmp_path)
        finally:
            shutil.rmtree(hosts, ignore_errors=True)


def test_a_box_enrolled_with_its_printed_block_is_reached_by_name_and_revoked(
    world: RelayWorld,
) -> None:
    home, folder = world.topology.home, world.folder
    core_yaml = (
        f"hearth:\n  data_dir: {folder / 'data'}\n"
        "  http: {host: 127.0.0.1, port: 18490, https_port: 18491}\n"
        f"  network: {{mdns: false}}\n  egress: {{relay: [{DOMAIN}]}}\n"
        "dlna: {ssdp: false}\n"
    )
    config = write_config(folder / "config", core_yaml)
    hearth = [sys.executable, "-m", "core"]
    printed = subprocess.run(
        [*home.prefix, *hearth, "relay", "key", "-c", str(config)],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )  # fmt: skip
    key = printed.stdout.strip()
    world.start_relay()
    enrolled = script("enrol", "smith", key, "--root", str(world.root), ns=world.topology.relay)
    assert enrolled.returncode == 0, enrolled.stderr
    block = enrolled.stdout[enrolled.stdout.index("\nrelay:\n") + 1 :]
    write_config(folder / "config", core_yaml + block)  # pasted as printed
    world.topology.start(home, [*hearth, "run", "-c", str(config)],
                         log=folder / "hearth.log", cwd=ROOT)  # fmt: skip

    health = world.phone("get", SNI, "/api/health", "--retry-for", "30")
    log = (folder / "hearth.log").read_text()
    said = world.revoke("smith")
    after = world.phone("hello", SNI)

    assert health.get("status") == 200, (health, log)
    assert json.loads(health["body"])["status"] == "ok"
    shown = re.search(r"certificate SHA-256 ([0-9A-F:]+)", log)
    assert shown and health["sha256"] == shown[1].replace(":", "").lower()  # the box's own
    assert f"Reachable from outside the home at https://{SNI}" in log
    assert said.strip().endswith("ended 1 live tunnel")
    assert after == {"answered": 0}
