"""Managing people: accounts, library grants, rating limits, PINs, invites, LAN visibility.

Owners and admins only, except redeeming an invite (public: the code is the permission). An
admin cannot create or change an owner; only an owner can. It never shows a stored secret.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from core.events import LibraryChanged
from core.http.bodies import json_body, text_field
from core.http.errors import ApiError
from core.http.routes import RouteSpec
from core.people import accounts
from core.people.access import ROLES, Principal
from core.people.auth_api import AuthApi, json_only_body
from core.people.credentials import hash_password, new_token, token_hash
from core.people.middleware import principal_of
from core.people.profiles_api import validate_pin
from core.people.ratings import limit_rank

if TYPE_CHECKING:
    from core.bus import EventBus
    from core.catalog import Catalog
    from core.kinds import Relay
    from core.people.middleware import Authenticator
    from core.registry import Registry

INVITE_DAYS = 7


def _libraries(body: dict[str, Any]) -> list[int] | None:
    value = body.get("libraries")
    if value is None or value == "all":
        return None
    if not isinstance(value, list) or not all(isinstance(v, int) for v in value):
        raise ApiError(400, "'libraries' is a list of library ids, or \"all\".", "bad_body")
    return value


def _rating(body: dict[str, Any]) -> str | None:
    value = body.get("max_rating")
    if value is None:
        return None
    try:
        limit_rank(str(value))
    except ValueError as err:
        raise ApiError(400, str(err), "bad_body") from err
    return str(value)


def _may_manage(actor: Principal, role: str) -> None:
    if role == "owner" and not actor.is_owner:
        raise ApiError(403, "Only an owner can make or change an owner.", "forbidden")


class UsersApi:
    """Handlers over the catalog; they sign out through the authenticator and tell TVs
    (the bus) when a library's sharing changed."""

    def __init__(
        self,
        catalog: Catalog,
        authenticator: Authenticator,
        bus: EventBus,
        relays: Registry[Relay],
        auth: AuthApi,
    ) -> None:
        self._catalog = catalog
        self._authenticator = authenticator
        self._bus = bus
        self._relays = relays
        self._auth = auth

    async def get_users(self, request: web.Request) -> web.Response:
        """Every account with its role, grants and limits."""

        def read(db: Any) -> list[dict[str, Any]]:
            ids = [r[0] for r in db.execute("SELECT id FROM users ORDER BY username")]
            return [accounts.public_user(db, user_id) for user_id in ids]

        return web.json_response({"users": await self._catalog.read(read)})

    async def post_user(self, request: web.Request) -> web.Response:
        """Create an account (a managed profile needs no password)."""
        actor = principal_of(request)
        body = await json_body(request)
        role = str(text_field(body, "role"))
        if role not in ROLES:
            raise ApiError(400, f"'role' is one of {', '.join(ROLES)}.", "bad_body")
        _may_manage(actor, role)
        username = str(text_field(body, "username"))
        password = text_field(body, "password", required=role != "managed")
        libraries, rating = _libraries(body), _rating(body)
        user_id = await self._auth._write(
            lambda db: accounts.create_user_blocking(
                db, username, role, password, libraries, rating
            )
        )
        user = await self._catalog.read(lambda db: accounts.public_user(db, user_id))
        return web.json_response(user, status=201)

    async def patch_user(self, request: web.Request) -> web.Response:
        """Change role, grants, rating limit, unrated policy, excluded genres or password."""
        actor = principal_of(request)
        user_id = _user_id(request)
        body = await json_body(request)
        current = await self._catalog.read(
            lambda db: db.execute("SELECT role FROM users WHERE id = ?", [user_id]).fetchone()
        )
        if current is None:
            raise ApiError(404, "No such user.", "not_found")
        _may_manage(actor, current[0])
        if "role" in body:
            if body["role"] not in ROLES:
                raise ApiError(400, f"'role' is one of {', '.join(ROLES)}.", "bad_body")
            _may_manage(actor, str(body["role"]))
        changes = self._changes(body)
        password = text_field(body, "password", required=False)
        try:
            hashed = (
                await self._auth._blocking(accounts.new_password_hash, password)
                if password
                else None
            )
        except accounts.AccountError as err:
            raise ApiError(400, str(err), "account") from err

        def apply(db: Any) -> None:
            if current[0] == "owner" and changes.get("role", "owner") != "owner":
                owners = db.execute("SELECT count(*) FROM users WHERE role = 'owner'").fetchone()
                if owners[0] <= 1:
                    raise accounts.AccountError("the last owner must stay owner")
            for column, value in changes.items():
                if column == "libraries":
                    accounts.check_libraries_blocking(db, value)
                    db.execute("DELETE FROM grants WHERE user_id = ?", [user_id])
                    db.execute(
                        "UPDATE users SET all_libraries = ? WHERE id = ?",
                        [int(value is None), user_id],
                    )
                    for library_id in value or []:
                        db.execute(
                            "INSERT OR IGNORE INTO grants VALUES (?, ?)", [user_id, library_id]
                        )
                else:
                    db.execute(f"UPDATE users SET {column} = ? WHERE id = ?", [value, user_id])
            if hashed:  # every session and device key of theirs ends (a reset after a theft)
                accounts.set_password_blocking(db, user_id, hashed)

        await self._auth._write(apply)
        self._authenticator.forget(user_id=user_id)
        user = await self._catalog.read(lambda db: accounts.public_user(db, user_id))
        return web.json_response(user)

    @staticmethod
    def _changes(body: dict[str, Any]) -> dict[str, Any]:
        changes: dict[str, Any] = {}
        if "role" in body:
            changes["role"] = body["role"]
        if "libraries" in body:
            changes["libraries"] = _libraries(body)
        if "max_rating" in body:
            changes["max_rating"] = _rating(body)
        if "unrated" in body:
            if body["unrated"] not in ("allow", "block"):
                raise ApiError(400, "'unrated' is allow or block.", "bad_body")
            changes["unrated"] = body["unrated"]
        if "excluded_genres" in body:
            genres = body["excluded_genres"]
            if not isinstance(genres, list) or not all(isinstance(g, str) for g in genres):
                raise ApiError(400, "'excluded_genres' is a list of genre names.", "bad_body")
            changes["excluded_genres"] = json.dumps(genres)
        return changes

    async def delete_user(self, request: web.Request) -> web.Response:
        """Delete an account and everything about it; its sessions end at once."""
        actor = principal_of(request)
        user_id = _user_id(request)
        role = await self._catalog.read(
            lambda db: db.execute("SELECT role FROM users WHERE id = ?", [user_id]).fetchone()
        )
        if role is None:
            raise ApiError(404, "No such user.", "not_found")
        _may_manage(actor, role[0])
        await self._auth._write(lambda db: accounts.delete_user_blocking(db, user_id))
        self._authenticator.forget(user_id=user_id)
        return web.json_response({"deleted": user_id})

    async def put_user_pin(self, request: web.Request) -> web.Response:
        """Set a profile's 4-digit PIN."""
        user_id = _user_id(request)
        role = await self._catalog.read(
            lambda db: db.execute("SELECT role FROM users WHERE id = ?", [user_id]).fetchone()
        )
        if role is None:
            raise ApiError(404, "No such user.", "not_found")
        _may_manage(principal_of(request), role[0])  # a PIN set by an admin would open the owner
        pin = validate_pin((await json_body(request)).get("pin"))
        hashed = await self._auth._blocking(hash_password, pin)
        await self._auth._write(
            lambda db: db.execute("UPDATE users SET pin_hash = ? WHERE id = ?", [hashed, user_id])
        )
        return web.json_response({"has_pin": True})

    # -- invites -----------------------------------------------------------------------------
    async def post_invite(self, request: web.Request) -> web.Response:
        """An expiring, single-use invite that creates a member (or managed) account."""
        actor = principal_of(request)
        body = await json_body(request)
        role = body.get("role", "member")
        if role not in ("member", "managed"):
            raise ApiError(400, "'role' is member or managed.", "bad_body")
        days = body.get("days", INVITE_DAYS)
        if not isinstance(days, int | float) or not 0 < days <= 90:
            raise ApiError(400, "'days' is between 1 and 90.", "bad_body")
        libraries = _libraries(body)
        code = new_token("hi_")
        cursor_id = await self._auth._write(
            lambda db: (
                db.execute(
                    "INSERT INTO invites (code_hash, created_by, role, libraries, max_rating, "
                    "note, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        token_hash(code),
                        actor.user_id,
                        role,
                        json.dumps(libraries),
                        _rating(body),
                        body.get("note"),
                        accounts.now_text(),
                        accounts.now_text(days * 86400),
                    ],
                ).lastrowid
            )
        )
        return web.json_response(
            {
                "id": cursor_id,
                "code": code,
                "path": f"/#/invite/{code}",
                # from outside the home too, while the relay is up
                "url": next((f"{u}/#/invite/{code}" for u in self._relay_urls()), None),
                "expires_at": accounts.now_text(days * 86400),
            },
            status=201,
        )

    def _relay_urls(self) -> list[str]:
        return [url for relay in self._relays.values() if (url := relay.public_url())]

    async def get_invites(self, request: web.Request) -> web.Response:
        """Invites and whether they were used (codes are never shown again)."""
        rows = await self._catalog.read(
            lambda db: db.execute(
                "SELECT id, role, libraries, max_rating, note, created_at, expires_at, used_at "
                "FROM invites ORDER BY id DESC"
            ).fetchall()
        )
        keys = (
            "id",
            "role",
            "libraries",
            "max_rating",
            "note",
            "created_at",
            "expires_at",
            "used_at",
        )
        invites = [dict(zip(keys, r, strict=True)) for r in rows]
        for invite in invites:
            invite["libraries"] = json.loads(invite["libraries"])
        return web.json_response({"invites": invites})

    async def delete_invite(self, request: web.Request) -> web.Response:
        """Withdraw an invite."""
        invite_id = _user_id(request, "invite")
        await self._auth._write(
            lambda db: db.execute("DELETE FROM invites WHERE id = ?", [invite_id])
        )
        return web.json_response({"deleted": invite_id})

    async def post_redeem(self, request: web.Request) -> web.Response:
        """Redeem an invite: choose a name and password, get signed in."""
        body = await json_only_body(request)
        code = str(text_field(body, "code"))
        username = str(text_field(body, "username"))
        password = str(text_field(body, "password"))
        # invite codes carry 256 random bits: no pause per account, which would only let a
        # stranger block the real invitee; a guessing address still slows itself down
        self._auth.check_throttle(request, "invite", guard_account=False)

        def redeem(db: Any) -> int | None:
            row = db.execute(
                "SELECT id, role, libraries, max_rating FROM invites WHERE code_hash = ? "
                "AND used_at IS NULL AND expires_at > ?",
                [token_hash(code), accounts.now_text()],
            ).fetchone()
            if row is None:
                return None
            user_id = accounts.create_user_blocking(
                db, username, row[1], password, json.loads(row[2]), row[3]
            )
            db.execute(
                "UPDATE invites SET used_at = ?, used_by = ? WHERE id = ?",
                [accounts.now_text(), user_id, row[0]],
            )
            return user_id

        user_id = await self._auth._write(redeem)
        if user_id is None:
            self._auth.failed(request, "invite", guard_account=False)
            raise ApiError(404, "This invite is unknown, used or expired.", "bad_invite")
        return await self._auth._signed_in(request, user_id, body)

    async def patch_library(self, request: web.Request) -> web.Response:
        """Whether TVs on the LAN (DLNA, no account) may see a library."""
        library_id = _user_id(request, "library")
        body = await json_body(request)
        visible = body.get("lan_visible")
        if not isinstance(visible, bool):
            raise ApiError(400, "'lan_visible' is true or false.", "bad_body")
        await self._auth._write(
            lambda db: db.execute(
                "UPDATE libraries SET lan_visible = ? WHERE id = ?", [int(visible), library_id]
            )
        )
        self._bus.publish(LibraryChanged(library_id))  # TVs learn of it (SystemUpdateID)
        return web.json_response({"id": library_id, "lan_visible": visible})


