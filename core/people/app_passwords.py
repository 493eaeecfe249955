"""App passwords: a random secret per music app, for APIs whose auth needs a recoverable secret.

Subsonic's token auth sends md5(secret + salt), so the server must know the secret itself.
Hearth never keeps the account password that way: a person makes one app password per app
(named, shown once), stored sealed with the box's key (`core.secret_box`), listed and revoked
here. The account password never matches. Routes: `GET/POST /api/me/app-passwords`,
`DELETE /api/me/app-passwords/{id}` (signed in, your own only). It never logs a secret.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from core.catalog.database import Database
from core.http.bodies import json_body, text_field
from core.http.errors import ApiError
from core.http.routes import RouteSpec
from core.people.accounts import now_text
from core.people.watch_api import user_of
from core.secret_box import SecretBox, SecretBoxError

if TYPE_CHECKING:
    from core.catalog import Catalog

ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: typed on a phone keyboard
MAX_PER_PERSON = 50
TOUCH_EVERY = 3600.0


def purpose(user_id: int) -> str:
    """Bound into the sealed value: moved to another person's row, it does not open."""
    return f"app-password:{user_id}"


def new_secret() -> str:
    """Four groups of five (about 98 bits): `k3f9q-x7m2p-…`, easy to type into an app."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(20))
    return "-".join(raw[i : i + 5] for i in range(0, 20, 5))


@dataclass(frozen=True, slots=True)
class AppSecret:
    id: int
    secret: str
    last_used_at: str | None = None


def create_blocking(db: Database, box: SecretBox, user_id: int, name: str) -> AppSecret:
    count = db.execute("SELECT count(*) FROM app_passwords WHERE user_id = ?", [user_id]).fetchone()
    if count[0] >= MAX_PER_PERSON:
        raise ValueError(f"at most {MAX_PER_PERSON} app passwords; revoke one first")
    secret = new_secret()
    cursor = db.execute(
        "INSERT INTO app_passwords (user_id, name, sealed, created_at) VALUES (?, ?, ?, ?)",
        [user_id, name[:120], box.seal_blocking(secret, purpose(user_id)), now_text()],
    )
    return AppSecret(int(cursor.lastrowid or 0), secret)


def list_blocking(db: Database, user_id: int) -> list[dict[str, Any]]:
    rows = db.execute(
        "SELECT id, name, created_at, last_used_at FROM app_passwords WHERE user_id = ? "
        "ORDER BY id",
        [user_id],
    ).fetchall()
    return [dict(zip(("id", "name", "created_at", "last_used_at"), r, strict=True)) for r in rows]


def delete_blocking(db: Database, user_id: int, password_id: int) -> bool:
    cursor = db.execute(
        "DELETE FROM app_passwords WHERE id = ? AND user_id = ?", [password_id, user_id]
    )
    return bool(cursor.rowcount)


def secrets_blocking(
    db: Database, box: SecretBox, username: str
) -> tuple[int, list[AppSecret]] | None:
    """(user id, every app password opened) for a user name, else None. A value that does
    not open (another box's catalog) is skipped: it can match nothing."""
    row = db.execute("SELECT id FROM users WHERE username = ?", [username]).fetchone()
    if row is None:
        return None
    user_id = int(row[0])
    opened: list[AppSecret] = []
    for password_id, sealed, used in db.execute(
        "SELECT id, sealed, last_used_at FROM app_passwords WHERE user_id = ?", [user_id]
    ):
        try:
            secret = box.open_blocking(sealed, purpose(user_id))
            opened.append(AppSecret(password_id, secret, used))
        except SecretBoxError:
            continue
    return user_id, opened


def due_for_touch(used: str | None) -> bool:
    """Whether a use is worth writing down: at most once an hour (idle means no writes, and an
    app calls many times a minute while it plays)."""
    return used is None or used < now_text(-TOUCH_EVERY)


def touch_blocking(db: Database, password_id: int) -> None:
    db.execute("UPDATE app_passwords SET last_used_at = ? WHERE id = ?", [now_text(), password_id])


class AppPasswordsApi:
    """Handlers over the catalog and the box's sealing key."""

    def __init__(self, catalog: Catalog, box: SecretBox) -> None:
        self._catalog = catalog
        self._box = box

    async def get_list(self, request: web.Request) -> web.Response:
        """Your app passwords (names and dates; never the secrets)."""
        _, user_id = user_of(request)
        rows = await self._catalog.read(lambda db: list_blocking(db, user_id))
        return web.json_response({"app_passwords": rows})

    async def post(self, request: web.Request) -> web.Response:
        """A new app password for one app: the secret is in this answer only."""
        _, user_id = user_of(request)
        name = str(text_field(await json_body(request), "name")).strip()
        if not name:
            raise ApiError(400, "Name the app this password is for.", "bad_body")
        try:
            made = await self._catalog.write(
                lambda db: create_blocking(db, self._box, user_id, name)
            )
        except ValueError as err:
            raise ApiError(400, str(err), "too_many") from err
        return web.json_response({"id": made.id, "name": name, "password": made.secret}, status=201)

    async def delete(self, request: web.Request) -> web.Response:
        """Revoke one of your app passwords; the app using it is refused on its next call."""
        _, user_id = user_of(request)
        try:
            password_id = int(request.match_info["id"])
        except ValueError:
            password_id = 0
        if not await self._catalog.write(lambda db: delete_blocking(db, user_id, password_id)):
            raise ApiError(404, "No such app password.", "not_found")
        return web.json_response({"revoked": [password_id]})


def app_password_routes(api: AppPasswordsApi) -> list[RouteSpec]:
    tags = ("me",)
    body = {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}
    return [
        RouteSpec("GET", "/api/me/app-passwords", api.get_list, tags=tags),
        RouteSpec("POST", "/api/me/app-passwords", api.post, tags=tags, request_body=body),
        RouteSpec("DELETE", "/api/me/app-passwords/{id}", api.delete, tags=tags),
    ]
