"""Deny by default: every request is signed in, or its route was declared `lan` or `anyone`.

Tokens come from `Authorization: Bearer …` (apps, TVs with device keys) or the web app's
HttpOnly cookie; cookie sessions must echo the CSRF cookie in a header on anything that
changes state. Device keys with the "read" scope may only read. A session's last-seen time is
written at most once an hour (idle means no writes). It never decides which items a person
may see: `Principal.item_clause` does.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web
from aiohttp.typedefs import Handler

from core.http.errors import ApiError
from core.people.access import Principal
from core.people.accounts import now_text, principal_blocking, session_for_token_blocking
from core.people.credential_epoch import CredentialEpoch
from core.people.links import link_of, link_principal

if TYPE_CHECKING:
    from core.catalog import Catalog
    from core.http.routes import RouteSpec

SpecFor = Callable[[web.Request], "RouteSpec | None"]
"""The route a request matched, as the route table knows it."""

COOKIE = "hearth_session"
CSRF_COOKIE = "hearth_csrf"
CSRF_HEADER = "X-Hearth-CSRF"
PRINCIPAL = web.RequestKey("principal", Principal)
TOUCH_EVERY = 3600.0
CACHE_SECONDS = 30.0  # only for a session's expiry date: changes clear the cache at once
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def token_of(request: web.Request) -> tuple[str | None, bool]:
    """The presented token, and whether it came from the cookie."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None, False
    cookie = request.cookies.get(COOKIE)
    return (cookie, True) if cookie else (None, False)


class Authenticator:
    """Resolves tokens to principals, with a cache that any change to sign-in clears.

    The catalog's credential epoch (see `credential_epoch`) is compared on every request, so a
    password changed or a session revoked — through the API or by `hearth user` in another
    process — is refused on the very next request. `forget` still clears at once in this
    process; the timer only bounds how late a session's own expiry date is noticed."""

    def __init__(self, catalog: Callable[[], Catalog]) -> None:
        self._catalog = catalog  # the catalog, once the server opened it
        self._cache: dict[str, tuple[float, Principal]] = {}
        self._touching: set[asyncio.Task[None]] = set()
        self._generation = 0  # bumped by every forget(): a lookup racing a revocation is not kept
        self._epoch = CredentialEpoch()
        self._seen_epoch: int | None = None

    @property
    def catalog(self) -> Catalog:
        return self._catalog()

    def forget(self, session_id: int | None = None, user_id: int | None = None) -> None:
        """Drop cached principals after a revocation, a password change or a deletion."""
        self._generation += 1
        self._cache = {
            token: (at, p)
            for token, (at, p) in self._cache.items()
            if (session_id is None or p.session_id != session_id)
            and (user_id is None or p.user_id != user_id)
        }
        if session_id is None and user_id is None:
            self._cache.clear()

    async def _check_epoch(self) -> None:
        """Forget everything when the catalog says sign-in changed (or cannot say)."""
        epoch = self._epoch.current()
        if epoch is None and not self._epoch.is_open:
            path = self.catalog.path
            await asyncio.get_running_loop().run_in_executor(None, self._epoch.open_blocking, path)
            epoch = self._epoch.current()
        if epoch is None or epoch != self._seen_epoch:
            self.forget()
            self._seen_epoch = epoch

    async def principal(self, token: str, via_cookie: bool) -> Principal | None:
        await self._check_epoch()
        cached = self._cache.get(token)
        if cached is not None and time.monotonic() - cached[0] < CACHE_SECONDS:
            found = cached[1]  # the same token may come as a header one time, a cookie the next
            same = found.via_cookie == via_cookie
            return found if same else dataclasses.replace(found, via_cookie=via_cookie)
        generation = self._generation
        catalog = self.catalog
        row = await catalog.read(lambda db: session_for_token_blocking(db, token))
        if row is None:
            self._cache.pop(token, None)
            return None
        session_id, user_id, _kind, scope, last_seen = row
        principal = await catalog.read(
            lambda db: principal_blocking(db, user_id, session_id, scope, via_cookie)
        )
        if principal is None:
            return None
        if generation == self._generation:
            self._cache[token] = (time.monotonic(), principal)
        if len(self._cache) > 5000:
            self._cache.clear()
        if _older_than(last_seen, TOUCH_EVERY):
            self._touch(session_id)
        return principal

    def _touch(self, session_id: int) -> None:
        async def touch() -> None:
            await self.catalog.write(
                lambda db: db.execute(
                    "UPDATE sessions SET last_seen_at = ? WHERE id = ?", [now_text(), session_id]
                )
            )

        task = asyncio.get_running_loop().create_task(touch(), name="session-seen")
        self._touching.add(task)
        task.add_done_callback(self._touching.discard)

    async def close(self) -> None:
        if self._touching:
            await asyncio.gather(*self._touching, return_exceptions=True)
        self._epoch.close()


def _older_than(stamp: str, seconds: float) -> bool:
    try:
        then = time.mktime(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
    except ValueError:
        return True
    return time.time() - then > seconds


def auth_middleware(
    spec_for: SpecFor, auth: Authenticator
) -> Callable[..., Awaitable[web.StreamResponse]]:
    """The middleware; it needs the route table (`spec_for`) to know which routes need no sign-in
    (where a request comes from was checked before, by `core.http.origin`)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        spec = spec_for(request)
        token, via_cookie = token_of(request)
        principal = await auth.principal(token, via_cookie) if token else None
        link = link_of(request) if principal is None and spec is not None and spec.links else None
        if link is not None and request.method in SAFE_METHODS:
            principal = await link_principal(auth.catalog, link)
        if principal is not None:
            request[PRINCIPAL] = principal
        unmatched = request.match_info.http_exception is not None
        if (spec is None and unmatched) or (spec is not None and spec.open_without_sign_in):
            return await handler(request)  # 404/405 answers, `lan` and `anyone` routes
        # a matched route the table cannot name (spec None) is private: deny by default
        if principal is None:
            raise ApiError(401, "Sign in first.", "unauthorized", **{"WWW-Authenticate": "Bearer"})
        if request.method not in SAFE_METHODS:
            if principal.scope == "read":
                raise ApiError(403, "This device key may only read.", "forbidden")
            if via_cookie and not _csrf_ok(request):
                raise ApiError(403, "Missing or wrong CSRF token.", "csrf")
        if spec is not None and spec.admin and not principal.is_admin:
            raise ApiError(403, "Only the owner or an admin may do this.", "forbidden")
        return await handler(request)

    return middleware


def _csrf_ok(request: web.Request) -> bool:
    cookie = request.cookies.get(CSRF_COOKIE)
    header = request.headers.get(CSRF_HEADER)
    return bool(cookie) and cookie == header


def principal_of(request: web.Request) -> Principal:
    """The signed-in principal of a `signed_in` route (the middleware guarantees one)."""
    principal: Principal | None = request.get(PRINCIPAL)
    if principal is None:
        raise ApiError(401, "Sign in first.", "unauthorized", **{"WWW-Authenticate": "Bearer"})
    return principal
