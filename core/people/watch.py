"""Each person's viewing: where they stopped, what they finished, what comes next.

Blocking functions for the catalog's threads. Progress is coalesced — a report is stored only
when the position moved at least `MOVE_SECONDS` or the item became watched — because players
report every few seconds and an SD card must not pay for each. Reaching `WATCHED_AT` of the
duration marks an item watched and appends one history row. While a person has paused their
history nothing about their viewing is stored, neither progress nor history. Every list goes
through `Principal.item_clause`, so a title someone may no longer see never shows up. It never
reads another person's rows.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from core.catalog.database import Database
from core.library.queries import _COLUMNS, _FROM, item_summary
from core.people.access import Principal

WATCHED_AT = 0.9
MOVE_SECONDS = 5.0


_LAST_MICROS = [0]  # the previous stamp of this process (progress is written by one thread)


def stamp(offset: float = 0.0) -> str:
    """UTC with microseconds, strictly increasing within this process: two reports in the
    same millisecond (a fast client, a test) still sort newest first."""
    micros = int((time.time() + offset) * 1_000_000)
    if offset == 0.0:
        micros = max(micros, _LAST_MICROS[0] + 1)
        _LAST_MICROS[0] = micros
    seconds, fraction = divmod(micros, 1_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{fraction:06d}Z"


@dataclass(frozen=True, slots=True)
class Report:
    """One progress report from a player, already validated."""

    user_id: int
    item_pk: int
    position: float
    duration: float | None


def playable_item_blocking(
    db: Database, item_id: str, principal: Principal
) -> tuple[int, float | None, bool] | None:
    """(pk, duration, has a file) of an item this principal may see, else None."""
    visible, args = principal.item_clause()
    row = db.execute(
        f"SELECT pk, duration, file_id IS NOT NULL FROM items WHERE id = ? AND {visible}",
        [item_id, *args],
    ).fetchone()
    return None if row is None else (int(row[0]), row[1], bool(row[2]))


def history_paused_blocking(db: Database, user_id: int) -> bool:
    row = db.execute("SELECT history_paused FROM users WHERE id = ?", [user_id]).fetchone()
    return bool(row and row[0])


def _finished(position: float, duration: float | None) -> bool:
    return bool(duration) and position >= WATCHED_AT * float(duration or 0)


def plan_progress_blocking(db: Database, report: Report) -> dict[str, Any]:
    """What storing this report would change (read side): `store` and `finish` say whether a
    write is due and whether it completes a viewing."""
    row = db.execute(
        "SELECT position, duration, watched FROM progress WHERE user_id = ? AND item_pk = ?",
        [report.user_id, report.item_pk],
    ).fetchone()
    old_position = float(row[0]) if row else 0.0
    old_duration = row[1] if row else None
    watched = bool(row[2]) if row else False
    finish = _finished(report.position, report.duration) and not _finished(
        old_position, old_duration
    )
    moved = abs(report.position - old_position) >= MOVE_SECONDS
    return {
        "store": finish or moved,
        "finish": finish,
        "position": report.position if (finish or moved) else old_position,
        "duration": report.duration,
        "watched": watched or finish,
    }


def store_progress_blocking(db: Database, report: Report, finish: bool) -> None:
    """Upsert the position; a finished viewing also marks watched and appends to history."""
    now = stamp()
    db.execute(
        "INSERT INTO progress (user_id, item_pk, position, duration, watched, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (user_id, item_pk) DO UPDATE SET "
        "position = excluded.position, duration = excluded.duration, "
        "watched = max(progress.watched, excluded.watched), updated_at = excluded.updated_at",
        [report.user_id, report.item_pk, report.position, report.duration, int(finish), now],
    )
    if finish:
        db.execute(
            "INSERT INTO history (user_id, item_pk, watched_at) VALUES (?, ?, ?)",
            [report.user_id, report.item_pk, now],
        )


def _summaries(
    db: Database, where: str, args: list[Any], order: str, limit: int
) -> list[tuple[dict[str, Any], tuple[Any, ...]]]:
    """Item summaries joined with the caller's progress row (position, duration, watched,
    updated_at come after the item's own columns)."""
    rows = db.execute(
        f"SELECT {_COLUMNS}, progress.position, progress.duration, progress.watched, "
        f"progress.updated_at {_FROM} JOIN progress ON progress.item_pk = items.pk "
        f"WHERE {where} ORDER BY {order} LIMIT ?",
        [*args, limit],
    ).fetchall()
    width = len(rows[0]) - 4 if rows else 0
    return [(item_summary(tuple(row)[:width]), tuple(row)[width:]) for row in rows]


def _with_progress(item: dict[str, Any], extra: tuple[Any, ...]) -> dict[str, Any]:
    position, duration, watched, updated_at = extra
    item["progress"] = {
        "position": position,
        "duration": duration,
        "watched": bool(watched),
        "updated_at": updated_at,
    }
    return item


