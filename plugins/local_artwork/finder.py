"""Finding the posters, fanart, banners, thumbs and covers people keep beside their media.

The names are the ones Kodi, Jellyfin, Plex and music taggers write (`poster.jpg`,
`<name>-fanart.jpg`, `season01-poster.jpg`, `folder.jpg`…), matched without regard to case, as
.jpg, .jpeg, .png, .webp or Kodi's .tbn, the file named after the item before the generic one.
`landscape.jpg` counts as a thumb, not fanart: it is a 16:9 still with the title drawn on it,
where fanart is a clean background. An album without a cover file falls back to the picture
embedded in its first track (`embedded:<track path>`).

A scan asks about thousands of items in the same few folders, so a folder's image names are
listed once and reused while the folder's mtime is unchanged and the listing is young; the
listings kept are bounded by a total count of names. An image that is a symbolic link counts
only if the scan's library roots allow following it (by default: its target is inside some
library folder), so a `fanart.jpg` leading out of the library is never offered. Never opens or
decodes an image (that is the thumbnail maker's job), never writes, never uses the network.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from core.plugin_api import AUDIO_EXTENSIONS, EMBEDDED_PREFIX, LibraryRoots, MetadataRequest

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".tbn")
"""In order of preference when `poster.jpg` and `poster.png` both exist."""

_SEASON_FOLDER = re.compile(
    r"^(?:(?:season|series|staffel|saison|temporada|stagione|s)[ ._-]*\d{1,4}\b|specials?$)",
    re.IGNORECASE,
)
_DISC_FOLDER = re.compile(r"^(?:cd|disc|disk)[ ._-]*\d{1,2}\b", re.IGNORECASE)
_DISC_IMAGE_FOLDERS = ("VIDEO_TS", "BDMV")
Clock = Callable[[], float]
Choices = Iterable[tuple[Path, Sequence[str]]]


@dataclass(frozen=True, slots=True)
class _Listing:
    images: Mapping[str, str]  # case-folded stem -> file name, best extension
    mtime_ns: int
    listed_at: float


class FolderIndex:
    """Recent listings of folders' image files; safe to share between executor threads."""

    def __init__(
        self,
        max_names: int = 50_000,
        max_age: float = 30.0,
        clock: Clock = time.monotonic,
        max_folders: int = 2048,
    ) -> None:
        # Folders are bounded too, not only names: a scan of 100k files lists ~30k folders,
        # most without a picture, and each listing kept (a path, an empty map) would stay in
        # the server for good (~15 MB). A scan goes folder by folder: the last 2,048 suffice.
        self._max_folders = max_folders
        self._max_names = max_names
        self._max_age = max_age
        self._clock = clock
        self._listings: OrderedDict[Path, _Listing] = OrderedDict()
        self._names = 0
        self._lock = threading.Lock()

    @property
    def cached_names(self) -> int:
        """How many image names are held now; never more than `max_names`."""
        return self._names

    @property
    def cached_folders(self) -> int:
        """How many folders' listings are held now; never more than `max_folders`."""
        return len(self._listings)

    def images_blocking(self, folder: Path, roots: LibraryRoots | None = None) -> Mapping[str, str]:
        """The folder's images by case-folded stem; empty if the folder cannot be read. Links
        count only where `roots` allows them (all of them without `roots`: not a scan)."""
        try:
            mtime_ns = folder.stat().st_mtime_ns
        except OSError:
            return {}
        now = self._clock()
        with self._lock:
            cached = self._listings.get(folder)
            if cached and cached.mtime_ns == mtime_ns and now - cached.listed_at < self._max_age:
                self._listings.move_to_end(folder)
                return cached.images
        listing = _Listing(_list_images_blocking(folder, roots), mtime_ns, now)
        with self._lock:
            old = self._listings.pop(folder, None)
            self._names -= len(old.images) if old else 0
            if len(listing.images) <= self._max_names:  # a huge folder is listed every time
                self._listings[folder] = listing
                self._names += len(listing.images)
            while self._names > self._max_names or len(self._listings) > self._max_folders:
                _, evicted = self._listings.popitem(last=False)
                self._names -= len(evicted.images)
        return listing.images


