"""Signing in and out, the first-run owner step, sessions, device keys, passwords, two-factor.

The client contract: POST /api/auth/login {username, password, otp?} answers {token, user};
API calls carry `Authorization: Bearer TOKEN` or the web app's HttpOnly cookie. Bodies of the
routes anyone may call are JSON only (`Content-Type: application/json`, else 415): a form or
`text/plain` post is what a web page elsewhere can send cross-site without asking, and it must
not even count as a failed attempt. Failures slow down the (account, address) they came from
and, from outside the home, pause the account (`throttle`). A new password ends every session
and device key of that person. It never returns a secret that was stored: tokens, recovery
codes and TOTP secrets are shown once, when made.
"""

from __future__ import annotations

import asyncio
import logging
import math
import secrets
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from core.http.bodies import json_body, text_field
from core.http.errors import ApiError
from core.http.origin import origin_of
from core.http.routes import RouteSpec
from core.people import accounts, two_factor
from core.people.credentials import token_hash, verify_password
from core.people.middleware import COOKIE, CSRF_COOKIE, principal_of
from core.people.profiles_api import address_of
from core.people.throttle import AttemptLimiter
from core.secret_box import SecretBox

if TYPE_CHECKING:
    from pathlib import Path

    from core.catalog import Catalog
    from core.people.middleware import Authenticator

_LOGGER = logging.getLogger("hearth.auth")


