"""Selections of catalog rows: how a container's rows are counted and paged.

A selection is a condition over objects.FROM_SQL with its default order; the reader adds the
visibility clause it was made with to every query, so nothing hidden from TVs is ever counted
or read. Paging reads the page's keys first (a narrow sort, or a slice of an index's list when
the folder index already knows them in order) and only then the page's columns, so a container
of thousands never has every row's metadata built just to be skipped. Blocking; runs in a
catalog reader thread. It never writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from core.plugin_api import Database
from plugins.dlna.objects import BY_PK_FROM_SQL, FROM_SQL, columns_sql, from_sql

SortKeys = list[tuple[str, str, bool]]
Clause = tuple[str, list[Any]]
EVERYTHING: Clause = ("1", [])


@dataclass(frozen=True, slots=True)
class Selection:
    """Catalog rows: a condition over objects.FROM_SQL and the default order."""

    where: str
    args: list[Any]
    order: tuple[str, ...] = ("items.sort_title",)
    unique_order: bool = False  # `order` alone never ties (file paths): no tie-breakers
    known_count: int | None = None  # how many rows match, when an index already knows
    pks: Sequence[int] | None = None  # every matching item in `order`, when an index knows


class RowReader:
    """Counts and pages selections under one visibility clause."""

    def __init__(self, db: Database, visible: Clause, child_visible: Clause = EVERYTHING) -> None:
        """`visible` is a condition over `items`, `child_visible` the same over `child`."""
        self.db = db
        self.visible, self.visible_args = f"({visible[0]})", visible[1]
        self._columns = columns_sql(f"({child_visible[0]})")
        self._column_args = child_visible[1]

    def count(self, selection: Selection | None) -> int:
        if selection is None:
            return 0
        if selection.known_count is not None:
            return selection.known_count
        where = f"({selection.where}) AND {self.visible}"
        sql = f"SELECT count(*) {from_sql(selection.where)} WHERE {where}"
        return int(self.db.execute(sql, [*selection.args, *self.visible_args]).fetchone()[0])

    def rows(self, selection: Selection, keys: SortKeys, limit: int, offset: int) -> list[Any]:
        """One page of rows: the page's keys first (a narrow sort), then their columns, so a
        container of thousands never has every row's metadata built just to be skipped."""
        return self.rows_of(self.page_keys(selection, keys, limit, offset))

    def page_keys(self, selection: Selection, keys: SortKeys, limit: int, offset: int) -> list[int]:
        """The primary keys of one page, in order."""
        order = [f"{sql} {'DESC' if desc else 'ASC'}" for _, sql, desc in keys]
        order += selection.order
        if not selection.unique_order or keys:
            order += ["items.sort_title", "items.pk"]
        if selection.pks is not None and not keys:
            return list(selection.pks[offset : offset + limit])
        return [
            row[0]
            for row in self.db.execute(
                f"SELECT items.pk {from_sql(selection.where, *order)} "
                f"WHERE ({selection.where}) AND {self.visible} "
                f"ORDER BY {', '.join(order)} LIMIT ? OFFSET ?",
                [*selection.args, *self.visible_args, limit, offset],
            )
        ]

    def rows_of(self, pks: list[int]) -> list[Any]:
        """All columns of these items, in this order, leaving out any not visible."""
        if not pks:
            return []
        found = {
            row[0]: row
            for row in self.db.execute(
                f"SELECT {self._columns} {BY_PK_FROM_SQL} "
                f"WHERE items.pk IN ({','.join('?' * len(pks))}) AND {self.visible}",
                [*self._column_args, *pks, *self.visible_args],
            )
        }
        return [found[pk] for pk in pks if pk in found]

    def visible_ids(self, pks: list[int]) -> dict[int, str]:
        """The item ids of those of these items that are visible, by primary key."""
        if not pks:
            return {}
        marks = ",".join("?" * len(pks))
        rows = self.db.execute(
            f"SELECT items.pk, items.id FROM items NOT INDEXED WHERE items.pk IN ({marks}) "
            f"AND {self.visible}",
            [*pks, *self.visible_args],
        )
        return dict(rows.fetchall())

    def first(self, where: str, args: list[Any]) -> Any:
        """The first visible row (all columns) matching `where`, or None."""
        return self.db.execute(
            f"SELECT {self._columns} {FROM_SQL} WHERE ({where}) AND {self.visible}",
            [*self._column_args, *args, *self.visible_args],
        ).fetchone()
