"""Slowing down password, PIN and code guessing without ever locking the household out.

Two rules, both in memory (a restart forgives, and idle means no writes):

- Per (account, source address), and per source address across accounts: the first few
  failures are free, then each further attempt waits 1 s, 2 s, 4 s ... up to `max_delay`. A
  wrong password typed from the kitchen tablet never slows the owner's phone, and a device
  guessing at many accounts slows itself only.
- Per account, for `remote` sources only: `hard_limit` failures within `hard_window` pause
  sign-in to that account from outside the home for `hard_window`. Someone on the internet
  with many addresses cannot guess on, and the home network (and the box itself) is never
  affected: a stranger cannot lock the owner out of their own house.

It never sleeps: an attempt that comes too early is refused with how long to wait.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from core.network import Origin

_LOGGER = logging.getLogger("hearth.auth")
MAX_RECORDS = 10_000  # a flood of addresses must not grow memory forever


@dataclass
class _Delay:
    failures: int = 0
    last: float = 0.0
    until: float = 0.0


@dataclass
class _Hard:
    failures: list[float] = field(default_factory=list)
    until: float = 0.0


class AttemptLimiter:
    """Growing delays per (account, address) and per address; a hard pause per account for
    remote sources. `account` is any name for what is guessed at: `user:sam`, `pin:7`."""

    def __init__(
        self,
        free: int = 5,
        free_per_address: int = 20,
        base_delay: float = 1.0,
        max_delay: float = 600.0,
        forget_after: float = 3600.0,
        hard_limit: int = 10,
        hard_window: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.free = free
        self.free_per_address = free_per_address
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.forget_after = forget_after
        self.hard_limit = hard_limit
        self.hard_window = hard_window
        self._clock = clock
        self._delays: dict[tuple[str, str], _Delay] = {}
        self._hard: dict[str, _Hard] = {}

    def wait(self, account: str, address: str, origin: Origin, guard_account: bool = True) -> float:
        """Seconds before this source may try this account again (0: now). `guard_account`
        False leaves out the remote pause (for guesses nobody can win, like 256-bit invite
        codes, where a pause would only let a stranger block the real invitee)."""
        now = self._clock()
        waits = [
            record.until - now
            for key in ((account, address), ("", address))
            if (record := self._delays.get(key)) is not None
        ]
        hard = self._hard.get(account)
        if guard_account and origin == "remote" and hard is not None:
            waits.append(hard.until - now)
        return max([0.0, *waits])

    def paused_for(self, account: str) -> float:
        """Seconds left of `account`'s pause for remote sources (0 when none)."""
        hard = self._hard.get(account)
        return max(0.0, hard.until - self._clock()) if hard is not None else 0.0

    def failed(
        self, account: str, address: str, origin: Origin, guard_account: bool = True
    ) -> None:
        now = self._clock()
        self._grow((account, address), self.free, now)
        self._grow(("", address), self.free_per_address, now)
        if guard_account and origin == "remote":
            hard = self._hard.setdefault(account, _Hard())
            hard.failures = [t for t in hard.failures if now - t < self.hard_window] + [now]
            if len(hard.failures) >= self.hard_limit and hard.until <= now:
                hard.until = now + self.hard_window
                hard.failures.clear()
                _LOGGER.warning(
                    "Too many failed attempts at %s from outside the home network; attempts "
                    "from outside are paused for %.0f min (the home network is not affected)",
                    account,
                    self.hard_window / 60,
                )
        if len(self._delays) > MAX_RECORDS or len(self._hard) > MAX_RECORDS:
            self._prune(now)

    def succeeded(self, account: str, address: str) -> None:
        """A right answer forgives this source's failures at this account (not the remote
        pause: the owner signing in at home must not reopen guessing from outside)."""
        self._delays.pop((account, address), None)

    def _grow(self, key: tuple[str, str], free: int, now: float) -> None:
        record = self._delays.get(key)
        if record is None or now - record.last > self.forget_after:
            record = self._delays[key] = _Delay()
        record.failures += 1
        record.last = now
        beyond = record.failures - free
        if beyond >= 0:
            delay = min(self.max_delay, self.base_delay * 2 ** min(beyond, 32))
            record.until = now + delay
            if beyond == 0:
                what = key[0] or "any account"
                _LOGGER.info("Failed attempts at %s from %s are now slowed down", what, key[1])

    def _prune(self, now: float) -> None:
        self._delays = {
            k: r
            for k, r in self._delays.items()
            if r.until > now or now - r.last < self.forget_after / 4
        }
        self._hard = {k: r for k, r in self._hard.items() if r.until > now or r.failures}
        if len(self._delays) > MAX_RECORDS:  # still a flood: keep the slowest
            kept = sorted(self._delays.items(), key=lambda kv: kv[1].until)[-MAX_RECORDS // 2 :]
            self._delays = dict(kept)
