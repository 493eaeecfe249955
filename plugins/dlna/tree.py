"""The browse tree: what each object id contains, read from the catalog.

A container's children are virtual containers (views, genres, years, months, folders) followed
by catalog rows from one SQL selection, so paging and TotalMatches work over both without
loading a whole container. Libraries outside the visible set (not LAN-visible, not listed in
the config, or on a drive that is away) do not exist here: their ids are "no such object".
Every catalog query, counts included, also carries the LAN principal's item clause (see
selection.py), so an item above the LAN rating limit is absent everywhere. Blocking; runs in
the catalog's reader threads. It never writes.
"""

from __future__ import annotations

import calendar
import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import quote

from core.plugin_api import Database
from plugins.dlna.folders import FolderIndex
from plugins.dlna.fragments import Stored
from plugins.dlna.objects import (
    FOLDER,
    GENRE,
    MONTH_SQL,
    MUSIC_VIEWS,
    VIEWS,
    YEAR_SQL,
    Container,
    Entry,
    Library,
    MediaItem,
    Rendered,
    entry_from_row,
    parse_object_id,
)
from plugins.dlna.selection import EVERYTHING, Clause, RowReader, Selection, SortKeys
from plugins.dlna.subtitles import with_subtitles

_PHOTOS = f"items.library_id = ? AND items.kind = 'photo' AND {YEAR_SQL} = ?"
_INDEX_ORDER = ("items.disc_number", "items.index_number", "items.sort_title")
_MUSIC_KINDS = {"artists": "artist", "albums": "album", "tracks": "track"}


@dataclass(frozen=True, slots=True)
class Node:
    """An object (for BrowseMetadata) and what it contains (for BrowseDirectChildren)."""

    entry: Entry
    virtual: list[Container]
    selection: Selection | None = None


