"""Slowing down password and PIN guessing: per account and per client address.

After a few failures in a window, further attempts are refused until a lockout expires; the
lockout is logged once when it starts. Kept in memory on purpose: a restart forgives (a
household must never be locked out of its own box by a file), and idle means no writes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

_LOGGER = logging.getLogger("hearth.auth")


@dataclass
class _Record:
    failures: list[float] = field(default_factory=list)
    locked_until: float = 0.0


class AttemptLimiter:
    """`max_failures` within `window` seconds locks the key for `lockout` seconds."""

    def __init__(
        self,
        max_failures: int = 5,
        window: float = 300.0,
        lockout: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window = window
        self.lockout = lockout
        self._clock = clock
        self._records: dict[str, _Record] = {}

    def locked_for(self, *keys: str) -> float:
        """Seconds until every key may try again (0 when none is locked)."""
        now = self._clock()
        return max((r.locked_until - now for k in keys if (r := self._records.get(k))), default=0.0)

    def failed(self, *keys: str) -> None:
        now = self._clock()
        for key in keys:
            record = self._records.setdefault(key, _Record())
            record.failures = [t for t in record.failures if now - t < self.window] + [now]
            if len(record.failures) >= self.max_failures and record.locked_until <= now:
                record.locked_until = now + self.lockout
                record.failures.clear()
                _LOGGER.warning(
                    "Too many failed attempts for %s; locked for %.0f s", key, self.lockout
                )
        if len(self._records) > 10_000:  # a flood of addresses must not grow memory forever
            self._records = {k: r for k, r in self._records.items() if r.locked_until > now}

    def succeeded(self, *keys: str) -> None:
        for key in keys:
            self._records.pop(key, None)
