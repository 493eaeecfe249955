"""What a file's path says it is: a movie, an episode of a show, or (see `music_naming`) a track.

Paths are taken relative to the library root, because folders carry what file names leave out:
the show (`Show/Season 01/02 - Name.mkv`), the season, the movie's year (`Title (Year)/…`).
Plex/Jellyfin names (`Title (Year) {edition-…} - pt1`, `{imdb-tt…}`, `-trailer`, `Season 00`,
`S01E02-E03`) are read directly; everything else — scene names, anime, date-based shows — goes to
guessit. Canonical movie names never reach guessit: it is slow (several ms a name) and turns
`Dune Part Two (2024)` into part 2 of "Dune".

A show's folder, when there is one, names the show: files inside one folder are often named
inconsistently, and grouping must not split a show over two spellings. `grouping_key` makes
names comparable across case, accents and punctuation.

Pure and total: never touches the file system, never raises for an odd name (a surrogate-escaped
or 255-byte name parses to something), never looks anything up online.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from core.media.music_naming import PlainName, TrackName, parse_plain, parse_track
from core.media.relpaths import split_path

LibraryKind = Literal["movies", "shows", "music", "videos", "photos"]

_PROVIDER_ID = re.compile(
    r"\s*[\[{](?P<provider>imdb|tmdb|tvdb|anidb)(?:id)?[-=](?P<id>\w+)[\]}]", re.IGNORECASE
)
_EDITION_TAG = re.compile(r"\s*\{edition-(?P<edition>[^}]+)\}", re.IGNORECASE)
_TITLE_YEAR = re.compile(r"^(?P<title>.+?)[ ._]*[(\[](?P<year>(?:18|19|20)\d\d)[)\]](?P<rest>.*)$")
# Plex/Jellyfin stacking: `- cd1`, `.part2`, ` pt3`, `-disc1` ends a multi-file movie's name.
_STACK_PART = re.compile(
    r"[ ._-]*(?<![a-z0-9])(?:cd|dvd|part|pt|dis[ck])[ ._-]*(?P<part>\d{1,2})\s*$", re.IGNORECASE
)
_EXTRA_SUFFIX = re.compile(  # hyphen only: "The Interview.mkv" is a film, "-interview" an extra
    r"\s*-\s*(?P<extra>trailer|behindthescenes|deleted|deletedscene|featurette|interview|scene"
    r"|short|other|extra)$",
    re.IGNORECASE,
)
_EXTRA_FOLDERS = {
    "trailers": "trailer",
    "behind the scenes": "behindthescenes",
    "deleted scenes": "deleted",
    "featurettes": "featurette",
    "interviews": "interview",
    "scenes": "scene",
    "shorts": "short",
    "other": "other",
    "extras": "extra",
}
_SEASON_FOLDER = re.compile(r"^(?:season|series|saison|staffel|temporada|s)[ ._-]*(\d{1,4})$", re.I)
_SPECIALS_FOLDERS = frozenset({"specials", "special", "extras"})
_EPISODE_OPTIONS = {"type": "episode", "episode_prefer_number": True}
# Plex/Jellyfin's canonical `Show - S01E02 - Title`, `Show S01E02E03`, `S01E02-E03 - Title`:
# read directly, because guessit costs several ms a name and a first scan meets thousands.
_CANONICAL_EPISODE = re.compile(
    r"^(?:(?P<show>.*?)[ ._-]+)?[Ss](?P<season>\d{1,4})[Ee](?P<first>\d{1,4})"
    r"(?P<more>(?:-?[Ee]\d{1,4})*)(?:\s+-\s+(?P<title>.+?))?\s*$"
)
_MORE_EPISODES = re.compile(r"[Ee](\d{1,4})")
_SCENE_TOKENS = re.compile(
    r"(?i)(?<![a-z0-9])(?:\d{3,4}[pi]|[xh]\.?26[45]|hevc|web-?(?:dl|rip)|blu-?ray|hdtv|dvdrip"
    r"|remux|proper|repack)(?![a-z0-9])"
)


@dataclass(frozen=True, slots=True)
class MovieName:
    """A movie file: the feature itself or one of its extras (`extra` then names the kind)."""

    title: str
    year: int | None = None
    edition: str | None = None
    part: int | None = None
    extra: str | None = None
    extra_title: str | None = None
    provider_ids: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class EpisodeName:
    """One file of a show. `season` None means `episodes` are absolute numbers (anime)."""

    show: str
    show_key: str
    season: int | None = None
    episodes: tuple[int, ...] = ()
    air_date: date | None = None
    title: str | None = None
    show_year: int | None = None
    provider_ids: tuple[tuple[str, str], ...] = ()

    @property
    def is_special(self) -> bool:
        return self.season == 0

    @property
    def is_absolute(self) -> bool:
        return self.season is None and bool(self.episodes)


ParsedName = MovieName | EpisodeName | TrackName | PlainName


def parse_name(relpath: str | os.PathLike[str], library_kind: LibraryKind) -> ParsedName:
    """What a file's path says, read by the conventions of its library's kind.

    The library decides, not the name: `Show - 103.mkv` is an episode in a shows library and a
    title in a home-videos one, and nothing in the name alone can tell which.
    """
    if library_kind == "movies":
        return parse_movie(relpath)
    if library_kind == "shows":
        return parse_episode(relpath)
    if library_kind == "music":
        return parse_track(relpath)
    return parse_plain(relpath)


def grouping_key(name: str) -> str:
    """A form of a title that is equal for `Grey's Anatomy`, `greys.anatomy` and `GREYS ANATOMY`.

    Accents, case and punctuation (typographic apostrophes too) go; `&` reads `and`; spaced-out
    acronyms close up, so that `S.H.I.E.L.D.` and `SHIELD` meet.
    """
    text = unicodedata.normalize("NFKD", name)
    text = "".join(char for char in text if not unicodedata.combining(char)).casefold()
    text = re.sub("['`\u2019\u00b4]", "", text.replace("&", " and "))
    merged: list[str] = []
    initials = False  # whether merged[-1] is a run of single characters
    for word in re.sub(r"[\W_]+", " ", text).split():
        if len(word) == 1 and initials:
            merged[-1] += word
        else:
            merged.append(word)
            initials = len(word) == 1
    return " ".join(merged)


def parse_movie(relpath: str | os.PathLike[str]) -> MovieName:
    """A movie from `Title (Year)/Title (Year) - edition.ext` or any scene-style name."""
    folders, stem, extension = split_path(relpath)
    extra, extra_title = None, None
    if folders and folders[-1].casefold() in _EXTRA_FOLDERS:
        extra, extra_title = _EXTRA_FOLDERS[folders.pop().casefold()], stem
        stem = folders[-1] if folders else stem
    elif match := _EXTRA_SUFFIX.search(stem):
        extra, stem = match.group("extra").casefold(), stem[: match.start()]
    ids = _provider_ids(stem) or (_provider_ids(folders[-1]) if folders else ())
    stem, edition = _without_tags(stem)
    title: str | None
    year: int | None
    if canonical := _TITLE_YEAR.match(stem):
        title, year = _clean(canonical.group("title")), int(canonical.group("year"))
        rest, part = _without_part(canonical.group("rest"))
        edition = edition or _clean(rest.strip(" -._[]()")) or None
        return MovieName(title or stem, year, edition, part, extra, extra_title, ids)
    stem, part = _without_part(stem)
    folder = _TITLE_YEAR.match(_without_tags(folders[-1])[0]) if folders else None
    if folder:
        title, year = _clean(folder.group("title")), int(folder.group("year"))
    else:
        guess = _guess(f"{stem}.{extension}" if extension else stem, {"type": "movie"})
        title, year = _text(guess.get("title")), _int(guess.get("year"))
        edition = edition or _text(guess.get("edition"))
    return MovieName(title or _clean(stem) or stem, year, edition, part, extra, extra_title, ids)


def _without_part(text: str) -> tuple[str, int | None]:
    """The text without a trailing stacking marker (`- cd1`, `.part2`), and that part number.

    Only a trailing marker counts: `Deathly Hallows Part 1 (2010)` is a title, not a stack.
    """
    match = _STACK_PART.search(text)
    if match is None:
        return text, None
    return text[: match.start()].rstrip(" -._"), int(match.group("part"))


def parse_episode(relpath: str | os.PathLike[str]) -> EpisodeName:
    """An episode from its file name, with show and season from the folders when they say."""
    folders, stem, extension = split_path(relpath)
    folder_season = None
    if folders and (season_match := _SEASON_FOLDER.match(folders[-1].strip())):
        folder_season = int(season_match.group(1))
        folders.pop()
    elif folders and folders[-1].casefold() in _SPECIALS_FOLDERS:
        folder_season = 0
        folders.pop()
    name = f"{stem}.{extension}" if extension else stem
    fast = _CANONICAL_EPISODE.match(stem)
    if fast and folders and not _SCENE_TOKENS.search(stem):
        return _canonical_episode(fast, folders, folder_season)
    guess = _guess(name, _EPISODE_OPTIONS)
    guessed_title = _text(guess.get("title"))
    episode_title = _text(guess.get("episode_title"))
    if guessed_title and not episode_title and _after_number(guess):
        # `02 - Name.mkv`: what guessit calls the title follows the number, so names the episode.
        episode_title, guessed_title = guessed_title, None
    season = _int(guess.get("season"))
    episodes = _ints(guess.get("episode"))
    show, show_year = None, None
    ids = _provider_ids(folders[-1]) if folders else ()
    if folders:
        folder_name, _ = _without_tags(folders[-1])
        folder_match = _TITLE_YEAR.match(folder_name)
        show = _clean(folder_match.group("title")) if folder_match else _clean(folder_name)
        show_year = int(folder_match.group("year")) if folder_match else None
    if not show and guessed_title:
        country = guess.get("country")
        show = f"{guessed_title} ({country.alpha2})" if country is not None else guessed_title
        show_year = _int(guess.get("year"))
    show = show or _clean(stem)
    return EpisodeName(
        show=show,
        show_key=grouping_key(show),
        season=season if season is not None else folder_season,
        episodes=episodes,
        air_date=guess.get("date") if isinstance(guess.get("date"), date) else None,
        title=episode_title,
        show_year=show_year,
        provider_ids=ids,
    )


def _show_from_folders(folders: list[str]) -> tuple[str | None, int | None]:
    """The show's name and year from its folder (`Show (2019) {tvdb-123}`), if there is one."""
    if not folders:
        return None, None
    folder_name, _ = _without_tags(folders[-1])
    folder_match = _TITLE_YEAR.match(folder_name)
    if folder_match:
        return _clean(folder_match.group("title")), int(folder_match.group("year"))
    return _clean(folder_name), None


