"""What each person is playing right now: the latest play of each of their players, in memory.

Direct play (`stream.py`, the web app's music bar) and the Subsonic API (`stream`, and a "now
playing" scrobble) record a play as it starts; a newer play from the same player replaces it.
Answers are for one person at a time: what someone plays is never shown to another person,
not even to the owner (USERS.md: viewing shown to others is what households hate). Nothing
here is written to disk or to the catalog, and entries older than `MAX_AGE` are dropped, so a
restart or a quiet evening forgets everything. It never reads the catalog: callers decide what
an entry's item is and whether it is still audible.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

MAX_AGE = 6 * 3600.0  # longer than any album played end to end
MAX_ENTRIES = 1000  # a household has a handful of players; this only bounds a misbehaving one
SAME_PLAY_S = 60.0  # a request for the same item this soon after is the same play (Range, seek)


@dataclass(frozen=True, slots=True)
class PlayStarted:
    """One player's current play."""

    user_id: int
    item_id: str
    player_id: int  # small and stable per (person, player name) for this process
    player_name: str
    started: float  # time.time() when the play began
    seen: float  # time.time() of its latest request


class NowPlaying:
    """The register; one per playback engine."""

    def __init__(self) -> None:
        self._plays: dict[tuple[int, str], PlayStarted] = {}
        self._player_ids: dict[tuple[int, str], int] = {}
        self._last_id = 0

    def record(
        self, user_id: int, item_id: str, player_name: str, now: float | None = None
    ) -> PlayStarted:
        """Note that `player_name` of this person asked for `item_id` now."""
        now = time.time() if now is None else now
        key = (user_id, player_name)
        player_id = self._player_ids.get(key)
        if player_id is None:
            self._last_id += 1
            player_id = self._player_ids[key] = self._last_id
        old = self._plays.pop(key, None)
        same = old is not None and old.item_id == item_id and now - old.seen <= SAME_PLAY_S
        started = old.started if same and old is not None else now
        play = PlayStarted(user_id, item_id, player_id, player_name, started, now)
        self._plays[key] = play  # re-inserted: the dict stays ordered oldest to newest
        self._prune(now)
        return play

    def of_user(self, user_id: int, now: float | None = None) -> list[PlayStarted]:
        """This person's plays, the newest first."""
        self._prune(time.time() if now is None else now)
        plays = [p for p in self._plays.values() if p.user_id == user_id]
        return sorted(plays, key=lambda p: p.started, reverse=True)

    def _prune(self, now: float) -> None:
        for key in [k for k, p in self._plays.items() if now - p.seen > MAX_AGE]:
            del self._plays[key]
        while len(self._plays) > MAX_ENTRIES:
            del self._plays[next(iter(self._plays))]
        if len(self._player_ids) > MAX_ENTRIES:  # ids of players long gone
            self._player_ids = {k: v for k, v in self._player_ids.items() if k in self._plays}
