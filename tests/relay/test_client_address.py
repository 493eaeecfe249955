"""Two phones through the relay are two addresses to the box: a real Hearth box enrolled on a
relay set up by scripts/relay (HAProxy sending each phone's address in a PROXY v2 header, sshd
carrying it home), and two phones in the phone namespace at 100.64.7.2 and 100.64.7.3.

The phone guessing the owner's password is slowed down (even its right password waits); the
owner's phone signs in at once; the box's access log names each phone's own address. Before,
every connection reached the box from the relay's loopback: one address for all phones, so a
stranger's guesses slowed the owner's remote sign-in too. Needs root, openssh-server, haproxy.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import PASSWORD, write_config
from tests.plugins.relay.relay_ns import visit
from tests.plugins.relay.test_tunnel import make_owner
from tests.relay.topology import PHONE, RELAY_HOME_SIDE, RELAY_PHONE_SIDE, three_namespaces
from tests.relay.world import DOMAIN, HTTPS_PORT, ROOT, RelayWorld, script, unavailable_reason

MISSING = unavailable_reason()
pytestmark = pytest.mark.skipif(MISSING is not None, reason=str(MISSING))
SNI = f"smith.{DOMAIN}"
GUESSER, OWNER = PHONE, "100.64.7.3"
HTTP_PORT = 18492


@pytest.fixture
def world(tmp_path: Path) -> Iterator[RelayWorld]:
    with three_namespaces() as topology:
        hosts = Path("/etc/netns") / topology.home.name
        hosts.mkdir(parents=True, exist_ok=True)
        (hosts / "hosts").write_text(f"127.0.0.1 localhost\n{RELAY_HOME_SIDE} {DOMAIN}\n")
        subprocess.run(
            [*topology.phone.prefix, "ip", "addr", "add", f"{OWNER}/24", "dev", "pv0"],
            check=True,
        )
        try:
            yield RelayWorld(topology, tmp_path)
        finally:
            shutil.rmtree(hosts, ignore_errors=True)


def start_box(world: RelayWorld) -> str:
    """Hearth at home, enrolled with the block enrol printed; its certificate's SHA-256."""
    home, folder = world.topology.home, world.folder
    data = folder / "data"
    asyncio.run(make_owner(data))
    core_yaml = (
        f"hearth:\n  data_dir: {data}\n"
        f"  http: {{host: 127.0.0.1, port: {HTTP_PORT}, https_port: 18493}}\n"
        f"  network: {{mdns: false}}\n  egress: {{relay: [{DOMAIN}]}}\n"
        "dlna: {ssdp: false}\n"
    )
    config = write_config(folder / "config", core_yaml)
    hearth = [sys.executable, "-m", "core"]
    key = subprocess.run(
        [*home.prefix, *hearth, "relay", "key", "-c", str(config)],
        capture_output=True, text=True, check=True, cwd=ROOT,
    ).stdout.strip()  # fmt: skip
    world.start_relay()
    enrolled = script("enrol", "smith", key, "--root", str(world.root), ns=world.topology.relay)
    assert enrolled.returncode == 0, enrolled.stderr
    block = enrolled.stdout[enrolled.stdout.index("\nrelay:\n") + 1 :]
    write_config(folder / "config", core_yaml + block)  # pasted as printed
    world.topology.start(home, [*hearth, "run", "-c", str(config)],
                         log=folder / "hearth.log", cwd=ROOT)  # fmt: skip
    up = world.phone("get", SNI, "/api/health", "--retry-for", "30")
    assert up.get("status") == 200, (up, (folder / "hearth.log").read_text())
    return str(up["sha256"])


def test_a_guessing_phone_is_slowed_and_the_owners_phone_is_not(world: RelayWorld) -> None:
    fingerprint = start_box(world)
    spec = {
        "step": "sign_ins",
        "args": [
            # seven wrong guesses (five free, then waiting out 1 s and 2 s as told): the
            # guesser must now wait 4 s, and fewer than ten leave the owner's account open
            *[[GUESSER, "owner", "guess", True]] * 7,
            [GUESSER, "owner", PASSWORD, False],
            [OWNER, "owner", PASSWORD, False],
        ],
        "base": f"https://{RELAY_PHONE_SIDE}:{HTTPS_PORT}",
        "host": SNI,
        "fingerprint": fingerprint,
    }
    answers = visit(world.topology.phone.prefix, spec, timeout=90)["answers"]
    log = (world.folder / "hearth.log").read_text(errors="replace")

    assert answers[:7] == [[401, "bad_credentials", None]] * 7, answers
    assert answers[7] == [429, "locked", "4"]  # the guesser waits, even with the password
    assert answers[8] == [200, "", None]  # the owner's phone: at once
    # the access log: each phone's own address (the guesser's 429s as it waited, then its
    # 401s, the last 429; the owner's one 200)
    logins = re.findall(r"POST /api/auth/login (\d+) \S+ \S+ (\S+)", log)
    assert logins[-1] == ("200", OWNER), log
    assert {address for _, address in logins[:-1]} == {GUESSER}
    assert [status for status, _ in logins[:-1]].count("401") == 7
    assert logins[-2] == ("429", GUESSER)
    assert f"Failed sign-in for 'owner' from {GUESSER}" in log
