"""Everything stored about one person, as one JSON document: `GET /api/me/export` and
`hearth user export NAME`.

`COVERED` names, for every column that points at a person, the section that exports it; a test
fails when a table that references users is added without a section here, so the export cannot
quietly fall behind the schema. Secrets never leave: no password, PIN or token hashes, no TOTP
secret, no recovery code hashes (only how many there are). Titles of items the person may no
longer see are left out (the reference stays). It never writes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from core.catalog import Catalog
from core.catalog.database import Database
from core.configuration import Configuration
from core.people import accounts, app_passwords
from core.people.access import Principal
from core.people.watch import stamp

FORMAT = "hearth-export/1"
COVERED: dict[tuple[str, str], str] = {
    ("users", "id"): "profile",
    ("grants", "user_id"): "grants",
    ("sessions", "user_id"): "sessions",
    ("recovery_codes", "user_id"): "recovery_codes",
    ("invites", "created_by"): "invites_created",
    ("invites", "used_by"): "invited_by",
    ("progress", "user_id"): "progress",
    ("history", "user_id"): "history",
    ("ratings", "user_id"): "ratings",
    ("playlists", "user_id"): "playlists",
    ("app_passwords", "user_id"): "app_passwords",
    ("stars", "user_id"): "stars",
    ("play_queues", "user_id"): "play_queue",
    ("downloads", "user_id"): "downloads",
}


def _item_select(principal: Principal) -> tuple[str, list[Any]]:
    """Columns for an item reference: id, kind, title, and whether it may be shown."""
    visible, args = principal.item_clause()
    return f"items.id, items.kind, items.title, ({visible})", args


def _item(row: tuple[Any, ...]) -> dict[str, Any]:
    item_id, kind, title, visible = row[:4]
    if visible:
        return {"id": item_id, "kind": kind, "title": title}
    return {"id": item_id, "hidden": True}


def _rows(
    db: Database,
    principal: Principal,
    columns: str,
    table: str,
    where: str,
    args: list[Any],
) -> list[tuple[Any, ...]]:
    """Rows of `table` joined with their item: item reference first, then `columns`."""
    select, item_args = _item_select(principal)
    return [
        tuple(r)
        for r in db.execute(
            f"SELECT {select}, {columns} FROM {table} JOIN items ON items.pk = {table}.item_pk "
            f"WHERE {where}",
            [*item_args, *args],
        ).fetchall()
    ]


def export_blocking(db: Database, user_id: int) -> dict[str, Any]:
    """The document; raises AccountError when there is no such person."""
    profile = accounts.public_user(db, user_id)
    principal = accounts.principal_blocking(db, user_id)
    if principal is None:
        raise accounts.AccountError("no such user")
    grants = [
        {"library_id": r[0], "name": r[1]}
        for r in db.execute(
            "SELECT grants.library_id, libraries.name FROM grants JOIN libraries "
            "ON libraries.id = grants.library_id WHERE grants.user_id = ? ORDER BY 1",
            [user_id],
        )
    ]
    codes = db.execute(
        "SELECT count(*), count(used_at) FROM recovery_codes WHERE user_id = ?", [user_id]
    ).fetchone()
    progress = [
        {"item": _item(r), "position": r[4], "duration": r[5], "watched": bool(r[6])}
        | {"updated_at": r[7]}
        for r in _rows(
            db,
            principal,
            "progress.position, progress.duration, progress.watched, progress.updated_at",
            "progress",
            "progress.user_id = ? ORDER BY progress.updated_at DESC",
            [user_id],
        )
    ]
    history = [
        {"item": _item(r), "watched_at": r[4]}
        for r in _rows(
            db,
            principal,
            "history.watched_at",
            "history",
            "history.user_id = ? ORDER BY history.watched_at DESC, history.id DESC",
            [user_id],
        )
    ]
    ratings = [
        {"item": _item(r), "rating": r[4]}
        for r in _rows(db, principal, "ratings.rating", "ratings", "ratings.user_id = ?", [user_id])
    ]
    stars = [
        {"item": _item(r), "starred_at": r[4]}
        for r in _rows(
            db,
            principal,
            "stars.starred_at",
            "stars",
            "stars.user_id = ? ORDER BY stars.starred_at DESC",
            [user_id],
        )
    ]
    downloads = [  # what each of their devices holds for offline viewing (core.downloads)
        {"item": _item(r), "quality": r[4], "device": r[5], "asked_at": r[6], "stored_at": r[7]}
        for r in _rows(
            db,
            principal,
            "downloads.quality, (SELECT name FROM sessions WHERE sessions.id = "
            "downloads.session_id), downloads.created_at, downloads.stored_at",
            "downloads",
            "downloads.user_id = ? ORDER BY downloads.id",
            [user_id],
        )
    ]
    return {
        "format": FORMAT,
        "exported_at": stamp(),
        "profile": profile,
        "grants": grants,
        "sessions": accounts.list_sessions_blocking(db, user_id),
        "app_passwords": app_passwords.list_blocking(db, user_id),  # names and dates, no secrets
        "recovery_codes": {"count": codes[0], "used": codes[1]},
        "progress": progress,
        "history": history,
        "ratings": ratings,
        "stars": stars,
        "play_queue": _play_queue(db, principal, user_id),
        "downloads": downloads,
        "playlists": _playlists(db, principal, user_id),
        "invites_created": _invites_created(db, user_id),
        "invited_by": _invited_by(db, user_id),
    }


def _play_queue(db: Database, principal: Principal, user_id: int) -> dict[str, Any] | None:
    """The queue a music app last saved (song, position, the songs), or None."""
    row = db.execute(
        "SELECT current_pk, position, changed_at, changed_by FROM play_queues WHERE user_id = ?",
        [user_id],
    ).fetchone()
    if row is None:
        return None
    select, args = _item_select(principal)
    current = db.execute(f"SELECT {select} FROM items WHERE items.pk = ?", [*args, row[0]])
    found = current.fetchone()
    songs = db.execute(
        f"SELECT {select} FROM play_queue_items JOIN items ON items.pk = play_queue_items.item_pk "
        "WHERE play_queue_items.user_id = ? ORDER BY play_queue_items.position",
        [*args, user_id],
    ).fetchall()
    return {
        "current": _item(tuple(found)) if found else None,
        "position": row[1],
        "changed_at": row[2],
        "changed_by": row[3],
        "items": [_item(tuple(r)) for r in songs],
    }


def _playlists(db: Database, principal: Principal, user_id: int) -> list[dict[str, Any]]:
    playlists = []
    for pk, public_id, name, created_at in db.execute(
        "SELECT id, public_id, name, created_at FROM playlists WHERE user_id = ? ORDER BY id",
        [user_id],
    ).fetchall():
        entries = _rows(
            db,
            principal,
            "playlist_items.position",
            "playlist_items",
            "playlist_items.playlist_id = ? ORDER BY playlist_items.position",
            [pk],
        )
        playlists.append(
            {
                "id": public_id,
                "name": name,
                "created_at": created_at,
                "items": [{"position": r[4], "item": _item(r)} for r in entries],
            }
        )
    return playlists


def _invites_created(db: Database, user_id: int) -> list[dict[str, Any]]:
    keys = ("id", "role", "libraries", "max_rating", "note", "created_at", "expires_at")
    rows = db.execute(
        f"SELECT {', '.join(keys)}, used_at FROM invites WHERE created_by = ? ORDER BY id",
        [user_id],
    ).fetchall()
    invites = []
    for row in rows:
        invite = dict(zip(keys, row[:-1], strict=True))
        invite["libraries"] = json.loads(invite["libraries"])
        invite["used_at"] = row[-1]  # who used it is about them, not about this person
        invites.append(invite)
    return invites


def _invited_by(db: Database, user_id: int) -> dict[str, Any] | None:
    row = db.execute(
        "SELECT invites.id, users.username, invites.created_at, invites.used_at FROM invites "
        "LEFT JOIN users ON users.id = invites.created_by WHERE invites.used_by = ?",
        [user_id],
    ).fetchone()
    if row is None:
        return None
    return {"invite_id": row[0], "created_by": row[1], "created_at": row[2], "used_at": row[3]}


def attachment_name(username: str) -> str:
    """A file name safe in a Content-Disposition header."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in username)[:60] or "user"
    return f"hearth-export-{safe}.json"


