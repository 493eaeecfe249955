"""Sign-in throttling from real addresses: a Hearth process in a network namespace whose home
is 198.18.0.0/24, the owner's laptop at 198.18.0.2, a guessing device on the same LAN at
198.18.0.3, and three `remote` addresses in 100.64.0.0/10 (a VPN, a port-forward, a relay).

A LAN device guessing the owner's password slows only itself: the owner signs in from the
laptop at once. Guesses from outside, spread over several addresses, pause the owner's account
for remote sources only: the owner's phone outside is told to wait, the laptop at home is not.
The unit rules (delays 1 s, 2 s, 4 s ...) are test_throttle.py. Needs root for the namespace.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from core.catalog import Catalog
from core.people.accounts import create_user_blocking
from tests import netns
from tests.conftest import PASSWORD, write_config

PORT = 18472
OWNER_LAN, GUESSER_LAN = netns.PEER_ADDRESS, "198.18.0.3"
REMOTES = ("100.64.0.2", "100.64.0.3", "100.64.0.4")
BASE = f"http://{netns.LAN_ADDRESS}:{PORT}"
SOURCES = (OWNER_LAN, GUESSER_LAN, *REMOTES)
CLIENT = textwrap.dedent(
    """
    import asyncio, json, sys, time
    from pathlib import Path
    import aiohttp

    OUT, BASE, PASSWORD, OWNER_LAN, GUESSER_LAN, *REMOTES = sys.argv[1:]

    def session(source):
        connector = aiohttp.TCPConnector(local_addr=(source, 0), force_close=True)
        return aiohttp.ClientSession(connector=connector)

    async def login(source, password):
        async with session(source) as http, http.post(
            BASE + "/api/auth/login", json={"username": "owner", "password": password}
        ) as response:
            body = await response.json()
            code = body.get("error", {}).get("code", "")
            return [response.status, code, response.headers.get("Retry-After")]

    async def main():
        deadline = time.monotonic() + 30
        while True:
            try:
                async with session(OWNER_LAN) as http, http.get(BASE + "/api/health") as r:
                    if r.status == 200:
                        break
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("server")
            await asyncio.sleep(0.1)
        found = {}
        found["guesser"] = [await login(GUESSER_LAN, "guess") for _ in range(8)]
        found["owner_at_home"] = await login(OWNER_LAN, PASSWORD)
        found["remote_guesses"] = [await login(a, "guess") for a in REMOTES[:2] for _ in range(5)]
        found["owner_outside"] = await login(REMOTES[2], PASSWORD)
        found["owner_at_home_again"] = await login(OWNER_LAN, PASSWORD)
        found["the_box_itself"] = await login("127.0.0.1", PASSWORD)
        Path(OUT).write_text(json.dumps(found))

    asyncio.run(main())
    """
)


async def make_owner(data_dir: Path) -> None:
    catalog = await Catalog.open(data_dir)
    try:
        await catalog.write(
            lambda db: create_user_blocking(db, "owner", "owner", PASSWORD, None, None)
        )
    finally:
        await catalog.close()


def run_in_namespace(tmp_path: Path) -> dict[str, Any]:
    asyncio.run(make_owner(tmp_path / "data"))
    folder = write_config(
        tmp_path / "config",
        f"hearth:\n  data_dir: {tmp_path / 'data'}\n"
        f"  http: {{host: 0.0.0.0, port: {PORT}, https_port: 0}}\n"
        "  network: {interfaces: [hv0], mdns: false}\n",
    )
    out = tmp_path / "found.json"
    with netns.network_namespace() as ns:
        ns.run("ip", "addr", "add", f"{GUESSER_LAN}/24", "dev", "hv1")
        for address in REMOTES:
            ns.run("ip", "addr", "add", f"{address}/32", "dev", "hv1")
        server = subprocess.Popen(
            [*ns.prefix, sys.executable, "-m", "core", "run", "-c", str(folder)],
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            client = subprocess.run(
                [*ns.prefix, sys.executable, "-c", CLIENT, str(out), BASE, PASSWORD, *SOURCES],
                capture_output=True,
                text=True,
                timeout=90,
            )
            assert client.returncode == 0, client.stderr
        finally:
            server.terminate()
            try:
                _, log = server.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                _, log = server.communicate()
    found: dict[str, Any] = json.loads(out.read_text())
    found["log"] = log
    return found


@pytest.mark.skipif(netns.unavailable_reason() is not None, reason=str(netns.unavailable_reason()))
def test_nobody_locks_the_owner_out_from_home_and_outside_guessing_is_paused(
    tmp_path: Path,
) -> None:
    found = run_in_namespace(tmp_path)
    wrong = [401, "bad_credentials", None]
    assert found["guesser"][:5] == [wrong] * 5
    assert found["guesser"][5:] == [[429, "locked", "1"]] * 3  # slowed, not counted again
    assert found["owner_at_home"][0] == 200  # another LAN address: not slowed at all
    assert found["remote_guesses"] == [wrong] * 10  # five from each of two addresses
    assert found["owner_outside"] == [429, "locked", "900"]  # the account's remote pause
    assert found["owner_at_home_again"][0] == 200
    assert found["the_box_itself"][0] == 200
    assert (
        "from outside the home network; attempts from outside are paused for 15 min"
        in (found["log"])
    )
