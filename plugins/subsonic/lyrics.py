"""Lyrics (OpenSubsonic `songLyrics`): `getLyricsBySongId` and the classic `getLyrics`.

A song's lyrics come from an `.lrc` file beside it (same name; synced lines, `[offset:]`
honoured) and from its tags: ID3 SYLT (synced) and USLT, Vorbis `LYRICS`/`UNSYNCEDLYRICS`, MP4
`©lyr`. Both files are opened through the library-file check, so a link leading out of the
library folders is never read. A song the person may not hear is "not found" (70). It never
writes a file and never fetches lyrics from anywhere.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mutagen

from core.plugin_api import Database, LibraryRoots, Principal
from plugins.subsonic import shapes
from plugins.subsonic.media import song_path_blocking
from plugins.subsonic.responses import NOT_FOUND, SubsonicError
from plugins.subsonic.routes import Call, Endpoints

LYRICS_KEYS = frozenset({"lyrics", "unsyncedlyrics", "\xa9lyr"})  # Vorbis, MP4
MAX_LRC = 1 << 20  # a lyrics file is a few KB; refuse to read a huge one
_STAMP = re.compile(r"\[(\d{1,3}):(\d{1,2}(?:[.:]\d{1,3})?)\]")
_TAG = re.compile(r"^\[(ar|ti|al|la|offset):(.*)\]\s*$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Lyrics:
    """One set of lyrics: lines with start times (ms) when synced."""

    lines: tuple[tuple[int | None, str], ...]
    synced: bool
    lang: str = "xxx"
    offset: int = 0

    def structured(self, artist: str | None, title: str | None) -> dict[str, Any]:
        line = [
            {"start": start, "value": text} if self.synced else {"value": text}
            for start, text in self.lines
        ]
        found = {
            "displayArtist": artist,
            "displayTitle": title,
            "lang": self.lang,
            "offset": self.offset,
            "synced": self.synced,
            "line": line,
        }
        return {key: value for key, value in found.items() if value is not None}

    def text(self) -> str:
        return "\n".join(text for _, text in self.lines)


def parse_lrc(text: str) -> Lyrics:
    """An LRC file's timed lines, sorted by time; untimed text lines are kept unsynced."""
    timed: list[tuple[int, str]] = []
    plain: list[str] = []
    offset, lang = 0, "xxx"
    for raw in text.splitlines():
        tag = _TAG.match(raw.strip())
        if tag:
            key, value = tag.group(1).casefold(), tag.group(2).strip()
            if key == "offset" and re.fullmatch(r"[+-]?\d+", value):
                offset = int(value)
            elif key == "la" and value:
                lang = value
            continue
        stamps = list(_STAMP.finditer(raw))
        words = _STAMP.sub("", raw).strip()
        if not stamps:
            if words:
                plain.append(words)
            continue
        for stamp in stamps:
            seconds = float(stamp.group(2).replace(":", "."))
            timed.append((int(stamp.group(1)) * 60_000 + round(seconds * 1000), words))
    if timed:
        timed.sort(key=lambda line: line[0])
        return Lyrics(tuple((s, t) for s, t in timed), True, lang, offset)
    return Lyrics(tuple((None, t) for t in plain), False, lang)


def _plain(text: str, lang: str = "xxx") -> Lyrics:
    return Lyrics(tuple((None, line) for line in text.splitlines()), False, lang or "xxx")


def embedded_lyrics(tags: Any) -> list[Lyrics]:
    """Lyrics in a file's tags (mutagen's view of them)."""
    found: list[Lyrics] = []
    if tags is None:
        return found
    if hasattr(tags, "getall"):  # ID3
        for frame in tags.getall("SYLT"):
            lines = tuple((int(ms), str(text).strip()) for text, ms in frame.text)
            found.append(Lyrics(lines, True, frame.lang or "xxx"))
        for frame in tags.getall("USLT"):
            found.append(_plain(str(frame.text), frame.lang))
        return found
    for key in list(tags.keys()):
        if str(key).casefold() not in LYRICS_KEYS:
            continue
        values = tags[key]
        for value in values if isinstance(values, list) else [values]:
            text = str(value)
            found.append(parse_lrc(text) if _STAMP.search(text) else _plain(text))
    return found


def song_lyrics_blocking(path: Path, roots: LibraryRoots) -> list[Lyrics]:
    """The `.lrc` beside the song first, then the song's own tags."""
    found: list[Lyrics] = []
    try:
        with roots.open_blocking(path.with_suffix(".lrc")) as opened:
            data = opened.file.read(MAX_LRC)
        found.append(parse_lrc(data.decode("utf-8-sig", "replace")))
    except OSError:
        pass  # no sidecar (or not a library file): the tags may still hold some
    try:
        with roots.open_blocking(path) as opened:
            audio = mutagen.File(opened.file)
    except (OSError, mutagen.MutagenError):
        return found
    return found + embedded_lyrics(audio.tags if audio is not None else None)


def _song_blocking(db: Database, principal: Principal, song_id: str) -> tuple[dict[str, Any], Path]:
    found = shapes.songs_blocking(db, principal, "t.id = ?", [song_id], limit=1)
    if not found:
        raise SubsonicError(NOT_FOUND, "Song not found")
    return found[0], song_path_blocking(db, principal, song_id)


async def lyrics_by_song_id(call: Call) -> dict[str, Any]:
    song_id = call.require("id")
    song, path = await call.ctx.catalog.read(lambda db: _song_blocking(db, call.principal, song_id))
    found = await asyncio.get_running_loop().run_in_executor(
        None, song_lyrics_blocking, path, call.ctx.library_roots()
    )
    structured = [lyrics.structured(song.get("artist"), song.get("title")) for lyrics in found]
    return {"lyricsList": {"structuredLyrics": structured}}


def _by_words_blocking(
    db: Database, principal: Principal, params: Mapping[str, str]
) -> tuple[dict[str, Any], Path] | None:
    where, args = ["1"], []
    for name, column in (("title", "t.title"), ("artist", "json_extract(t.metadata, '$.artist')")):
        if params.get(name):
            where.append(f"{column} = ? COLLATE NOCASE")
            args.append(params[name])
    if len(where) == 1:
        return None
    found = shapes.songs_blocking(db, principal, " AND ".join(where), args, limit=1)
    if not found:
        return None
    return found[0], song_path_blocking(db, principal, found[0]["id"])


async def lyrics(call: Call) -> dict[str, Any]:
    """The classic call: the first matching song's lyrics as plain text (empty when none)."""
    match = await call.ctx.catalog.read(
        lambda db: _by_words_blocking(db, call.principal, call.params)
    )
    if match is None:
        return {"lyrics": {}}
    song, path = match
    found = await asyncio.get_running_loop().run_in_executor(
        None, song_lyrics_blocking, path, call.ctx.library_roots()
    )
    if not found:
        return {"lyrics": {}}
    return {
        "lyrics": {"artist": song.get("artist"), "title": song["title"], "value": found[0].text()}
    }


def register(endpoints: Endpoints) -> None:
    """Add the lyrics endpoints to the dispatch table."""
    endpoints.add("getLyricsBySongId", lyrics_by_song_id)
    endpoints.add("getLyrics", lyrics)
