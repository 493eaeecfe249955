"""Who is asking, and what they may see: the one place item visibility is decided.

Every list, item, stream, artwork and HLS request goes through `Principal.item_clause`, so a
library a person was not granted, or a film above a kid's rating, is invisible everywhere —
search, browsing, artwork and playback alike. Owners and admins see everything. It never reads
the request; the middleware builds the principal.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

ROLES = ("owner", "admin", "member", "managed")
ADMIN_ROLES = frozenset({"owner", "admin"})
# the effective rating of an item is its own, else its season's, else its show's
EFFECTIVE_RATING = (
    "COALESCE(items.content_rating, "
    "(SELECT p.content_rating FROM items AS p WHERE p.pk = items.parent_pk), "
    "(SELECT g.content_rating FROM items AS p JOIN items AS g ON g.pk = p.parent_pk "
    "WHERE p.pk = items.parent_pk))"
)


@dataclass(frozen=True, slots=True)
class Principal:
    """A signed-in person (or a device key, or a LAN device without an account)."""

    user_id: int | None
    username: str
    role: str
    libraries: frozenset[int] | None = None  # None: every library
    max_rank: int | None = None
    block_unrated: bool = False
    excluded_genres: tuple[str, ...] = ()
    session_id: int | None = None
    scope: str = "full"
    via_cookie: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    only_item: str | None = None  # a capability link (core.people.links) reaches one item

    @property
    def is_admin(self) -> bool:
        return self.role in ADMIN_ROLES

    @property
    def is_owner(self) -> bool:
        return self.role == "owner"

    def item_clause(self, table: str = "items") -> tuple[str, list[Any]]:
        """An SQL condition (and its arguments) true for items this principal may see."""
        parts: list[str] = []
        args: list[Any] = []
        if self.only_item is not None:
            parts.append(f"{table}.id = ?")
            args.append(self.only_item)
        if self.libraries is not None:
            if not self.libraries:
                return "0", []
            marks = ",".join("?" * len(self.libraries))
            parts.append(f"{table}.library_id IN ({marks})")
            args.extend(sorted(self.libraries))
        if self.max_rank is not None:
            rating = EFFECTIVE_RATING.replace("items.", f"{table}.")
            if self.block_unrated:
                parts.append(f"COALESCE(rating_rank({rating}), 999) <= ?")
            else:
                parts.append(f"COALESCE(rating_rank({rating}), -1) <= ?")
            args.append(self.max_rank)
        if self.excluded_genres:
            marks = ",".join("?" * len(self.excluded_genres))
            parts.append(
                f"NOT EXISTS (SELECT 1 FROM item_genres AS eg WHERE eg.item_pk = {table}.pk "
                f"AND eg.genre IN ({marks}))"
            )
            args.extend(self.excluded_genres)
        return (" AND ".join(parts) or "1"), args


EVERYTHING = Principal(None, "system", "owner")
"""The server itself (scans, the CLI): sees everything."""


def principal_from_row(
    row: Any, session_id: int | None, scope: str, via_cookie: bool, grants: list[int]
) -> Principal:
    """Build a principal from a users row (id, username, role, max_rating, unrated,
    excluded_genres, all_libraries)."""
    from core.people.ratings import rank

    user_id, username, role, max_rating, unrated, excluded, all_libraries = row
    sees_all = role in ADMIN_ROLES or bool(all_libraries)
    return Principal(
        user_id=int(user_id),
        username=str(username),
        role=str(role),
        libraries=None if sees_all else frozenset(grants),
        max_rank=rank(max_rating) if max_rating else None,
        block_unrated=unrated == "block",
        excluded_genres=tuple(json.loads(excluded or "[]")),
        session_id=session_id,
        scope=scope,
        via_cookie=via_cookie,
    )


LAN_MAX_RATING = "lan_max_rating"  # the catalog setting admins change from the web app


def stricter_rating(first: str | None, second: str | None) -> str | None:
    """Of two rating limits (None: no limit), the one that lets less through."""
    from core.people.ratings import rank

    limits = [r for r in (first, second) if r and rank(r) is not None]
    return min(limits, key=lambda r: rank(r) or 0, default=None)


def lan_principal_blocking(db: Any, max_rating: str | None = None) -> Principal:
    """A TV on the home network without an account: only libraries the owner marked
    LAN-visible, under the LAN rating limit (DLNA gives every device everything otherwise):
    the stricter of the caller's (`dlna: max_rating:`) and the `lan_max_rating` setting."""
    from core.people.ratings import rank

    rows = db.execute("SELECT id FROM libraries WHERE lan_visible = 1").fetchall()
    setting = db.execute("SELECT value FROM settings WHERE key = ?", [LAN_MAX_RATING]).fetchone()
    limit = stricter_rating(max_rating, setting[0] if setting else None)
    return Principal(
        None,
        "lan",
        "managed",
        libraries=frozenset(r[0] for r in rows),
        max_rank=rank(limit) if limit else None,
    )
