"""Who a Subsonic call is from: an OpenSubsonic `apiKey`, or a user name with an app password.

`apiKey=` is a Hearth device key (`hk_…`, made in the web app or by `POST /api/auth/keys`),
looked up by its hash like any session; a `read` key may only read. `u` with `t`+`s`
(t = md5(secret + s)) or `p` (plain or `enc:` hex) must match one of that person's app
passwords (`core.people.app_passwords`) — never the account password, which is only ever
stored as an argon2 hash. Failures answer the spec's codes (10 missing, 40 wrong, 43 both
kinds, 44 bad key) and are slowed down like sign-in (`core.people.throttle`), per account and
per address. Each call reads the catalog again, so a revoked key or app password fails on the
very next call. It never logs a secret and never decides which items a person may see
(`Principal.item_clause` does).
"""

from __future__ import annotations

import hashlib
import hmac
import math
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

from core.plugin_api import (
    TOUCH_EVERY,
    AppSecret,
    AttemptLimiter,
    PluginContext,
    Principal,
    client_address,
    due_for_touch,
    now_text,
    origin_of,
    principal_blocking,
    secrets_blocking,
    session_for_token_blocking,
    touch_blocking,
)
from plugins.subsonic.responses import (
    CONFLICTING_AUTH,
    INVALID_API_KEY,
    MISSING_PARAMETER,
    WRONG_CREDENTIALS,
    SubsonicError,
)

KEY_ACCOUNT = "subsonic-key"  # keys are 256-bit: slow the address, never pause an account


def _decoded(password: str) -> str | None:
    if not password.startswith("enc:"):
        return password
    try:
        return bytes.fromhex(password[4:]).decode()
    except (ValueError, UnicodeDecodeError):
        return None


def _matches(secret: str, params: MultiDictProxy[str]) -> bool:
    token, salt, password = params.get("t"), params.get("s"), params.get("p")
    if token is not None:
        expected = hashlib.md5((secret + (salt or "")).encode()).hexdigest()
        return hmac.compare_digest(expected, token.lower())
    plain = _decoded(password or "")
    return plain is not None and hmac.compare_digest(plain.encode(), secret.encode())


class SubsonicAuth:
    """Checks each call's credentials; one per plugin setup."""

    def __init__(self, ctx: PluginContext) -> None:
        self._ctx = ctx
        self.attempts = AttemptLimiter()

    async def principal(self, request: web.Request, params: MultiDictProxy[str]) -> Principal:
        key = params.get("apiKey")
        username = params.get("u")
        if key is not None:
            if username is not None or any(p in params for p in ("p", "t", "s")):
                raise SubsonicError(
                    CONFLICTING_AUTH, "Send either apiKey or u with p or t and s, not both."
                )
            return await self._by_key(request, key)
        if not username:
            raise SubsonicError(MISSING_PARAMETER, "Required parameter is missing: u")
        if "t" in params and "s" not in params:
            raise SubsonicError(MISSING_PARAMETER, "Required parameter is missing: s")
        if "t" not in params and "p" not in params:
            raise SubsonicError(
                MISSING_PARAMETER, "Required parameter is missing: p, or t and s, or apiKey"
            )
        return await self._by_app_password(request, username, params)

    def _check_throttle(self, request: web.Request, account: str, guard: bool) -> None:
        wait = self.attempts.wait(account, client_address(request), origin_of(request), guard)
        if wait > 0:
            raise SubsonicError(
                WRONG_CREDENTIALS,
                f"Too many failed attempts; try again in {math.ceil(wait)} s.",
            )

    def _failed(self, request: web.Request, account: str, guard: bool) -> None:
        self.attempts.failed(account, client_address(request), origin_of(request), guard)

    async def _by_key(self, request: web.Request, key: str) -> Principal:
        self._check_throttle(request, KEY_ACCOUNT, False)
        row = await self._ctx.catalog.read(lambda db: session_for_token_blocking(db, key))
        if row is None or row[2] != "api_key":
            self._failed(request, KEY_ACCOUNT, False)
            raise SubsonicError(INVALID_API_KEY, "Invalid API key.")
        session_id, user_id, _kind, scope, seen = row
        principal = await self._ctx.catalog.read(
            lambda db: principal_blocking(db, user_id, session_id, scope)
        )
        if principal is None:
            raise SubsonicError(INVALID_API_KEY, "Invalid API key.")
        if seen < now_text(-TOUCH_EVERY):  # the account page's "last seen", at most hourly
            await self._ctx.catalog.write(
                lambda db: db.execute(
                    "UPDATE sessions SET last_seen_at = ? WHERE id = ?", [now_text(), session_id]
                )
            )
        return principal

    async def _by_app_password(
        self, request: web.Request, username: str, params: MultiDictProxy[str]
    ) -> Principal:
        account = f"user:{username.casefold()}"
        self._check_throttle(request, account, True)
        box = self._ctx.secret_box

        def read(db: Any) -> tuple[tuple[int, list[AppSecret]] | None, Principal | None]:
            # the person with their secrets, in one read: every call of an app pays for it
            found = secrets_blocking(db, box, username)
            return found, principal_blocking(db, found[0]) if found is not None else None

        found, principal = await self._ctx.catalog.read(read)
        match = None
        if found is not None:
            match = next((s for s in found[1] if _matches(s.secret, params)), None)
        if found is None or match is None:
            self._failed(request, account, True)
            self._ctx.logger.info(
                "Failed Subsonic sign-in for %r from %s", username, client_address(request)
            )
            raise SubsonicError(
                WRONG_CREDENTIALS,
                "Wrong username or password. Music apps sign in with an app password made in"
                " Hearth's web app (Account), never the account password.",
            )
        self.attempts.succeeded(account, client_address(request))
        if due_for_touch(match.last_used_at):  # the account page shows it
            used = match.id
            await self._ctx.catalog.write(lambda db: touch_blocking(db, used))
        if principal is None:
            raise SubsonicError(WRONG_CREDENTIALS, "Wrong username or password.")
        return principal
