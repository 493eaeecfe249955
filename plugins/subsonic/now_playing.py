"""`getNowPlaying`: the songs the asking person's players are playing, and noting a play.

The plays come from the playback engine's in-memory register (`core.playback.now_playing`),
which the web app's direct play fills and this API fills on `stream` and on a "now playing"
scrobble (`submission=false`), named after the app's `c=`. A person sees only their own players
(another device, the web app in a browser): Hearth never shows one person's listening to
another, not even to the owner. A play is listed while the song could still be going (its
length and a minute's grace since it began) and only while the person may still hear it
(grants and rating limits, through `shapes.songs_blocking`). It stores nothing.
"""

from __future__ import annotations

import time
from typing import Any

from core.plugin_api import PlayStarted
from plugins.subsonic import shapes
from plugins.subsonic.routes import Call, Endpoints

GRACE_S = 60.0  # a paused or buffering player is still "playing" for this long past the end
UNKNOWN_LENGTH_S = 600.0
DEFAULT_PLAYER = "Subsonic app"


def note_play(call: Call, song_id: str) -> None:
    """Record that this person's app (its `c=`) began `song_id`; the caller checked the song."""
    if call.principal.user_id is None:
        return
    player = (call.get("c") or DEFAULT_PLAYER)[:100]
    call.ctx.playback.now_playing.record(call.principal.user_id, song_id, player)


def entries(
    plays: list[PlayStarted], songs: dict[str, dict[str, Any]], username: str, now: float
) -> list[dict[str, Any]]:
    """The spec's NowPlayingEntry for each play whose song is known and may still be going."""
    found = []
    for play in plays:
        song = songs.get(play.item_id)
        if song is None:
            continue
        length = float(song.get("duration") or UNKNOWN_LENGTH_S)
        elapsed = max(0.0, now - play.started)
        if elapsed > length + GRACE_S:
            continue
        found.append(
            {
                **song,
                "username": username,
                "minutesAgo": int(elapsed // 60),
                "playerId": play.player_id,
                "playerName": play.player_name,
            }
        )
    return found


async def now_playing(call: Call) -> dict[str, Any]:
    principal = call.principal
    if principal.user_id is None:
        return {"nowPlaying": {}}
    plays = call.ctx.playback.now_playing.of_user(principal.user_id)
    ids = sorted({p.item_id for p in plays})
    if not ids:
        return {"nowPlaying": {}}
    marks = ", ".join("?" * len(ids))
    found = await call.ctx.catalog.read(
        lambda db: shapes.songs_blocking(db, principal, f"t.id IN ({marks})", ids, limit=len(ids))
    )
    songs = {s["id"]: s for s in found}
    listed = entries(plays, songs, principal.username, time.time())
    return {"nowPlaying": {"entry": listed} if listed else {}}


def register(endpoints: Endpoints) -> None:
    """Add getNowPlaying to the dispatch table."""
    endpoints.add("getNowPlaying", now_playing)
