"""An HLS session belongs to the client that opened it: its id alone reaches nothing.

On a real server over the rated household library, the owner starts an R-rated film as HLS. A
PG child who learns the session id cannot fetch its playlist, segments or subtitles, and a
member cannot stop it: each is told 404, as if the session did not exist. The owner's playback
goes on untouched.
"""

from __future__ import annotations

from pathlib import Path

import aiohttp

from tests.conftest import RunningServer, StartServer, make_user
from tests.core.people.household import household_server, item_by_title


async def fetch(
    server: RunningServer, method: str, path: str, token: str
) -> tuple[int, str, bytes]:
    """(status, error code or "", body) of one request as `token`'s owner."""
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        aiohttp.ClientSession() as client,
        client.request(method, server.url + path, headers=headers) as reply,
    ):
        body = await reply.read()
        code = ""
        if reply.content_type == "application/json":
            code = (await reply.json())["error"]["code"]
        return reply.status, code, body


async def test_only_the_opener_reaches_an_hls_session(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = await household_server(start_server, tmp_path / "media")
    owner = server.session.headers["Authorization"].removeprefix("Bearer ")
    kid = await make_user(server.hub, "kid", "managed", max_rating="PG")
    member = await make_user(server.hub, "member", "member")
    blade = await item_by_title(server, "Blade Runner", "movie")
    base = f"/api/items/{blade['id']}/hls"
    status, _, master = await fetch(server, "GET", f"{base}/master.m3u8", owner)
    assert status == 200, master
    session = next(line for line in master.decode().splitlines() if "index.m3u8" in line)
    session = session.split("/")[0]
    assert (await fetch(server, "GET", f"{base}/{session}/index.m3u8", owner))[0] == 200

    for token in (kid, member):
        for method, path in (
            ("GET", f"{base}/{session}/index.m3u8"),
            ("GET", f"{base}/{session}/0.ts"),
            ("GET", f"{base}/{session}/subs0.m3u8"),
            ("GET", f"{base}/{session}/subs0.vtt"),
            ("DELETE", f"{base}/{session}"),
        ):
            assert (await fetch(server, method, path, token))[:2] == (404, "session_ended"), path

    status, _, segment = await fetch(server, "GET", f"{base}/{session}/0.ts", owner)
    assert status == 200 and segment[:1] == b"\x47"  # MPEG-TS sync byte: still playing
    # a segment is a file the server made: the same byte ranges as a library file
    ranged = {"Authorization": f"Bearer {owner}", "Range": "bytes=-0"}
    async with (
        aiohttp.ClientSession() as client,
        client.get(f"{server.url}{base}/{session}/0.ts", headers=ranged) as reply,
    ):
        assert reply.status == 416
    assert (await fetch(server, "DELETE", f"{base}/{session}", owner))[0] == 204
