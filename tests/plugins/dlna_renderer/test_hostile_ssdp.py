"""SSDP from strangers, over real sockets in a private network namespace: a NOTIFY from outside
the home subnet, or naming a host name, loopback or another subnet, is ignored - nothing is
fetched and no name is looked up - while a real TV on the subnet (a second host of it, found by
its own NOTIFY and by its answer to our search) still is. Needs root."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests import netns
from tests.conftest import write_config
from tests.plugins.dlna_renderer.lan import add_tv_and_stranger, owner_token, run_with_peer

HTTP_PORT, TRAP_PORT, TV_PORT = 18471, 18472, 18473


@pytest.mark.skipif(netns.unavailable_reason() is not None, reason=str(netns.unavailable_reason()))
def test_notifies_from_strangers_or_naming_elsewhere_are_ignored_and_a_real_tv_is_found(
    tmp_path: Path,
) -> None:
    token = asyncio.run(owner_token(tmp_path / "data"))
    address = netns.LAN_ADDRESS
    config = write_config(
        tmp_path / "config",
        f"hearth:\n  data_dir: {tmp_path / 'data'}\n"
        f"  http: {{host: {address}, port: {HTTP_PORT}, https_port: 0}}\n"
        "  network: {interfaces: [hv0], mdns: false}\n"
        "dlna: {ssdp: false}\ndlna_renderer: {search_interval: 30}\n",
    )
    out = tmp_path / "out"
    out.mkdir()
    with netns.network_namespace() as ns:
        add_tv_and_stranger(ns)
        arguments = [f"http://{address}:{HTTP_PORT}", token, str(TRAP_PORT), str(TV_PORT)]
        outcome = run_with_peer(ns, out, config, "hostile", arguments)
    [renderer] = outcome.result["renderers"]
    assert renderer["name"] == "[TV] Living Room"
    assert outcome.result["hits"] == []
    assert "trap.test" not in outcome.lookups
    for reason in (
        "it was sent from outside the home network",
        "its LOCATION names a host instead of an address",
        "its LOCATION is not a device's address",
        "its LOCATION is not on the sender's subnet",
    ):
        assert reason in outcome.log
    assert "Found [TV] Living Room" in outcome.log
