"""Discovery as Home Assistant does it: async_upnp_client hears the server's ssdp:alive, finds it
with a multicast M-SEARCH, builds the device from LOCATION and browses it, then hears byebye at
shutdown. Server and client run inside a private network namespace (multicast never reaches a
real interface), so this needs root; elsewhere the unicast tests in test_ssdp.py stand in."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests import netns
from tests.conftest import write_config

HTTP_PORT = 18441
CLIENT = textwrap.dedent(
    """
    import asyncio, json, sys
    from pathlib import Path
    from async_upnp_client.advertisement import SsdpAdvertisementListener
    from async_upnp_client.aiohttp import AiohttpRequester
    from async_upnp_client.client_factory import UpnpFactory
    from async_upnp_client.profiles.dlna import DmsDevice
    from async_upnp_client.search import async_search

    OUT = Path(sys.argv[1])
    SOURCE = (sys.argv[2], 0)
    DEVICE = "urn:schemas-upnp-org:device:MediaServer:1"

    async def main():
        alive, byebye = asyncio.Queue(), asyncio.Queue()

        async def on_alive(headers):
            alive.put_nowait(dict(headers.as_dict()))

        async def on_byebye(headers):
            byebye.put_nowait(dict(headers.as_dict()))

        listener = SsdpAdvertisementListener(
            async_on_alive=on_alive, async_on_byebye=on_byebye, source=SOURCE
        )
        await listener.async_start()
        (OUT / "ready").write_text("")
        heard = await asyncio.wait_for(alive.get(), 30)
        found = []

        async def on_response(headers):
            found.append(dict(headers.as_dict()))

        await async_search(on_response, timeout=2, search_target=DEVICE, source=SOURCE)
        device = await UpnpFactory(AiohttpRequester()).async_create_device(found[0]["location"])
        dms = DmsDevice(device, event_handler=None)
        root = await dms.async_browse_direct_children("0")
        result = {
            "alive": heard,
            "found": found,
            "udn": device.udn,
            "services": sorted(s.service_id for s in device.services.values()),
            "libraries": [o.title for o in root.result],
        }
        (OUT / "found.json").write_text(json.dumps(result, default=str))
        gone = []
        while not gone or gone[-1].get("NT") != DEVICE:
            gone.append(await asyncio.wait_for(byebye.get(), 30))
        (OUT / "byebye.json").write_text(json.dumps(gone, default=str))
        await listener.async_stop()

    asyncio.run(main())
    """
)


def wait_for(path: Path, seconds: float, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        if process.poll() is not None:
            raise AssertionError(f"the client ended early: {process.communicate()[1]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{path.name} did not appear within {seconds} s")
        time.sleep(0.05)


@pytest.mark.skipif(netns.unavailable_reason() is not None, reason=str(netns.unavailable_reason()))
def test_home_assistant_style_discovery_inside_a_network_namespace(tmp_path: Path) -> None:
    media = tmp_path / "Movies"
    media.mkdir()
    folder = write_config(
        tmp_path / "config",
        f"hearth:\n  name: Living Room Hearth\n  data_dir: {tmp_path / 'data'}\n"
        f"  http: {{port: {HTTP_PORT}}}\n  network: {{mdns: false}}\n"
        f"dlna: {{interfaces: [hv0], max_age: 120}}\n"
        f"folders:\n  watch: false\n  libraries:\n"
        f"    - {{name: Movies, kind: movies, paths: ['{media}']}}\n",
    )
    out = tmp_path / "out"
    out.mkdir()
    with netns.network_namespace() as ns:
        client = subprocess.Popen(
            [*ns.prefix, sys.executable, "-c", CLIENT, str(out), netns.LAN_ADDRESS],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        server: subprocess.Popen[str] | None = None
        try:
            wait_for(out / "ready", 20, client)
            server = subprocess.Popen(
                [*ns.prefix, sys.executable, "-m", "core", "run", "-c", str(folder)],
                stderr=subprocess.PIPE,
                text=True,
            )
            wait_for(out / "found.json", 40, client)
            server.terminate()
            _, log = server.communicate(timeout=15)
            assert server.returncode == 0, log
            client.communicate(timeout=30)
            assert client.returncode == 0
        finally:
            for process in (server, client):
                if process is not None and process.poll() is None:
                    process.kill()
                    process.communicate()
    found = json.loads((out / "found.json").read_text())
    udn = found["udn"]
    assert udn.startswith("uuid:")
    location = f"http://{netns.LAN_ADDRESS}:{HTTP_PORT}/dlna/description.xml"
    assert found["alive"]["LOCATION"] == location
    assert found["alive"]["CACHE-CONTROL"] == "max-age=120"
    assert [(r["LOCATION"], r["_udn"]) for r in found["found"]] == [(location, udn)]
    assert found["found"][0]["ST"] == "urn:schemas-upnp-org:device:MediaServer:1"
    assert found["services"] == [
        "urn:microsoft.com:serviceId:X_MS_MediaReceiverRegistrar",
        "urn:upnp-org:serviceId:ConnectionManager",
        "urn:upnp-org:serviceId:ContentDirectory",
    ]
    assert found["libraries"] == ["Movies"]
    gone = json.loads((out / "byebye.json").read_text())
    assert {g["USN"] for g in gone} >= {udn, f"{udn}::upnp:rootdevice"}
