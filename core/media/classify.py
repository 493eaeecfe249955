"""What kind of file a path names — video, audio, photo, subtitle, nfo, artwork or ignored.

The scanner calls this for every file of every walk, so it is a pure function over the name: no
stat, no open, a set lookup on the extension first, and the same answer on every machine. Case never
matters (`MOVIE.MKV` is a video) and the whole relative path is looked at, because a file is
ignored if any folder above it is (`@eaDir/…`, `.AppleDouble/…`, `Sample/…`).

Context-free on purpose: `cover.jpg` is ARTWORK everywhere, and a photo library's scanner may
still show it as a photo. Never reads the file, never consults the network, never decides which
movie or show a file is (that is `naming`).
"""

from __future__ import annotations

import os
import re
from enum import StrEnum


class FileKind(StrEnum):
    """The role a file plays in a library; values are stable strings for the catalog."""

    VIDEO = "video"
    AUDIO = "audio"
    PHOTO = "photo"
    SUBTITLE = "subtitle"
    NFO = "nfo"
    ARTWORK = "artwork"
    IGNORED = "ignored"


def _extensions(text: str) -> frozenset[str]:
    return frozenset(text.split())


VIDEO_EXTENSIONS = _extensions(
    "3g2 3gp asf avi divx flv m2ts m2v m4v mkv mov mp4 mpe mpeg mpg mts ogv rm rmvb ts vob webm "
    "wmv wtv"
)
AUDIO_EXTENSIONS = _extensions(
    "aac aif aifc aiff alac ape dff dsf flac m4a m4b mka mp2 mp3 mpc oga ogg opus wav wma wv"
)
PHOTO_EXTENSIONS = _extensions("avif bmp gif heic heif hif jpeg jpg png tif tiff webp")
SUBTITLE_EXTENSIONS = _extensions("ass idx smi srt ssa sub sup vtt")
# Images that can be artwork; `.tbn` is Kodi's name for a JPEG thumbnail and is never a photo.
ARTWORK_EXTENSIONS = _extensions("jpeg jpg png tbn webp")

# Folders NAS systems, operating systems and file checkers create; nothing in them is media.
# Compared case-folded. Hidden folders (leading dot) are ignored separately.
IGNORED_DIRECTORIES = frozenset(
    {
        "@eadir",  # Synology thumbnails
        "@recycle",  # QNAP recycle bin
        "#recycle",  # Synology recycle bin
        "#snapshot",  # Synology snapshots
        "$recycle.bin",
        "system volume information",
        "lost+found",
        "@tmp",
    }
)
# Scene releases ship a few seconds of the film as `Sample/…` or `…-sample.mkv`; never an item.
_SAMPLE_DIRECTORIES = frozenset({"sample", "samples"})
_SAMPLE_NAME = re.compile(r"(?:^|[-._ ])sample$|^sample[-._]")

# Kodi, Plex, Jellyfin and music players name their images like this (stem, case-folded).
_ARTWORK_NAME = re.compile(
    r"""^(?:
        (?:poster|folder|cover|fanart|banner|thumb|clearlogo|logo|clearart|landscape|backdrop
          |background|disc|discart|cdart|front|keyart|show|movie|default)-?\d*
      | albumart\w*
      | season(?:\d+|-specials|-all)(?:-(?:poster|banner|fanart|landscape|thumb))?
      | .+[-.](?:poster|fanart|thumb|banner|landscape|clearlogo|clearart|logo|disc|discart
          |backdrop|cover)-?\d*
    )$""",
    re.VERBOSE,
)


def is_ignored_directory(name: str) -> bool:
    """True for a folder the walker should not descend into (hidden or system-made).

    Sample folders are not in this list: they are ignored for videos only, by `classify`,
    because a music album called "Samples" is a real album.
    """
    return name.startswith(".") or name.casefold() in IGNORED_DIRECTORIES


def classify(path: str | os.PathLike[str]) -> FileKind:
    """The kind of file `path` names; pass the path relative to the library root.

    Relative, because every folder in the given path is checked: an absolute path through a
    hidden mount point (`/mnt/.drives/…`) would mark the whole library ignored.
    """
    *folders, name = os.fspath(path).split("/")
    if name.startswith(".") or any(is_ignored_directory(folder) for folder in folders if folder):
        return FileKind.IGNORED
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem:
        return FileKind.IGNORED
    extension = extension.casefold()
    if extension in VIDEO_EXTENSIONS:
        return FileKind.IGNORED if _is_sample(folders, stem) else FileKind.VIDEO
    if extension in AUDIO_EXTENSIONS:
        return FileKind.AUDIO
    if extension in SUBTITLE_EXTENSIONS:
        return FileKind.SUBTITLE
    if extension == "nfo":
        return FileKind.NFO
    if extension in ARTWORK_EXTENSIONS and (
        extension == "tbn" or _ARTWORK_NAME.match(stem.casefold())
    ):
        return FileKind.ARTWORK
    if extension in PHOTO_EXTENSIONS:
        return FileKind.PHOTO
    return FileKind.IGNORED


def _is_sample(folders: list[str], stem: str) -> bool:
    """True for a scene-release sample clip, by its folder or its name."""
    if any(folder.casefold() in _SAMPLE_DIRECTORIES for folder in folders):
        return True
    return _SAMPLE_NAME.search(stem.casefold()) is not None