class AuthApi:
    """Handlers over the catalog, signing out through the authenticator; one per server."""

    def __init__(self, catalog: Catalog, authenticator: Authenticator, data_dir: Path) -> None:
        self._catalog = catalog
        self._authenticator = authenticator
        self.attempts = AttemptLimiter()
        self.setup_code: str | None = None
        self.clock = time.time  # the wall clock TOTP codes are checked against
        self.secret_box = SecretBox(data_dir)

    # -- at start ----------------------------------------------------------------------------
    async def prepare(self) -> None:
        """Seal second factors an older version stored in plain text, then the first run."""
        catalog = self._catalog
        if await catalog.read(two_factor.plain_secrets_blocking):  # idle: only read
            sealed = await catalog.write(
                lambda db: two_factor.seal_plain_secrets_blocking(db, self.secret_box)
            )
            _LOGGER.info("Sealed %d two-factor secret(s) with %s", sealed, self.secret_box.path)
        await self.prepare_first_run()

    async def prepare_first_run(self) -> None:
        """With no owner yet, print a one-time setup code the web step must quote."""
        if await self._catalog.read(accounts.owner_exists_blocking):
            return
        self.setup_code = f"{secrets.randbelow(10**8):08d}"
        _LOGGER.warning(
            "No owner account yet. Open the web app and enter setup code %s, or run: "
            "hearth user add NAME --role owner",
            self.setup_code,
        )

    async def get_setup(self, request: web.Request) -> web.Response:
        """Whether the first-run owner step is still open."""
        needed = not await self._catalog.read(accounts.owner_exists_blocking)
        return web.json_response({"needed": needed})

    async def post_setup(self, request: web.Request) -> web.Response:
        """Create the owner with the setup code from the server log."""
        body = await json_only_body(request)
        code = text_field(body, "code") or ""
        self.check_throttle(request, "setup")
        if self.setup_code is None or not secrets.compare_digest(code, self.setup_code):
            self.failed(request, "setup")
            raise ApiError(403, "That setup code is wrong, or setup is finished.", "bad_setup_code")
        username, password = text_field(body, "username"), text_field(body, "password")
        code_in_use, self.setup_code = self.setup_code, None  # two quick posts make one owner

        def create(db: Any) -> int:
            if accounts.owner_exists_blocking(db):  # `hearth user add` got there first
                raise accounts.AccountError("there is an owner already; sign in instead")
            return accounts.create_user_blocking(db, str(username), "owner", password)

        try:
            user_id = await self._write(create)
        except ApiError:
            self.setup_code = code_in_use  # a too-short password must not burn the code
            raise
        _LOGGER.info("Owner account %s created by the first-run step", username)
        return await self._signed_in(request, user_id, body)

    # -- sign in and out ---------------------------------------------------------------------
    def check_throttle(
        self, request: web.Request, account: str, guard_account: bool = True
    ) -> None:
        """429 while this source must wait before trying `account` again."""
        origin = origin_of(request)
        wait = self.attempts.wait(account, address_of(request), origin, guard_account)
        if wait <= 0:
            return
        seconds = math.ceil(wait)
        message = f"Too many failed attempts; try again in {seconds} s."
        if origin == "remote" and guard_account and self.attempts.paused_for(account) >= wait:
            message = (
                f"Too many failed attempts from outside the home network; try again in "
                f"{seconds} s. Signing in at home still works."
            )
        raise ApiError(429, message, "locked", **{"Retry-After": str(seconds)})

    def failed(self, request: web.Request, account: str, guard_account: bool = True) -> None:
        self.attempts.failed(account, address_of(request), origin_of(request), guard_account)

    async def post_login(self, request: web.Request) -> web.Response:
        """Sign in with a password (and a TOTP code or a recovery code when 2FA is on)."""
        body = await json_only_body(request)
        username = str(text_field(body, "username")).strip()
        password = str(text_field(body, "password"))
        account = f"user:{username.casefold()}"
        self.check_throttle(request, account)
        row = await self._catalog.read(
            lambda db: db.execute(
                "SELECT id, password_hash, totp_enabled FROM users WHERE username = ?",
                [username],
            ).fetchone()
        )
        ok = await self._blocking(verify_password, row[1] if row else None, password)
        if row is None or not ok:
            self.failed(request, account)
            _LOGGER.info("Failed sign-in for %r from %s", username, address_of(request))
            raise ApiError(401, "Wrong user name or password.", "bad_credentials")
        if row[2]:
            await self._second_factor(request, row[0], body, account)
        self.attempts.succeeded(account, address_of(request))
        return await self._signed_in(request, row[0], body)

    async def _second_factor(
        self, request: web.Request, user_id: int, body: dict[str, Any], account: str
    ) -> None:
        otp = body.get("otp")
        code = body.get("recovery_code")
        if isinstance(otp, str) and otp:
            if await self._totp_accepted(user_id, otp):
                return
        elif isinstance(code, str) and code:
            used = await self._write(
                lambda db: (
                    db.execute(
                        "UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND code_hash = ? "
                        "AND used_at IS NULL",
                        [accounts.now_text(), user_id, token_hash(code.strip().lower())],
                    ).rowcount
                )
            )
            if used:
                return
        else:
            raise ApiError(401, "Enter the code from your authenticator app.", "otp_required")
        self.failed(request, account)
        raise ApiError(401, "That code is not right.", "bad_otp")

    async def _totp_accepted(self, user_id: int, otp: str, pending: bool = False) -> bool:
        """A right code never accepted before, used up now (see `two_factor`)."""
        now = self.clock()
        accepted: bool = await self._catalog.write(
            lambda db: two_factor.accept_code_blocking(
                db, self.secret_box, user_id, otp, now, pending
            )
        )
        return accepted

    async def _signed_in(
        self, request: web.Request, user_id: int, body: dict[str, Any]
    ) -> web.Response:
        device = body.get("device") if isinstance(body.get("device"), str) else None
        name = device or request.headers.get("User-Agent", "a device")[:60]
        session = await self._write(
            lambda db: accounts.create_session_blocking(
                db, user_id, "session", name, request.headers.get("User-Agent"), address_of(request)
            )
        )
        user = await self._catalog.read(lambda db: accounts.public_user(db, user_id))
        response = web.json_response({"token": session.token, "user": user})
        if body.get("cookie"):
            secure = request.secure
            response.set_cookie(
                COOKIE,
                session.token,
                httponly=True,
                samesite="Strict",
                secure=secure,
                max_age=accounts.SESSION_DAYS * 86400,
                path="/",
            )
            response.set_cookie(  # lives as long as the session cookie it protects
                CSRF_COOKIE,
                secrets.token_urlsafe(24),
                httponly=False,
                samesite="Strict",
                secure=secure,
                max_age=accounts.SESSION_DAYS * 86400,
                path="/",
            )
        return response

    async def post_logout(self, request: web.Request) -> web.Response:
        """End this session."""
        principal = principal_of(request)
        if principal.session_id is not None:
            await self._revoke(principal.user_id, principal.session_id)
        response = web.json_response({"signed_out": True})
        response.del_cookie(COOKIE, path="/")
        response.del_cookie(CSRF_COOKIE, path="/")
        return response

    async def get_me(self, request: web.Request) -> web.Response:
        """The signed-in user: id, username, role and settings."""
        principal = principal_of(request)
        user_id = principal.user_id or 0
        return web.json_response(
            await self._catalog.read(lambda db: accounts.public_user(db, user_id))
        )

    # -- sessions and keys ---------------------------------------------------------------------
    async def get_sessions(self, request: web.Request) -> web.Response:
        """This user's sessions and device keys, newest first."""
        principal = principal_of(request)
        user_id = principal.user_id or 0
        rows = await self._catalog.read(lambda db: accounts.list_sessions_blocking(db, user_id))
        for row in rows:
            row["current"] = row["id"] == principal.session_id
        return web.json_response({"sessions": rows})

    async def delete_session(self, request: web.Request) -> web.Response:
        """Revoke one session or key (yours; an admin may revoke anyone's)."""
        principal = principal_of(request)
        try:
            session_id = int(request.match_info["session"])
        except ValueError as err:
            raise ApiError(404, "No such session.", "not_found") from err
        owner = await self._catalog.read(
            lambda db: db.execute(
                "SELECT sessions.user_id, users.role FROM sessions JOIN users "
                "ON users.id = sessions.user_id WHERE sessions.id = ?",
                [session_id],
            ).fetchone()
        )
        if owner is None or (owner[0] != principal.user_id and not principal.is_admin):
            raise ApiError(404, "No such session.", "not_found")
        if owner[0] != principal.user_id and owner[1] == "owner" and not principal.is_owner:
            raise ApiError(403, "Only an owner can sign an owner out.", "forbidden")
        await self._revoke(owner[0], session_id)
        return web.json_response({"revoked": [session_id]})

    async def delete_sessions(self, request: web.Request) -> web.Response:
        """Sign out everywhere else (all sessions and keys but this one)."""
        principal = principal_of(request)
        user_id = principal.user_id

        def revoke(db: Any) -> list[int]:
            rows = db.execute(
                "SELECT id FROM sessions WHERE user_id = ? AND id IS NOT ?",
                [user_id, principal.session_id],
            ).fetchall()
            ids = [r[0] for r in rows]
            db.execute(
                "DELETE FROM sessions WHERE user_id = ? AND id IS NOT ?",
                [user_id, principal.session_id],
            )
            return ids

        ids = await self._write(revoke)
        self._authenticator.forget(user_id=user_id)
        return web.json_response({"revoked": ids})

    async def _revoke(self, user_id: int | None, session_id: int) -> None:
        await self._write(lambda db: db.execute("DELETE FROM sessions WHERE id = ?", [session_id]))
        self._authenticator.forget(session_id=session_id)

    async def post_key(self, request: web.Request) -> web.Response:
        """A device API key (for a TV or an app): shown once."""
        principal = principal_of(request)
        body = await json_body(request)
        name = str(text_field(body, "name"))
        scope = body.get("scope", "read")
        if scope not in ("read", "full"):
            raise ApiError(400, "'scope' is read or full.", "bad_body")
        user_id = principal.user_id or 0
        key = await self._write(
            lambda db: accounts.create_session_blocking(
                db, user_id, "api_key", name, None, address_of(request), scope, days=None
            )
        )
        return web.json_response({"id": key.id, "key": key.token, "scope": scope}, status=201)

    async def post_password(self, request: web.Request) -> web.Response:
        """Change your own password (needs the current one). Every session and device key of
        yours ends, this one too; the answer is a fresh sign-in for this device."""
        principal = principal_of(request)
        body = await json_body(request)
        await self._confirm_password(request, body.get("current_password"), "Wrong password.")
        new = str(text_field(body, "new_password"))
        user_id = principal.user_id or 0
        try:
            hashed = await self._blocking(accounts.new_password_hash, new)
        except accounts.AccountError as err:
            raise ApiError(400, str(err), "account") from err
        ended = await self._write(lambda db: accounts.set_password_blocking(db, user_id, hashed))
        self._authenticator.forget(user_id=user_id)
        _LOGGER.info("%s changed their password; %d sign-in(s) ended", principal.username, ended)
        return await self._signed_in(request, user_id, body)

    # -- two-factor ----------------------------------------------------------------------------
    async def _confirm_password(self, request: web.Request, password: Any, wrong: str) -> None:
        """The signed-in person types their password again before a sensitive change;
        throttled like sign-in, so a stolen session cannot guess it."""
        principal = principal_of(request)
        account = f"user:{principal.username.casefold()}"
        self.check_throttle(request, account)
        stored = await self._catalog.read(
            lambda db: db.execute(
                "SELECT password_hash FROM users WHERE id = ?", [principal.user_id]
            ).fetchone()
        )
        if not isinstance(password, str) or not await self._blocking(
            verify_password, stored[0] if stored else None, password
        ):
            self.failed(request, account)
            raise ApiError(401, wrong, "bad_credentials")

    async def post_2fa_setup(self, request: web.Request) -> web.Response:
        """A new TOTP secret (not active until confirmed with a code); replacing an active one
        needs the password, as turning it off does."""
        import pyotp  # loaded when someone sets up two-factor, not by every server

        principal = principal_of(request)
        secret = pyotp.random_base32()
        user_id = principal.user_id
        enabled = await self._catalog.read(
            lambda db: db.execute(
                "SELECT totp_enabled FROM users WHERE id = ?", [user_id]
            ).fetchone()
        )
        if enabled is not None and enabled[0]:
            body = await json_body(request) if request.can_read_body else {}
            await self._confirm_password(
                request,
                body.get("password"),
                "Two-factor is on; enter your password to replace it.",
            )
        await self._write(
            lambda db: two_factor.store_new_secret_blocking(
                db, self.secret_box, user_id or 0, secret
            )
        )
        uri = pyotp.TOTP(secret).provisioning_uri(name=principal.username, issuer_name="Hearth")
        return web.json_response({"secret": secret, "uri": uri})

    async def post_2fa_enable(self, request: web.Request) -> web.Response:
        """Confirm with a code; answers ten one-time recovery codes, shown only now."""
        principal = principal_of(request)
        body = await json_body(request)
        otp = str(text_field(body, "otp"))
        user_id = principal.user_id or 0
        if not await self._totp_accepted(user_id, otp, pending=True):
            raise ApiError(400, "That code is not right; check the clock of your phone.", "bad_otp")
        codes: list[str] = await self._write(lambda db: accounts.enable_totp_blocking(db, user_id))
        return web.json_response({"enabled": True, "recovery_codes": codes})

    async def post_2fa_disable(self, request: web.Request) -> web.Response:
        """Turn two-factor off (needs the password again)."""
        principal = principal_of(request)
        body = await json_body(request)
        password = str(text_field(body, "password"))
        user_id = principal.user_id
        await self._confirm_password(request, password, "Wrong password.")

        def disable(db: Any) -> None:
            db.execute(
                "UPDATE users SET totp_enabled = 0, totp_secret = NULL WHERE id = ?", [user_id]
            )
            db.execute("DELETE FROM recovery_codes WHERE user_id = ?", [user_id])

        await self._write(disable)
        return web.json_response({"enabled": False})

    # -- plumbing ----------------------------------------------------------------------------
    async def _write(self, work: Any) -> Any:
        try:
            return await self._catalog.write(work)
        except accounts.AccountError as err:
            raise ApiError(400, str(err), "account") from err

    async def _blocking(self, func: Any, *args: Any) -> Any:
        """argon2 takes tens of milliseconds on purpose: never on the event loop."""
        return await asyncio.get_running_loop().run_in_executor(None, func, *args)


