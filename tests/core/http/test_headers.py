"""Security headers on every answer: HTML pages, files, streams, JSON, errors and redirects."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from core.http.errors import ApiError
from core.http.routes import RouteSpec
from core.http.security import CONTENT_SECURITY_POLICY, SECURITY_HEADERS
from core.http.server import HttpServer
from tests.conftest import StartServer

EXPECTED = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def assert_hardened(headers: Mapping[str, str]) -> None:
    for name, value in EXPECTED.items():
        assert headers[name] == value, name
    assert "camera=()" in headers["Permissions-Policy"]
    assert "Strict-Transport-Security" not in headers  # plain HTTP never carries it


def test_the_policy_is_the_documented_one() -> None:
    assert EXPECTED["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert set(SECURITY_HEADERS) == {*EXPECTED, "Permissions-Policy"}


@pytest.fixture
async def bare_server(tmp_path: Path) -> AsyncIterator[str]:
    """An HttpServer with an HTML page, a file, a stream, a redirect and a failing handler."""
    (tmp_path / "app.js").write_text("console.log('hi')")
    server = HttpServer()

    async def page(request: web.Request) -> web.StreamResponse:
        return web.Response(text="<!doctype html><title>Hearth</title>", content_type="text/html")

    async def script(request: web.Request) -> web.StreamResponse:
        return web.FileResponse(tmp_path / "app.js")

    async def stream(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        await response.write(b"chunk")
        return response

    async def moved(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("/")

    async def refused(request: web.Request) -> web.StreamResponse:
        raise ApiError(403, "No.", "forbidden")

    async def framed(request: web.Request) -> web.StreamResponse:
        return web.Response(text="ok", headers={"X-Frame-Options": "SAMEORIGIN"})

    for path, handler in (
        ("/", page),
        ("/app.js", script),
        ("/stream", stream),
        ("/moved", moved),
        ("/refused", refused),
        ("/framed", framed),
    ):
        server.routes.add(RouteSpec("GET", path, handler, access="anyone"), "core")
    port = await server.start("127.0.0.1", 0)
    yield f"http://127.0.0.1:{port}"
    await server.stop()


@pytest.mark.parametrize(
    ("path", "status", "content_type"),
    [
        ("/", 200, "text/html"),
        ("/app.js", 200, "application/javascript"),
        ("/stream", 200, "application/octet-stream"),
        ("/moved", 302, None),
        ("/refused", 403, "application/json"),
        ("/missing", 404, "application/json"),
    ],
)
async def test_every_kind_of_answer_is_hardened(
    bare_server: str, path: str, status: int, content_type: str | None
) -> None:
    async with (
        aiohttp.ClientSession() as client,
        client.get(bare_server + path, allow_redirects=False) as reply,
    ):
        assert reply.status == status
        if content_type is not None:
            assert reply.content_type in (content_type, "text/javascript")
        assert_hardened(reply.headers)


async def test_a_handler_may_choose_its_own_value(bare_server: str) -> None:
    async with aiohttp.ClientSession() as client, client.get(bare_server + "/framed") as reply:
        assert reply.headers["X-Frame-Options"] == "SAMEORIGIN"
        assert reply.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    ("method", "path", "authorized", "status"),
    [
        ("GET", "/api/health", False, 200),
        ("GET", "/api/openapi.json", False, 401),
        ("GET", "/api/openapi.json", True, 200),
        ("GET", "/api/items", False, 401),
        ("GET", "/api/items", True, 200),
        ("HEAD", "/api/items", True, 200),
        ("GET", "/api/items/nope", True, 404),
        ("DELETE", "/api/health", True, 405),
        ("POST", "/api/auth/login", False, 415),  # no JSON body
    ],
)
async def test_api_answers_are_hardened(
    start_server: StartServer, method: str, path: str, authorized: bool, status: int
) -> None:
    server = await start_server()
    if authorized:
        client = server.session
        async with client.request(method, server.url + path) as reply:
            assert reply.status == status
            assert_hardened(reply.headers)
        return
    async with (
        aiohttp.ClientSession() as anonymous,
        anonymous.request(method, server.url + path) as reply,
    ):
        assert reply.status == status
        assert_hardened(reply.headers)
