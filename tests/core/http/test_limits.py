"""Request bodies are bounded: 1 MiB for the whole app, 16 KiB for sign-in forms; an oversized
body gets a JSON 413, whether it announces its length or comes in chunks."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from core.http.server import MAX_REQUEST_BYTES
from tests.conftest import StartServer

TWO_MIB = 2 * 1024 * 1024


def big_json() -> bytes:
    return b'{"library": "' + b"x" * (TWO_MIB - 20) + b'"}'


async def chunks(data: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


@pytest.mark.parametrize(
    ("path", "chunked", "code"),
    [
        ("/api/scan", False, "request_entity_too_large"),
        ("/api/scan", True, "request_entity_too_large"),
        ("/api/auth/login", False, "too_large"),  # its own 16 KiB limit, from Content-Length
        ("/api/auth/login", True, "request_entity_too_large"),  # no length: the app's limit
    ],
)
async def test_a_two_mib_body_is_refused_with_json_413(
    start_server: StartServer, path: str, chunked: bool, code: str
) -> None:
    server = await start_server()
    assert MAX_REQUEST_BYTES == 1024 * 1024
    body = chunks(big_json()) if chunked else big_json()
    headers = {"Content-Type": "application/json"}
    async with server.session.post(server.url + path, data=body, headers=headers) as reply:
        assert reply.status == 413
        assert reply.content_type == "application/json"
        error = (await reply.json())["error"]
    assert error["code"] == code
    assert "too large" in error["message"] or "exceeded" in error["message"]


async def test_a_body_under_the_limit_is_read(start_server: StartServer) -> None:
    server = await start_server()
    body = b'{"library": "' + b"x" * (512 * 1024) + b'"}'
    headers = {"Content-Type": "application/json"}
    async with server.session.post(server.url + "/api/scan", data=body, headers=headers) as reply:
        assert reply.status == 404  # read and understood: there is no such library
        assert (await reply.json())["error"]["code"] == "library_not_found"


async def test_sign_in_forms_are_limited_to_16_kib(start_server: StartServer) -> None:
    server = await start_server()
    body = b'{"username": "owner", "password": "' + b"x" * (20 * 1024) + b'"}'
    async with (
        aiohttp.ClientSession() as anonymous,
        anonymous.post(
            server.url + "/api/auth/login",
            data=body,
            headers={"Content-Type": "application/json"},
        ) as reply,
    ):
        assert reply.status == 413
        assert (await reply.json())["error"]["code"] == "too_large"