def _canonical_episode(
    match: re.Match[str], folders: list[str], folder_season: int | None
) -> EpisodeName:
    """An episode whose name follows the canonical pattern, read without guessit."""
    episodes = [int(match.group("first"))]
    episodes += [int(n) for n in _MORE_EPISODES.findall(match.group("more") or "")]
    if len(episodes) == 2 and "-" in (match.group("more") or "") and episodes[1] > episodes[0]:
        episodes = list(range(episodes[0], episodes[1] + 1))  # S01E02-E04 covers 2, 3 and 4
    show, show_year = _show_from_folders(folders)
    if not show:
        show = _clean(match.group("show") or "")
    title = _text(match.group("title"))
    return EpisodeName(
        show=show,
        show_key=grouping_key(show),
        season=int(match.group("season")),
        episodes=tuple(episodes),
        title=_clean(title) if title else None,
        show_year=show_year,
        provider_ids=_provider_ids(folders[-1]) if folders else (),
    )


def _guess(name: str, options: dict[str, Any]) -> dict[str, Any]:
    """guessit's answer, or nothing: an odd name is a name without facts, not a failure.

    Imported here, not at the top: guessit takes ~50 ms to import and only scan workers that
    meet a non-canonical name need it, never the server's own start-up.
    """
    from guessit import guessit
    from guessit.api import GuessitException

    try:
        return guessit(name, options)
    except (GuessitException, ValueError, TypeError, UnicodeError):
        return {}


