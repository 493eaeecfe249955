"""Migrations 0009-0011 are reserved for work landing beside downloads' 0012: until they are
in the tree, the servers these tests start get empty steps in their place (so 0012 applies).
Once they exist this changes nothing. Nothing here is used outside the downloads tests."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from core.catalog import store
from core.catalog.migrations import MIGRATIONS_DIR, Migration

_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


def _with_gaps_filled() -> list[Migration]:
    found: dict[int, Migration] = {}
    for file in sorted(MIGRATIONS_DIR.iterdir()):
        match = _FILE.match(file.name)
        if match:
            found[int(match[1])] = Migration(int(match[1]), match[2], file.read_text())
    newest = max(found)
    return [found.get(v) or Migration(v, "reserved", "") for v in range(1, newest + 1)]


@pytest.fixture
def gapless_migrations(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(store, "available", _with_gaps_filled)
    yield
