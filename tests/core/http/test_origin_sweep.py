"""The route sweep from real addresses: a Hearth process in a network namespace whose home is
198.18.0.0/24 (its `hv0`), a LAN client at 198.18.0.2 and a `remote` client at 100.64.0.2
(carrier-grade NAT space: the kind of address a VPN, a port-forward or a relay brings).

Every route in the OpenAPI document is called from the remote address without credentials:
only `anyone` routes may answer; `signed_in` routes say 401 and `lan` routes 403. The `lan`
routes (DLNA, the setup code) refuse the remote address even with the owner's token, and serve
the LAN client without one. Needs root for the namespace."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests import netns
from tests.conftest import write_config
from tests.core.people.household import PROVIDERS, build_rated_library
from tests.core.scan.library import library_yaml
from tests.plugins.dlna_renderer.test_discovery import owner_token

PORT = 18471
REMOTE = "100.64.0.2"
CLIENT = textwrap.dedent(
    """
    import asyncio, json, re, sys, time
    from pathlib import Path
    import aiohttp

    OUT, BASE, TOKEN, LAN, REMOTE = sys.argv[1:6]
    OWNER = {"Authorization": f"Bearer {TOKEN}"}

    def session(source):
        connector = aiohttp.TCPConnector(local_addr=(source, 0), force_close=True)
        return aiohttp.ClientSession(connector=connector)

    async def call(http, method, path, headers=None, body=None):
        kwargs = {"headers": headers or {}}
        if method in ("POST", "PUT", "PATCH", "DELETE"):
            kwargs["data"] = json.dumps(body or {})
            kwargs["headers"] = {**kwargs["headers"], "Content-Type": "application/json"}
        async with http.request(method, BASE + path, **kwargs) as response:
            text = await response.text()
            try:
                code = json.loads(text).get("error", {}).get("code", "")
            except (ValueError, AttributeError):
                code = ""
            return [response.status, code]

    async def main():
        async with session(LAN) as lan, session(REMOTE) as remote:
            deadline = time.monotonic() + 30
            while True:
                try:
                    status, _ = await call(lan, "GET", "/api/health")
                    if status == 200:
                        break
                except aiohttp.ClientError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError("server")
                await asyncio.sleep(0.1)
            async with lan.get(BASE + "/api/openapi.json", headers=OWNER) as response:
                doc = await response.json()
            rows = []
            for path, methods in doc["paths"].items():
                # every parameter is "1", but a segment's type must be one the route knows
                url = re.sub(
                    r"\\{([^}]+)\\}", lambda m: {"ext": "ts"}.get(m.group(1), "1"), path
                )
                for method, operation in methods.items():
                    access = operation["x-hearth-access"]
                    row = {"method": method.upper(), "path": path, "access": access}
                    row["remote"] = await call(remote, method.upper(), url)
                    if method == "get":
                        row["remote_head"] = await call(remote, "HEAD", url)
                    if access == "lan":
                        row["remote_owner"] = await call(remote, method.upper(), url, OWNER)
                        row["lan"] = await call(lan, method.upper(), url)
                    rows.append(row)
            gena = {"NT": "upnp:event", "CALLBACK": f"<http://{REMOTE}:9/>", "TIMEOUT": "Second-60"}
            extra = {
                "subscribe_remote": await call(
                    remote, "SUBSCRIBE", "/dlna/event/ContentDirectory", gena
                ),
                "remote_sees": await call(remote, "GET", "/api/health"),
            }
        Path(OUT).write_text(json.dumps({"rows": rows, "extra": extra}))

    asyncio.run(main())
    """
)


def sweep(tmp_path: Path) -> dict[str, Any]:
    """Run the server and the two clients in one namespace; the clients' findings."""
    base = tmp_path / "media"
    build_rated_library(base)
    token = asyncio.run(owner_token(tmp_path / "data"))
    address = netns.LAN_ADDRESS
    folder = write_config(
        tmp_path / "config",
        f"hearth:\n  data_dir: {tmp_path / 'data'}\n"
        f"  http: {{host: 0.0.0.0, port: {PORT}, https_port: 0}}\n"
        "  network: {interfaces: [hv0], mdns: false}\n"
        "dlna: {ssdp: false}\nweb:\n" + PROVIDERS + library_yaml(base),
    )
    out = tmp_path / "sweep.json"
    with netns.network_namespace() as ns:
        ns.run("ip", "addr", "add", f"{REMOTE}/32", "dev", "hv1")
        server = subprocess.Popen(
            [*ns.prefix, sys.executable, "-m", "core", "run", "-c", str(folder)],
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            arguments = [str(out), f"http://{address}:{PORT}", token, netns.PEER_ADDRESS, REMOTE]
            client = subprocess.run(
                [*ns.prefix, sys.executable, "-c", CLIENT, *arguments],
                capture_output=True,
                text=True,
                timeout=90,
            )
            assert client.returncode == 0, client.stderr
        finally:
            server.terminate()
            try:
                server.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.communicate()
    result: dict[str, Any] = json.loads(out.read_text())
    return result


@pytest.mark.skipif(netns.unavailable_reason() is not None, reason=str(netns.unavailable_reason()))
def test_a_remote_source_reaches_nothing_but_anyone_routes(tmp_path: Path) -> None:
    found = sweep(tmp_path)
    rows = found["rows"]
    assert len(rows) >= 60  # the whole API and every plugin's routes, not an empty document
    levels = {row["access"] for row in rows}
    assert levels == {"signed_in", "lan", "anyone"}
    for row in rows:
        status, code = row["remote"]
        where = (row["method"], row["path"], row["remote"])
        if row["access"] == "signed_in":
            assert (status, code) == (401, "unauthorized"), where
        elif row["access"] == "lan":
            assert (status, code) == (403, "home_network_only"), where
            assert row["remote_owner"] == [403, "home_network_only"], where
            assert row["lan"][1] != "home_network_only", (where, row["lan"])
        else:
            assert code not in ("unauthorized", "home_network_only"), where
        if "remote_head" in row and row["access"] != "anyone":
            assert row["remote_head"][0] in (401, 403), where
    lan_routes = {row["path"] for row in rows if row["access"] == "lan"}
    assert {"/dlna/media/{id}", "/dlna/description.xml", "/api/setup"} <= lan_routes
    assert all(p.startswith("/dlna/") or p == "/api/setup" for p in lan_routes)
    anyone = {(row["method"], row["path"]) for row in rows if row["access"] == "anyone"}
    assert {("POST", "/api/auth/login"), ("GET", "/api/health"), ("GET", "/")} <= anyone
    description = next(r for r in rows if r["path"] == "/dlna/description.xml")
    assert description["lan"] == [200, ""]  # a TV at home needs no account
    assert found["extra"]["subscribe_remote"] == [403, "home_network_only"]
    assert found["extra"]["remote_sees"][0] == 200
