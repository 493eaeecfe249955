"""What a person says about songs: `scrobble` (a play, into Hearth's history) and `setRating`.

A submitted scrobble is a finished play: the same progress and history rows the web app's
player writes (`core.people.watch`), so "recently played" and "frequent" lists agree across
apps, and a person who paused their history gets nothing written. A "now playing" scrobble
(`submission=false`) stores nothing: it only becomes the app's current song for `getNowPlaying`.
Ratings are the catalog's per-person 1-10 ratings; the spec's 1-5 stars are stored doubled and
0 removes the rating. An id the person may not see is "not found" (70) and changes nothing.
Device keys scoped `read` never reach here (routes.py).
"""

from __future__ import annotations

from collections.abc import Mapping

from core.plugin_api import (
    Database,
    Principal,
    Report,
    history_paused_blocking,
    playable_item_blocking,
    store_progress_blocking,
)
from plugins.subsonic.browse import required
from plugins.subsonic.now_playing import note_play
from plugins.subsonic.responses import GENERIC, NOT_FOUND, SubsonicError
from plugins.subsonic.routes import Call, Endpoints


def _user(principal: Principal) -> int:
    if principal.user_id is None:
        raise SubsonicError(GENERIC, "Only a signed-in person can do this.")
    return principal.user_id


def scrobble_blocking(db: Database, principal: Principal, ids: list[str], submission: bool) -> None:
    user = _user(principal)
    found = [playable_item_blocking(db, item_id, principal) for item_id in ids]
    if any(item is None for item in found):
        raise SubsonicError(NOT_FOUND, "Song not found")
    if not submission or history_paused_blocking(db, user):
        return
    for item in found:
        if item is not None:
            pk, duration, _ = item
            store_progress_blocking(db, Report(user, pk, duration or 0.0, duration), True)


def rating_blocking(db: Database, principal: Principal, params: Mapping[str, str]) -> None:
    user = _user(principal)
    item_id, text = required(params, "id"), required(params, "rating")
    if text not in {"0", "1", "2", "3", "4", "5"}:
        raise SubsonicError(GENERIC, f"Parameter rating must be 0 to 5, got {text!r}")
    item = playable_item_blocking(db, item_id, principal)
    if item is None:
        raise SubsonicError(NOT_FOUND, "Item not found")
    if text == "0":
        db.execute("DELETE FROM ratings WHERE user_id = ? AND item_pk = ?", [user, item[0]])
        return
    db.execute(
        "INSERT INTO ratings (user_id, item_pk, rating) VALUES (?, ?, ?) "
        "ON CONFLICT (user_id, item_pk) DO UPDATE SET rating = excluded.rating",
        [user, item[0], int(text) * 2],
    )


async def scrobble(call: Call) -> None:
    ids = call.all("id")
    if not ids:
        required({}, "id")
    submission = (call.get("submission") or "true").casefold() != "false"
    await call.ctx.catalog.write(lambda db: scrobble_blocking(db, call.principal, ids, submission))
    if not submission:
        note_play(call, ids[-1])


async def set_rating(call: Call) -> None:
    await call.ctx.catalog.write(lambda db: rating_blocking(db, call.principal, call.params))


def register(endpoints: Endpoints) -> None:
    """Add the annotation endpoints to the dispatch table."""
    endpoints.add("scrobble", scrobble, writes=True)
    endpoints.add("setRating", set_rating, writes=True)
