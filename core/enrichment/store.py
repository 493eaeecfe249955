"""What enrichment reads from and writes to the catalog: items with their matches.

`subjects_blocking` reads one library's items of one kind with what a provider needs to know
(title, year, ids, the show's or artist's match, season and episode numbers, an album's
artist and MusicBrainz ids from its tracks' tags) and the provider's match row. Writes touch a
match row, and an item's metadata only when it changed. Every function runs in the catalog's
threads; none touches a file or the network.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from core.catalog.database import Database
from core.enrichment.merge import local_part
from core.kinds import EnrichmentRequest
from core.scan.writer import CatalogWriter

_PARENT_KIND = {"season": "show", "episode": "season", "album": "artist"}


@dataclass(frozen=True, slots=True)
class Match:
    """A provider's match row for one item."""

    state: str
    match_id: str | None
    confidence: float | None
    locked: bool
    query: str
    fields: dict[str, Any]
    applied: dict[str, Any]
    failures: int
    retry_at: float | None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Subject:
    """An item as enrichment sees it."""

    pk: int
    item_id: str
    library_id: int
    kind: str
    title: str
    metadata: dict[str, Any]
    request: EnrichmentRequest
    match: Match | None
    parent_pk: int | None = None

    @property
    def query(self) -> str:
        """What the lookup depends on: when it changes, an unlocked item is matched again."""
        r = self.request
        ids = sorted(r.external_ids.items())
        return json.dumps(
            [r.item_kind, r.title, r.year, ids, r.parent_match, r.season, r.number, r.artist]
        )


@dataclass
class Outcome:
    """What one lookup came to, ready to be written."""

    state: str
    match_id: str | None = None
    confidence: float | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    failures: int = 0
    retry_at: float | None = None
    error: str | None = None


_MATCH_COLUMNS = (
    "state, match_id, confidence, locked, query, fields, applied, failures, retry_at, error"
)


def _match(row: Any) -> Match | None:
    if row[0] is None:
        return None
    return Match(
        row[0],
        row[1],
        row[2],
        bool(row[3]),
        row[4],
        json.loads(row[5]),
        json.loads(row[6]),
        row[7],
        row[8],
        row[9],
    )


def match_of_blocking(db: Database, pk: int, provider: str) -> Match | None:
    row = db.execute(
        f"SELECT {_MATCH_COLUMNS} FROM item_matches WHERE item_pk = ? AND provider = ?",
        [pk, provider],
    ).fetchone()
    return _match(row) if row else None


def subjects_blocking(
    db: Database,
    library_id: int | None,
    provider: str,
    kind: str,
    pks: list[int] | None = None,
) -> list[Subject]:
    """Items of `kind` (in one library, or the given ones) with the facts a lookup may use."""
    where, args = ("i.library_id = ?", [library_id]) if library_id is not None else ("1", [])
    if pks is not None:
        where += f" AND i.pk IN ({', '.join('?' * len(pks))})"
        args += pks
    rows = db.execute(
        "SELECT i.pk, i.id, i.library_id, i.kind, i.title, i.year, i.index_number, i.metadata, "
        "i.parent_pk, p.index_number, p.title, p.parent_pk, "
        + ", ".join(f"m.{c.strip()}" for c in _MATCH_COLUMNS.split(","))
        + " FROM items i LEFT JOIN items p ON p.pk = i.parent_pk "
        "LEFT JOIN item_matches m ON m.item_pk = i.pk AND m.provider = ? "
        f"WHERE {where} AND i.kind = ? ORDER BY i.parent_pk, i.index_number, i.sort_title",
        [provider, *args, kind],
    ).fetchall()
    parents = _parent_matches(db, provider, {r[8] for r in rows} | {r[11] for r in rows})
    tagged = _music_ids(db, [r[0] for r in rows]) if kind in ("album", "artist") else {}
    subjects = []
    for row in rows:
        pk, item_id, lib, item_kind, title, year, index, meta_json, parent, p_index = row[:10]
        p_title, grand = row[10], row[11]
        match = _match(row[12:])
        metadata = json.loads(meta_json)
        local = local_part(metadata, match.applied if match else {})
        show = grand if item_kind == "episode" else parent
        ids = {k: str(v) for k, v in (local.get("external_ids") or {}).items()}
        ids.update({k: v for k, v in tagged.get(pk, {}).items() if k not in ids})
        request = EnrichmentRequest(
            item_kind=item_kind,
            title=str(local.get("title") or title),
            year=_local_year(local, match, year),
            external_ids=ids,
            parent_match=parents.get(show) if item_kind in _PARENT_KIND else None,
            season=index if item_kind == "season" else p_index if item_kind == "episode" else None,
            number=index if item_kind == "episode" else None,
            artist=(local.get("album_artist") or p_title) if item_kind == "album" else None,
            match_id=match.match_id if match and match.locked else None,
        )
        subjects.append(
            Subject(pk, item_id, lib, item_kind, title, metadata, request, match, parent)
        )
    return subjects


