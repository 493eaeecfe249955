"""Recently answered Browse and Search pages, so a TV paging back and forth is answered from
memory instead of the catalog.

A page is kept with the visibility it was computed under (the LAN-visible libraries and the
rating clause) and the SystemUpdateID in its key; it is served again only while both are
unchanged, so a library taken off the LAN or a rescan takes effect at once. Bounded by size,
least recently used dropped first, and emptied when a library changes. In memory only: it never
writes, and holds nothing but DIDL text the TVs were already shown.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass

MAX_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Page:
    """One answer: its DIDL-Lite, the counts, and what TVs could see when it was made."""

    visibility: Hashable
    result: str
    returned: int
    total: int


class PageCache:
    """Pages by request key, within a byte budget."""

    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._pages: OrderedDict[Hashable, Page] = OrderedDict()
        self._bytes = 0

    def get(self, key: Hashable) -> Page | None:
        page = self._pages.get(key)
        if page is not None:
            self._pages.move_to_end(key)
        return page

    def put(self, key: Hashable, page: Page) -> None:
        old = self._pages.pop(key, None)
        if old is not None:
            self._bytes -= len(old.result)
        if len(page.result) > self.max_bytes // 4:
            return  # one huge page would push out everything else
        self._pages[key] = page
        self._bytes += len(page.result)
        while self._bytes > self.max_bytes:
            _, dropped = self._pages.popitem(last=False)
            self._bytes -= len(dropped.result)

    def clear(self) -> None:
        self._pages.clear()
        self._bytes = 0
