"""Picking a frame and the worker process that does it, on real files made by ffmpeg."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image, ImageStat

from core.library.frame_worker import FrameWorkerClient
from core.library.frames import FrameError, make_still_blocking
from core.library.roots import LibraryRoot, LibraryRoots
from tests.core.library.stills_media import film
from tests.core.media.mediagen import make_video


def ffmpeg(*args: str) -> None:
    command = [shutil.which("ffmpeg") or "/usr/bin/ffmpeg", "-hide_banner", "-loglevel", "error"]
    subprocess.run([*command, "-y", *args], check=True, timeout=120)


def make(path: Path, tmp_path: Path) -> tuple[float, Image.Image, Image.Image]:
    at = make_still_blocking(str(path), None, tmp_path / "still.jpg", tmp_path / "poster.jpg")
    return at, Image.open(tmp_path / "still.jpg"), Image.open(tmp_path / "poster.jpg")


def test_a_black_opening_is_skipped_for_a_frame_with_a_picture(tmp_path: Path) -> None:
    at, still, poster = make(film(tmp_path / "film.mp4", seconds=8.0, black=1.5), tmp_path)
    assert at >= 1.5
    assert still.size == (320, 180)  # 16:9 as it was, never enlarged
    assert poster.size == (120, 180)  # 2:3 from the same frame
    grey = ImageStat.Stat(still.convert("L"))
    assert grey.mean[0] > 40 and grey.stddev[0] > 20


def test_anamorphic_pixels_are_widened_to_the_display_shape(tmp_path: Path) -> None:
    dvd = tmp_path / "dvd.mpg"
    ffmpeg(
        *("-f", "lavfi", "-i", "testsrc2=s=720x576:r=25:d=4", "-c:v", "mpeg2video"),
        *("-aspect", "16:9", str(dvd)),
    )
    _, still, _ = make(dvd, tmp_path)
    assert abs(still.width / still.height - 16 / 9) < 0.01


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("black", "has only dark or one-colour frames where a picture was looked for"),
        ("short", "is too short for a representative frame (1.0 s)"),
        ("noise", "cannot be opened as a video (Invalid data found when processing input)"),
    ],
)
def test_a_file_without_a_picture_says_why(tmp_path: Path, name: str, reason: str) -> None:
    path = tmp_path / f"{name}.mkv"
    if name == "black":
        ffmpeg("-f", "lavfi", "-i", "color=c=black:s=160x90:r=25:d=6", "-c:v", "libx264", str(path))
    elif name == "short":
        make_video(path, 1.0)
    else:
        path.write_bytes(bytes(range(256)) * 64)
    with pytest.raises(FrameError) as caught:
        make(path, tmp_path)
    assert str(caught.value) == reason
    assert not (tmp_path / "still.jpg").exists()


async def test_a_worker_that_runs_out_of_time_is_replaced(tmp_path: Path) -> None:
    path = film(tmp_path / "film.mp4", seconds=6.0, black=0.5)
    client = FrameWorkerClient(timeout=0)
    roots = LibraryRoots([LibraryRoot(str(tmp_path))])
    try:
        late = await client.make(str(path), None, tmp_path / "a.jpg", tmp_path / "a-p.jpg", roots)
        assert (late.reason, late.lasting) == ("took longer than 0 s", False)
        client.timeout = 60
        made = await client.make(str(path), None, tmp_path / "b.jpg", tmp_path / "b-p.jpg", roots)
        assert made.reason is None and made.at is not None
        assert (tmp_path / "b.jpg").is_file() and (tmp_path / "b-p.jpg").is_file()
        damaged = await client.make(
            str(tmp_path / "missing.mkv"), None, tmp_path / "c.jpg", tmp_path / "c-p.jpg", roots
        )
        assert damaged.reason == "cannot be opened as a video (No such file or directory)"
        assert damaged.lasting
    finally:
        await client.close()


async def test_a_film_swapped_for_a_link_out_after_the_check_is_not_decoded(
    tmp_path: Path,
) -> None:
    """The server checked the path; by the time the worker decodes it, it links outside every
    library folder: the worker checks the file it opened again and decodes nothing."""
    library, outside = tmp_path / "Movies", tmp_path / "outside"
    library.mkdir()
    outside.mkdir()
    secret = film(outside / "secret.mp4", seconds=6.0, black=0.5)
    swapped = library / "Film (2001).mp4"
    swapped.symlink_to(secret)
    client = FrameWorkerClient()
    roots = LibraryRoots([LibraryRoot(str(library))])
    try:
        outcome = await client.make(
            str(swapped), None, tmp_path / "s.jpg", tmp_path / "s-p.jpg", roots
        )
    finally:
        await client.close()
    assert (outcome.reason, outcome.lasting) == ("leads outside every library folder now", False)
    assert not (tmp_path / "s.jpg").exists() and not (tmp_path / "s-p.jpg").exists()
