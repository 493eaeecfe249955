"""Splitting a library-relative path into the folders and the file name that naming reads.

Shared by `naming` and `music_naming` so both agree on what counts as a folder, a stem and an
extension, and on which top-level folders merely hold a library (`TV/`, `Movies/`, `Music/`)
rather than name a show, a movie or an artist. Pure string work: never touches the file system.
"""

from __future__ import annotations

import os

# Folder names that hold a library rather than name anything (`TV/Show/…`, `Movies/Title/…`).
GENERIC_FOLDERS = frozenset(
    {"tv", "tv shows", "shows", "series", "movies", "films", "music", "videos", "home videos"}
)


def split_path(relpath: str | os.PathLike[str]) -> tuple[list[str], str, str]:
    """Folders (library-holding ones at the top dropped), the file's stem and its extension.

    A name without a dot, or only a leading one, is all stem: `.mkv` has no title to lose.
    """
    parts = [part for part in os.fspath(relpath).split("/") if part not in ("", ".")]
    name = parts.pop() if parts else ""
    while parts and parts[0].casefold() in GENERIC_FOLDERS:
        parts.pop(0)
    stem, dot, extension = name.rpartition(".")
    return (parts, stem, extension) if dot and stem else (parts, name, "")
