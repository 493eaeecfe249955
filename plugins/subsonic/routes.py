"""The `/rest/*` routes and the dispatch table endpoint modules add their handlers to.

One aiohttp route per method pattern (`/rest/{method}`, GET and POST: OpenSubsonic `formPost`
sends the parameters as a form body) answers every endpoint, with or without `.view`. The
routes are `access="anyone"`: Subsonic apps sign every request with their own parameters, which
`auth.py` checks before any handler runs, so the core's Bearer sign-in is not asked for.

An endpoint module registers with `Endpoints.add(name, handler, writes=..., admin=...)`; a
handler gets a `Call` (the parameters, the principal, the format, the plugin context) and
returns a payload dict for the envelope (`{"album": {...}}`), None for an empty "ok", or a
`web.StreamResponse` of its own (streams, cover art). It raises `SubsonicError` to fail. This
module never reads the catalog itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl

from aiohttp import web
from multidict import MultiDict, MultiDictProxy

from core.plugin_api import Param, PluginContext, Principal, RouteSpec
from plugins.subsonic import responses
from plugins.subsonic.auth import SubsonicAuth
from plugins.subsonic.cache import CatalogCache
from plugins.subsonic.responses import (
    MISSING_PARAMETER,
    NOT_AUTHORIZED,
    NOT_FOUND,
    Payload,
    SubsonicError,
)

TAGS = ("subsonic",)
NOBODY = Principal(None, "", "member", libraries=frozenset())  # of public endpoints: sees nothing
QUERY = (
    Param("apiKey", "a Hearth device key (OpenSubsonic apiKeyAuthentication), without u"),
    Param("u", "user name, with an app password as t and s, or as p"),
    Param("t", "md5(app password + s), hex"),
    Param("s", "a random salt"),
    Param("p", "the app password, plain or enc:HEX"),
    Param("f", "xml (the default) or json; jsonp is refused"),
    Param("v", "the client's API version"),
    Param("c", "the client's name"),
)


@dataclass(frozen=True)
class Call:
    """One authenticated API call, as a handler sees it."""

    request: web.Request
    params: MultiDictProxy[str]
    principal: Principal
    format: str  # "xml" or "json"
    ctx: PluginContext

    def get(self, name: str, default: str | None = None) -> str | None:
        return self.params.get(name, default)

    def require(self, name: str) -> str:
        """A required parameter, else error 10 naming it."""
        value = self.params.get(name)
        if value is None or value == "":
            raise SubsonicError(MISSING_PARAMETER, f"Required parameter is missing: {name}")
        return value

    def all(self, name: str) -> list[str]:
        """Every value of a repeated parameter (`id=1&id=2`)."""
        return self.params.getall(name, [])

    def integer(self, name: str, default: int) -> int:
        value = self.params.get(name)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except ValueError:
            raise SubsonicError(
                responses.GENERIC, f"Parameter {name} must be a whole number, got {value!r}"
            ) from None


Handler = Callable[[Call], Awaitable[Payload | web.StreamResponse | None]]


@dataclass(frozen=True, slots=True)
class Endpoint:
    handler: Handler
    writes: bool  # changes something: refused to `read`-scoped device keys
    admin: bool  # owners and admins only
    public: bool = False  # answered without sign-in, to nobody in particular


class Endpoints:
    """The dispatch table: endpoint name (as in `/rest/NAME.view`) to handler."""

    def __init__(self) -> None:
        self._table: dict[str, Endpoint] = {}
        self.cache = CatalogCache()  # answers kept per catalog version (cache.py)
        self.searches = CatalogCache()  # apart, so typing never pushes out the artist list

    def add(
        self,
        name: str,
        handler: Handler,
        *,
        writes: bool = False,
        admin: bool = False,
        public: bool = False,
    ) -> None:
        """`public`: no sign-in (OpenSubsonic asks it of getOpenSubsonicExtensions); the
        handler's principal then sees no library."""
        if name in self._table:
            raise ValueError(f"Subsonic endpoint {name} is registered twice")
        self._table[name] = Endpoint(handler, writes, admin, public)

    def names(self) -> list[str]:
        return sorted(self._table)

    def find(self, name: str) -> Endpoint | None:
        return self._table.get(name)


async def parameters(request: web.Request) -> MultiDictProxy[str]:
    """The query's parameters, and a form body's (formPost) after them. A form whose escapes
    are not UTF-8 (`u=%ff`) raises UnicodeDecodeError, the error middleware's 400, as the same
    text in the query does (aiohttp's form parser would read it as U+FFFD instead)."""
    merged: MultiDict[str] = MultiDict(request.query)
    if request.method == "POST" and request.content_type in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        if request.content_type == "application/x-www-form-urlencoded":
            parse_qsl((await request.read()).decode(), keep_blank_values=True, errors="strict")
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, str):
                merged.add(key, value)
    return MultiDictProxy(merged)


def subsonic_routes(
    ctx: PluginContext, endpoints: Endpoints, auth: SubsonicAuth
) -> list[RouteSpec]:
    """The routes to register through the plugin context."""

    async def rest(request: web.Request) -> web.StreamResponse:
        """A Subsonic API call."""
        name = request.match_info["method"].removesuffix(".view")
        params = await parameters(request)
        fmt = responses.response_format(request, params)
        if params.get("f") == "jsonp":
            return responses.failed(
                "xml", responses.GENERIC, "JSONP is not supported; ask for f=json or f=xml."
            )
        try:
            endpoint = endpoints.find(name)
            if endpoint is not None and endpoint.public:
                principal = NOBODY
            else:
                principal = await auth.principal(request, params)
            if endpoint is None:
                raise SubsonicError(NOT_FOUND, f"Unknown or unsupported endpoint: {name}")
            if endpoint.writes and principal.scope == "read":
                raise SubsonicError(NOT_AUTHORIZED, "This API key may only read.")
            if endpoint.admin and not principal.is_admin:
                raise SubsonicError(NOT_AUTHORIZED, "Only the owner or an admin may do this.")
            answer = await endpoint.handler(Call(request, params, principal, fmt, ctx))
        except SubsonicError as err:
            return responses.failed(fmt, err.code, err.message)
        if isinstance(answer, web.StreamResponse):
            return answer
        return responses.ok(fmt, answer)

    summary = (
        "The Subsonic 1.16.1 / OpenSubsonic API for music apps (parameters in the query or,"
        " formPost, a form body; auth by apiKey or an app password)"
    )
    specs: list[RouteSpec] = []
    for method in ("GET", "POST"):
        specs.append(
            RouteSpec(
                method,
                "/rest/{method}",
                rest,
                summary=summary,
                tags=TAGS,
                query=QUERY,
                access="anyone",
            )
        )
    return specs
