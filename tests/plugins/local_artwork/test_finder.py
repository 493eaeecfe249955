"""Artwork beside real files, in the layouts Kodi, Jellyfin, Plex and music players leave."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import pytest
from mutagen.id3 import APIC, ID3
from PIL import Image

from core.kinds import MetadataRequest
from core.library.fields import EMBEDDED_PREFIX
from plugins.local_artwork.finder import ArtworkFinder, FolderIndex

LOGGER = logging.getLogger("hearth.local_artwork")


def touch(folder: Path, *names: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(b"\xff\xd8\xff")


def find(kind: str, path: Path | None, embedded: bool = True, **known: Any) -> dict[str, str]:
    finder = ArtworkFinder(FolderIndex(), embedded, LOGGER)
    return finder.find_blocking(MetadataRequest(kind, path, known))


def jpeg_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buffer, "JPEG")
    return buffer.getvalue()


def make_mp3(path: Path, cover: bytes | None) -> Path:
    """A real, tiny MP3 (PyAV's LAME encoder), with an APIC front cover written by mutagen."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream: Any = container.add_stream("libmp3lame", rate=44100)
        stream.layout = "mono"
        frame = av.AudioFrame(format="s16", layout="mono", samples=44100 // 10)
        frame.planes[0].update(bytes(frame.planes[0].buffer_size))
        frame.sample_rate = 44100
        frame.time_base = Fraction(1, 44100)
        frame.pts = 0
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    if cover is not None:
        tags = ID3()
        tags.add(APIC(encoding=3, mime="image/jpeg", type=3, desc="Cover", data=cover))
        tags.save(path)
    return path


def test_movie_prefers_art_named_after_the_file_then_generic_names(tmp_path: Path) -> None:
    movie = tmp_path / "Blade Runner (1982)"
    touch(
        movie,
        "Blade Runner (1982).mkv",
        "Blade Runner (1982)-poster.jpg",
        "folder.jpg",
        "FANART.JPG",
        "banner.png",
        "landscape.jpg",
    )
    assert find("movie", movie / "Blade Runner (1982).mkv") == {
        "poster": str(movie / "Blade Runner (1982)-poster.jpg"),
        "fanart": str(movie / "FANART.JPG"),
        "banner": str(movie / "banner.png"),
        "thumb": str(movie / "landscape.jpg"),
    }


def test_movie_falls_back_to_poster_then_folder_then_cover(tmp_path: Path) -> None:
    touch(tmp_path, "Film.mkv", "cover.jpg", "folder.webp")
    assert find("movie", tmp_path / "Film.mkv") == {"poster": str(tmp_path / "folder.webp")}


def test_jpeg_is_preferred_over_png_of_the_same_name(tmp_path: Path) -> None:
    touch(tmp_path, "Film.mkv", "poster.png", "poster.jpg", "poster.txt")
    assert find("movie", tmp_path / "Film.mkv") == {"poster": str(tmp_path / "poster.jpg")}


def test_dvd_folder_movie_looks_beside_the_video_ts_folder(tmp_path: Path) -> None:
    touch(tmp_path / "Heat" / "VIDEO_TS", "VIDEO_TS.IFO")
    touch(tmp_path / "Heat", "poster.jpg", "Heat-fanart.jpg")
    assert find("movie", tmp_path / "Heat" / "VIDEO_TS" / "VIDEO_TS.IFO") == {
        "poster": str(tmp_path / "Heat" / "poster.jpg"),
        "fanart": str(tmp_path / "Heat" / "Heat-fanart.jpg"),
    }


def test_show_art_comes_from_the_show_folder(tmp_path: Path) -> None:
    show = tmp_path / "The Expanse"
    touch(show, "poster.jpg", "fanart.jpg", "banner.jpg", "season01-poster.jpg")
    assert find("show", show) == {
        "poster": str(show / "poster.jpg"),
        "fanart": str(show / "fanart.jpg"),
        "banner": str(show / "banner.jpg"),
    }


def test_season_poster_in_the_show_folder_is_found_by_number(tmp_path: Path) -> None:
    show = tmp_path / "The Expanse"
    touch(show, "poster.jpg", "season01-poster.jpg", "season02-Poster.PNG", "season01-banner.jpg")
    touch(show / "Season 2", "The Expanse - S02E01.mkv")
    assert find("season", show, index_number=1) == {
        "poster": str(show / "season01-poster.jpg"),
        "banner": str(show / "season01-banner.jpg"),
    }
    assert find("season", show / "Season 2", index_number=2) == {
        "poster": str(show / "season02-Poster.PNG")
    }


def test_season_folder_art_wins_over_the_show_folder(tmp_path: Path) -> None:
    show = tmp_path / "The Expanse"
    touch(show, "season01-poster.jpg")
    touch(show / "Season 01", "folder.jpg", "fanart.jpg")
    assert find("season", show / "Season 01", index_number=1) == {
        "poster": str(show / "Season 01" / "folder.jpg"),
        "fanart": str(show / "Season 01" / "fanart.jpg"),
    }


def test_specials_use_the_season_specials_names(tmp_path: Path) -> None:
    show = tmp_path / "Doctor Who"
    touch(show, "season-specials-poster.jpg", "season00-poster.jpg")
    touch(show / "Specials")
    assert find("season", show / "Specials", index_number=0) == {
        "poster": str(show / "season-specials-poster.jpg")
    }


def test_a_show_folder_poster_is_never_a_seasons_poster(tmp_path: Path) -> None:
    touch(tmp_path / "Show", "poster.jpg")
    assert find("season", tmp_path / "Show", index_number=3) == {}


def test_episode_thumb_is_named_after_the_episode(tmp_path: Path) -> None:
    season = tmp_path / "Show" / "Season 1"
    touch(season, "Show - S01E01.mkv", "Show - S01E01-thumb.jpg", "Show - S01E02.mkv")
    touch(season, "Show - S01E02.jpg", "poster.jpg")
    assert find("episode", season / "Show - S01E01.mkv") == {
        "thumb": str(season / "Show - S01E01-thumb.jpg")
    }
    assert find("episode", season / "Show - S01E02.mkv") == {
        "thumb": str(season / "Show - S01E02.jpg")
    }


def test_home_video_uses_only_art_named_after_it(tmp_path: Path) -> None:
    touch(tmp_path, "Beach.mp4", "Beach.jpg", "Party.mp4", "folder.jpg", "poster.jpg")
    assert find("video", tmp_path / "Beach.mp4") == {"thumb": str(tmp_path / "Beach.jpg")}
    assert find("video", tmp_path / "Party.mp4") == {}


def test_album_cover_file_is_found_from_the_folder_or_a_track(tmp_path: Path) -> None:
    album = tmp_path / "Radiohead" / "OK Computer"
    touch(album, "01 - Airbag.mp3", "Folder.jpg", "front.png")
    for path in (album, album / "01 - Airbag.mp3"):
        assert find("album", path) == {"thumb": str(album / "Folder.jpg")}
    assert find("track", album / "01 - Airbag.mp3") == {"thumb": str(album / "Folder.jpg")}


def test_a_disc_folders_album_uses_the_cover_above_it(tmp_path: Path) -> None:
    album = tmp_path / "Pink Floyd" / "The Wall"
    touch(album, "cover.jpg")
    touch(album / "CD1", "01 - In the Flesh.flac")
    assert find("track", album / "CD1" / "01 - In the Flesh.flac") == {
        "thumb": str(album / "cover.jpg")
    }


def test_album_without_a_cover_file_uses_the_embedded_cover(tmp_path: Path) -> None:
    album = tmp_path / "Artist" / "Album"
    first = make_mp3(album / "01 - One.mp3", jpeg_bytes())
    make_mp3(album / "02 - Two.mp3", None)
    assert find("album", album) == {"thumb": EMBEDDED_PREFIX + str(first)}
    assert find("track", first) == {"thumb": EMBEDDED_PREFIX + str(first)}
    assert find("album", album, embedded=False) == {}


def test_album_of_disc_folders_finds_the_embedded_cover_of_the_first_disc(tmp_path: Path) -> None:
    album = tmp_path / "Artist" / "Album"
    first = make_mp3(album / "CD1" / "01 - One.mp3", jpeg_bytes())
    assert find("album", album) == {"thumb": EMBEDDED_PREFIX + str(first)}


def test_tracks_without_any_cover_give_nothing(tmp_path: Path) -> None:
    album = tmp_path / "Artist" / "Album"
    track = make_mp3(album / "01 - One.mp3", None)
    (album / "02 - Broken.mp3").write_bytes(b"not an mp3 at all")
    assert find("album", album) == {}
    assert find("track", track) == {}
    assert find("track", album / "02 - Broken.mp3") == {}


def test_artist_art_comes_from_the_artist_folder(tmp_path: Path) -> None:
    artist = tmp_path / "Radiohead"
    touch(artist, "artist.jpg", "fanart.jpg")
    assert find("artist", artist) == {
        "thumb": str(artist / "artist.jpg"),
        "fanart": str(artist / "fanart.jpg"),
    }


def test_a_photo_is_its_own_thumb(tmp_path: Path) -> None:
    assert find("photo", tmp_path / "beach.jpg") == {"thumb": str(tmp_path / "beach.jpg")}


def test_missing_folders_and_paths_give_nothing(tmp_path: Path) -> None:
    assert find("movie", tmp_path / "gone" / "Film.mkv") == {}
    assert find("show", None) == {}
    assert find("unknown", tmp_path) == {}


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_folder_listing_is_reused_while_young_and_unchanged(tmp_path: Path) -> None:
    clock = ManualClock()
    index = FolderIndex(max_age=30.0, clock=clock)
    touch(tmp_path, "poster.jpg")
    assert set(index.images_blocking(tmp_path)) == {"poster"}
    before = tmp_path.stat().st_mtime_ns
    touch(tmp_path, "fanart.jpg")
    os.utime(tmp_path, ns=(before, before))  # same mtime: only the age can expire it
    assert set(index.images_blocking(tmp_path)) == {"poster"}
    clock.now += 31
    assert set(index.images_blocking(tmp_path)) == {"poster", "fanart"}


def test_a_changed_folder_is_listed_again_at_once(tmp_path: Path) -> None:
    index = FolderIndex(clock=ManualClock())
    touch(tmp_path, "poster.jpg")
    assert set(index.images_blocking(tmp_path)) == {"poster"}
    os.utime(tmp_path, ns=(0, 0))
    (tmp_path / "poster.jpg").unlink()
    assert index.images_blocking(tmp_path) == {}


@pytest.mark.parametrize("count", [3, 12])
def test_folder_listings_are_bounded_by_a_total_number_of_names(tmp_path: Path, count: int) -> None:
    index = FolderIndex(max_names=10)
    for number in range(5):
        folder = tmp_path / str(number)
        touch(folder, *(f"poster{i}.jpg" for i in range(count)))
        assert len(index.images_blocking(folder)) == count  # a huge folder still answers
        assert index.cached_names <= 10


def test_folders_without_pictures_are_bounded_too(tmp_path: Path) -> None:
    """A scan lists thousands of folders with no picture: they cost no names, yet each kept
    listing would stay in the server for good."""
    index = FolderIndex(max_folders=4)
    for number in range(20):
        folder = tmp_path / str(number)
        folder.mkdir()
        assert index.images_blocking(folder) == {}
    assert index.cached_folders == 4 and index.cached_names == 0
    touch(tmp_path / "19", "poster.jpg")
    os.utime(tmp_path / "19", ns=(1, 1))  # a changed folder is listed again
    assert set(index.images_blocking(tmp_path / "19")) == {"poster"}


def test_an_albums_embedded_cover_is_found_without_pyav_or_pillow_in_the_process(
    tmp_path: Path,
) -> None:
    """The server runs this finder during a scan: a full probe there would load PyAV and
    Pillow (~20 MB) into the server for good. The tags alone tell, for both answers."""
    with_cover = make_mp3(tmp_path / "A" / "Album" / "01 - One.mp3", jpeg_bytes())
    make_mp3(tmp_path / "B" / "Album" / "01 - One.mp3", None)
    child = """
import logging, sys
from pathlib import Path
from core.kinds import MetadataRequest
from plugins.local_artwork.finder import ArtworkFinder, FolderIndex
finder = ArtworkFinder(FolderIndex(), True, logging.getLogger("t"))
found = [finder.find_blocking(MetadataRequest("album", Path(p), {})) for p in sys.argv[1:]]
print((found, sorted(m for m in ("av", "PIL") if m in sys.modules)))
"""
    done = subprocess.run(
        [sys.executable, "-c", child, str(with_cover.parent), str(tmp_path / "B" / "Album")],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[3],
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(([{"thumb": EMBEDDED_PREFIX + str(with_cover)}, {}], []))
