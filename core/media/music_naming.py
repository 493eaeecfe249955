"""What the path of a track, a home video or a photo says, for when tags are missing or lie.

Music is named from tags first; this is the fallback the scanner uses for untagged files, read
from the usual `Artist/Album (Year)/Disc 2/01 - Title.flac` layout (a `CD2` or `Disc 2` folder is
a disc of the album above it, not an album). Home videos and photos have no naming convention
beyond a title and perhaps a date (`2019-07-04 Beach.mp4`, `VID_20190704_123456.mp4`).

Regular expressions only, no guessit: guessit is built for film and TV release names and would
read "1999 - Prince" as a year. Pure and total like `naming`: never touches the file system,
never raises for an odd name.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import date

from core.media.relpaths import split_path

_DISC_FOLDER = re.compile(r"^(?:cd|disc|disk)[ ._-]*(?P<disc>\d{1,2})\b", re.IGNORECASE)
_ALBUM_YEAR = re.compile(
    r"^(?:(?P<title>.+?)\s*[(\[](?P<year>(?:19|20)\d\d)[)\]]"
    r"|[(\[]?(?P<year2>(?:19|20)\d\d)[)\]]?\s*[-.]?\s+(?P<title2>.+))$"
)
# `1-03 Title` is disc 1, track 3. Only two digits may be followed by a bare space (`03 Title`):
# one or three digits and a space are as often the start of a title (`2 Become 1`, `808 State`).
_TRACK = re.compile(
    r"^(?:(?P<disc>\d)-(?P<disc_track>\d{2})[ ._-]+"
    r"|(?P<track>\d{1,3})(?:[ ._]*-[ ._]*|\.\s*|_)"
    r"|(?P<spaced>\d{2})\s+)(?P<rest>.+)$"
)
_DATE = re.compile(
    r"(?<!\d)(?P<y>(?:19|20)\d\d)[-_.]?(?P<m>0[1-9]|1[0-2])[-_.]?(?P<d>0[1-9]|[12]\d|3[01])(?!\d)"
)


@dataclass(frozen=True, slots=True)
class TrackName:
    """A track as its folders and file name describe it."""

    title: str
    artist: str | None = None
    album: str | None = None
    album_year: int | None = None
    disc: int | None = None
    track: int | None = None


@dataclass(frozen=True, slots=True)
class PlainName:
    """A home video or photo: its title is its file name, its folder the album it sits in."""

    title: str
    taken_on: date | None = None
    folder: str | None = None


def parse_track(relpath: str | os.PathLike[str]) -> TrackName:
    """Artist, album, disc and track number from `Artist/Album/[Disc N/]NN - Title.ext`."""
    folders, stem, _ = split_path(relpath)
    disc = None
    if folders and (disc_match := _DISC_FOLDER.match(folders[-1])):
        disc = int(disc_match.group("disc"))
        folders.pop()
    album_folder = folders[-1] if folders else None
    artist = folders[-2] if len(folders) >= 2 else None
    if album_folder and artist is None and " - " in album_folder:
        artist, album_folder = (part.strip() for part in album_folder.split(" - ", 1))
    album, year = _album_and_year(album_folder) if album_folder else (None, None)
    track = None
    title = stem.strip()
    if match := _TRACK.match(title):
        title = match.group("rest").strip(" -._")
        if match.group("disc"):
            disc = disc or int(match.group("disc"))
            track = int(match.group("disc_track"))
        else:
            track = int(match.group("track") or match.group("spaced"))
    if " - " in title:
        # `01 - Artist - Title`: drop the artist when the folder agrees or none is known.
        first, remainder = (part.strip() for part in title.split(" - ", 1))
        if artist is None or first.casefold() == artist.casefold():
            artist, title = first, remainder
    return TrackName(title or stem, artist, album, year, disc, track or None)


def _album_and_year(folder: str) -> tuple[str, int | None]:
    """`Album (2001)`, `2001 - Album` or `[2001] Album` into the album and its year."""
    match = _ALBUM_YEAR.match(folder.strip())
    if match is None:
        return folder.strip(), None
    title = match.group("title") or match.group("title2")
    year = match.group("year") or match.group("year2")
    return title.strip(" -."), int(year)


def parse_plain(relpath: str | os.PathLike[str]) -> PlainName:
    """A home video's or photo's title (its file name), date (if the name has one) and folder."""
    folders, stem, _ = split_path(relpath)
    return PlainName(stem, name_date(stem), folders[-1] if folders else None)


def name_date(text: str) -> date | None:
    """The first real calendar date written in a name (`2019-07-04`, `20190704`), if any."""
    for match in _DATE.finditer(text):
        try:
            return date(int(match.group("y")), int(match.group("m")), int(match.group("d")))
        except ValueError:  # 2019-02-30 looks like a date and is not one
            continue
    return None
