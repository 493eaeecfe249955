"""The route table: every route with the facts the OpenAPI document needs.

Routes are added to aiohttp's router through one dispatch closure per route, so a plugin that
is set up again after a retry re-binds its handler without touching the (frozen) router, and a
route whose plugin is not running answers 503 instead of calling into a torn-down plugin.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web

from core.http.errors import ApiError

HandlerFn = Callable[[web.Request], Awaitable[web.StreamResponse]]
# Who a route is for. `signed_in`: a person or device key, from anywhere (the default).
# `lan`: devices on the home network without accounts (DLNA, the first-run setup code); a
# remote source gets 403 whoever it is. `anyone`: from anywhere, signed in or not (sign-in,
# invite redemption, the web app's shell and files, a minimal health).
Access = Literal["signed_in", "lan", "anyone"]
ACCESS_LEVELS: tuple[Access, ...] = ("signed_in", "lan", "anyone")
_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::[^}]*)?\}")


@dataclass(frozen=True, slots=True)
class Param:
    """A query parameter, for the OpenAPI document."""

    name: str
    description: str = ""
    type: str = "string"
    required: bool = False


@dataclass(frozen=True)
class RouteSpec:
    """One method on one path, and how to describe it."""

    method: str
    path: str
    handler: HandlerFn
    summary: str = ""
    tags: tuple[str, ...] = ()
    query: tuple[Param, ...] = ()
    access: Access = "signed_in"
    admin: bool = False  # owners and admins only (users, scans, privacy, hardware)
    links: bool = False  # a capability link in the query may stand in for sign-in (GETs only)
    responses: Mapping[str, str] = field(default_factory=dict)
    request_body: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.access not in ACCESS_LEVELS:
            raise ValueError(f"{self.method} {self.path}: access must be one of {ACCESS_LEVELS}")

    @property
    def open_without_sign_in(self) -> bool:
        """`lan` and `anyone` routes need no account (the origin middleware guards `lan`)."""
        return self.access != "signed_in"

    @property
    def path_params(self) -> list[str]:
        return _PARAM.findall(self.path)

    @property
    def openapi_path(self) -> str:
        return _PARAM.sub(lambda m: "{" + m.group(1) + "}", self.path)


@dataclass
class _Bound:
    spec: RouteSpec
    owner: str
    active: bool = True


class RouteTable:
    """Owns the router's contents; `add` binds, `deactivate` makes a plugin's routes answer 503."""

    def __init__(self, app: web.Application) -> None:
        self._app = app
        self._bound: dict[tuple[str, str], _Bound] = {}
        self._by_handler: dict[HandlerFn, _Bound] = {}

    def add(self, spec: RouteSpec, owner: str) -> Callable[[], None]:
        """Register a route for `owner` (the core or a plugin's domain); returns a deactivator."""
        key = (spec.method.upper(), spec.path)
        existing = self._bound.get(key)
        if existing is not None:
            if existing.owner != owner:
                raise ValueError(f"{key[0]} {spec.path} already belongs to '{existing.owner}'")
            existing.spec = spec
            existing.active = True
        else:
            if self._app.router.frozen:
                raise RuntimeError(
                    f"{key[0]} {spec.path} is new after the server started; register routes "
                    "in setup()"
                )
            bound = _Bound(spec, owner)
            self._bound[key] = bound
            handler = self._dispatcher(bound)
            self._by_handler[handler] = bound
            self._app.router.add_route(key[0], spec.path, handler)
            if key[0] == "GET":  # every GET answers HEAD too (players and TVs ask it)
                self._app.router.add_route("HEAD", spec.path, handler)

        def deactivate() -> None:
            current = self._bound.get(key)
            if current is not None and current.owner == owner:
                current.active = False

        return deactivate

    @staticmethod
    def _dispatcher(bound: _Bound) -> HandlerFn:
        async def dispatch(request: web.Request) -> web.StreamResponse:
            if not bound.active:
                raise ApiError(
                    503,
                    f"The '{bound.owner}' plugin is not running; see /api/health.",
                    "plugin_unavailable",
                    **{"Retry-After": "30"},
                )
            return await bound.spec.handler(request)

        dispatch.__name__ = getattr(bound.spec.handler, "__name__", "dispatch")
        return dispatch

    def specs(self) -> list[tuple[RouteSpec, str, bool]]:
        """Every route with its owner and whether it is active now."""
        return [(b.spec, b.owner, b.active) for b in self._bound.values()]

    def spec_for(self, request: web.Request) -> RouteSpec | None:
        """The spec of the route a request matched (None for 404/405 answers). Found by the
        matched handler, not the path: aiohttp's canonical path drops `{n:\\d+}` patterns."""
        bound = self._by_handler.get(request.match_info.handler)
        return bound.spec if bound else None
