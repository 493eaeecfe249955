"""The play queue (`savePlayQueue`, `getPlayQueue`): one per person, in the catalog, so a song
paused on the phone carries on from the same place on the desktop.

Saving replaces the queue whole (no ids: the queue is cleared); every id must be a song the
person may hear, else 70 and nothing changes. Reading shows only songs still audible, the
current one with its position in milliseconds, and which app saved it (`c`).
"""

from __future__ import annotations

from typing import Any

from core.plugin_api import Database, Principal, stamp
from plugins.subsonic import shapes
from plugins.subsonic.responses import GENERIC, NOT_FOUND, SubsonicError
from plugins.subsonic.routes import Call, Endpoints

MAX_QUEUE = 5000


def _user(principal: Principal) -> int:
    if principal.user_id is None:
        raise SubsonicError(GENERIC, "Only a signed-in person keeps a play queue.")
    return principal.user_id


def _song_pk_blocking(db: Database, principal: Principal, song_id: str) -> int:
    seen, args = shapes.visible(principal, "t")
    row = db.execute(
        f"SELECT t.pk {shapes.SONG_FROM} WHERE t.id = ? AND t.kind = 'track' AND {seen}",
        [song_id, *args],
    ).fetchone()
    if row is None:
        raise SubsonicError(NOT_FOUND, f"Song not found: {song_id}")
    return int(row[0])


def save_blocking(
    db: Database,
    principal: Principal,
    ids: list[str],
    current: str | None,
    millis: int,
    client: str,
) -> None:
    user = _user(principal)
    if len(ids) > MAX_QUEUE:
        raise SubsonicError(GENERIC, f"A play queue holds at most {MAX_QUEUE} songs.")
    keys = [_song_pk_blocking(db, principal, song_id) for song_id in ids]
    current_pk = _song_pk_blocking(db, principal, current) if current else None
    db.execute("DELETE FROM play_queues WHERE user_id = ?", [user])
    if not keys:
        return
    db.execute(
        "INSERT INTO play_queues (user_id, current_pk, position, changed_at, changed_by) "
        "VALUES (?, ?, ?, ?, ?)",
        [user, current_pk, max(0, millis) / 1000, stamp(), client],
    )
    db.conn.executemany(
        "INSERT INTO play_queue_items (user_id, position, item_pk) VALUES (?, ?, ?)",
        [(user, position, pk) for position, pk in enumerate(keys)],
    )


def queue_blocking(db: Database, principal: Principal) -> dict[str, Any] | None:
    user = _user(principal)
    row = db.execute(
        "SELECT (SELECT id FROM items WHERE pk = current_pk), position, changed_at, changed_by "
        "FROM play_queues WHERE user_id = ?",
        [user],
    ).fetchone()
    if row is None:
        return None
    ids = [
        r[0]
        for r in db.execute(
            "SELECT items.id FROM play_queue_items AS q JOIN items ON items.pk = q.item_pk "
            "WHERE q.user_id = ? ORDER BY q.position",
            [user],
        )
    ]
    songs: dict[str, dict[str, Any]] = {}
    unique = sorted(set(ids))
    for start in range(0, len(unique), 500):
        chunk = unique[start : start + 500]
        marks = ",".join("?" * len(chunk))
        found = shapes.songs_blocking(db, principal, f"t.id IN ({marks})", chunk, limit=len(chunk))
        songs.update({song["id"]: song for song in found})
    queue = {
        "current": row[0] if row[0] in songs else None,
        "position": round(float(row[1]) * 1000),
        "username": principal.username,
        "changed": shapes.created(row[2]),
        "changedBy": row[3],
        "entry": [songs[i] for i in ids if i in songs],
    }
    return {"playQueue": {key: value for key, value in queue.items() if value is not None}}


async def save_play_queue(call: Call) -> None:
    ids, current = call.all("id"), call.get("current")
    millis, client = call.integer("position", 0), call.get("c") or "unknown"
    await call.ctx.catalog.write(
        lambda db: save_blocking(db, call.principal, ids, current, millis, client)
    )


async def get_play_queue(call: Call) -> dict[str, Any] | None:
    return await call.ctx.catalog.read(lambda db: queue_blocking(db, call.principal))


def register(endpoints: Endpoints) -> None:
    """Add the play queue endpoints to the dispatch table."""
    endpoints.add("savePlayQueue", save_play_queue, writes=True)
    endpoints.add("getPlayQueue", get_play_queue)