def _local_year(local: dict[str, Any], match: Match | None, column: int | None) -> int | None:
    """The year on disk: the column's only when no provider wrote it there."""
    if isinstance(local.get("year"), int):
        return int(local["year"])
    return None if match is not None and "year" in match.applied else column


def _parent_matches(db: Database, provider: str, pks: set[Any]) -> dict[int, str]:
    wanted = [p for p in pks if p is not None]
    if not wanted:
        return {}
    rows = db.execute(
        f"SELECT item_pk, match_id FROM item_matches WHERE provider = ? AND state = 'matched' "
        f"AND item_pk IN ({', '.join('?' * len(wanted))})",
        [provider, *wanted],
    )
    return {int(pk): str(match) for pk, match in rows if match}


def _music_ids(db: Database, pks: list[int]) -> dict[int, dict[str, str]]:
    """MusicBrainz ids an album's or artist's tracks carry in their tags."""
    if not pks:
        return {}
    marks = ", ".join("?" * len(pks))
    rows = db.execute(
        "SELECT a.pk, a.kind, json_extract(t.metadata, '$.external_ids') FROM items a "
        "JOIN items t ON (t.parent_pk = a.pk OR t.parent_pk IN "
        "(SELECT pk FROM items WHERE parent_pk = a.pk)) AND t.kind = 'track' "
        f"WHERE a.pk IN ({marks}) AND json_extract(t.metadata, '$.external_ids') IS NOT NULL",
        pks,
    )
    found: dict[int, dict[str, str]] = {}
    for pk, kind, raw in rows:
        ids = json.loads(raw)
        keys = (
            ("musicbrainz_album",)
            if kind == "album"
            else ("musicbrainz_albumartist", "musicbrainz_artist")
        )
        for key in keys:
            if isinstance(ids.get(key), str) and key not in found.setdefault(pk, {}):
                found[pk][key.replace("albumartist", "artist")] = ids[key]
    return found


Merger = Callable[[dict[str, Any], dict[str, Any]], tuple[dict[str, Any], dict[str, Any]]]
"""(metadata now, applied now) -> (new metadata, new applied): run inside the write, on what
the catalog holds then, so a still or a scan written meanwhile is not overwritten."""


def save_blocking(
    db: Database,
    subject: Subject,
    provider: str,
    outcome: Outcome,
    locked: bool,
    merger: Merger,
) -> bool:
    """The match row and the item's metadata, each written only when it changed; True when
    the item's metadata changed."""
    row = db.execute("SELECT metadata FROM items WHERE pk = ?", [subject.pk]).fetchone()
    if row is None:  # removed by a scan meanwhile
        return False
    metadata = json.loads(row[0])
    old = match_of_blocking(db, subject.pk, provider)
    merged, applied = merger(metadata, old.applied if old else {})
    new = Match(
        outcome.state,
        outcome.match_id,
        outcome.confidence,
        locked,
        subject.query,
        outcome.fields,
        applied,
        outcome.failures,
        outcome.retry_at,
        outcome.error,
    )
    if new != old:
        db.execute(
            f"INSERT OR REPLACE INTO item_matches (item_pk, provider, {_MATCH_COLUMNS}, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                subject.pk,
                provider,
                new.state,
                new.match_id,
                new.confidence,
                int(locked),
                new.query,
                json.dumps(new.fields, sort_keys=True),
                json.dumps(applied, sort_keys=True),
                new.failures,
                new.retry_at,
                new.error,
                time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            ],
        )
    if merged == metadata:
        return False
    writer = CatalogWriter(db, subject.library_id, {}, "")
    writer.update_metadata(subject.pk, str(merged.get("title") or subject.title), merged)
    return True


def forget_blocking(db: Database, pk: int, provider: str) -> None:
    db.execute("DELETE FROM item_matches WHERE item_pk = ? AND provider = ?", [pk, provider])


def item_pk_blocking(db: Database, item_id: str) -> tuple[int, str, int] | None:
    row = db.execute("SELECT pk, kind, library_id FROM items WHERE id = ?", [item_id]).fetchone()
    return (int(row[0]), str(row[1]), int(row[2])) if row else None


def matches_blocking(db: Database, pk: int) -> list[dict[str, Any]]:
    rows = db.execute(
        "SELECT provider, state, match_id, confidence, locked, failures, error "
        "FROM item_matches WHERE item_pk = ? ORDER BY provider",
        [pk],
    ).fetchall()
    keys = ("provider", "state", "match_id", "confidence", "locked", "failures", "error")
    return [{**dict(zip(keys, r, strict=True)), "locked": bool(r[4])} for r in rows]


def library_ids_blocking(db: Database) -> list[int]:
    return [int(r[0]) for r in db.execute("SELECT id FROM libraries WHERE online = 1")]
