"""Play to TV with a capability link: a signed-in person plays to a TV what TVs are not shown
(a library the owner left unticked for TVs), and the TV, which sends no header, fetches it
through the URL it was handed (`?link=`, bound to that item and that person's session). The
link serves nothing else, ends with the session or after its day, never reaches the DLNA routes
from outside the home, and never appears in the access log."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest

from tests.conftest import RunningServer, StartServer, make_user
from tests.plugins.dlna.dms import SUBTITLE
from tests.plugins.dlna_renderer.dmr import LoopbackTv
from tests.plugins.dlna_renderer.test_play import call, listed, metadata, tv_library_server


@pytest.fixture
async def tv() -> AsyncIterator[LoopbackTv]:
    peer = LoopbackTv()
    await peer.start()
    yield peer
    await peer.stop()


async def fetch(url: str, headers: dict[str, str] | None = None, method: str = "GET") -> Any:
    """What the TV gets: no Authorization header, no cookie (status, headers, first bytes)."""
    async with (
        aiohttp.ClientSession() as tv_client,
        tv_client.request(method, url, headers=headers) as response,
    ):
        body = await response.content.read(4096)
        return response.status, response.headers, body


def link_of(url: str) -> str:
    [token] = parse_qs(urlsplit(url).query)["link"]
    assert token.startswith("hl_")
    return token


async def hidden_from_tvs(
    start_server: StartServer, tmp_path: Path, tv: LoopbackTv
) -> tuple[RunningServer, str, str, dict[str, str]]:
    """A server with the TV, Movies and Home Videos hidden from TVs, and a member granted both:
    (server, the TV's play path, the member's token, item ids by title)."""
    server = await tv_library_server(start_server, tmp_path, tv)
    [renderer] = await listed(server)
    play = f"/api/renderers/{renderer['id']}/play"
    libraries = {
        lib["name"]: lib
        for lib in (await server.get_json("/api/libraries"))["libraries"]  # type: ignore[index]
    }
    assert not libraries["Home Videos"]["lan_visible"]  # home videos start hidden from TVs
    await server.hub.catalog.write(
        lambda db: db.execute("UPDATE libraries SET lan_visible = 0 WHERE name = 'Movies'")
    )
    granted = [libraries["Home Videos"]["id"], libraries["Movies"]["id"]]
    member = await make_user(server.hub, "ann", "member", libraries=granted)
    items = {
        i["title"]: i["id"]
        for i in (await server.get_json("/api/items?limit=200"))["items"]  # type: ignore[index]
    }
    return server, play, member, items


async def test_a_person_plays_to_a_tv_what_tvs_are_not_shown_and_the_tv_fetches_it(
    start_server: StartServer, tmp_path: Path, tv: LoopbackTv, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "hearth.access")
    server, play, member, items = await hidden_from_tvs(start_server, tmp_path, tv)
    fireworks, alien, blade = (
        items["2019-07-04 Fireworks"],
        items["Alien"],
        items["Blade Runner"],
    )
    size = (tmp_path / "media" / "Videos" / "2019-07-04 Fireworks.mp4").stat().st_size

    # The file: the TV gets the DLNA URL with a link, and the file through it.
    status, body = await call(server, "POST", play, {"item_id": fireworks}, token=member)
    assert status == 200, body
    assert body["state"] == "playing" and body["item_id"] == fireworks
    uri, _ = metadata(tv.device)  # type: ignore[arg-type]
    assert uri.startswith(f"{server.url}/dlna/media/{fireworks}.mp4?link=hl_")
    file_link = link_of(uri)
    status, headers, first = await fetch(uri)
    assert status == 200 and int(headers["Content-Length"]) == size and first
    status, headers, first = await fetch(uri, {"Range": "bytes=10-19"})
    assert status == 206 and headers["Content-Range"] == f"bytes 10-19/{size}"
    assert len(first) == 10
    status, headers, _ = await fetch(uri, {"getcontentFeatures.dlna.org": "1"}, "HEAD")
    assert status == 200 and headers["Content-Type"] == "video/mp4"
    assert "DLNA.ORG_OP=01" in headers["contentFeatures.dlna.org"]
    assert (await fetch(uri.split("?", 1)[0]))[0] == 404  # without the link: TVs' rules

    # A video the TV cannot play as it is: the transcode, by byte Range and by time.
    status, body = await call(server, "POST", play, {"item_id": blade}, token=member)
    assert status == 200, body
    uri, _ = metadata(tv.device)  # type: ignore[arg-type]
    assert uri.startswith(f"{server.url}/dlna/transcode/{blade}.ts?link=hl_")
    transcode_link = link_of(uri)
    status, headers, first = await fetch(uri, {"Range": "bytes=0-187"})
    assert status == 206 and headers["Content-Range"].startswith("bytes 0-187/")
    assert len(first) == 188 and first[0] == 0x47  # an MPEG-TS packet
    status, headers, first = await fetch(uri, {"TimeSeekRange.dlna.org": "npt=0.5-"})
    assert status == 200 and headers["TimeSeekRange.dlna.org"].startswith("npt=0.")
    assert first[0] == 0x47
    assert (await fetch(uri.split("?", 1)[0]))[0] == 404

    # A link serves its own item only, on the routes that take links.
    base = server.url + "/dlna"
    assert (await fetch(f"{base}/media/{alien}.mp4?link={file_link}"))[0] == 404
    assert (await fetch(f"{base}/transcode/{fireworks}.ts?link={transcode_link}"))[0] == 404
    assert (await fetch(f"{base}/media/{blade}.mkv?link={transcode_link}"))[0] == 200

    # An expired link is no link.
    await server.hub.catalog.write(
        lambda db: db.execute(
            "UPDATE stream_links SET expires_at = '2000-01-01T00:00:00Z' WHERE item_id = ?",
            [blade],
        )
    )
    assert (await fetch(f"{base}/media/{blade}.mkv?link={transcode_link}"))[0] == 404

    # From outside the home (what the relay hands in), a linked DLNA URL is still refused.
    socket_path = str(tmp_path / "tunnel.sock")
    await server.hub.http.add_unix_site(socket_path)
    async with (
        aiohttp.ClientSession(connector=aiohttp.UnixConnector(path=socket_path)) as remote,
        remote.get(f"http://127.0.0.1/dlna/media/{fireworks}.mp4?link={file_link}") as reply,
    ):
        assert reply.status == 403
        assert (await reply.json())["error"]["code"] == "home_network_only"

    # Signing out ends every link that session made: the TV's URLs are TVs' URLs again.
    assert (await call(server, "POST", "/api/auth/logout", {}, token=member))[0] == 200
    assert (await fetch(f"{base}/media/{fireworks}.mp4?link={file_link}"))[0] == 404
    assert (await fetch(f"{base}/transcode/{blade}.ts?link={transcode_link}"))[0] == 404

    # The access log shows the requests, never a token.
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name == "hearth.access")
    assert f"/dlna/media/{fireworks}.mp4?link=*** " in logged
    assert file_link not in caplog.text and transcode_link not in caplog.text


async def test_the_tv_gets_the_picture_and_subtitles_of_what_a_person_plays_through_the_link(
    start_server: StartServer, tmp_path: Path, tv: LoopbackTv
) -> None:
    """A movie with a poster and a subtitle file in a library hidden from TVs: its
    albumArtURI and the CaptionInfo.sec a Samsung TV asks for carry the link."""
    server, play, member, items = await hidden_from_tvs(start_server, tmp_path, tv)
    alien, blade = items["Alien"], items["Blade Runner"]
    status, body = await call(server, "POST", play, {"item_id": alien}, token=member)
    assert status == 200, body
    uri, didl = metadata(tv.device)  # type: ignore[arg-type]
    art = didl.findtext("{urn:schemas-upnp-org:metadata-1-0/upnp/}albumArtURI")
    assert art == f"{server.url}/dlna/art/{alien}.jpg?link={link_of(uri)}"
    status, headers, first = await fetch(art)
    assert status == 200 and headers["Content-Type"] == "image/jpeg"
    assert first.startswith(b"\xff\xd8")
    assert (await fetch(art.split("?", 1)[0]))[0] == 404  # TVs are not shown Movies
    assert (await fetch(f"{server.url}/dlna/art/{blade}.jpg?link={link_of(uri)}"))[0] == 404

    status, headers, _ = await fetch(uri, {"getCaptionInfo.sec": "1"}, "HEAD")
    caption = headers["CaptionInfo.sec"]
    assert caption == (
        f"{server.url}/dlna/subtitle/{alien}/Alien%20%281979%29.en.srt?link={link_of(uri)}"
    )
    status, headers, first = await fetch(caption)
    assert status == 200 and first == SUBTITLE.encode()
    assert (await fetch(caption.split("?", 1)[0]))[0] == 404
    other = f"{server.url}/dlna/subtitle/{blade}/Alien%20%281979%29.en.srt?link={link_of(uri)}"
    assert (await fetch(other))[0] == 404