def continue_blocking(
    db: Database, principal: Principal, user_id: int, limit: int
) -> list[dict[str, Any]]:
    """Started but not finished, newest first; only items this principal may see now."""
    visible, args = principal.item_clause()
    where = (
        "progress.user_id = ? AND progress.position > 0 AND (progress.duration IS NULL OR "
        f"progress.position < {WATCHED_AT} * progress.duration) AND libraries.online = 1 "
        f"AND {visible}"
    )
    found = _summaries(
        db, where, [user_id, *args], "progress.updated_at DESC, items.pk DESC", limit
    )
    return [_with_progress(item, extra) for item, extra in found]


def next_up_blocking(
    db: Database, principal: Principal, user_id: int, limit: int
) -> list[dict[str, Any]]:
    """Per show, the first unwatched regular episode after the last one watched; shows
    watched most recently first. Specials (season 0) are never offered as "next"."""
    latest = db.execute(
        "SELECT season.parent_pk, season.index_number, "
        "COALESCE(ep.index_end, ep.index_number, 0) FROM progress "
        "JOIN items AS ep ON ep.pk = progress.item_pk AND ep.kind = 'episode' "
        "JOIN items AS season ON season.pk = ep.parent_pk "
        "WHERE progress.user_id = ? AND progress.watched = 1 "
        "ORDER BY progress.updated_at DESC, ep.pk DESC",
        [user_id],
    ).fetchall()
    shows: dict[int, tuple[int, int]] = {}
    for show_pk, season, episode in latest:
        shows.setdefault(int(show_pk), (int(season or 0), int(episode)))
    visible, args = principal.item_clause("ep")
    picks: list[int] = []
    for show_pk, (season, episode) in shows.items():
        row = db.execute(
            "SELECT ep.pk FROM items AS ep JOIN items AS season ON season.pk = ep.parent_pk "
            "JOIN libraries ON libraries.id = ep.library_id "
            "WHERE season.parent_pk = ? AND ep.kind = 'episode' AND season.index_number > 0 "
            "AND (season.index_number > ? OR (season.index_number = ? "
            "AND COALESCE(ep.index_number, 0) > ?)) AND libraries.online = 1 "
            "AND NOT EXISTS (SELECT 1 FROM progress AS seen WHERE seen.user_id = ? "
            "AND seen.item_pk = ep.pk AND seen.watched = 1) "
            f"AND {visible} ORDER BY season.index_number, ep.index_number, ep.sort_title LIMIT 1",
            [show_pk, season, season, episode, user_id, *args],
        ).fetchone()
        if row is not None:
            picks.append(int(row[0]))
        if len(picks) >= limit:
            break
    if not picks:
        return []
    marks = ",".join("?" * len(picks))
    rows = db.execute(f"SELECT {_COLUMNS} {_FROM} WHERE items.pk IN ({marks})", picks)
    by_pk = {row[0]: item_summary(tuple(row)) for row in rows}
    return [by_pk[pk] for pk in picks if pk in by_pk]


def history_blocking(
    db: Database, principal: Principal, user_id: int, offset: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of finished viewings, newest first (of items this principal may see now)."""
    visible, args = principal.item_clause()
    where = f"history.user_id = ? AND {visible}"
    total = db.execute(
        f"SELECT count(*) FROM history JOIN items ON items.pk = history.item_pk WHERE {where}",
        [user_id, *args],
    ).fetchone()[0]
    rows = db.execute(
        f"SELECT {_COLUMNS}, history.id, history.watched_at {_FROM} "
        f"JOIN history ON history.item_pk = items.pk WHERE {where} "
        "ORDER BY history.watched_at DESC, history.id DESC LIMIT ? OFFSET ?",
        [user_id, *args, limit, offset],
    ).fetchall()
    entries = [
        {"id": row[-2], "watched_at": row[-1], "item": item_summary(tuple(row)[:-2])}
        for row in rows
    ]
    return entries, int(total)


def progress_of_blocking(
    db: Database, principal: Principal, user_id: int, ids: list[str]
) -> dict[str, dict[str, Any]]:
    """Position and watched state of the given items (visible ones with progress only)."""
    if not ids:
        return {}
    visible, args = principal.item_clause()
    marks = ",".join("?" * len(ids))
    rows = db.execute(
        "SELECT items.id, progress.position, progress.duration, progress.watched, "
        "progress.updated_at FROM progress JOIN items ON items.pk = progress.item_pk "
        f"WHERE progress.user_id = ? AND items.id IN ({marks}) AND {visible}",
        [user_id, *ids, *args],
    ).fetchall()
    return {
        str(r[0]): {"position": r[1], "duration": r[2], "watched": bool(r[3]), "updated_at": r[4]}
        for r in rows
    }


def clear_history_blocking(db: Database, user_id: int) -> dict[str, int]:
    """Forget every viewing of this person: history rows and resume positions alike."""
    history = db.execute("DELETE FROM history WHERE user_id = ?", [user_id]).rowcount
    progress = db.execute("DELETE FROM progress WHERE user_id = ?", [user_id]).rowcount
    return {"history": int(history), "progress": int(progress)}