def _list_images_blocking(folder: Path, roots: LibraryRoots | None) -> dict[str, str]:
    found: dict[str, tuple[int, str]] = {}
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                stem, dot, extension = entry.name.rpartition(".")
                rank = _rank("." + extension.lower()) if dot else None
                if rank is None or not _followed(entry, roots) or not entry.is_file():
                    continue
                key = stem.casefold()
                if key not in found or rank < found[key][0]:
                    found[key] = (rank, entry.name)
    except OSError:
        return {}
    return {key: name for key, (_, name) in found.items()}


def _followed(entry: os.DirEntry[str] | Path, roots: LibraryRoots | None) -> bool:
    """Not a link, or a link the library roots let a scan follow."""
    return roots is None or not entry.is_symlink() or roots.refusal_blocking(entry) is None


def _rank(extension: str) -> int | None:
    return IMAGE_EXTENSIONS.index(extension) if extension in IMAGE_EXTENSIONS else None


class ArtworkFinder:
    """Maps a metadata request to the artwork files found for it."""

    def __init__(self, index: FolderIndex, embedded: bool, logger: logging.Logger) -> None:
        self._index = index
        self._embedded = embedded
        self._logger = logger

    def find_blocking(self, request: MetadataRequest) -> dict[str, str]:
        """{artwork kind: absolute path or embedded reference}; empty when nothing was found.
        `path` is the media file for a movie, episode, video, track or photo, and the folder for
        a show, season (its own folder, or the show's), album and artist."""
        path = request.path
        if path is None:
            return {}
        roots = request.roots
        if request.item_kind == "photo":
            return {"thumb": str(path)}  # a photo is its own thumbnail
        if request.item_kind == "movie":
            return self._movie(path, roots)
        if request.item_kind in ("episode", "video"):
            # Only art named after the file: a folder of home videos shares no poster.
            folder, stem = path.parent, path.stem
            return self._pick_each(
                {
                    "thumb": [(folder, _own(stem, "-thumb", "", "-landscape"))],
                    "poster": [(folder, _own(stem, "-poster"))],
                    "fanart": [(folder, _own(stem, "-fanart"))],
                },
                roots,
            )
        if request.item_kind == "show":
            return self._show(path if path.is_dir() else path.parent, roots)
        if request.item_kind == "season":
            return self._season(
                path if path.is_dir() else path.parent, request.known.get("index_number"), roots
            )
        if request.item_kind in ("album", "track"):
            return self._album(path, roots, _known_cover(request))
        if request.item_kind == "artist" and path.is_dir():
            return self._pick_each(
                {
                    "thumb": [(path, ("artist", "folder", "thumb", "poster"))],
                    "fanart": [(path, ("fanart", "backdrop", "background"))],
                    "banner": [(path, ("banner",))],
                },
                roots,
            )
        return {}

    def _movie(self, path: Path, roots: LibraryRoots | None) -> dict[str, str]:
        folder, stem = path.parent, path.stem
        if folder.name.upper() in _DISC_IMAGE_FOLDERS:  # Film/VIDEO_TS/VIDEO_TS.IFO
            folder, stem = folder.parent, folder.parent.name
        return self._pick_each(
            {
                "poster": [
                    (folder, (*_own(stem, "-poster", ""), "poster", "folder", "cover", "movie"))
                ],
                "fanart": [(folder, (*_own(stem, "-fanart"), "fanart", "backdrop", "background"))],
                "banner": [(folder, (*_own(stem, "-banner"), "banner"))],
                "thumb": [(folder, (*_own(stem, "-thumb", "-landscape"), "thumb", "landscape"))],
            },
            roots,
        )

    def _show(self, folder: Path, roots: LibraryRoots | None) -> dict[str, str]:
        return self._pick_each(
            {
                "poster": [(folder, ("poster", "folder", "cover", "show"))],
                "fanart": [(folder, ("fanart", "backdrop", "background"))],
                "banner": [(folder, ("banner",))],
                "thumb": [(folder, ("landscape", "thumb"))],
            },
            roots,
        )

    def _season(self, folder: Path, number: object, roots: LibraryRoots | None) -> dict[str, str]:
        """Art in the season's own folder first, then `seasonNN-*` in the show's folder."""
        own = _SEASON_FOLDER.match(folder.name) is not None
        show = folder.parent if own else folder
        names = _season_names(number)
        choices: dict[str, list[tuple[Path, Sequence[str]]]] = {}
        for kind, local, suffixes in (
            ("poster", ("poster", "folder", "cover"), ("-poster", "")),
            ("fanart", ("fanart", "backdrop"), ("-fanart",)),
            ("banner", ("banner",), ("-banner",)),
            ("thumb", ("landscape", "thumb"), ("-landscape", "-thumb")),
        ):
            in_show = [name + suffix for name in names for suffix in suffixes]
            choices[kind] = ([(folder, local)] if own else []) + [(show, in_show)]
        return self._pick_each(choices, roots)

    def _album(
        self, path: Path, roots: LibraryRoots | None, known_cover: str | None = None
    ) -> dict[str, str]:
        """Cover files in the album folder (or above a `CD1` folder), else an embedded cover
        (the scanner's probe already says whether a track has one: no second read)."""
        folder = path if path.is_dir() else path.parent
        folders = [folder, folder.parent] if _DISC_FOLDER.match(folder.name) else [folder]
        stems = ("cover", "folder", "front", "album", "albumart", "thumb", "poster")
        found = self._pick_each({"thumb": [(f, stems) for f in folders]}, roots)
        if not found and self._embedded and known_cover is not None:
            found["thumb"] = known_cover
        elif not found and self._embedded:
            track = _first_track_blocking(folder, roots) if path.is_dir() else path
            if track is not None and self._has_cover_blocking(track):
                found["thumb"] = EMBEDDED_PREFIX + str(track)
        return found

    def _has_cover_blocking(self, track: Path) -> bool:
        from core.plugin_api import tagged_cover_blocking

        tagged = tagged_cover_blocking(str(track))  # the tags alone, when they can tell
        if tagged is not None:
            return tagged
        from core.plugin_api import ProbeError, extract_cover_blocking  # PyAV only when needed

        try:
            return extract_cover_blocking(track) is not None
        except ProbeError as err:
            self._logger.debug("No embedded cover: %s", err)
            return False

    def _pick_each(
        self, choices: Mapping[str, Choices], roots: LibraryRoots | None
    ) -> dict[str, str]:
        found = {}
        for kind, options in choices.items():
            for folder, stems in options:
                images = self._index.images_blocking(folder, roots)
                name = next((images[s.casefold()] for s in stems if s.casefold() in images), None)
                if name is not None:
                    found[kind] = str(folder / name)
                    break
        return found


