"""The route sweep from real addresses: a Hearth process in a network namespace whose home is
198.18.0.0/24 (its `hv0`), a LAN client at 198.18.0.2 and a `remote` client at 100.64.0.2
(carrier-grade NAT space: the kind of address a VPN, a port-forward or a relay brings).

Every route in the OpenAPI document is called from the remote address without credentials:
only `anyone` routes may answer; `signed_in` routes say 401 and `lan` routes 403. The `lan`
routes (DLNA, the setup code) refuse the remote address even with the owner's token, and serve
the LAN client without one. Every route refuses a Host header that does not name the box
(DNS rebinding), even from home with the owner's token. A remote source that signs in (a phone
through the relay) still reaches every `signed_in` GET. Every plugin that adds routes runs
(subsonic, the relay, play to TV, the web app, DLNA), and Subsonic's one `anyone` route is
swept endpoint by endpoint: from the remote address without credentials, or with a wrong
password, each endpoint but the public getOpenSubsonicExtensions answers a Subsonic error.
Needs root for the namespace."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from plugins.subsonic import ENDPOINT_MODULES
from plugins.subsonic.routes import Endpoints
from tests import netns
from tests.conftest import write_config
from tests.core.people.household import PROVIDERS, build_rated_library
from tests.core.scan.library import library_yaml
from tests.core.test_data_folder import loose
from tests.plugins.dlna_renderer.lan import owner_token

PORT = 18471
REMOTE = "100.64.0.2"
RELAY = "relay.sweep.test"  # never reached: the namespace has no route out, and no resolver
RELAY_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAxNrYJljpUxyPAtUvgLajB7cUPAKR2RzlbWF1TPVmvR"
CLIENT = textwrap.dedent(
    """
    import asyncio, json, re, sys, time
    from pathlib import Path
    import aiohttp

    OUT, BASE, TOKEN, LAN, REMOTE, SONIC = sys.argv[1:7]
    OWNER = {"Authorization": f"Bearer {TOKEN}"}
    REBINDING = {**OWNER, "Host": "rebinding.example:8440"}  # a page's name pointed at the box

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

    async def sonic(http, method, name, params):
        url = f"{BASE}/rest/{name}"
        if method == "GET":
            request = http.get(url, params={"f": "json", **params})
        else:
            request = http.post(url, data={"f": "json", **params})
        async with request as response:
            body = (await response.json())["subsonic-response"]
            return [response.status, body["status"], body.get("error", {}).get("code")]

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
                    owner = operation["x-hearth-owner"]
                    row = {"method": method.upper(), "path": path, "access": access, "owner": owner}
                    row["remote"] = await call(remote, method.upper(), url)
                    row["rebinding"] = await call(lan, method.upper(), url, REBINDING)
                    if method == "get":
                        row["remote_head"] = await call(remote, "HEAD", url)
                    if access == "lan":
                        row["remote_owner"] = await call(remote, method.upper(), url, OWNER)
                        row["lan"] = await call(lan, method.upper(), url)
                    elif access == "signed_in" and method == "get":
                        row["remote_owner"] = await call(remote, "GET", url, OWNER)
                    rows.append(row)
            wrong = {"u": "owner", "p": "not-the-password", "v": "1.16.1", "c": "sweep"}
            subsonic = {}
            for name in json.loads(SONIC):
                subsonic[name] = {
                    "get": await sonic(remote, "GET", name, {}),
                    "post_wrong": await sonic(remote, "POST", name, wrong),
                }
            gena = {"NT": "upnp:event", "CALLBACK": f"<http://{REMOTE}:9/>", "TIMEOUT": "Second-60"}
            extra = {
                "subscribe_remote": await call(
                    remote, "SUBSCRIBE", "/dlna/event/ContentDirectory", gena
                ),
                "remote_sees": await call(remote, "GET", "/api/health"),
            }
            async with remote.get(BASE + "/api/health") as response:
                extra["remote_health_keys"] = sorted(await response.json())
        Path(OUT).write_text(json.dumps({"rows": rows, "extra": extra, "subsonic": subsonic}))

    asyncio.run(main())
    """
)


def subsonic_endpoints() -> Endpoints:
    endpoints = Endpoints()
    for register in ENDPOINT_MODULES:
        register(endpoints)
    return endpoints


def subsonic_names() -> str:
    """Every endpoint the Subsonic plugin answers, as JSON for the client."""
    return json.dumps(subsonic_endpoints().names())


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
        f"  egress: {{relay: [{RELAY}]}}\n"
        "dlna: {ssdp: false}\nweb:\nsubsonic:\ndlna_renderer: {discovery: false}\n"
        f"relay: {{server: {RELAY}, name: smith, host_key: '{RELAY_KEY}', port: 20001}}\n"
        + PROVIDERS
        + library_yaml(base),
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
            base_url = f"http://{address}:{PORT}"
            arguments = [str(out), base_url, token, netns.PEER_ADDRESS, REMOTE, subsonic_names()]
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
    result["loose"] = loose(tmp_path / "data")  # the relay's keys, thumbnails: all private
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
        assert row["rebinding"] == [403, "host_not_allowed"], where  # every route checks Host
        if "remote_head" in row and row["access"] != "anyone":
            assert row["remote_head"][0] in (401, 403), where
    lan_routes = {row["path"] for row in rows if row["access"] == "lan"}
    assert {"/dlna/media/{id}", "/dlna/description.xml", "/api/setup"} <= lan_routes
    assert all(p.startswith("/dlna/") or p == "/api/setup" for p in lan_routes)
    anyone = {(row["method"], row["path"]) for row in rows if row["access"] == "anyone"}
    assert {("POST", "/api/auth/login"), ("GET", "/api/health"), ("GET", "/")} <= anyone
    for row in rows:
        if row["access"] == "signed_in" and "remote_owner" in row:
            where = (row["method"], row["path"], row["remote_owner"])
            assert row["remote_owner"][1] not in ("unauthorized", "home_network_only"), where
    owners = {row["owner"] for row in rows}  # every plugin that adds routes is running
    assert owners == {"core", "dlna", "dlna_renderer", "relay", "subsonic", "web"}
    paths = {row["path"] for row in rows}
    assert {"/api/downloads", "/api/enrichment", "/api/relay/qr.svg", "/rest/{method}"} <= paths
    description = next(r for r in rows if r["path"] == "/dlna/description.xml")
    assert description["lan"] == [200, ""]  # a TV at home needs no account
    assert found["extra"]["subscribe_remote"] == [403, "home_network_only"]
    assert found["extra"]["remote_sees"][0] == 200
    assert found["extra"]["remote_health_keys"] == ["name", "status", "version"]
    assert found["loose"] == []
    endpoints = subsonic_endpoints()
    assert set(found["subsonic"]) == set(endpoints.names()) and len(found["subsonic"]) >= 40
    for name, answers in found["subsonic"].items():
        found_endpoint = endpoints.find(name)
        assert found_endpoint is not None
        if found_endpoint.public:  # OpenSubsonic asks it of every server, signed in or not
            assert answers["get"] == [200, "ok", None], name
            continue
        assert answers["get"] == [200, "failed", 10], (name, answers)  # no u, no apiKey
        assert answers["post_wrong"] == [200, "failed", 40], (name, answers)
