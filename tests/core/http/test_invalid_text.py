"""Invalid text in any input is the client's 400, never the server's 500.

A JSON body may escape a lone surrogate (`"\\ud800"`) that Python parses but nothing can store;
an address may carry bytes that are not UTF-8 (`%ff`) or an encoded surrogate (`%ed%a0%80`), in
its query or its path. Each is refused with a JSON 400 and a sentence, on a real server.
"""

from __future__ import annotations

import asyncio

import pytest
from yarl import URL

from tests.conftest import RunningServer, StartServer

LONE = b'"\\ud800"'  # JSON text for a lone surrogate
JSON = {"Content-Type": "application/json"}
BODY_SENTENCE = "The body holds text that is not valid Unicode (a lone surrogate such as \\ud800)."
URL_SENTENCE = "The address holds text that is not valid UTF-8; check the link or search words."


async def send(
    server: RunningServer, method: str, target: str, body: bytes | None = None
) -> tuple[int, dict[str, str]]:
    """(status, error object) for a request whose target is sent exactly as written."""
    url = URL(server.url + target, encoded=True)
    async with server.session.request(method, url, data=body, headers=JSON) as reply:
        assert reply.content_type == "application/json", await reply.text()
        return reply.status, (await reply.json()).get("error", {})


async def test_a_lone_surrogate_user_name_on_sign_in_is_400(start_server: StartServer) -> None:
    server = await start_server()
    body = b'{"username": ' + LONE + b', "password": "correct horse battery"}'
    status, error = await send(server, "POST", "/api/auth/login", body)
    assert (status, error) == (400, {"code": "bad_text", "message": BODY_SENTENCE})


@pytest.mark.parametrize(
    "body",
    [
        b'{"name": ' + LONE + b"}",
        b'{"name": "Road trip", "items": [' + LONE + b"]}",
        b'{"name": "Road trip", ' + LONE + b": 1}",  # a key, too
    ],
)
async def test_a_lone_surrogate_anywhere_in_a_json_body_is_400(
    start_server: StartServer, body: bytes
) -> None:
    server = await start_server()
    status, error = await send(server, "POST", "/api/playlists", body)
    assert (status, error["code"]) == (400, "bad_text")


async def test_text_a_handler_cannot_encode_is_400_not_500(start_server: StartServer) -> None:
    """Playlist items are read by the handler itself (a bare list is allowed): the error
    middleware still answers the surrogate with a 400."""
    server = await start_server()
    status, made = await send(server, "POST", "/api/playlists", b'{"name": "Road trip"}')
    assert status in (200, 201), made
    async with server.session.get(server.url + "/api/playlists") as reply:
        playlist = (await reply.json())["playlists"][0]["id"]
    items = f"/api/playlists/{playlist}/items"
    status, error = await send(server, "PUT", items, b"[" + LONE + b"]")
    assert (status, error["code"]) == (400, "bad_text")


@pytest.mark.parametrize("word", ["%ff", "%ed%a0%80", "caf%e9"])
async def test_a_query_that_is_not_utf8_is_400(start_server: StartServer, word: str) -> None:
    server = await start_server()
    status, error = await send(server, "GET", f"/api/items?q={word}")
    assert (status, error) == (400, {"code": "bad_text", "message": URL_SENTENCE})
    status, _ = await send(server, "GET", "/api/items?q=caf%C3%A9")  # UTF-8 café: fine
    assert status == 200


@pytest.mark.parametrize(
    "path", ["/api/items/%ff", "/api/items/%ed%a0%80/artwork/poster", "/api/playlists/%ff"]
)
async def test_a_path_that_is_not_utf8_is_400(start_server: StartServer, path: str) -> None:
    server = await start_server()
    status, error = await send(server, "GET", path)
    assert (status, error["code"]) == (400, "bad_text")


@pytest.mark.allow_errors  # aiohttp's parser refuses them itself and logs its 400 at ERROR
async def test_raw_bytes_that_are_not_utf8_in_the_request_line_are_never_500(
    start_server: StartServer,
) -> None:
    server = await start_server()
    reader, writer = await asyncio.open_connection("127.0.0.1", server.hub.port)
    writer.write(b"GET /api/items/\xff\xfe?q=\xed\xa0\x80 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    await writer.drain()
    status_line = await reader.readline()
    writer.close()
    await writer.wait_closed()
    assert status_line.split()[1] in (b"400", b"404"), status_line


@pytest.mark.parametrize("word", ["%ff", "%ed%a0%80"])
async def test_a_music_app_sending_text_that_is_not_utf8_gets_400_in_a_query_or_a_form(
    start_server: StartServer, word: str
) -> None:
    """Subsonic's parameters come in the query or, formPost, a form body: both are checked
    (the form's escapes were read as U+FFFD, a wrong password instead of a 400)."""
    server = await start_server("subsonic:\n")
    status, error = await send(server, "GET", f"/rest/ping?f=json&u={word}&p=x")
    assert (status, error) == (400, {"code": "bad_text", "message": URL_SENTENCE})
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    for body in (f"f=json&u={word}&p=x", f"f=json&u=owner&p={word}"):
        async with server.session.post(server.url + "/rest/ping", data=body, headers=form) as r:
            assert (r.status, (await r.json())["error"]["code"]) == (400, "bad_text"), body
    async with server.session.post(
        server.url + "/rest/ping", data="f=json&u=owner&p=caf%C3%A9", headers=form
    ) as reply:  # UTF-8 is read as ever: a wrong password, in Subsonic's words
        assert (await reply.json())["subsonic-response"]["error"]["code"] == 40
