"""Play to TV against a DMR peer: the renderer is added from its description URL on loopback,
listed, told what to play (SetAVTransportURI with DIDL-Lite a parser accepts, then Play) and
controlled; the item must be one the signed-in person may see (TVs get it through a link on
their session, test_play_links.py), and, played for nobody in particular, one TVs are shown."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from defusedxml import ElementTree

from core.http.errors import ApiError
from tests.conftest import RunningServer, StartServer, make_user
from tests.core.scan.library import library_yaml
from tests.core.scan.test_scanner import settle
from tests.plugins.dlna.dms import PROVIDERS, make_library
from tests.plugins.dlna_renderer.dmr import FakeTv, LoopbackTv

DIDL = "{urn:schemas-upnp-org:metadata-1-0/DIDL-Lite/}"
DC = "{http://purl.org/dc/elements/1.1/}"
UPNP = "{urn:schemas-upnp-org:metadata-1-0/upnp/}"


@pytest.fixture
async def tv() -> AsyncIterator[LoopbackTv]:
    peer = LoopbackTv()
    await peer.start()
    yield peer
    await peer.stop()


async def call(
    server: RunningServer, method: str, path: str, body: Any = None, token: str | None = None
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else None
    async with server.session.request(
        method, server.url + path, json=body, headers=headers
    ) as response:
        return response.status, await response.json()


async def listed(server: RunningServer) -> list[dict[str, Any]]:
    for _ in range(100):
        status, found = await call(server, "GET", "/api/renderers")
        assert status == 200
        if found:
            return list(found)
        await asyncio.sleep(0.05)
    raise AssertionError("the renderer was never listed")


def metadata(device: FakeTv) -> tuple[str, Any]:
    """The URI and the parsed DIDL-Lite item of the last SetAVTransportURI."""
    _name, args = [c for c in device.recorded("AVT").calls if c[0] == "SetAVTransportURI"][-1]
    item = ElementTree.fromstring(args["metadata"], forbid_dtd=True).find(f"{DIDL}item")
    assert item is not None
    return args["uri"], item


async def tv_library_server(
    start_server: StartServer, tmp_path: Path, tv: LoopbackTv
) -> RunningServer:
    """A scanned test library and a server told where the TV is (no discovery)."""
    make_library(tmp_path / "media")
    server = await start_server(
        "dlna: {ssdp: false}\n"
        f"dlna_renderer: {{discovery: false, renderers: ['{tv.location}']}}\n"
        + library_yaml(tmp_path / "media")
        + PROVIDERS
    )
    await settle(server)
    return server


async def test_a_tv_is_added_by_location_told_what_to_play_and_controlled(
    start_server: StartServer, tmp_path: Path, tv: LoopbackTv
) -> None:
    server = await tv_library_server(start_server, tmp_path, tv)
    [renderer] = await listed(server)
    assert renderer == {
        "id": renderer["id"],
        "name": "[TV] Living Room",
        "model": "QE55Q7",
        "manufacturer": "Samsung Electronics",
        "state": "idle",
        "volume": 30,
        "position": None,
        "duration": None,
        "item_id": None,
    }
    assert server.hub.targets.names() == [f"dlna:{renderer['id']}"]
    base = f"/api/renderers/{renderer['id']}"
    movies = {
        m["title"]: m["id"] for m in (await server.get_json("/api/items?kind=movie"))["items"]
    }  # type: ignore[index]
    assert tv.device is not None
    avt = tv.device.recorded("AVT")

    # Alien is H.264/AAC MP4, which the TV lists: it fetches the file itself.
    status, body = await call(server, "POST", f"{base}/play", {"item_id": movies["Alien"]})
    assert status == 200, body
    uri, item = metadata(tv.device)
    # the owner pressed Play: a capability link on the owner's session (test_play_links.py)
    assert uri.startswith(f"{server.url}/dlna/media/{movies['Alien']}.mp4?link=hl_")
    assert item.findtext(f"{DC}title") == "Alien"
    assert item.findtext(f"{UPNP}class") == "object.item.videoItem.movie"
    res = item.find(f"{DIDL}res")
    assert res is not None and res.text == uri
    assert res.get("protocolInfo", "").startswith(
        "http-get:*:video/mp4:DLNA.ORG_PN=AVC_MP4_HP_HD_AAC;DLNA.ORG_OP=01;DLNA.ORG_CI=0;"
    )
    assert res.get("duration") == "0:00:02.000"
    assert ("Play", {"speed": "1"}) in avt.calls
    assert body["state"] == "playing" and body["item_id"] == movies["Alien"]
    # The catalog's duration (2 s), never the TV's TrackDuration guess (1:40).
    assert body["position"] == 1.0 and body["duration"] == 2.0
    polled = sum(1 for c in avt.calls if c[0] == "GetPositionInfo")
    for _ in range(60):  # followed while it plays
        if sum(1 for c in avt.calls if c[0] == "GetPositionInfo") > polled:
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the TV was not polled while playing")

    # Blade Runner is Matroska, which the TV does not list: it gets the MPEG-TS transcode.
    status, body = await call(
        server, "POST", f"{base}/play", {"item_id": movies["Blade Runner"], "position": 65}
    )
    assert status == 200, body
    uri, item = metadata(tv.device)
    assert uri.startswith(f"{server.url}/dlna/transcode/{movies['Blade Runner']}.ts?link=hl_")
    assert (
        item.find(f"{DIDL}res")
        .get("protocolInfo", "")
        .startswith(  # type: ignore[union-attr]
            "http-get:*:video/mpeg:DLNA.ORG_OP=11;DLNA.ORG_CI=1;"
        )
    )
    assert avt.calls[-3:-1] == [
        ("Play", {"speed": "1"}),
        ("Seek", {"unit": "REL_TIME", "target": "0:01:05"}),
    ]
    assert body["duration"] == pytest.approx(1.0, abs=0.1)  # its own, not left from Alien

    # Paused, then `play` without an item goes on with what the TV has.
    assert (await call(server, "POST", f"{base}/pause"))[1]["state"] == "paused"
    plays = avt.calls.count(("Play", {"speed": "1"}))
    status, body = await call(server, "POST", f"{base}/play", {})
    assert status == 200 and body["state"] == "playing", body
    assert avt.calls.count(("Play", {"speed": "1"})) == plays + 1
    assert body["item_id"] == movies["Blade Runner"]  # the same item, not loaded again

    for action, payload, expected in (
        ("pause", None, ("Pause", {})),
        ("seek", {"position": 3725}, ("Seek", {"unit": "REL_TIME", "target": "1:02:05"})),
        ("stop", None, ("Stop", {})),
    ):
        status, body = await call(server, "POST", f"{base}/{action}", payload)
        assert status == 200, body
        assert expected in avt.calls
    assert body["state"] == "stopped"
    status, body = await call(server, "POST", f"{base}/volume", {"volume": 55})
    assert status == 200 and body["volume"] == 55
    assert ("SetVolume", {"volume": 55}) in tv.device.recorded("RC").calls
    assert (await call(server, "POST", f"{base}/volume", {"volume": 101}))[0] == 400


async def test_only_items_the_person_and_tvs_may_see_are_played(
    start_server: StartServer, tmp_path: Path, tv: LoopbackTv
) -> None:
    server = await tv_library_server(start_server, tmp_path, tv)
    [renderer] = await listed(server)
    base = f"/api/renderers/{renderer['id']}"
    movies = {
        m["title"]: m["id"] for m in (await server.get_json("/api/items?kind=movie"))["items"]
    }  # type: ignore[index]
    libraries = await server.get_json("/api/libraries")
    music = next(lib["id"] for lib in libraries["libraries"] if lib["name"] == "Music")  # type: ignore[index]
    member = await make_user(server.hub, "kid", "member", libraries=[music])
    play = {"item_id": movies["Alien"]}

    assert (await call(server, "POST", f"{base}/play", play, token="nonsense"))[0] == 401
    status, body = await call(server, "POST", f"{base}/play", {})  # nothing on it to resume
    assert status == 409 and body["error"]["code"] == "nothing_loaded"
    status, body = await call(server, "POST", f"{base}/play", play, token=member)
    assert status == 404 and body["error"]["code"] == "item_not_found"
    assert (await call(server, "POST", "/api/renderers/0000/play", play))[0] == 404
    await server.hub.catalog.write(
        lambda db: db.execute("UPDATE libraries SET lan_visible = 0 WHERE name = 'Movies'")
    )
    # Played for nobody in particular (the core's PlaybackTarget), TVs' rules alone decide.
    target = server.hub.targets.get(f"dlna:{renderer['id']}")
    assert target is not None
    with pytest.raises(ApiError) as refused:
        await target.play(movies["Alien"])
    assert refused.value.status == 404 and refused.value.code == "item_not_found"
    assert tv.device is not None
    assert not [c for c in tv.device.recorded("AVT").calls if c[0] == "SetAVTransportURI"]
    status, body = await call(server, "POST", f"{base}/play", play)  # the owner sees it: a link
    assert status == 200 and body["item_id"] == movies["Alien"], body

    # A TV found by SSDP whose max-age lapses without a byebye is forgotten at the next sweep.
    context = server.hub.records["dlna_renderer"].context
    assert context is not None
    fleet = context.state
    found = fleet.get(renderer["id"])
    found.info = dataclasses.replace(found.info, via_ssdp=True)
    fleet.alive = lambda udn: False
    await fleet.sweep(())
    assert await call(server, "GET", "/api/renderers") == (200, [])
    target = server.hub.targets.get(f"dlna:{renderer['id']}")
    assert target is not None and target.status() == {"id": renderer["id"], "state": "gone"}
    await fleet.sweep((tv.location,))  # a configured one comes back
    assert [r["id"] for r in (await call(server, "GET", "/api/renderers"))[1]] == [renderer["id"]]


async def test_a_tv_the_owner_listed_by_host_name_is_used(
    start_server: StartServer, tv: LoopbackTv
) -> None:
    location = tv.location.replace("127.0.0.1", "localhost")  # SSDP may not name hosts; owners may
    server = await start_server(
        f"dlna: {{ssdp: false}}\ndlna_renderer: {{discovery: false, renderers: ['{location}']}}\n"
    )
    [renderer] = await listed(server)
    assert renderer["name"] == "[TV] Living Room" and renderer["state"] == "idle"
