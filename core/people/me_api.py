"""A person's own data rights: download everything stored about them, delete their account.

`GET /api/me/export` answers the document of `export` as a file download. `DELETE /api/me`
needs the password again (a borrowed, signed-in phone must not be enough to erase someone);
managed profiles cannot delete themselves (a parent does, through /api/users); the last owner
cannot go. Deleting relies on ON DELETE CASCADE, and the person's sessions stop working at once.
It never touches another person's rows.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from core.http.bodies import json_body, text_field
from core.http.errors import ApiError
from core.http.origin import client_address
from core.http.routes import RouteSpec
from core.people import accounts
from core.people.credentials import verify_password
from core.people.export import attachment_name, export_blocking
from core.people.middleware import COOKIE, CSRF_COOKIE
from core.people.watch_api import user_of

if TYPE_CHECKING:
    from core.catalog import Catalog
    from core.people.auth_api import AuthApi
    from core.people.middleware import Authenticator


class MeApi:
    """Handlers over the catalog, signing out through the authenticator."""

    def __init__(self, catalog: Catalog, authenticator: Authenticator, auth: AuthApi) -> None:
        self._catalog = catalog
        self._authenticator = authenticator
        self._auth = auth

    async def get_export(self, request: web.Request) -> web.Response:
        """Everything stored about you, as a JSON file."""
        principal, user_id = user_of(request)
        document = await self._catalog.read(lambda db: export_blocking(db, user_id))
        return web.Response(
            body=json.dumps(document, indent=2, ensure_ascii=False).encode(),
            content_type="application/json",
            headers={
                "Content-Disposition": (
                    f'attachment; filename="{attachment_name(principal.username)}"'
                ),
                "Cache-Control": "no-store",
            },
        )

    async def delete_me(self, request: web.Request) -> web.Response:
        """Delete your account and everything about you; needs your password."""
        principal, user_id = user_of(request)
        if principal.role == "managed":
            raise ApiError(403, "Ask a parent to remove this profile.", "forbidden")
        password = str(text_field(await json_body(request), "password"))
        account = f"delete:{user_id}"
        self._auth.check_throttle(request, account)  # slowed down like sign-in
        stored = await self._catalog.read(
            lambda db: db.execute(
                "SELECT password_hash FROM users WHERE id = ?", [user_id]
            ).fetchone()
        )
        loop = asyncio.get_running_loop()
        ok = await loop.run_in_executor(
            None, verify_password, stored[0] if stored else None, password
        )
        if not ok:
            self._auth.failed(request, account)
            raise ApiError(401, "Wrong password.", "bad_credentials")
        self._auth.attempts.succeeded(account, client_address(request))

        def delete(db: Any) -> None:
            accounts.delete_user_blocking(db, user_id)

        try:
            await self._catalog.write(delete)
        except accounts.AccountError as err:
            raise ApiError(409, str(err), "last_owner") from err
        self._authenticator.forget(user_id=user_id)
        response = web.json_response({"deleted": user_id})
        response.del_cookie(COOKIE, path="/")
        response.del_cookie(CSRF_COOKIE, path="/")
        return response


def me_routes(api: MeApi) -> list[RouteSpec]:
    tags = ("me",)
    return [
        RouteSpec(
            "GET",
            "/api/me/export",
            api.get_export,
            "Everything stored about you",
            tags=tags,
        ),
        RouteSpec(
            "DELETE",
            "/api/me",
            api.delete_me,
            "Delete your account and everything about you",
            tags=tags,
            request_body={
                "type": "object",
                "required": ["password"],
                "properties": {"password": {"type": "string"}},
            },
        ),
    ]