def _user_id(request: web.Request, name: str = "user") -> int:
    try:
        return int(request.match_info[name])
    except ValueError as err:
        raise ApiError(404, "Not found.", "not_found") from err


def users_routes(api: UsersApi) -> list[RouteSpec]:
    tags = ("people",)
    return [
        RouteSpec("GET", "/api/users", api.get_users, tags=tags, admin=True),
        RouteSpec("POST", "/api/users", api.post_user, tags=tags, admin=True),
        RouteSpec("PATCH", "/api/users/{user}", api.patch_user, tags=tags, admin=True),
        RouteSpec("DELETE", "/api/users/{user}", api.delete_user, tags=tags, admin=True),
        RouteSpec("PUT", "/api/users/{user}/pin", api.put_user_pin, tags=tags, admin=True),
        RouteSpec("GET", "/api/invites", api.get_invites, tags=tags, admin=True),
        RouteSpec("POST", "/api/invites", api.post_invite, tags=tags, admin=True),
        RouteSpec("DELETE", "/api/invites/{invite}", api.delete_invite, tags=tags, admin=True),
        RouteSpec("POST", "/api/invites/redeem", api.post_redeem, tags=tags, access="anyone"),
        RouteSpec("PATCH", "/api/libraries/{library}", api.patch_library, tags=tags, admin=True),
    ]
