"""Capability links for players that cannot send a header: bound to one item and one person's
limits, honoured only by the stream and HLS GETs, ended with the session that made them, and
never printed in the access log. ffmpeg plays the HLS link with no header at all."""

from __future__ import annotations

import asyncio
import logging
import shutil
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.conftest import RunningServer, StartServer, make_user
from tests.core.people.household import call, household_server, item_by_title, library_ids


@pytest.fixture
async def server(start_server: StartServer, tmp_path: Path) -> RunningServer:
    return await household_server(start_server, tmp_path / "media")


async def make_link(server: RunningServer, token: str, item_id: str) -> tuple[int, Any]:
    return await call(server, "POST", f"/api/items/{item_id}/stream-url", token)


async def fetch(url: str, method: str = "GET", **headers: str) -> tuple[int, bytes]:
    """As a player would: no credentials, no cookie."""
    async with aiohttp.ClientSession() as client, client.request(method, url, headers=headers) as r:
        return r.status, await r.read()


async def test_a_link_plays_the_file_for_a_player_without_headers(
    server: RunningServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ids = await library_ids(server)
    member = await make_user(server.hub, "guest", "member", libraries=[ids["Movies"]])
    movie = await item_by_title(server, "Toy Story", "movie")
    status, links = await make_link(server, member, movie["id"])
    assert status == 201, links
    assert set(links) == {"url", "hls_url", "expires_at"}
    assert links["url"].startswith(f"{server.url}/api/items/{movie['id']}/stream?link=hl_")
    assert links["hls_url"].startswith(f"{server.url}/api/items/{movie['id']}/hls/master.m3u8?")
    original = (tmp_path / "media/Movies/Toy Story (1995)/Toy Story (1995).mkv").read_bytes()
    status, body = await fetch(links["url"])
    assert (status, body) == (200, original)
    status, part = await fetch(links["url"], Range="bytes=0-99")
    assert (status, part) == (206, original[:100])
    token = links["url"].split("link=")[1]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "/stream?link=***" in logged and token not in logged


async def test_a_link_reaches_its_item_and_nothing_else(server: RunningServer) -> None:
    ids = await library_ids(server)
    member = await make_user(server.hub, "guest", "member", libraries=[ids["Movies"]])
    toy = await item_by_title(server, "Toy Story", "movie")
    alien = await item_by_title(server, "Alien", "movie")  # granted too, but not this link's
    _, links = await make_link(server, member, toy["id"])
    query = links["url"].split("?")[1]
    assert (await fetch(f"{server.url}/api/items/{alien['id']}/stream?{query}"))[0] == 404
    for path in ("/api/items", f"/api/items/{toy['id']}", "/api/auth/me", "/api/users"):
        assert (await fetch(f"{server.url}{path}?{query}"))[0] == 401, path
    posted = await fetch(f"{server.url}/api/items/{toy['id']}/stream-url?{query}", "POST")
    assert posted[0] == 401  # a link never makes more links, nor anything else that writes


async def test_no_link_for_an_item_the_person_may_not_see(server: RunningServer) -> None:
    ids = await library_ids(server)
    member = await make_user(server.hub, "guest", "member", libraries=[ids["Movies"]])
    pilot = await item_by_title(server, "Pilot", "episode")  # TV was not granted
    status, body = await make_link(server, member, pilot["id"])
    assert status == 404 and body["error"]["code"] == "item_not_found"
    kid = await make_user(server.hub, "kid", "managed", max_rating="PG")
    blade = await item_by_title(server, "Blade Runner", "movie")  # R
    assert (await make_link(server, kid, blade["id"]))[0] == 404


async def test_a_link_ends_with_the_session_that_made_it(server: RunningServer) -> None:
    owner = await make_user(server.hub, "second", "admin")
    movie = await item_by_title(server, "Toy Story", "movie")
    _, links = await make_link(server, owner, movie["id"])
    assert (await fetch(links["url"], "HEAD"))[0] == 200
    assert (await call(server, "POST", "/api/auth/logout", owner, json={}))[0] in (200, 204)
    assert (await fetch(links["url"], "HEAD"))[0] == 401


async def test_an_expired_link_is_refused(server: RunningServer) -> None:
    movie = await item_by_title(server, "Toy Story", "movie")
    token = server.session.headers["Authorization"].split()[1]
    _, links = await make_link(server, token, movie["id"])
    await server.hub.catalog.write(
        lambda db: db.execute("UPDATE stream_links SET expires_at = '2000-01-01T00:00:00Z'")
    )
    assert (await fetch(links["url"]))[0] == 401


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")
async def test_ffmpeg_plays_the_hls_link_with_no_header(server: RunningServer) -> None:
    movie = await item_by_title(server, "Toy Story", "movie")
    token = server.session.headers["Authorization"].split()[1]
    _, links = await make_link(server, token, movie["id"])
    status, master = await fetch(links["hls_url"])
    assert status == 200
    uris = [line for line in master.decode().splitlines() if line and not line.startswith("#")]
    assert uris and all("?link=hl_" in uri for uri in uris)
    process = await asyncio.create_subprocess_exec(
        "ffmpeg", "-v", "error", "-i", links["hls_url"], "-f", "null", "-",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, errors = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, errors.decode()
    assert b"401" not in errors and b"403" not in errors


def test_no_token_appears_in_a_logged_request_line() -> None:
    from aiohttp.test_utils import make_mocked_request

    from core.http.server import _without_secrets

    request = make_mocked_request("GET", "/api/items/a/stream?link=hl_secret&x=1")
    assert _without_secrets(request) == "/api/items/a/stream?link=***&x=1"
    assert logging.getLogger("hearth.access")  # the logger the line goes to
