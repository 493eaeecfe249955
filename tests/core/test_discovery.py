"""The mDNS announcement, as a real zeroconf browser sees it, and its withdrawal on stop."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from zeroconf import ServiceStateChange
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

from core.discovery import resolve_interfaces
from tests import netns
from tests.conftest import core_yaml, write_config


async def browse(
    zc: AsyncZeroconf, service_type: str, server_id: str, timeout: float = 8.0
) -> AsyncServiceInfo:
    """The announcement of the server with this id (other tests' servers may announce too)."""
    found: asyncio.Queue[str] = asyncio.Queue()

    def on_change(
        zeroconf: object, service_type: str, name: str, state_change: ServiceStateChange
    ) -> None:
        if state_change is ServiceStateChange.Added:
            found.put_nowait(name)

    browser = AsyncServiceBrowser(zc.zeroconf, [service_type], handlers=[on_change])
    try:
        async with asyncio.timeout(timeout):
            while True:
                name = await found.get()
                info = AsyncServiceInfo(service_type, name)
                if await info.async_request(zc.zeroconf, 3000) and (
                    info.properties.get(b"id") == server_id.encode()
                ):
                    return info
    finally:
        await browser.async_cancel()


async def test_server_is_announced_on_loopback_and_withdrawn_on_stop(
    start_server: object, tmp_path: Path
) -> None:
    from core.configuration import load_configuration
    from core.hub import Hub

    folder = write_config(tmp_path / "config", core_yaml(tmp_path / "data", mdns=True))
    hub = Hub(load_configuration(folder))
    await hub.start()
    zc = AsyncZeroconf(interfaces=["127.0.0.1"])
    try:
        info = await browse(zc, "_hearth._tcp.local.", hub.server_id)
        assert info.port == hub.port
        assert info.properties[b"id"] == hub.server_id.encode()
        assert info.parsed_addresses() == ["127.0.0.1"]
        http = await browse(zc, "_http._tcp.local.", hub.server_id)
        assert http.port == hub.port and http.properties[b"path"] == b"/"
        await hub.stop()
        gone = AsyncServiceInfo("_hearth._tcp.local.", info.name)
        await asyncio.sleep(0.5)  # the goodbye (TTL 0) has been sent and processed
        assert not await gone.async_request(zc.zeroconf, 1000)
    finally:
        await hub.stop()
        await zc.async_close()


def test_interfaces_resolve_to_addresses_and_loopback_by_address() -> None:
    assert resolve_interfaces(("127.0.0.1",)) == ["127.0.0.1"]
    assert resolve_interfaces(("lo",)) == ["127.0.0.1"]
    assert resolve_interfaces(("no-such-interface0",)) == []


BROWSER_SCRIPT = textwrap.dedent(
    """
    import asyncio, json, sys
    from zeroconf import ServiceStateChange
    from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

    async def main():
        zc = AsyncZeroconf()
        names = asyncio.Queue()
        def on_change(zeroconf, service_type, name, state_change):
            if state_change is ServiceStateChange.Added:
                names.put_nowait(name)
        browser = AsyncServiceBrowser(zc.zeroconf, ["_hearth._tcp.local."], handlers=[on_change])
        name = await asyncio.wait_for(names.get(), 20)
        info = AsyncServiceInfo("_hearth._tcp.local.", name)
        await info.async_request(zc.zeroconf, 3000)
        print(json.dumps({"port": info.port, "addresses": sorted(info.parsed_addresses()),
                          "id": info.properties[b"id"].decode()}))
        await browser.async_cancel()
        await zc.async_close()

    asyncio.run(main())
    """
)


@pytest.mark.skipif(netns.unavailable_reason() is not None, reason=str(netns.unavailable_reason()))
def test_default_all_interfaces_announcement_inside_a_network_namespace(tmp_path: Path) -> None:
    """With the shipped default (every interface), a browser on the same LAN finds the server."""
    data = tmp_path / "data"
    folder = write_config(
        tmp_path / "config",
        f"hearth:\n  data_dir: {data}\n  http: {{port: 18440}}\n",
    )
    with netns.network_namespace() as ns:
        server = subprocess.Popen(
            [*ns.prefix, sys.executable, "-m", "core", "run", "-c", str(folder)],
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            found = subprocess.run(
                [*ns.prefix, sys.executable, "-c", BROWSER_SCRIPT],
                capture_output=True,
                text=True,
                timeout=40,
            )
            assert found.returncode == 0, found.stderr
            result = json.loads(found.stdout)
        finally:
            server.terminate()
            _, log = server.communicate(timeout=10)
        assert server.returncode == 0, log
    assert result["port"] == 18440
    assert netns.LAN_ADDRESS in result["addresses"]
    assert len(result["id"]) == 32
