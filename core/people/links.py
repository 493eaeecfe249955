"""Links for players that cannot send a header: VLC, Kodi, a TV's browser, a "copy link" box.

`POST /api/items/{id}/stream-url` gives the signed-in caller two capability URLs for one item:
the file itself and an HLS master playlist. The token rides in the query (`?link=hl_…`), is
stored hashed, is bound to that item and to the person's own limits (the grants and ratings of
the account that made it, read afresh on every use), lasts a day, and dies with the sign-in
session that made it: signing that device out, a password change or deleting the person ends
every link it made. A link is honoured only by the routes that declared `links=True` (the
stream, HLS and progressive-transcode GETs) and only for reading; it never reaches any other
route, whatever item it names. The access log never prints the token.

Cast targets use the same links: play-to-TV makes one through `item_link` on the session of
the person who pressed Play and hands the TV its own DLNA URL with `?link=`; the DLNA file and
transcode routes (LAN only) ask `linked_principal` whether a request's link names their item,
and then serve it as that person may see it, not as TVs may.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from aiohttp import web

from core.catalog import Catalog
from core.catalog.database import Database
from core.http.errors import ApiError
from core.http.routes import RouteSpec
from core.people.access import Principal
from core.people.accounts import now_text, principal_blocking
from core.people.credentials import new_token, token_hash

LINK_PARAM = "link"
LINK_PREFIX = "hl_"
LINK_SECONDS = 24 * 3600
MAX_LINKS_PER_SESSION = 100  # a busy TV app asks often; the oldest go first


def link_of(request: web.BaseRequest) -> str | None:
    """The capability token a request carries in its query, if any."""
    value = request.query.get(LINK_PARAM)
    return value if value and value.startswith(LINK_PREFIX) else None


def create_link_blocking(db: Database, session_id: int, item_id: str) -> str:
    """Store a new link's hash; answers the token (shown once) and prunes old links."""
    token = new_token(LINK_PREFIX)
    db.execute("DELETE FROM stream_links WHERE expires_at <= ?", [now_text()])
    db.execute(
        "INSERT INTO stream_links (token_hash, session_id, item_id, created_at, expires_at) "
        "VALUES (?, ?, ?, ?, ?)",
        [token_hash(token), session_id, item_id, now_text(), now_text(LINK_SECONDS)],
    )
    db.execute(
        "DELETE FROM stream_links WHERE session_id = ? AND id NOT IN (SELECT id FROM "
        "stream_links WHERE session_id = ? ORDER BY id DESC LIMIT ?)",
        [session_id, session_id, MAX_LINKS_PER_SESSION],
    )
    return token


def link_principal_blocking(db: Database, token: str) -> Principal | None:
    """Who a live link speaks for, narrowed to its one item and to reading; None if it is
    unknown, expired, or its session ended."""
    row = db.execute(
        "SELECT sessions.id, sessions.user_id, stream_links.item_id FROM stream_links "
        "JOIN sessions ON sessions.id = stream_links.session_id "
        "WHERE stream_links.token_hash = ? AND stream_links.expires_at > ? "
        "AND (sessions.expires_at IS NULL OR sessions.expires_at > ?)",
        [token_hash(token), now_text(), now_text()],
    ).fetchone()
    if row is None:
        return None
    session_id, user_id, item_id = row
    principal = principal_blocking(db, user_id, session_id, "read")
    if principal is None:
        return None
    return dataclasses.replace(principal, only_item=str(item_id))


async def link_principal(catalog: Catalog, token: str) -> Principal | None:
    """`link_principal_blocking` through a catalog reader."""
    return await catalog.read(lambda db: link_principal_blocking(db, token))


def linked_principal(request: web.Request, item_id: str) -> Principal | None:
    """Who a live link in this request speaks for, when it names `item_id`; None otherwise (no
    link, a dead one, one for another item, or a request signed in some other way). For routes
    declaring `links=True` that also answer without one (the DLNA plugin's `lan` routes)."""
    from core.people.middleware import PRINCIPAL

    principal: Principal | None = request.get(PRINCIPAL)
    if principal is None or principal.only_item is None or principal.only_item != item_id:
        return None
    return principal


async def item_link(catalog: Catalog, principal: Principal, item_id: str) -> str | None:
    """A new link token to `item_id` for a cast target, made on `principal`'s own sign-in
    session so it ends with it; None when there is no session to bind it to (a LAN device, a
    link itself) or the item is not one `principal` may play."""
    session_id = principal.session_id
    if session_id is None or principal.only_item is not None:
        return None

    def create(db: Database) -> str | None:
        if not _visible_blocking(db, item_id, principal):
            return None
        return create_link_blocking(db, session_id, item_id)

    return await catalog.write(create)


def _visible_blocking(db: Database, item_id: str, principal: Principal) -> bool:
    clause, args = principal.item_clause()
    found = db.execute(
        f"SELECT 1 FROM items WHERE items.id = ? AND items.file_id IS NOT NULL AND {clause}",
        [item_id, *args],
    ).fetchone()
    return found is not None


def link_routes(catalog: Catalog) -> list[RouteSpec]:
    """POST /api/items/{id}/stream-url."""
    from core.people.middleware import principal_of

    async def post_stream_url(request: web.Request) -> web.Response:
        """Links to this item for a player that cannot sign in (valid 24 h, this device only)."""
        principal = principal_of(request)
        item_id = request.match_info["id"]
        if principal.session_id is None or principal.only_item is not None:
            raise ApiError(403, "Sign in on this device to make a link.", "forbidden")
        token = await item_link(catalog, principal, item_id)
        if token is None:
            raise ApiError(404, "No such item, or it has no file to play.", "item_not_found")
        base = f"{request.scheme}://{request.host}/api/items/{item_id}"
        body: dict[str, Any] = {
            "url": f"{base}/stream?{LINK_PARAM}={token}",
            "hls_url": f"{base}/hls/master.m3u8?{LINK_PARAM}={token}",
            "expires_at": now_text(LINK_SECONDS),
        }
        return web.json_response(body, status=201, headers={"Cache-Control": "no-store"})

    return [
        RouteSpec(
            "POST",
            "/api/items/{id}/stream-url",
            post_stream_url,
            tags=("playback",),
            responses={"201": "the links (shown once)", "404": "no such item"},
        ),
    ]