def _own(stem: str, *suffixes: str) -> tuple[str, ...]:
    """Names made from the item's own file name: `Film (2010)-poster`, `Film (2010)`."""
    return tuple(stem + suffix for suffix in suffixes)


def _season_names(number: object) -> tuple[str, ...]:
    """`season01` and `season1` as Kodi and Jellyfin write them; `season-specials` for 0."""
    if not isinstance(number, int) or isinstance(number, bool) or number < 0:
        return ()
    if number == 0:
        return ("season-specials", "season00", "season0")
    return tuple(dict.fromkeys((f"season{number:02d}", f"season{number}")))


def _known_cover(request: MetadataRequest) -> str | None:
    """The embedded-cover reference the scanner offers with a track, if it found one."""
    embedded = request.known.get("embedded")
    if isinstance(embedded, dict):
        ref = embedded.get("artwork", {}).get("thumb")
        if isinstance(ref, str) and ref.startswith(EMBEDDED_PREFIX):
            return ref
    return None


def _first_track_blocking(folder: Path, roots: LibraryRoots | None) -> Path | None:
    """The first audio file of an album folder, or of its first `CD1`-style disc folder."""
    track = _first_audio_blocking(folder, roots)
    if track is not None:
        return track
    discs = [
        e
        for e in _entries_blocking(folder)
        if _DISC_FOLDER.match(e.name) and _followed(e, roots) and e.is_dir()
    ]
    return _first_audio_blocking(min(discs), roots) if discs else None


def _first_audio_blocking(folder: Path, roots: LibraryRoots | None) -> Path | None:
    tracks = [
        entry
        for entry in _entries_blocking(folder)
        if entry.name.rpartition(".")[2].lower() in AUDIO_EXTENSIONS
        and _followed(entry, roots)
        and entry.is_file()
    ]
    return min(tracks) if tracks else None


def _entries_blocking(folder: Path) -> list[Path]:
    try:
        return list(folder.iterdir())
    except OSError:
        return []