async def json_only_body(request: web.Request) -> dict[str, Any]:
    """The JSON body of a route anyone may call; anything but `application/json` is 415. A
    browser sends a cross-site form or `text/plain` post without asking first, and such a post
    must not reach the password check (nor count as a failed attempt that slows the owner)."""
    if request.content_type != "application/json":
        raise ApiError(
            415,
            "Send the body as JSON, with the header Content-Type: application/json.",
            "unsupported_media_type",
        )
    return await json_body(request)


def auth_routes(api: AuthApi) -> list[RouteSpec]:
    tags = ("auth",)
    login_body = {
        "type": "object",
        "required": ["username", "password"],
        "properties": {
            "username": {"type": "string"},
            "password": {"type": "string"},
            "otp": {"type": "string"},
            "recovery_code": {"type": "string"},
            "cookie": {"type": "boolean"},
            "device": {"type": "string"},
        },
    }
    return [
        RouteSpec("GET", "/api/setup", api.get_setup, tags=tags, access="lan"),
        RouteSpec("POST", "/api/setup", api.post_setup, tags=tags, access="lan"),
        RouteSpec(
            "POST",
            "/api/auth/login",
            api.post_login,
            tags=tags,
            access="anyone",
            request_body=login_body,
        ),
        RouteSpec("POST", "/api/auth/logout", api.post_logout, tags=tags),
        RouteSpec("GET", "/api/auth/me", api.get_me, tags=tags),
        RouteSpec("GET", "/api/auth/sessions", api.get_sessions, tags=tags),
        RouteSpec("DELETE", "/api/auth/sessions", api.delete_sessions, tags=tags),
        RouteSpec("DELETE", "/api/auth/sessions/{session}", api.delete_session, tags=tags),
        RouteSpec("POST", "/api/auth/keys", api.post_key, tags=tags),
        RouteSpec("POST", "/api/auth/password", api.post_password, tags=tags),
        RouteSpec("POST", "/api/auth/2fa/setup", api.post_2fa_setup, tags=tags),
        RouteSpec("POST", "/api/auth/2fa/enable", api.post_2fa_enable, tags=tags),
        RouteSpec("POST", "/api/auth/2fa/disable", api.post_2fa_disable, tags=tags),
    ]
