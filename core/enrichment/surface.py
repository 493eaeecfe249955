"""What an online metadata provider plugin builds on: pacing, a response cache, its errors and
the shared options, so a third provider (TVmaze, OpenSubtitles) is a small plugin.

`RateLimiter` spaces requests (MusicBrainz allows one a second); `ResponseCache` keeps answers
as JSON files in the plugin's own data folder, so a rescan or a restart does not ask again;
`egress_advice` is the sentence that tells the owner which hosts to enable. It never sends
anything itself: plugins go out only through their `ctx.http`.
"""

from __future__ import annotations

import asyncio
import difflib
import hashlib
import json
import os
import re
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import voluptuous as vol
from yarl import URL

from core.enrichment.merge import FIELD_GROUPS
from core.errors import HearthError


class ProviderFault(HearthError):
    """The provider answered with an error or nonsense: retried later, with backoff."""


class ImageMissing(HearthError):
    """The provider has no such picture (404): skipped, not retried."""


def override_option(value: Any) -> frozenset[str]:
    """`override_local: [artwork, text]`: field groups where the provider wins over the disk."""
    names = vol.Schema([vol.In(sorted(FIELD_GROUPS))])(value or [])
    return frozenset(names)


def egress_advice(domain: str, hosts: Iterable[str]) -> str:
    """What to add to configuration.yaml so the provider may reach its hosts."""
    return f"add to configuration.yaml: hearth: egress: {{{domain}: [{', '.join(hosts)}]}}"


def missing_hosts(urls: Iterable[str], enabled: Iterable[str]) -> list[str]:
    """The hosts of `urls` the owner did not enable, in order, each once."""
    allowed = {h.lower() for h in enabled}
    hosts = [(URL(u).host or "").lower() for u in urls]
    return [h for h in dict.fromkeys(hosts) if h and h not in allowed]


class RateLimiter:
    """At most one request per `interval` seconds, whoever asks (a provider's own rule)."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._lock = asyncio.Lock()
        self._last = -float("inf")

    async def wait(self) -> None:
        async with self._lock:
            delay = self._last + self.interval - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            self._last = time.monotonic()


class ResponseCache:
    """Answers kept as JSON files under `folder`, for `max_age` seconds. A missing, stale or
    unreadable file is a miss. Keys are hashed: what was searched is not in a file name."""

    def __init__(self, folder: Path, max_age: float) -> None:
        self.folder = folder
        self.max_age = max_age

    def _path(self, key: str) -> Path:
        digest = hashlib.sha256(key.encode()).hexdigest()
        return self.folder / digest[:2] / f"{digest}.json"

    async def get(self, key: str) -> Any:
        return await asyncio.get_running_loop().run_in_executor(None, self.get_blocking, key)

    async def put(self, key: str, value: Any) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.put_blocking, key, value)

    def get_blocking(self, key: str) -> Any:
        path = self._path(key)
        try:
            if time.time() - path.stat().st_mtime > self.max_age:
                return None
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def prune_blocking(self) -> int:
        """Delete answers past their age (and leftovers of interrupted writes); returns how
        many files went. A plugin runs it once at setup, so the folder cannot grow forever."""
        removed = 0
        now = time.time()
        for path in self.folder.glob("*/*"):
            try:
                if now - path.stat().st_mtime > self.max_age:
                    path.unlink()
                    removed += 1
            except OSError:
                continue
        return removed

    def put_blocking(self, key: str, value: Any) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                json.dump(value, file)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def _normal(title: str) -> str:
    return re.sub(r"[\W_]+", " ", title.casefold()).strip()


def _similarity(first: str, second: str) -> float:
    """Letters and whole words alike: 'The Matrix' and 'Heat' share letters, not words."""
    letters = difflib.SequenceMatcher(None, first, second).ratio()
    words_a, words_b = set(first.split()), set(second.split())
    words = len(words_a & words_b) / max(len(words_a), len(words_b), 1)
    return (letters + words) / 2


def title_confidence(
    wanted: str, wanted_year: int | None, titles: Iterable[str], year: int | None
) -> float:
    """How sure a candidate is (0 to 1): the closest of its titles to the one wanted, lowered
    when the years differ (by one: a release date in another country; more: another film)."""
    target = _normal(wanted)
    similarity = max((_similarity(target, _normal(t)) for t in titles if t), default=0.0)
    if wanted_year is None or year is None or wanted_year == year:
        return round(similarity, 3)
    return round(similarity * (0.85 if abs(wanted_year - year) == 1 else 0.5), 3)


def year_of(date: Any) -> int | None:
    """The year an ISO date ('1999-03-30', '1999') starts with."""
    match = re.match(r"(\d{4})", date) if isinstance(date, str) else None
    return int(match[1]) if match else None
