"""Search: which objects lie below a container, and which of them match the criteria.

Objects are the catalog's items, matched in SQL, and the containers this server makes up
(libraries, views, genres, years, months, folders), matched by the same criteria SQL over a
JSON list of them (criteria.py); each is reported with the parent Browse gives it. "Below" means
what browsing reaches: the Albums view holds albums and their tracks, never the artists; a
folder holds its subfolders and the files under it. A search that pins `@parentID = "X"` (how
Home Assistant resolves a path, title by title) looks at X's children exactly as Browse lists
them, with X as their parent, so the ids of views and folders work there too. Made-up
containers are listed only when the criteria could match their class: a TV's
`upnp:class derivedfrom "object.item"` never walks the folders. Blocking; runs in a catalog
reader thread. It never writes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from plugins.dlna.criteria import (
    ITEM_PROPERTIES,
    SEARCH_PROPERTIES,
    Criteria,
    Properties,
    criteria_sql,
    may_match_class,
    pinned_parent,
)
from plugins.dlna.objects import FOLDER, GENRE, YEAR_SQL, Container, Entry, parse_object_id
from plugins.dlna.selection import Selection, SortKeys
from plugins.dlna.tree import BrowseTree, Node

# A made-up container is a row of json_each over [[id, parent id, title, class], ...]; it has
# none of the other properties.
_CONTAINER_PROPERTIES: Properties = {
    **{prop: ("NULL", []) for prop in SEARCH_PROPERTIES},
    "@id": ("json_extract(v.value, '$[0]')", []),
    "@parentID": ("json_extract(v.value, '$[1]')", []),
    "dc:title": ("json_extract(v.value, '$[2]')", []),
    "upnp:class": ("json_extract(v.value, '$[3]')", []),
}
# Items below a music view (the library's own clause comes first).
_VIEW_ITEMS = {
    "artists": "(items.kind = 'artist' OR parent.kind = 'artist' OR grand.kind = 'artist')",
    "albums": "(items.kind = 'album' OR (items.kind = 'track' AND parent.kind = 'album'))",
    "tracks": "items.kind = 'track'",
    "genres": "items.kind = 'track' AND items.pk IN (SELECT item_pk FROM item_genres)",
}
_HOLDS_CONTAINERS = ("root", "library", "f", "genres", "y")  # kinds with made-up children


@dataclass(frozen=True, slots=True)
class Scope:
    """What lies below a container: catalog rows, and made-up containers (on demand)."""

    items: Selection | None
    containers: Callable[[], list[Container]]


def search_blocking(
    tree: BrowseTree,
    container_id: str,
    criteria: Criteria | None,
    keys: SortKeys,
    start: int,
    count: int,
) -> tuple[list[Entry], int] | None:
    """One page of what matches below the container, and how many match in all; None when
    there is no such container."""
    scope = scope_of(tree, container_id)
    if scope is None:
        return None
    pinned = pinned_parent(criteria)
    if pinned is not None:
        return _listed_under(tree, scope, container_id, pinned, criteria, keys, start, count)
    wanted = any(may_match_class(criteria, kind) for kind in (FOLDER, GENRE))
    containers = _matching(tree, scope.containers() if wanted else [], criteria)
    items = None if scope.items is None else _narrowed(scope.items, criteria, ITEM_PROPERTIES)
    return tree.page(containers, items, None, start, count, keys)


def _listed_under(
    tree: BrowseTree,
    scope: Scope,
    container_id: str,
    parent_id: str,
    criteria: Criteria | None,
    keys: SortKeys,
    start: int,
    count: int,
) -> tuple[list[Entry], int]:
    """The children of `parent_id` that match, listed under it as Browse lists them."""
    node = tree.node(parent_id)
    if node is None or not _inside(tree, scope, container_id, node):
        return [], 0
    containers = _matching(tree, node.virtual, criteria)
    listed = {**ITEM_PROPERTIES, "@parentID": ("?", [parent_id])}
    items = None if node.selection is None else _narrowed(node.selection, criteria, listed)
    return tree.page(containers, items, parent_id, start, count, keys)


def _inside(tree: BrowseTree, scope: Scope, container_id: str, node: Node) -> bool:
    """Whether a container is the searched one or lies below it."""
    object_id = node.entry.object_id
    if not isinstance(node.entry, Container):
        return False
    if container_id in (object_id, "0"):
        return True
    if object_id.startswith("item:"):
        if scope.items is None:
            return False
        where = f"({scope.items.where}) AND items.id = ?"
        return tree.count(Selection(where, [*scope.items.args, object_id[5:]])) > 0
    return any(c.object_id == object_id for c in scope.containers())


def _narrowed(selection: Selection, criteria: Criteria | None, properties: Properties) -> Selection:
    where, args = criteria_sql(criteria, properties)
    return Selection(
        f"({selection.where}) AND ({where})",
        [*selection.args, *args],
        selection.order,
        selection.unique_order,
    )


def _matching(
    tree: BrowseTree, containers: list[Container], criteria: Criteria | None
) -> list[Container]:
    """The containers the criteria match, in the order given."""
    if criteria is None or not containers:
        return containers
    where, args = criteria_sql(criteria, _CONTAINER_PROPERTIES)
    rows = [[c.object_id, c.parent_id, c.title, c.upnp_class] for c in containers]
    found = tree.db.execute(
        f"SELECT v.key FROM json_each(?) AS v WHERE {where}", [json.dumps(rows), *args]
    )
    keep = {key for (key,) in found}
    return [c for number, c in enumerate(containers) if number in keep]


def scope_of(tree: BrowseTree, container_id: str) -> Scope | None:
    """What a Search in this container looks at; None for no such container."""
    node = tree.node(container_id)
    ref = parse_object_id(container_id)
    if node is None or ref is None or not isinstance(node.entry, Container):
        return None
    if ref.kind == "item":  # a show, season, artist or album: three levels at most
        if node.selection is None:
            return Scope(None, list)
        pk = node.selection.args[0]
        where = "(items.parent_pk = ? OR parent.parent_pk = ? OR grand.parent_pk = ?)"
        return Scope(Selection(where, [pk, pk, pk]), list)
    below = (lambda: _containers_below(tree, node)) if ref.kind in _HOLDS_CONTAINERS else list
    if ref.kind == "root":
        marks = ",".join("?" * len(tree.libraries)) or "NULL"
        return Scope(Selection(f"items.library_id IN ({marks})", list(tree.libraries)), below)
    library = ref.library
    if ref.kind == "library":
        items: Selection | None = Selection("items.library_id = ?", [library])
    elif ref.kind == "f":
        items = _folder_items(tree, library, ref.value)
    elif ref.kind in _VIEW_ITEMS:
        items = Selection(f"items.library_id = ? AND {_VIEW_ITEMS[ref.kind]}", [library])
    elif ref.kind == "y":
        where = f"items.library_id = ? AND items.kind = 'photo' AND {YEAR_SQL} = ?"
        items = Selection(where, [library, ref.value])
    else:  # a genre or a month: exactly what Browse lists
        items = node.selection
    return Scope(items, below)


def _folder_items(tree: BrowseTree, library_id: int, key: str) -> Selection:
    """The items whose files lie anywhere under a folder (no key: the Folders view)."""
    index = tree.folder_index(library_id)
    lone = index.roots[0] if len(index.roots) == 1 else ""
    folder = index.folders.get(key or lone)
    if folder is None:
        return Selection("items.library_id = ? AND items.file_id IS NOT NULL", [library_id])
    where = "items.library_id = ? AND files.library_id = ? AND files.root = ?"
    args: list[object] = [library_id, library_id, folder.root]
    if folder.relpath:  # '0' is the byte after '/': the range holds everything below
        where += " AND files.relpath >= ? AND files.relpath < ?"
        args += [folder.relpath + b"/", folder.relpath + b"0"]
    return Selection(where, args)


def _containers_below(tree: BrowseTree, node: Node) -> list[Container]:
    """Every made-up container below a node, depth first, in Browse's order."""
    found: list[Container] = []
    stack = [iter(node.virtual)]
    while stack:
        child = next(stack[-1], None)
        if child is None:
            stack.pop()
            continue
        found.append(child)
        ref = parse_object_id(child.object_id)
        inner = tree.node(child.object_id) if ref and ref.kind in _HOLDS_CONTAINERS else None
        if inner is not None:
            stack.append(iter(inner.virtual))
    return found
