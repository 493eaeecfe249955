"""A unicast M-SEARCH sent straight to the server's address on port 1900 is answered while Play
to TV listens for TVs on the same box, and a real TV (with its own SSDP stack bound to 1900 on
the same host) is still found: both plugins share the core's one SSDP listener (core.ssdp).
When each bound 0.0.0.0:1900 itself, the kernel handed the unicast datagram to one socket only,
never the DLNA server's. Inside a private network namespace; needs root."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests import netns
from tests.conftest import write_config
from tests.plugins.dlna_renderer.lan import add_tv_and_stranger, owner_token, run_with_peer

HTTP_PORT, TV_PORT = 18491, 18492
SERVER_TYPE = "urn:schemas-upnp-org:device:MediaServer:1"


@pytest.mark.skipif(netns.unavailable_reason() is not None, reason=str(netns.unavailable_reason()))
def test_unicast_search_is_answered_while_play_to_tv_finds_a_tv(tmp_path: Path) -> None:
    token = asyncio.run(owner_token(tmp_path / "data"))
    address = netns.LAN_ADDRESS
    config = write_config(
        tmp_path / "config",
        f"hearth:\n  data_dir: {tmp_path / 'data'}\n"
        f"  http: {{host: {address}, port: {HTTP_PORT}, https_port: 0}}\n"
        "  network: {interfaces: [hv0], mdns: false}\n"
        "dlna: {max_age: 120}\ndlna_renderer: {search_interval: 30}\n",
    )
    out = tmp_path / "out"
    out.mkdir()
    with netns.network_namespace() as ns:
        add_tv_and_stranger(ns)
        arguments = [f"http://{address}:{HTTP_PORT}", token, str(TV_PORT)]
        outcome = run_with_peer(ns, out, config, "shared_ssdp", arguments)
    result = outcome.result
    [renderer] = result["renderers"]
    assert renderer["name"] == "[TV] Living Room"
    location = f"http://{address}:{HTTP_PORT}/dlna/description.xml"

    def ours(answers: list[dict[str, str]]) -> list[dict[str, str]]:
        return [a for a in answers if a.get("LOCATION") == location]

    everything = ours(result["unicast_all"])
    assert {a["from"] for a in everything} == {f"{address}:1900"}  # from the port asked
    assert {a["ST"] for a in everything} >= {"upnp:rootdevice", SERVER_TYPE}
    assert len(everything) == 6  # root, uuid, device, three services
    [server] = ours(result["unicast_server"])
    assert server["status"] == "HTTP/1.1 200 OK" and server["ST"] == SERVER_TYPE
    [multicast] = ours(result["multicast_server"])
    assert multicast["ST"] == SERVER_TYPE and multicast["USN"] == server["USN"]
    assert "Found [TV] Living Room" in outcome.log
