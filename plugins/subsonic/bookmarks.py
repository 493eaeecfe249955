"""Bookmarks for music apps (audiobooks, long mixes): Hearth's own resume positions.

A Subsonic bookmark is the person's `progress` row for a song, the same position the web app
resumes from (`core.people.watch`), so a position saved on the phone resumes in the browser
and back. A finished play (a scrobble) is not a bookmark, as it is not in "continue watching".
`comment` is not kept (there is nowhere to keep it). Only songs the person may hear
are listed or bookmarked; deleting a bookmark forgets the position, never the play history.
"""

from __future__ import annotations

from typing import Any

from core.plugin_api import (
    WATCHED_AT,
    Database,
    Principal,
    Report,
    playable_item_blocking,
    store_progress_blocking,
)
from plugins.subsonic import shapes
from plugins.subsonic.responses import GENERIC, NOT_FOUND, SubsonicError
from plugins.subsonic.routes import Call, Endpoints


def _user(principal: Principal) -> int:
    if principal.user_id is None:
        raise SubsonicError(GENERIC, "Only a signed-in person keeps bookmarks.")
    return principal.user_id


def bookmarks_blocking(db: Database, principal: Principal) -> dict[str, Any]:
    user = _user(principal)
    rows = db.execute(
        "SELECT items.id, progress.position, progress.updated_at FROM progress "
        "JOIN items ON items.pk = progress.item_pk WHERE progress.user_id = ? "
        "AND progress.position > 0 AND (progress.duration IS NULL OR "
        f"progress.position < {WATCHED_AT} * progress.duration) "
        "AND items.kind = 'track' ORDER BY progress.updated_at DESC",
        [user],
    ).fetchall()
    marks = []
    for item_id, position, updated in rows:
        found = shapes.songs_blocking(db, principal, "t.id = ?", [item_id], limit=1)
        if found:
            marks.append(
                {
                    "position": round(float(position) * 1000),
                    "username": principal.username,
                    "comment": "",
                    "created": shapes.created(updated),
                    "changed": shapes.created(updated),
                    "entry": found[0],
                }
            )
    return {"bookmarks": {"bookmark": marks}}


def _song_blocking(db: Database, principal: Principal, song_id: str) -> tuple[int, float | None]:
    if not shapes.songs_blocking(db, principal, "t.id = ?", [song_id], limit=1):
        raise SubsonicError(NOT_FOUND, "Song not found")
    found = playable_item_blocking(db, song_id, principal)
    if found is None:
        raise SubsonicError(NOT_FOUND, "Song not found")
    return found[0], found[1]


async def get_bookmarks(call: Call) -> dict[str, Any]:
    return await call.ctx.catalog.read(lambda db: bookmarks_blocking(db, call.principal))


async def create_bookmark(call: Call) -> None:
    song_id, millis = call.require("id"), call.integer("position", -1)
    if millis < 0:
        raise SubsonicError(GENERIC, "Parameter position must be milliseconds from the start.")
    user = _user(call.principal)

    def store(db: Database) -> None:
        pk, duration = _song_blocking(db, call.principal, song_id)
        store_progress_blocking(db, Report(user, pk, millis / 1000, duration), False)

    await call.ctx.catalog.write(store)


async def delete_bookmark(call: Call) -> None:
    song_id, user = call.require("id"), _user(call.principal)

    def forget(db: Database) -> None:
        pk, _ = _song_blocking(db, call.principal, song_id)
        db.execute("DELETE FROM progress WHERE user_id = ? AND item_pk = ?", [user, pk])

    await call.ctx.catalog.write(forget)


def register(endpoints: Endpoints) -> None:
    """Add the bookmark endpoints to the dispatch table."""
    endpoints.add("getBookmarks", get_bookmarks)
    endpoints.add("createBookmark", create_bookmark, writes=True)
    endpoints.add("deleteBookmark", delete_bookmark, writes=True)
