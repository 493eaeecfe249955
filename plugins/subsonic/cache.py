"""Answers that depend only on the catalog and on what a person may see, kept until it changes.

Apps ask for the whole artist list, the index and the newest albums each time they open; on a
100k-track library building those answers costs tens of milliseconds of a Pi's CPU each time
(bench/subsonic.py). They are kept here per catalog version: every `LibraryChanged` (a scan
that changed something, a drive coming or going) empties the cache, and a key holds the
asker's visibility (libraries, rating limit, genres), never their identity, so two people with
the same grants share an answer and people with different grants never do. Anything personal
(stars, ratings) is laid over a cached answer fresh on every call by the caller. It keeps at
most `SIZE` answers and never reads the catalog itself.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from core.plugin_api import Principal

SIZE = 32
# parameters that sign or format a call and never change its answer
NOT_KEYS = frozenset({"u", "t", "s", "p", "apiKey", "c", "v", "f", "callback", "_"})


def visibility(principal: Principal) -> tuple[Any, ...]:
    """What decides which items a principal sees (Principal.item_clause's inputs)."""
    libraries = None if principal.libraries is None else tuple(sorted(principal.libraries))
    return (
        libraries,
        principal.max_rank,
        principal.block_unrated,
        tuple(principal.excluded_genres),
        principal.only_item,
    )


class CatalogCache:
    """The answers; one per plugin setup, emptied on every `LibraryChanged`."""

    def __init__(self) -> None:
        self._answers: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self.version = 0

    def key(self, name: str, principal: Principal, params: Mapping[str, str]) -> tuple[Any, ...]:
        asked = tuple(sorted((k, v) for k, v in params.items() if k not in NOT_KEYS))
        return (name, visibility(principal), asked)

    def get(self, key: tuple[Any, ...]) -> Any | None:
        found = self._answers.get(key)
        if found is not None:
            self._answers.move_to_end(key)
        return found

    def put(self, key: tuple[Any, ...], version: int, answer: Any) -> None:
        """Keep `answer` if the catalog has not changed since `version` (read before it was
        built): an answer built across a change would outlive it."""
        if version != self.version:
            return
        self._answers[key] = answer
        self._answers.move_to_end(key)
        while len(self._answers) > SIZE:
            self._answers.popitem(last=False)

    def changed(self, _event: object = None) -> None:
        self.version += 1
        self._answers.clear()