class BrowseTree(RowReader):
    """Resolves ids for one request against the libraries a TV may see."""

    def __init__(
        self,
        db: Database,
        libraries: dict[int, Library],
        root_title: str,
        folder_index: Callable[[Database, int], FolderIndex],
        visible: Clause = EVERYTHING,
        child_visible: Clause = EVERYTHING,
        fragments: Callable[[Sequence[int]], Stored] | None = None,
    ) -> None:
        """`visible` is a condition over `items`, `child_visible` the same over `child`;
        `fragments` looks up stored item XML (None: the store is not up to date)."""
        super().__init__(db, visible, child_visible)
        self.libraries, self.root_title = libraries, root_title
        self._folder_index = folder_index
        self._fragments = fragments

    def _listing(
        self,
        ids: tuple[str, str],
        title: str,
        virtual: list[Container],
        selection: Selection | None = None,
        upnp_class: str = FOLDER,
    ) -> Node:
        """A container node; `ids` is (its id, its parent's id)."""
        count = len(virtual) + self.count(selection)
        return Node(Container(*ids, title, upnp_class, count), virtual, selection)

    def node(self, object_id: str) -> Node | None:
        """The object and how to list its children; None when there is no such object."""
        ref = parse_object_id(object_id)
        if ref is None or (ref.kind not in ("root", "item") and ref.library not in self.libraries):
            return None
        if ref.kind == "root":
            ordered = sorted(self.libraries.values(), key=lambda lib: lib.name.casefold())
            children = [_container(self._library(lib, listed=True)) for lib in ordered]
            return self._listing(("0", "-1"), self.root_title, children)
        if ref.kind == "item":
            return self._item(ref.value)
        library = self.libraries[ref.library]
        if ref.kind == "library":
            return self._library(library)
        if ref.kind == "f":
            return self._folder(library, ref.value)
        if library.kind == "photos":
            return self._photos(library, ref.kind, ref.value)
        return self._music(library, ref.kind, ref.value) if library.kind == "music" else None

    def _library(self, library: Library, listed: bool = False) -> Node:
        """A library: its views (music views or years, then Folders) and, in the other kinds,
        its top items. `listed`: only its entry as the root lists it, counted without building
        the views, so browsing the root builds no folder index (the Folders view's count)."""
        lib = f"lib:{library.id}"
        views: list[Container] = []
        selection = None
        if library.kind == "music" and not listed:
            views = [_container(self._music(library, v, "")) for v in MUSIC_VIEWS]
        elif library.kind == "photos":
            years = self.db.execute(
                f"SELECT {YEAR_SQL} AS y, count(DISTINCT {MONTH_SQL}) FROM items "
                f"WHERE items.library_id = ? AND items.kind = 'photo' AND {self.visible} "
                "GROUP BY y ORDER BY y DESC",
                [library.id, *self.visible_args],
            ).fetchall()
            views = [Container(f"{lib}:y:{y}", lib, _year(y), FOLDER, n) for y, n in years]
        elif library.kind != "music":
            selection = Selection("items.library_id = ? AND items.parent_pk IS NULL", [library.id])
        if listed:
            unbuilt = 1 + (len(MUSIC_VIEWS) if library.kind == "music" else 0)
            count = len(views) + unbuilt + self.count(selection)
            return Node(Container(lib, "0", library.name, FOLDER, count), [])
        views.append(_container(self._folder(library, "")))
        return self._listing((lib, "0"), library.name, views, selection)

    def _photos(self, library: Library, kind: str, value: str) -> Node | None:
        lib = f"lib:{library.id}"
        if kind == "y":
            months = self.db.execute(
                f"SELECT {MONTH_SQL} AS m, count(*) FROM items WHERE {_PHOTOS} "
                f"AND {self.visible} GROUP BY m ORDER BY m",
                [library.id, value, *self.visible_args],
            ).fetchall()
            virtual = [
                Container(f"{lib}:m:{value}-{m}", f"{lib}:y:{value}", _month(m), FOLDER, n)
                for m, n in months
            ]
            return (
                self._listing((f"{lib}:y:{value}", lib), _year(value), virtual) if virtual else None
            )
        if kind != "m" or len(value) != 7:
            return None
        year, month = value[:4], value[5:]
        selection = Selection(
            f"{_PHOTOS} AND {MONTH_SQL} = ?", [library.id, year, month], ("items.taken_at",)
        )
        title = f"{_month(month)} {_year(year)}"
        node = self._listing((f"{lib}:m:{value}", f"{lib}:y:{year}"), title, [], selection)
        return node if _container(node).child_count else None

    def _music(self, library: Library, kind: str, value: str) -> Node | None:
        lib = f"lib:{library.id}"
        if kind == "genres":
            rows = self.db.execute(
                "SELECT g.genre, count(*) FROM item_genres AS g JOIN items ON items.pk = g.item_pk "
                f"WHERE items.library_id = ? AND items.kind = 'track' AND {self.visible} "
                "GROUP BY g.genre ORDER BY g.genre",
                [library.id, *self.visible_args],
            ).fetchall()
            virtual = [
                Container(f"{lib}:g:{quote(g, safe='')}", f"{lib}:genres", g, GENRE, n)
                for g, n in rows
            ]
            return self._listing((f"{lib}:genres", lib), VIEWS["genres"], virtual)
        if kind == "g":
            selection = Selection(
                "items.library_id = ? AND items.kind = 'track' AND items.pk IN "
                "(SELECT item_pk FROM item_genres WHERE genre = ?)",
                [library.id, value],
            )
            ids = (f"{lib}:g:{quote(value, safe='')}", f"{lib}:genres")
            node = self._listing(ids, value, [], selection, GENRE)
            return node if _container(node).child_count else None
        if kind not in _MUSIC_KINDS:
            return None
        selection = Selection(
            "items.library_id = ? AND items.kind = ?", [library.id, _MUSIC_KINDS[kind]]
        )
        return self._listing((f"{lib}:{kind}", lib), VIEWS[kind], [], selection)

    def _folder(self, library: Library, key: str) -> Node | None:
        """A folder (key), or the Folders view (no key) showing a lone root's contents."""
        index = self._folder_index(self.db, library.id)
        top = f"lib:{library.id}:f"
        single = index.roots[0] if len(index.roots) == 1 else None
        folder = index.folders.get(key or single or "")
        if folder is None:
            if key:
                return None
            roots = [
                Container(f"{top}:{k}", top, index.folders[k].title, FOLDER, index.child_count(k))
                for k in index.roots
            ]
            return self._listing((top, f"lib:{library.id}"), VIEWS["f"], roots)
        own = top if folder.key == single else f"{top}:{folder.key}"
        if own == top:
            parent = f"lib:{library.id}"
        elif folder.parent in (None, single):
            parent = top
        else:
            parent = f"{top}:{folder.parent}"
        subfolders = [
            Container(f"{top}:{f.key}", own, f.title, FOLDER, index.child_count(f.key))
            for f in index.children(folder.key)
        ]
        # A range over the files index finds the folder's files in path order; `instr` then
        # keeps those directly inside ('0' is the byte after '/').
        prefix = folder.relpath + b"/" if folder.relpath else b""
        selection = Selection(
            "items.library_id = ? AND files.library_id = ? AND files.root = ? "
            "AND files.relpath >= ? AND files.relpath < ? "
            "AND instr(substr(files.relpath, ?), x'2f') = 0",
            [library.id, library.id, folder.root, prefix, prefix[:-1] + b"0" if prefix else b"\xff",
             len(prefix) + 1],
            ("files.relpath",),
            unique_order=True,
            known_count=folder.files,  # the index holds the same visible items, in path order
            pks=folder.items,
        )  # fmt: skip
        title = VIEWS["f"] if own == top else folder.title
        return self._listing((own, parent), title, subfolders, selection)

    def _item(self, item_id: str) -> Node | None:
        marks = ",".join("?" * len(self.libraries)) or "NULL"
        row = self.first(
            f"items.id = ? AND items.library_id IN ({marks})", [item_id, *self.libraries]
        )
        if row is None:
            return None
        entry = self.natural(entry_from_row(row))
        if not isinstance(entry, Container):
            return Node(entry, [])
        order = ("items.year", "items.sort_title") if row[2] == "artist" else _INDEX_ORDER
        return Node(entry, [], Selection("items.parent_pk = ?", [row[0]], order))

    def natural(self, entry: Entry) -> Entry:
        """An entry with the parent browsing finds it under (a photo's is its month)."""
        if isinstance(entry, MediaItem) and entry.kind == "photo":
            lib = entry.parent_id.removeprefix("lib:")
            date = entry.date or "0000"
            month = date[5:7] if len(date) >= 7 else "00"
            return dataclasses.replace(entry, parent_id=f"lib:{lib}:m:{date[:4]}-{month}")
        return entry

    def children(
        self, node: Node, start: int, count: int, keys: SortKeys
    ) -> tuple[list[Entry], int]:
        """One page of a node's children and how many there are in all."""
        listed = (node.virtual, node.selection, node.entry.object_id)
        return self.page(*listed, start, count, keys)

    def page(
        self,
        virtual: list[Container],
        selection: Selection | None,
        parent_id: str | None,
        start: int,
        count: int,
        keys: SortKeys,
    ) -> tuple[list[Entry], int]:
        """One page of containers followed by catalog rows, and how many there are in all.
        Rows are listed under `parent_id`, or under their own parents when it is None (as
        Search lists them); rows listed under one parent come as stored XML where the tree
        has a fragment store (didl.py trims it to the Filter)."""
        virtual = list(virtual)
        for prop, _, descending in reversed(keys):
            if prop in ("dc:title", "upnp:class"):
                field = "title" if prop == "dc:title" else "upnp_class"
                virtual.sort(key=lambda c: str(getattr(c, field)).casefold(), reverse=descending)
        total = len(virtual) + self.count(selection)
        page: list[Entry] = list(virtual[start : start + count])
        remaining = count - len(page)
        if selection is not None and remaining > 0:
            pks = self.page_keys(selection, keys, remaining, max(0, start - len(virtual)))
            if parent_id is None:
                page += [self.natural(entry_from_row(row)) for row in self.rows_of(pks)]
            elif self._fragments is not None:
                page += self._prerendered(pks, parent_id)
            else:
                page += [entry_from_row(row, parent_id) for row in self.rows_of(pks)]
        return self.with_subtitles(page), total

    def _prerendered(self, pks: list[int], parent_id: str) -> list[Entry]:
        """These items as stored XML where the store has it for the same item, the rest built
        from the catalog; only visible ones, in the order given."""
        assert self._fragments is not None
        visible = self.visible_ids(pks)
        stored = self._fragments(list(visible))
        entries: dict[int, Entry] = {}
        for pk, item_id in visible.items():
            found = stored.get(pk)
            if found is not None and found[0] == item_id:
                entries[pk] = Rendered(f"item:{item_id}", parent_id, found[1])
        rest = [pk for pk in pks if pk in visible and pk not in entries]
        for row in self.rows_of(rest):
            entries[row[0]] = entry_from_row(row, parent_id)
        return [entries[pk] for pk in pks if pk in entries]

    def folder_index(self, library_id: int) -> FolderIndex:
        """The Folders view of a visible library."""
        return self._folder_index(self.db, library_id)

    def with_subtitles(self, entries: list[Entry]) -> list[Entry]:
        return with_subtitles(entries, self._subtitle_names)

    def _subtitle_names(self, library_id: int, root: bytes, folder: bytes) -> list[str]:
        if library_id not in self.libraries:
            return []
        return self._folder_index(self.db, library_id).subtitles.get((root, folder), [])


def _container(node: Node | None) -> Container:
    """The entry of a node that is always a container (a library, a view)."""
    assert node is not None and isinstance(node.entry, Container)
    return node.entry


def _year(year: str) -> str:
    return "Undated" if year == "0000" else year


def _month(month: str) -> str:
    number = int(month) if month.isdigit() else 0
    return calendar.month_name[number] if 1 <= number <= 12 else "Unknown month"
