"""classify: the kind of file a library-relative path names."""

from __future__ import annotations

import os

import pytest

from core.media.classify import FileKind, classify, is_ignored_directory

V, A, P, S, N, R, X = (
    FileKind.VIDEO,
    FileKind.AUDIO,
    FileKind.PHOTO,
    FileKind.SUBTITLE,
    FileKind.NFO,
    FileKind.ARTWORK,
    FileKind.IGNORED,
)

TABLE = [
    ("Movies/Blade Runner (1982)/Blade Runner (1982).mkv", V),
    ("Blade Runner (1982)/BLADE RUNNER (1982).MKV", V),
    ("TV/Show/Season 01/Show - S01E02.m2ts", V),
    ("home/clip.MOV", V),
    ("Music/Artist/Album/01 - Title.flac", A),
    ("Music/Artist/Album/01 - Title.M4A", A),
    ("Audiobooks/Book.m4b", A),
    ("Photos/2023/IMG_0001.JPG", P),
    ("Photos/2023/IMG_0002.heic", P),
    ("Photos/2023/CANON_0003.HIF", P),  # Canon cameras write HEIF as .hif
    ("Photos/scan.tiff", P),
    ("Movie (2000)/Movie (2000).en.forced.srt", S),
    ("Movie (2000)/Movie (2000).idx", S),
    ("Movie (2000)/Movie (2000).sup", S),
    ("Movie (2000)/movie.nfo", N),
    ("Show/tvshow.NFO", N),
    ("Movie (2000)/poster.jpg", R),
    ("Movie (2000)/folder.jpg", R),
    ("Music/Artist/Album/cover.jpg", R),
    ("Music/Artist/Album/Folder.PNG", R),
    ("Movie (2000)/fanart.jpg", R),
    ("Movie (2000)/fanart2.jpg", R),
    ("Show/banner.jpg", R),
    ("Show/season01-poster.jpg", R),
    ("Show/season-specials-poster.jpg", R),
    ("Movie (2000)/Movie (2000)-poster.jpg", R),
    ("Show/Season 01/Show - S01E02-thumb.jpg", R),
    ("Show/Season 01/Show - S01E02.tbn", R),
    ("Music/Artist/Album/AlbumArtSmall.jpg", R),
    ("Photos/2023/thumbnail-of-dog.jpg", P),
    (".hidden.mkv", X),
    ("Movie/._Movie.mkv", X),
    ("Movie/.AppleDouble/Movie.mkv", X),
    ("@eaDir/Movie.mkv/SYNOVIDEO_VIDEO_SCREENSHOT.jpg", X),
    ("Movies/@eaDir/x.mkv", X),
    ("lost+found/#12345.mkv", X),
    ("$RECYCLE.BIN/x.mp3", X),
    ("System Volume Information/x.jpg", X),
    ("#recycle/old.mkv", X),
    (".Trash-1000/files/x.mkv", X),
    ("Movie (2000)/Sample/movie-sample.mkv", X),
    ("Movie (2000)/movie-sample.mkv", X),
    ("Movie (2000)/Movie.2000.SAMPLE.mkv", X),
    ("Movie (2000)/sample.mkv", X),
    ("Movie (2000)/sample-movie.2000.mkv", X),
    ("Sample People (2000)/Sample People (2000).mkv", V),
    ("Music/Samples/01 - Loop.flac", A),
    ("Movie (2000)/Movie.mkv.part", X),
    ("Movie (2000)/Thumbs.db", X),
    ("Movie (2000)/desktop.ini", X),
    ("Movie (2000)/notes.txt", X),
    ("README", X),
    (".mkv", X),
]


@pytest.mark.parametrize(("path", "kind"), TABLE)
def test_classify_by_name(path: str, kind: FileKind) -> None:
    assert classify(path) == kind


def test_classify_accepts_path_objects_and_odd_names() -> None:
    from pathlib import PurePosixPath

    assert classify(PurePosixPath("a/b.mkv")) == FileKind.VIDEO
    assert classify(os.fsdecode(b"Am\xe9lie.mkv")) == FileKind.VIDEO
    assert classify("é" * 125 + "x.mkv") == FileKind.VIDEO
    assert classify("") == FileKind.IGNORED


@pytest.mark.parametrize(
    ("name", "ignored"),
    [
        ("@eaDir", True),
        (".AppleDouble", True),
        ("lost+found", True),
        (".git", True),
        ("$Recycle.Bin", True),
        ("Sample", False),  # samples are ignored for videos only, by classify
        ("Season 01", False),
    ],
)
def test_is_ignored_directory(name: str, ignored: bool) -> None:
    assert is_ignored_directory(name) is ignored