# -- `hearth user export NAME` ------------------------------------------------------------------
def add_export_action(parser: argparse.ArgumentParser) -> None:
    """Add `export` to the `hearth user` actions that core.people.command made. argparse has
    no public way back to a parser's sub-commands, hence the lookup by type."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            export = action.add_parser("export", help="print everything stored about a person")
            export.add_argument("name")
            export.add_argument(
                "-c", "--config", default=argparse.SUPPRESS, help="configuration folder"
            )
            return
    raise RuntimeError("`hearth user` has no actions to add export to")


def export_user_blocking(db: Database, name: str) -> dict[str, Any]:
    row = db.execute("SELECT id FROM users WHERE username = ?", [name]).fetchone()
    if row is None:
        raise accounts.AccountError(f"no user called {name!r}")
    return export_blocking(db, int(row[0]))


def run_export(config: Configuration, args: argparse.Namespace) -> int:
    """Print the document of `args.name`, straight from the catalog (server running or not)."""

    async def read() -> dict[str, Any]:
        catalog = await Catalog.open(config.hearth.data_dir)
        try:
            return await catalog.read(lambda db: export_user_blocking(db, args.name))
        finally:
            await catalog.close()

    try:
        document = asyncio.run(read())
    except accounts.AccountError as err:
        print(f"hearth user export: {err}", file=sys.stderr)
        return 1
    print(json.dumps(document, indent=2, ensure_ascii=False))
    return 0
