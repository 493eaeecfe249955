"""The aiohttp application and its listening socket.

One application for the API and the web app. The access log is one line per request under the
`hearth.access` logger, so a household can turn it down without losing other messages. It
never decides who may do what: that is middleware added by the people-and-privacy layer.
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import ssl
from collections.abc import Callable

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.typedefs import Middleware

from core.http.errors import error_middleware
from core.http.origin import client_address
from core.http.routes import RouteTable
from core.http.security import add_security_headers

ACCESS_LOGGER = logging.getLogger("hearth.access")
MAX_REQUEST_BYTES = 1024 * 1024


_SECRET_QUERY = re.compile(r"(?<=[?&])(link|token|apiKey|p|t|s)=[^&]*")


def _without_secrets(request: web.BaseRequest) -> str:
    """The path and query with capability links and credentials shown as `***`."""
    if not request.query_string:
        return request.path
    return _SECRET_QUERY.sub(lambda m: f"{m[1]}=***", request.path_qs)


class _BodyCount:
    """Body bytes aiohttp's writer handed to the connection for one response: not the headers,
    not chunk framing, and counted as they go, so a stream cut short counts what went out."""

    __slots__ = ("sent",)

    def __init__(self) -> None:
        self.sent = 0

    def add(self, size: int, _output_size: int) -> None:
        self.sent += size


_BODY = web.ResponseKey("hearth_body_count", _BodyCount)


async def count_body(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: count the body this response's writer sends."""
    counter = _BodyCount()
    response[_BODY] = counter
    request.writer.on_body_write = counter.add


def body_bytes(request: web.BaseRequest, response: web.StreamResponse) -> str:
    """The body's size as sent, for the access log. What aiohttp's writer sent is exact. A body
    the kernel sent beside it (sendfile: aiohttp's FileResponse, core/playback/sendfile.py) only
    declared its Content-Length: all of it went out when the response finished and kept its
    connection as the client asked (those senders close it when they fall short), at most that
    (`<=`) when it did not."""
    counter = response.get(_BODY)
    sent = counter.sent if counter is not None else 0
    length = response.content_length
    if (
        sent
        or not length
        or isinstance(response, web.Response)  # its body only ever goes through the writer
        or request.method == "HEAD"
        or response.status in (204, 304)
    ):
        return f"{sent}B"
    finished = response.body_length > 0 and (response.keep_alive or not request.keep_alive)
    return f"{length}B" if finished else f"<={length}B"


class OneLineAccessLogger(AbstractAccessLogger):
    """`GET /api/health 200 312B 1.2ms 127.0.0.1 "UA"`: short enough for a Pi's journal; the
    size is the body's (body_bytes), the address the client's (core.http.origin)."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info(
            '%s %s %s %s %.1fms %s "%s"',
            request.method,
            _without_secrets(request),
            response.status,
            body_bytes(request, response),
            time * 1000,
            client_address(request),  # through the relay: the phone's, not the tunnel's
            request.headers.get("User-Agent", "-"),
        )

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)


class HttpServer:
    """Owns the app, its route table and the runner that listens."""

    def __init__(self, middlewares: list[Middleware] | None = None) -> None:
        self.app = web.Application(
            middlewares=[error_middleware, *(middlewares or [])],
            client_max_size=MAX_REQUEST_BYTES,
        )
        self.app.on_response_prepare.append(add_security_headers)
        self.app.on_response_prepare.append(count_body)
        self.routes = RouteTable(self.app)
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def start(self, host: str, port: int) -> int:
        """Listen and return the actual port (port 0 asks the system for a free one)."""
        self._runner = web.AppRunner(
            self.app,
            access_log_class=OneLineAccessLogger,
            access_log=ACCESS_LOGGER,
            shutdown_timeout=2.0,
            handle_signals=False,
        )
        await self._runner.setup()
        self.port = await self._listen(host, port, None)
        return self.port

    async def add_tls_site(self, host: str, port: int, context: ssl.SSLContext) -> int:
        """Also listen with TLS (after `start`); returns the actual port."""
        return await self._listen(host, port, context)

    async def add_unix_site(self, path: str, context: ssl.SSLContext | None = None) -> web.UnixSite:
        """Also listen on a Unix socket (after `start`) until the site is stopped. Its
        connections are always `remote` (core.http.origin): this is how a tunnel hands in
        what it carries."""
        if self._runner is None:
            raise RuntimeError("start the server before adding a site")
        site = web.UnixSite(self._runner, path, ssl_context=context)
        await site.start()
        return site

    async def take_socket(
        self,
        sock: socket.socket,
        context: ssl.SSLContext,
        wrap: Callable[[asyncio.BaseProtocol], asyncio.BaseProtocol],
    ) -> None:
        """Serve a connection someone else accepted (a tunnel's, core.http.tunnel) with TLS,
        its protocol wrapped by `wrap`; returns once TLS is up."""
        server = self._runner.server if self._runner is not None else None
        if server is None:
            raise OSError("the HTTPS server is not running")
        loop = asyncio.get_running_loop()
        await loop.connect_accepted_socket(lambda: wrap(server()), sock, ssl=context)

    async def _listen(self, host: str, port: int, context: ssl.SSLContext | None) -> int:
        if self._runner is None:
            raise RuntimeError("start the server before adding a site")
        site = web.TCPSite(self._runner, host, port, ssl_context=context, reuse_address=True)
        await site.start()
        server = site._server  # aiohttp does not expose the bound port otherwise
        sockets: list[socket.socket] = list(getattr(server, "sockets", None) or [])
        return sockets[0].getsockname()[1] if sockets else port

    async def stop(self) -> None:
        """Stop listening; open requests get the runner's shutdown timeout to finish."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
