"""Finding a TV with SSDP, inside a private network namespace (multicast never reaches a real
interface): a DMR peer (async_upnp_client's UpnpServer, announcing and answering M-SEARCH) and
a Hearth server run as two processes; the peer asks Hearth's API to play on it, then leaves
with ssdp:byebye and must vanish from the list. Needs root; elsewhere test_play.py adds the
peer by its description URL instead."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests import netns
from tests.conftest import write_config
from tests.core.media.mediagen import make_video
from tests.plugins.dlna_renderer.lan import owner_token, wait_for

HTTP_PORT, PEER_PORT = 18461, 18462
PEER = textwrap.dedent(
    """
    import asyncio, json, sys, time
    from pathlib import Path
    import aiohttp
    from async_upnp_client.server import UpnpServer
    from tests.plugins.dlna_renderer.dmr import FakeTv

    OUT, HEARTH, TOKEN, ADDRESS, PORT = sys.argv[1:6]

    async def until(check, seconds):
        deadline = time.monotonic() + seconds
        while not (found := await check()):
            if time.monotonic() > deadline:
                raise TimeoutError(check.__name__)
            await asyncio.sleep(0.1)
        return found

    async def main():
        tv = UpnpServer(FakeTv, (ADDRESS, 0), http_port=int(PORT))
        await tv.async_start()
        Path(OUT, "ready").write_text("")
        auth = {"Authorization": f"Bearer {TOKEN}"}
        async with aiohttp.ClientSession(headers=auth) as http:
            async def get(path):
                try:
                    async with http.get(HEARTH + path) as response:
                        return await response.json() if response.status == 200 else None
                except aiohttp.ClientError:
                    return None

            async def renderers():
                return await get("/api/renderers")

            async def movies():
                return ((await get("/api/items?kind=movie")) or {}).get("items")

            found = await until(renderers, 30)
            items = await until(movies, 30)
            play = f"{HEARTH}/api/renderers/{found[0]['id']}/play"
            async with http.post(play, json={"item_id": items[0]["id"]}) as response:
                played = {"status": response.status, "body": await response.json()}
            calls = tv._device.recorded("AVT").calls
            await tv.async_stop()  # ssdp:byebye

            async def forgotten():
                return await renderers() == [] and "forgotten"

            gone = await until(forgotten, 15)
        result = {"renderers": found, "played": played, "calls": calls, "gone": gone}
        Path(OUT, "result.json").write_text(json.dumps(result))

    asyncio.run(main())
    """
)


@pytest.mark.skipif(netns.unavailable_reason() is not None, reason=str(netns.unavailable_reason()))
def test_a_tv_found_with_ssdp_plays_and_is_forgotten_at_byebye(tmp_path: Path) -> None:
    movies = tmp_path / "Movies"
    movies.mkdir()
    make_video(movies / "Alien (1979).mp4", 1.0)
    token = asyncio.run(owner_token(tmp_path / "data"))
    address = netns.LAN_ADDRESS
    folder = write_config(
        tmp_path / "config",
        f"hearth:\n  data_dir: {tmp_path / 'data'}\n"
        f"  http: {{host: {address}, port: {HTTP_PORT}, https_port: 0}}\n"
        "  network: {interfaces: [hv0], mdns: false}\n"
        "dlna: {ssdp: false}\ndlna_renderer: {search_interval: 30}\nfilename:\n"
        f"folders:\n  watch: false\n  libraries:\n"
        f"    - {{name: Movies, kind: movies, paths: ['{movies}']}}\n",
    )
    out = tmp_path / "out"
    out.mkdir()
    hearth = f"http://{address}:{HTTP_PORT}"
    with netns.network_namespace() as ns:
        arguments = [str(out), hearth, token, address, str(PEER_PORT)]
        peer = subprocess.Popen(
            [*ns.prefix, sys.executable, "-c", PEER, *arguments],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        server: subprocess.Popen[str] | None = None
        try:
            wait_for(out / "ready", 20, peer)
            server = subprocess.Popen(
                [*ns.prefix, sys.executable, "-m", "core", "run", "-c", str(folder)],
                stderr=subprocess.PIPE,
                text=True,
            )
            _, peer_log = peer.communicate(timeout=60)
            assert peer.returncode == 0, peer_log
            server.terminate()
            _, log = server.communicate(timeout=15)
            assert server.returncode == 0, log
        finally:
            for process in (server, peer):
                if process is not None and process.poll() is None:
                    process.kill()
                    process.communicate()
    result = json.loads((out / "result.json").read_text())
    [renderer] = result["renderers"]
    assert renderer["name"] == "[TV] Living Room"
    assert renderer["manufacturer"] == "Samsung Electronics"
    assert result["played"]["status"] == 200, result["played"]
    assert result["played"]["body"]["state"] == "playing"
    [(_, loaded)] = [c for c in result["calls"] if c[0] == "SetAVTransportURI"]
    assert loaded["uri"].startswith(f"{hearth}/dlna/media/") and ".mp4?link=hl_" in loaded["uri"]
    assert ["Play", {"speed": "1"}] in result["calls"]
    assert result["gone"] == "forgotten"
    assert "Found [TV] Living Room" in log and "[TV] Living Room left the network" in log
