"""probe_blocking against real files made by PyAV, mutagen and Pillow, field by field."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from core.media.probe import ProbeError, ProbeResult, extract_cover_blocking, probe_blocking
from core.media.tags import AudioTags
from tests.core.media.mediagen import (
    SubtitleTrack,
    make_audio,
    make_image_bytes,
    make_photo,
    make_video,
    truncate,
)

COVER = make_image_bytes((16, 16))
TAGS = AudioTags(
    title="Paranoid Android",
    artists=("Radiohead",),
    album="OK Computer",
    album_artists=("Radiohead",),
    track_number=2,
    track_total=12,
    disc_number=1,
    disc_total=1,
    date="1997-05-21",
    genres=("Alternative", "Rock"),
    compilation=False,
    musicbrainz_track_id="8f0d6c6c-0000-4000-8000-000000000001",
    musicbrainz_release_track_id="8f0d6c6c-0000-4000-8000-000000000002",
    musicbrainz_album_id="8f0d6c6c-0000-4000-8000-000000000003",
    musicbrainz_artist_id="a74b1b7f-71a5-4011-9441-d0b5e4122711",
    musicbrainz_album_artist_id="a74b1b7f-71a5-4011-9441-d0b5e4122711",
    musicbrainz_release_group_id="8f0d6c6c-0000-4000-8000-000000000004",
)
COMPILATION = AudioTags(
    title="Track",
    artists=("One", "Two"),
    album="Hits",
    album_artists=("Various Artists",),
    track_number=7,
    disc_number=2,
    disc_total=3,
    date="2001",
    compilation=True,
)


@dataclass(frozen=True)
class Case:
    """A file to make and what probing it must report; `streams` lists expected stream fields."""

    name: str
    make: Callable[[Path], Path]
    kind: str
    container: str
    duration: float | None
    streams: list[dict[str, Any]] = field(default_factory=list)
    tags: AudioTags | None = None
    has_cover_art: bool = False
    photo: dict[str, Any] | None = None


H264 = {"kind": "video", "codec": "h264", "profile": "High", "pix_fmt": "yuv420p"}
AAC = {"kind": "audio", "codec": "aac", "profile": "LC", "channels": 2, "sample_rate": 48000}

CASES = [
    Case(
        "clip.mp4",
        lambda p: make_video(p, 2.0, size=(64, 48)),
        "video",
        "mov,mp4,m4a,3gp,3g2,mj2",
        2.0,
        [
            {**H264, "index": 0, "width": 64, "height": 48, "frame_rate": 25.0, "default": True},
            {**AAC, "index": 1, "language": "eng", "default": True},
        ],
    ),
    Case(
        "film.mkv",
        lambda p: make_video(
            p,
            1.0,
            size=(96, 64),
            fps=24,
            audio_languages=("eng", "fre"),
            subtitles=(
                SubtitleTrack("eng", title="Signs", forced=True),
                SubtitleTrack("ger", default=True),
            ),
            cover=COVER,
        ),
        "video",
        "matroska,webm",
        1.0,
        [
            {**H264, "index": 0, "width": 96, "height": 64, "frame_rate": 24.0},
            {**AAC, "index": 1, "language": "eng"},
            {**AAC, "index": 2, "language": "fre"},
            {"index": 3, "kind": "subtitle", "codec": "subrip", "language": "eng"}
            | {"title": "Signs", "forced": True, "default": False, "text_based": True},
            {"index": 4, "kind": "subtitle", "codec": "subrip", "language": "ger"}
            | {"forced": False, "default": True},
        ],
        has_cover_art=True,
    ),
    Case(
        "mpeg4.avi",
        lambda p: make_video(p, 1.0, vcodec="mpeg4", acodec="libmp3lame", size=(32, 32)),
        "video",
        "avi",
        1.0,
        [
            {"kind": "video", "codec": "mpeg4", "width": 32, "height": 32, "frame_rate": 25.0},
            {"kind": "audio", "codec": "mp3", "channels": 2, "sample_rate": 48000},
        ],
    ),
    Case(
        "song.mp3",
        lambda p: make_audio(p, 1.5, tags=TAGS, cover=COVER),
        "audio",
        "mp3",
        1.5,
        [{"kind": "audio", "codec": "mp3", "channels": 2, "bit_rate": 128000}],
        tags=TAGS,
        has_cover_art=True,
    ),
    Case(
        "song.flac",
        lambda p: make_audio(p, 1.0, tags=TAGS, cover=COVER, sample_rate=44100),
        "audio",
        "flac",
        1.0,
        [{"kind": "audio", "codec": "flac", "channels": 2, "sample_rate": 44100}],
        tags=TAGS,
        has_cover_art=True,
    ),
    Case(
        "various.m4a",
        lambda p: make_audio(p, 1.0, tags=COMPILATION),
        "audio",
        "mov,mp4,m4a,3gp,3g2,mj2",
        1.0,
        [{"kind": "audio", "codec": "aac", "channels": 2}],
        tags=COMPILATION,
    ),
    Case(
        "voice.opus",
        lambda p: make_audio(p, 1.0, tags=TAGS, cover=COVER),
        "audio",
        "ogg",
        1.0,
        [{"kind": "audio", "codec": "opus", "channels": 2, "sample_rate": 48000}],
        tags=TAGS,
        has_cover_art=True,
    ),
    Case(
        "untagged.mp3",
        lambda p: make_audio(p, 1.0),
        "audio",
        "mp3",
        1.0,
        [{"kind": "audio", "codec": "mp3"}],
        tags=AudioTags(),
    ),
    Case(
        "IMG_0001.jpg",
        lambda p: make_photo(p, (40, 30), exif_date=datetime(2023, 8, 14, 9, 30, 5)),
        "photo",
        "jpeg",
        None,
        photo={"width": 40, "height": 30, "taken_at": datetime(2023, 8, 14, 9, 30, 5)},
    ),
    Case(
        "portrait.jpg",
        lambda p: make_photo(
            p, (40, 30), exif_date=datetime(2022, 1, 2, 3, 4, 5), orientation=6, utc_offset="-05:00"
        ),
        "photo",
        "jpeg",
        None,
        photo={
            "width": 40,
            "height": 30,
            "orientation": 6,
            "display_size": (30, 40),
            "taken_at": datetime(2022, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=-5))),
        },
    ),
    Case(
        "scan.png",
        lambda p: make_photo(p, (20, 10), exif_date=datetime(2020, 2, 29, 12, 0, 0)),
        "photo",
        "png",
        None,
        photo={"width": 20, "height": 10, "taken_at": datetime(2020, 2, 29, 12, 0, 0)},
    ),
    Case(  # an iPhone photo: stored turned, with a rotation the reader applies
        "IMG_0002.HEIC",
        lambda p: make_photo(
            p, (64, 32), exif_date=datetime(2024, 5, 6, 7, 8, 9), orientation=6, utc_offset="+02:00"
        ),
        "photo",
        "heif",
        None,
        photo={
            "width": 32,
            "height": 64,
            "orientation": 1,  # already applied: turning it again would lay it on its side
            "display_size": (32, 64),
            "taken_at": datetime(2024, 5, 6, 7, 8, 9, tzinfo=timezone(timedelta(hours=2))),
        },
    ),
    Case(
        "web.webp",
        lambda p: make_photo(p, (24, 24)),
        "photo",
        "webp",
        None,
        photo={"width": 24, "height": 24, "taken_at": None, "orientation": None},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_probe_reports_what_the_file_holds(tmp_path: Path, case: Case) -> None:
    result = probe_blocking(case.make(tmp_path / case.name))

    assert result.kind == case.kind
    assert result.container == case.container
    assert result.size == (tmp_path / case.name).stat().st_size
    if case.duration is None:
        assert result.duration is None
    else:
        assert result.duration == pytest.approx(case.duration, abs=0.1)
        assert result.bit_rate is not None and result.bit_rate > 0
    assert len(result.streams) == len(case.streams)
    for stream, expected in zip(result.streams, case.streams, strict=True):
        for name, value in expected.items():
            assert getattr(stream, name) == value, f"stream {stream.index} {name}"
    assert result.tags == case.tags
    assert result.has_cover_art is case.has_cover_art
    if case.photo is not None:
        assert result.photo is not None
        for name, value in case.photo.items():
            assert getattr(result.photo, name) == value, name


def test_embedded_subtitles_are_listed_in_stream_order(tmp_path: Path) -> None:
    path = make_video(
        tmp_path / "subs.mkv",
        subtitles=(SubtitleTrack("spa"), SubtitleTrack("jpn"), SubtitleTrack("und")),
    )

    subtitles = probe_blocking(path).subtitle_streams

    assert [s.language for s in subtitles] == ["spa", "jpn", None]
    assert all(s.codec == "subrip" and s.text_based for s in subtitles)


def test_audio_tags_read_from_video_free_m4a_and_compilation_flag(tmp_path: Path) -> None:
    tags = probe_blocking(make_audio(tmp_path / "c.m4a", tags=COMPILATION)).tags

    assert tags is not None
    assert tags.compilation is True
    assert tags.artist == "One; Two"
    assert (tags.track_number, tags.track_total) == (7, None)
    assert (tags.disc_number, tags.disc_total) == (2, 3)
    assert tags.year == 2001


@pytest.mark.parametrize("name", ["cover.mp3", "cover.flac", "cover.m4a", "cover.opus"])
def test_extract_cover_returns_the_embedded_picture(tmp_path: Path, name: str) -> None:
    path = make_audio(tmp_path / name, tags=TAGS, cover=COVER)

    cover = extract_cover_blocking(path)

    assert cover is not None
    assert (cover.data, cover.mime_type) == (COVER, "image/jpeg")


def test_extract_cover_reads_a_matroska_cover_attachment(tmp_path: Path) -> None:
    cover = extract_cover_blocking(make_video(tmp_path / "v.mkv", cover=COVER))

    assert cover is not None and cover.data == COVER and cover.mime_type == "image/jpeg"


def test_extract_cover_is_none_without_a_picture(tmp_path: Path) -> None:
    assert extract_cover_blocking(make_audio(tmp_path / "plain.flac", tags=TAGS)) is None
    assert extract_cover_blocking(make_video(tmp_path / "plain.mp4")) is None


# --- hostile files ---------------------------------------------------------------------------


def _zero(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def _random(path: Path) -> Path:
    path.write_bytes(os.urandom(64 * 1024))
    return path


def _text(path: Path) -> Path:
    path.write_text("this is not a video\n" * 100)
    return path


def _directory(path: Path) -> Path:
    path.mkdir()
    return path


def _fifo(path: Path) -> Path:
    os.mkfifo(path)  # opening it would block for ever
    return path


def _vanished(path: Path) -> Path:
    make_video(path).unlink()
    return path


def _playlist_to_network(path: Path) -> Path:
    # A concat script would make FFmpeg fetch a URL; probing must never reach the network.
    path.write_text("ffconcat version 1.0\nfile 'http://198.18.0.1/movie.mkv'\n")
    return path


def _subtitles_only(path: Path) -> Path:
    return make_video(path, vcodec=None, acodec=None, subtitles=(SubtitleTrack("eng"),))


HOSTILE: dict[str, tuple[str, Callable[[Path], Path], str]] = {
    "zero-byte": ("empty.mkv", _zero, "is empty (0 bytes)"),
    "random-bytes": ("noise.mkv", _random, "not a media file"),
    "text-as-mp4": ("notes.mp4", _text, "not a media file"),
    "truncated-mkv-10%": ("cut.mkv", lambda p: truncate(make_video(p, 2.0), 0.1), "cut short"),
    "truncated-mkv-60%": ("cut.mkv", lambda p: truncate(make_video(p, 2.0), 0.6), "cut short"),
    "truncated-mkv-99%": ("cut.mkv", lambda p: truncate(make_video(p, 2.0), 0.99), "cut short"),
    "truncated-mp4-50%": ("cut.mp4", lambda p: truncate(make_video(p, 2.0), 0.5), "cut short"),
    "truncated-mp4-95%": ("cut.mp4", lambda p: truncate(make_video(p, 2.0), 0.95), "cut short"),
    "truncated-mp3-1%": ("cut.mp3", lambda p: truncate(make_audio(p, 1.0), 0.01), "not a media"),
    "directory": ("folder.mkv", _directory, "is a directory"),
    "vanished": ("gone.mkv", _vanished, "does not exist"),
    "named-pipe": ("pipe.mkv", _fifo, "not a regular file"),
    "network-playlist": ("evil.mkv", _playlist_to_network, "cannot be read"),
    "subtitles-only": ("subs.mkv", _subtitles_only, "no audio or video stream"),
    "broken-jpeg": ("photo.jpg", _random, "not an image"),
    "truncated-jpeg": ("photo.jpg", lambda p: truncate(make_photo(p), 0.05), "damaged"),
}


@pytest.mark.parametrize("case", HOSTILE.values(), ids=HOSTILE.keys())
def test_bad_files_raise_one_clear_probe_error(
    tmp_path: Path, case: tuple[str, Callable[[Path], Path], str]
) -> None:
    name, make, words = case
    path = make(tmp_path / name)

    with pytest.raises(ProbeError) as raised:
        probe_blocking(path)

    assert str(raised.value) == f"{path}: {raised.value.problem}"
    assert raised.value.path == str(path)
    assert words in raised.value.problem


def test_unreadable_file_is_a_probe_error(tmp_path: Path) -> None:
    path = make_video(tmp_path / "secret.mkv")
    path.chmod(0)

    assert _probe_problem_as_nobody(path) == "cannot be read: permission denied"


def _probe_problem_as_nobody(path: Path) -> str:
    """The ProbeError problem text when probing without read permission.

    Tests run as root, who may read anything, so a forked child drops to `nobody` first.
    """
    if os.geteuid() != 0:
        with pytest.raises(ProbeError) as raised:
            probe_blocking(path)
        return raised.value.problem
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        try:
            os.setgid(65534)
            os.setuid(65534)
            try:
                probe_blocking(path)
                message = "no error"
            except ProbeError as err:
                message = err.problem
            os.write(write_end, message.encode())
        finally:
            os._exit(0)
    os.close(write_end)
    os.waitpid(pid, 0)
    with os.fdopen(read_end, "rb") as pipe:
        return pipe.read().decode()


def test_non_utf8_and_255_byte_names_probe(tmp_path: Path) -> None:
    latin1 = tmp_path / os.fsdecode(b"Am\xe9lie (2001).mp4")
    longest = tmp_path / ("é" * 125 + "x.mkv")  # 255 bytes in UTF-8
    song = tmp_path / os.fsdecode(b"\xe9t\xe9 \xff.mp3")
    assert len(os.fsencode(longest.name)) == 255

    for path in (make_video(latin1), make_video(longest)):
        assert probe_blocking(path).kind == "video"
    make_audio(song, tags=TAGS, cover=COVER)
    assert probe_blocking(song).tags == TAGS
    assert extract_cover_blocking(song) is not None


def test_a_colon_in_a_relative_name_is_not_a_protocol(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_video(tmp_path / "Star Wars: A New Hope.mp4")
    make_video(tmp_path / "http:clip.mp4")
    monkeypatch.chdir(tmp_path)

    assert probe_blocking("Star Wars: A New Hope.mp4").kind == "video"
    assert probe_blocking("http:clip.mp4").kind == "video"


def test_heic_without_plugin_says_what_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = make_photo(tmp_path / "IMG_0001.heic")
    monkeypatch.setitem(sys.modules, "pillow_heif", None)  # what `import` meets when it is absent

    with pytest.raises(ProbeError, match="need the pillow-heif package"):
        probe_blocking(path)


def test_probe_error_survives_pickling_with_its_fields() -> None:
    error = ProbeError("/media/a.mkv", "is empty (0 bytes)")

    copy = pickle.loads(pickle.dumps(error))

    assert (copy.path, copy.problem, str(copy)) == (error.path, error.problem, str(error))


@pytest.mark.parametrize("method", ["spawn", "fork"])
def test_probe_works_in_worker_processes(tmp_path: Path, method: str) -> None:
    video = make_video(tmp_path / "v.mkv", audio_languages=("eng", "ger"))
    song = make_audio(tmp_path / "s.mp3", tags=TAGS, cover=COVER)
    broken = _zero(tmp_path / "broken.mkv")
    context = multiprocessing.get_context(method)

    with ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
        results = list(pool.map(probe_blocking, [video, song]))
        failure = pool.submit(probe_blocking, broken).exception()

    assert results == [probe_blocking(video), probe_blocking(song)]
    assert all(isinstance(result, ProbeResult) for result in results)
    assert isinstance(failure, ProbeError) and failure.problem == "is empty (0 bytes)"


@pytest.mark.parametrize(
    ("name", "vcodec", "acodec", "languages"),
    [
        ("movie.mkv", "libx264", "aac", ("eng", "fre")),
        ("movie.mp4", "libx264", "aac", ("eng",)),
        ("hevc.mkv", "libx265", "flac", ("eng",)),
        ("clip.webm", "libvpx-vp9", "libopus", ("eng",)),
        ("song.ogg", None, "libopus", ("eng",)),
        ("old.avi", "mpeg4", "mp3", ("eng",)),
        ("song.mp3", None, "mp3", ("eng",)),
        ("song.flac", None, "flac", ("eng",)),
        ("recording.ts", "libx264", "aac", ("eng", "ger")),
        ("camcorder.mpg", "mpeg2video", "mp2", ("eng",)),
        ("stream.flv", "libx264", "aac", ("eng",)),
    ],
)
def test_the_short_header_read_gives_what_a_full_probe_gives(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    vcodec: str | None,
    acodec: str,
    languages: tuple[str, ...],
) -> None:
    """probe_blocking first opens a file reading only 8 KB (probe._HEADER_ONLY) and keeps that
    only when nothing is missing; MPEG-TS, MPEG-PS and FLV, whose streams may appear later,
    always get the full probe. Either way the result is the full probe's."""
    from core.media import probe

    path = make_video(tmp_path / name, 1.0, vcodec=vcodec, acodec=acodec, audio_languages=languages)
    opened: list[dict[str, str]] = []
    read = probe._read_container

    def counted(file: str, source: str, size: int, options: dict[str, str]) -> ProbeResult:
        opened.append(options)
        return read(file, source, size, options)

    monkeypatch.setattr(probe, "_read_container", counted)
    found = probe_blocking(path)
    if name.endswith((".ts", ".mpg", ".flv")):  # streams may appear later: always in full
        assert opened == [probe._HEADER_ONLY, probe._CONTAINER_OPTIONS]
    else:
        assert opened == [probe._HEADER_ONLY]  # the header alone said everything
    monkeypatch.setattr(probe, "_HEADER_ONLY", probe._CONTAINER_OPTIONS)
    assert probe_blocking(path) == found
    assert len([s for s in found.streams if s.kind == "audio"]) == len(languages)
