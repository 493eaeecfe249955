"""A small real library for scanner tests, with the truth about every file in it.

Files are made with PyAV, mutagen and Pillow (see tests/core/media/mediagen.py). Each test gets
its own tree in tmp_path; `TRUTH` says what the catalog must hold afterwards, field by field.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from core.media.tags import AudioTags
from tests.core.media.mediagen import make_audio, make_photo, make_video


@dataclass(frozen=True)
class Truth:
    """What one media file must become."""

    relpath: str
    kind: str
    title: str
    duration: float
    parents: tuple[str, ...] = ()  # titles from the top container down
    index_number: int | None = None
    index_end: int | None = None
    disc_number: int | None = None
    year: int | None = None


def _mk(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def video(root: Path, relpath: str, seconds: float = 1.0) -> Path:
    return make_video(_mk(root / relpath), seconds)


def build_library(base: Path) -> dict[str, list[Truth]]:
    """Five libraries under `base`; returns the truth per library folder."""
    truth: dict[str, list[Truth]] = {
        "Movies": [],
        "TV": [],
        "Music": [],
        "Photos": [],
        "Videos": [],
    }
    movies = [
        ("Blade Runner (1982)/Blade Runner (1982).mkv", "Blade Runner", 1982, 1.0),
        ("Alien (1979).mp4", "Alien", 1979, 2.0),
    ]
    for relpath, title, year, seconds in movies:
        video(base / "Movies", relpath, seconds)
        truth["Movies"].append(Truth(relpath, "movie", title, seconds, year=year))
    video(base / "Movies", "Blade Runner (1982)/Blade Runner (1982)-trailer.mkv")
    episodes = [
        (
            "The Office (2005)/Season 01/The Office - S01E01 - Pilot.mkv",
            "Pilot",
            "Season 1",
            1,
            None,
        ),
        (
            "The Office (2005)/Season 01/The Office - S01E02E03 - Double.mkv",
            "Double",
            "Season 1",
            2,
            3,
        ),
        (
            "The Office (2005)/Season 02/The Office - S02E01 - The Dundies.mkv",
            "The Dundies",
            "Season 2",
            1,
            None,
        ),
        (
            "The Office (2005)/Specials/The Office - S00E01 - Blooper Reel.mkv",
            "Blooper Reel",
            "Specials",
            1,
            None,
        ),
    ]
    for relpath, title, season, first, last in episodes:
        video(base / "TV", relpath)
        truth["TV"].append(
            Truth(relpath, "episode", title, 1.0, ("The Office", season), first, last)
        )
    tracks = [
        (
            "Miles Davis/Kind of Blue (1959)/01 - So What.mp3",
            "So What",
            "Miles Davis",
            "Kind of Blue",
            1,
            1,
        ),
        (
            "Miles Davis/Kind of Blue (1959)/02 - Freddie Freeloader.flac",
            "Freddie Freeloader",
            "Miles Davis",
            "Kind of Blue",
            2,
            1,
        ),
        (
            "Miles Davis/Kind of Blue (1959)/CD2/01 - Bonus.mp3",
            "Bonus",
            "Miles Davis",
            "Kind of Blue",
            1,
            2,
        ),
    ]
    for relpath, title, artist, album, track, disc in tracks:
        tags = AudioTags(
            title=title,
            artists=(artist,),
            album=album,
            album_artists=(artist,),
            track_number=track,
            disc_number=disc,
            date="1959",
            genres=("Jazz",),
        )
        make_audio(_mk(base / "Music" / relpath), 1.0, tags=tags)
        truth["Music"].append(
            Truth(relpath, "track", title, 1.0, (artist, album), track, None, disc, 1959)
        )
    comp = AudioTags(
        title="Hit",
        artists=("Someone",),
        album="Now 1",
        track_number=3,
        compilation=True,
    )
    make_audio(_mk(base / "Music" / "Compilations/Now 1/03 - Hit.mp3"), 1.0, tags=comp)
    truth["Music"].append(
        Truth(
            "Compilations/Now 1/03 - Hit.mp3", "track", "Hit", 1.0, ("Various Artists", "Now 1"), 3
        )
    )
    make_photo(_mk(base / "Photos/2024/beach.jpg"), exif_date=datetime(2024, 7, 4, 10, 30))
    truth["Photos"].append(Truth("2024/beach.jpg", "photo", "beach", 0.0, year=2024))
    video(base / "Videos", "2019-07-04 Fireworks.mp4")
    truth["Videos"].append(
        Truth("2019-07-04 Fireworks.mp4", "video", "2019-07-04 Fireworks", 1.0, year=2019)
    )
    return truth


def add_hostile(folder: Path) -> dict[str, str]:
    """Files that must be recorded as errors or skipped, never stop a scan; name -> expectation."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "empty.mkv").write_bytes(b"")
    (folder / "random.mkv").write_bytes(os.urandom(4096))
    good = video(folder, "truncated.mkv", 2.0)
    data = good.read_bytes()
    good.write_bytes(data[: len(data) // 2])
    (folder / "loop").symlink_to(folder)
    (folder / "dangling.mkv").symlink_to(folder / "nowhere.mkv")
    odd = os.fsencode(folder) + b"/caf\xe9 (2001).mkv"  # Latin-1 bytes: not UTF-8
    with open(odd, "wb") as file:
        file.write(b"not really a video")
    long_name = "L" * 251 + ".mkv"  # 255 bytes: the longest name ext4 allows
    video(folder, long_name)
    return {
        "empty.mkv": "error",
        "random.mkv": "error",
        "truncated.mkv": "error",
        "caf\udce9 (2001).mkv": "error",
        long_name: "item",
    }


def library_yaml(base: Path) -> str:
    return (
        "folders:\n  watch: false\n  libraries:\n"
        f"    - {{name: Movies, kind: movies, paths: ['{base}/Movies']}}\n"
        f"    - {{name: TV, kind: shows, paths: ['{base}/TV']}}\n"
        f"    - {{name: Music, kind: music, paths: ['{base}/Music']}}\n"
        f"    - {{name: Photos, kind: photos, paths: ['{base}/Photos']}}\n"
        f"    - {{name: Home Videos, kind: videos, paths: ['{base}/Videos']}}\n"
    )
