"""Profiles on a shared household device: listing them, switching to one, and PINs.

`POST /api/auth/switch` signs this device in as another profile. A managed profile opens
without its PIN only for an owner or admin, or when it sees nothing the switcher cannot (the
rule is `switching`); otherwise its PIN, and a PIN-less one with more access is refused with a
sentence saying why. Wrong PINs are throttled like passwords. It never shows a PIN or a hash.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from core.http.bodies import json_body
from core.http.errors import ApiError
from core.http.origin import client_address
from core.http.routes import RouteSpec
from core.people import accounts
from core.people.credentials import hash_password, verify_password
from core.people.middleware import principal_of
from core.people.switching import SwitchNeeds, switch_needs

if TYPE_CHECKING:
    from core.catalog import Catalog
    from core.people.auth_api import AuthApi


def address_of(request: web.Request) -> str:
    """The client's address, for throttling: through the relay, the phone's own."""
    return client_address(request)


class ProfilesApi:
    """Handlers; they sign in through `AuthApi`."""

    def __init__(self, catalog: Catalog, auth: AuthApi) -> None:
        self._catalog = catalog
        self._auth = auth

    async def get_profiles(self, request: web.Request) -> web.Response:
        """Profiles to pick on a shared household device: you and the managed profiles."""
        principal = principal_of(request)
        rows = await self._catalog.read(
            lambda db: db.execute(
                "SELECT id, username, role, pin_hash IS NOT NULL FROM users "
                "WHERE role = 'managed' OR id = ? ORDER BY role = 'managed', username",
                [principal.user_id],
            ).fetchall()
        )
        profiles = [
            {"id": r[0], "username": r[1], "role": r[2], "has_pin": bool(r[3])} for r in rows
        ]
        return web.json_response({"profiles": profiles})

    async def post_switch(self, request: web.Request) -> web.Response:
        """Switch this device to a profile. A managed profile opens without its PIN only for an
        owner or admin, or when it sees nothing the switcher cannot (`switching`); otherwise
        its PIN (a PIN-less one with more access is refused); an adult needs their password or
        PIN."""
        principal = principal_of(request)
        body = await json_body(request)
        target = body.get("user_id")
        if not isinstance(target, int):
            raise ApiError(400, "'user_id' must be a number.", "bad_body")

        def read(db: Any) -> tuple[Any, Any] | None:
            row = db.execute(
                "SELECT pin_hash, password_hash FROM users WHERE id = ?", [target]
            ).fetchone()
            return None if row is None else (row, accounts.principal_blocking(db, target))

        found = await self._catalog.read(read)
        if found is None or found[1] is None:
            raise ApiError(404, "No such profile.", "not_found")
        (pin_hash, password_hash), profile = found
        needs = switch_needs(principal, profile, bool(pin_hash), bool(password_hash))
        if needs is SwitchNeeds.REFUSED:
            raise ApiError(
                403,
                f"{profile.username} has no PIN and may see more than you can, so you cannot "
                "switch to it. An owner or admin can switch, or set a PIN for it.",
                "pin_missing",
            )
        account = f"pin:{target}"
        pin = body.get("pin") if isinstance(body.get("pin"), str) else None
        password = body.get("password") if isinstance(body.get("password"), str) else None
        if needs is SwitchNeeds.SECRET and pin is None and password is None:
            asked = "PIN" if pin_hash else "password"
            raise ApiError(401, f"Enter the {asked} of {profile.username}.", "pin_required")
        if pin is not None or password is not None:
            self._auth.check_throttle(request, account)
            ok = (
                pin is not None
                and pin_hash is not None
                and await self._auth._blocking(verify_password, pin_hash, pin)
            ) or (
                password is not None
                and await self._auth._blocking(verify_password, password_hash, password)
            )
            if not ok:
                self._auth.failed(request, account)
                raise ApiError(401, "Wrong PIN.", "bad_pin")
            self._auth.attempts.succeeded(account, address_of(request))
        response = await self._auth._signed_in(request, target, body)
        if principal.session_id is not None and principal.via_cookie and body.get("cookie"):
            # a shared device now belongs to the new profile: a child handed the tablet must
            # not be able to step back into the parent's session without the PIN or password
            await self._auth._revoke(principal.user_id, principal.session_id)
        return response

    async def put_pin(self, request: web.Request) -> web.Response:
        """Set your own 4-digit PIN (an admin may set a managed profile's: /api/users/{id}/pin)."""
        principal = principal_of(request)
        body = await json_body(request)
        pin = validate_pin(body.get("pin"))
        user_id = principal.user_id
        hashed = await self._auth._blocking(hash_password, pin)
        await self._auth._write(
            lambda db: db.execute("UPDATE users SET pin_hash = ? WHERE id = ?", [hashed, user_id])
        )
        return web.json_response({"has_pin": True})


def validate_pin(pin: Any) -> str:
    if not isinstance(pin, str) or len(pin) != 4 or not pin.isdigit():
        raise ApiError(400, "A PIN is 4 digits.", "bad_pin")
    return pin


def profile_routes(api: ProfilesApi) -> list[RouteSpec]:
    tags = ("auth",)
    return [
        RouteSpec("GET", "/api/auth/profiles", api.get_profiles, tags=tags),
        RouteSpec("POST", "/api/auth/switch", api.post_switch, tags=tags),
        RouteSpec("PUT", "/api/auth/pin", api.put_pin, tags=tags),
    ]
