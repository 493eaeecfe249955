"""Content ratings as ranks, so a managed profile's limit can be compared in SQL.

MPAA and US TV ratings share one scale of ages (G/TV-G 0, PG/TV-PG 7, PG-13/TV-14 13,
R/TV-MA 17, NC-17 18); common European marks map by their age. Unknown strings are unrated:
what that means is the profile's setting. Pure functions; registered as an SQLite function.
"""

from __future__ import annotations

import re

_RANKS = {
    "g": 0,
    "tv-y": 0,
    "tv-g": 0,
    "u": 0,
    "approved": 0,
    "passed": 0,
    "tv-y7": 7,
    "tv-y7-fv": 7,
    "pg": 7,
    "tv-pg": 7,
    "pg-13": 13,
    "tv-14": 14,
    "12a": 12,
    "r": 17,
    "tv-ma": 17,
    "nc-17": 18,
    "x": 18,
    "nr": -1,
    "unrated": -1,
    "not rated": -1,
}
LEVELS = ("G", "PG", "PG-13", "R", "NC-17", "TV-Y", "TV-Y7", "TV-G", "TV-PG", "TV-14", "TV-MA")
_AGE = re.compile(r"^(?:fsk|kijkwijzer|bbfc|uk|de|nl|fr|es|it)?[\s:-]*(\d{1,2})\+?$")


def rank(rating: str | None) -> int | None:
    """The minimum age a rating stands for, or None when unrated or unknown."""
    if not rating:
        return None
    text = rating.strip().lower()
    text = text.removeprefix("rated ").removeprefix("us:").strip()
    if text in _RANKS:
        value = _RANKS[text]
        return None if value < 0 else value
    match = _AGE.match(text)
    if match:
        return int(match.group(1))
    return None


def limit_rank(limit: str | None) -> int | None:
    """The rank of a profile's maximum rating; None means no limit."""
    if limit is None:
        return None
    value = rank(limit)
    if value is None:
        raise ValueError(f"unknown rating {limit!r}; use one of {', '.join(LEVELS)} or an age")
    return value