def _after_number(guess: dict[str, Any]) -> bool:
    """True when guessit's title starts after the season/episode numbers in the name."""
    matches = getattr(guess, "matches", None)
    if matches is None or not matches.get("title"):
        return False
    numbers = [m.start for key in ("season", "episode") for m in matches.get(key) or ()]
    return bool(numbers) and matches["title"][0].start > min(numbers)


def _provider_ids(text: str) -> tuple[tuple[str, str], ...]:
    return tuple(
        (match.group("provider").casefold(), match.group("id"))
        for match in _PROVIDER_ID.finditer(text)
    )


def _without_tags(text: str) -> tuple[str, str | None]:
    """The text without `{imdb-…}`-style ids and `{edition-…}`, and that edition if present."""
    edition = _EDITION_TAG.search(text)
    text = _EDITION_TAG.sub("", _PROVIDER_ID.sub("", text)).strip()
    return text, edition.group("edition").strip() if edition else None


def _clean(text: str) -> str:
    """Scene separators to spaces when a name has no spaces of its own (`The.Matrix`)."""
    text = text.strip(" -._")
    if " " not in text:
        text = text.replace(".", " ").replace("_", " ")
    return re.sub(r"\s+", " ", text).strip()


def _int(value: Any) -> int | None:
    if isinstance(value, list):
        value = value[0] if value else None
    return value if isinstance(value, int) else None


def _ints(value: Any) -> tuple[int, ...]:
    values = value if isinstance(value, list) else [value]
    return tuple(sorted({item for item in values if isinstance(item, int)}))


def _text(value: Any) -> str | None:
    if isinstance(value, list):
        return " ".join(str(item) for item in value) or None
    return str(value) if value else None
