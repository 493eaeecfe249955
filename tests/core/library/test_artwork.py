"""Thumbnails made from real JPEG, PNG and embedded covers, cached on disk and pruned."""

from __future__ import annotations

import io
import os
import struct
import subprocess
import sys
import zlib
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import pytest
from mutagen.id3 import APIC, ID3
from PIL import Image

from core.library.artwork import (
    ALLOWED_SIZES,
    ArtworkError,
    allowed_size,
    cache_size_blocking,
    fitted_jpeg_blocking,
    prune_cache_blocking,
    thumbnail_blocking,
)
from core.library.fields import EMBEDDED_PREFIX
from core.library.roots import LibraryRoot, LibraryRoots
from tests.core.media.mediagen import make_photo

ORIENTATION = 0x0112
ROTATED_90_CW = 6  # EXIF: the stored pixels must be turned 90° clockwise to be upright


def inside(folder: Path) -> LibraryRoots:
    """The test's own folder as the one library folder."""
    return LibraryRoots([LibraryRoot(str(folder))])


def save_image(path: Path, size: tuple[int, int], fmt: str = "JPEG", **options: Any) -> Path:
    mode = "RGBA" if fmt == "PNG" else "RGB"
    Image.new(mode, size, (20, 120, 200, 255)).save(path, fmt, **options)
    return path


def open_thumb(path: Path) -> Image.Image:
    image = Image.open(path)
    image.load()
    return image


def png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG that claims to be enormous in a few bytes: a decompression bomb's header."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    data = zlib.compress(b"\x00" * 64)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )
    return path


def mp3_with_cover(path: Path, cover: bytes | None) -> Path:
    with av.open(str(path), "w") as container:
        stream: Any = container.add_stream("libmp3lame", rate=44100)
        stream.layout = "mono"
        frame = av.AudioFrame(format="s16", layout="mono", samples=4410)
        frame.planes[0].update(bytes(frame.planes[0].buffer_size))
        frame.sample_rate = 44100
        frame.time_base = Fraction(1, 44100)
        frame.pts = 0
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    if cover is not None:
        tags = ID3()
        tags.add(APIC(encoding=3, mime="image/jpeg", type=3, desc="Cover", data=cover))
        tags.save(path)
    return path


def test_a_poster_is_fitted_into_the_box_keeping_its_aspect(tmp_path: Path) -> None:
    poster = save_image(tmp_path / "poster.jpg", (1000, 1500))
    thumb = thumbnail_blocking(str(poster), 320, tmp_path / "cache", inside(tmp_path))
    image = open_thumb(thumb)
    assert (image.format, image.mode, image.size) == ("JPEG", "RGB", (213, 320))
    assert image.info.get("progressive") == 1
    assert thumb.is_relative_to(tmp_path / "cache")


def test_sizes_snap_up_to_the_allowed_boxes() -> None:
    assert [allowed_size(s) for s in (-5, 1, 160, 161, 500, 1080, 99999)] == [
        160,
        160,
        160,
        320,
        720,
        1080,
        1080,
    ]


def test_odd_sizes_share_one_cached_thumbnail(tmp_path: Path) -> None:
    poster = save_image(tmp_path / "poster.jpg", (2000, 1000))
    first = thumbnail_blocking(str(poster), 300, tmp_path / "cache", inside(tmp_path))
    assert thumbnail_blocking(str(poster), 301, tmp_path / "cache", inside(tmp_path)) == first
    assert open_thumb(first).size == (320, 160)
    assert len(list((tmp_path / "cache").rglob("*.jpg"))) == 1


def test_a_small_image_is_never_enlarged(tmp_path: Path) -> None:
    small = save_image(tmp_path / "small.png", (100, 150), "PNG")
    assert open_thumb(
        thumbnail_blocking(str(small), 1080, tmp_path / "cache", inside(tmp_path))
    ).size == (100, 150)


def test_exif_orientation_is_applied_and_exif_is_not_copied(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[ORIENTATION] = ROTATED_90_CW
    exif[0x010F] = "PhoneMaker"
    photo = save_image(tmp_path / "photo.jpg", (400, 200), exif=exif.tobytes())
    image = open_thumb(thumbnail_blocking(str(photo), 160, tmp_path / "cache", inside(tmp_path)))
    assert image.size == (80, 160)
    assert not image.getexif()


def test_transparent_png_is_flattened_to_rgb(tmp_path: Path) -> None:
    logo = tmp_path / "clearlogo.png"
    Image.new("RGBA", (64, 32), (255, 255, 255, 0)).save(logo)
    image = open_thumb(thumbnail_blocking(str(logo), 160, tmp_path / "cache", inside(tmp_path)))
    assert image.mode == "RGB"
    assert max(image.getpixel((10, 10))) < 10  # transparent became the dark background


def test_second_request_is_served_from_the_cache_without_re_encoding(tmp_path: Path) -> None:
    poster = save_image(tmp_path / "poster.jpg", (600, 900))
    first = thumbnail_blocking(str(poster), 480, tmp_path / "cache", inside(tmp_path))
    before = first.stat()
    second = thumbnail_blocking(str(poster), 480, tmp_path / "cache", inside(tmp_path))
    after = second.stat()
    assert second == first
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_a_replaced_poster_gets_a_new_thumbnail(tmp_path: Path) -> None:
    poster = save_image(tmp_path / "poster.jpg", (600, 900))
    first = thumbnail_blocking(str(poster), 480, tmp_path / "cache", inside(tmp_path))
    save_image(poster, (900, 600))
    os.utime(poster, ns=(1, poster.stat().st_mtime_ns + 1_000_000_000))
    second = thumbnail_blocking(str(poster), 480, tmp_path / "cache", inside(tmp_path))
    assert second != first
    assert open_thumb(second).size == (480, 320)


def test_an_empty_cached_file_left_by_a_crash_is_made_again(tmp_path: Path) -> None:
    poster = save_image(tmp_path / "poster.jpg", (600, 900))
    thumb = thumbnail_blocking(str(poster), 160, tmp_path / "cache", inside(tmp_path))
    thumb.write_bytes(b"")
    assert (
        thumbnail_blocking(str(poster), 160, tmp_path / "cache", inside(tmp_path)).stat().st_size
        > 0
    )


def test_no_temporary_files_are_left_behind(tmp_path: Path) -> None:
    poster = save_image(tmp_path / "poster.jpg", (600, 900))
    for size in ALLOWED_SIZES:
        thumbnail_blocking(str(poster), size, tmp_path / "cache", inside(tmp_path))
    names = [p.name for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    assert len(names) == len(ALLOWED_SIZES)
    assert all(name.endswith(".jpg") for name in names)


def test_embedded_mp3_cover_becomes_a_thumbnail(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (500, 500), (250, 0, 0)).save(buffer, "JPEG")
    track = mp3_with_cover(tmp_path / "song.mp3", buffer.getvalue())
    image = open_thumb(
        thumbnail_blocking(EMBEDDED_PREFIX + str(track), 160, tmp_path / "cache", inside(tmp_path))
    )
    assert image.size == (160, 160)
    red, green, _ = image.getpixel((80, 80))
    assert red > 200 and green < 50


@pytest.mark.parametrize(
    ("make_ref", "problem"),
    [
        (lambda tmp: str(tmp / "missing.jpg"), "does not exist"),
        (lambda tmp: "poster.jpg", "is not an absolute path"),
        (lambda tmp: "https://example.com/poster.jpg", "is not an absolute path"),
        (lambda tmp: EMBEDDED_PREFIX + str(mp3_with_cover(tmp / "bare.mp3", None)), "no embedded"),
        (lambda tmp: EMBEDDED_PREFIX + str(tmp / "gone.mp3"), "does not exist"),
    ],
)
def test_unusable_references_raise_one_artwork_error(
    tmp_path: Path, make_ref: Any, problem: str
) -> None:
    ref = make_ref(tmp_path)
    with pytest.raises(ArtworkError, match=problem) as caught:
        thumbnail_blocking(ref, 320, tmp_path / "cache", inside(tmp_path))
    assert caught.value.ref == ref


def test_a_file_that_is_not_an_image_raises_artwork_error(tmp_path: Path) -> None:
    fake = tmp_path / "poster.jpg"
    fake.write_bytes(b"<html>not found</html>")
    with pytest.raises(ArtworkError, match="not an image"):
        thumbnail_blocking(str(fake), 320, tmp_path / "cache", inside(tmp_path))


def test_a_cut_short_jpeg_raises_artwork_error(tmp_path: Path) -> None:
    poster = save_image(tmp_path / "poster.jpg", (800, 1200))
    poster.write_bytes(poster.read_bytes()[:2000])
    with pytest.raises(ArtworkError, match="damaged or cut short"):
        thumbnail_blocking(str(poster), 320, tmp_path / "cache", inside(tmp_path))
    assert not list((tmp_path / "cache").rglob("*.*"))


def test_a_decompression_bomb_raises_artwork_error(tmp_path: Path) -> None:
    bomb = png_header_only(tmp_path / "bomb.png", 50_000, 50_000)
    with pytest.raises(ArtworkError, match="too large an image"):
        thumbnail_blocking(str(bomb), 320, tmp_path / "cache", inside(tmp_path))


def test_an_image_over_the_pixel_limit_is_refused_before_decoding(tmp_path: Path) -> None:
    big = png_header_only(tmp_path / "big.png", 8_000, 8_000)  # under Pillow's own limit
    with pytest.raises(ArtworkError, match="8000x8000, too large"):
        thumbnail_blocking(str(big), 320, tmp_path / "cache", inside(tmp_path))


def test_cache_size_and_pruning_drop_the_least_recently_used_first(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    thumbs = []
    for number in range(4):
        poster = save_image(tmp_path / f"poster{number}.jpg", (300 + number, 450))
        thumbs.append(thumbnail_blocking(str(poster), 320, cache, inside(tmp_path)))
    sizes = [thumb.stat().st_size for thumb in thumbs]
    assert cache_size_blocking(cache) == sum(sizes)
    for age, thumb in zip((400, 100, 300, 200), thumbs, strict=True):
        stamp = thumb.stat().st_mtime
        os.utime(thumb, (stamp - age * 86_400, stamp))
    stale = cache / "ab" / "leftover.tmp"
    stale.parent.mkdir(exist_ok=True)
    stale.write_bytes(b"x" * 10)
    os.utime(stale, (1, 1))

    freed = prune_cache_blocking(cache, sizes[1] + sizes[3])

    assert [thumb.exists() for thumb in thumbs] == [False, True, False, True]
    assert not stale.exists()
    assert freed == sizes[0] + sizes[2] + 10
    assert cache_size_blocking(cache) == sizes[1] + sizes[3]


def test_pruning_a_missing_cache_frees_nothing(tmp_path: Path) -> None:
    assert prune_cache_blocking(tmp_path / "none", 0) == 0
    assert cache_size_blocking(tmp_path / "none") == 0


def test_an_iphone_heic_is_made_upright_by_a_process_that_never_met_one(tmp_path: Path) -> None:
    """In a fresh interpreter: the artwork code itself must teach Pillow HEIC."""
    photo = make_photo(tmp_path / "IMG_0001.HEIC", (1600, 1200), orientation=6)
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from core.library.artwork import thumbnail_blocking\n"
        "from core.library.roots import LibraryRoot, LibraryRoots\n"
        "roots = LibraryRoots([LibraryRoot(sys.argv[3])])\n"
        "print(thumbnail_blocking(sys.argv[1], 480, Path(sys.argv[2]), roots))\n"
    )
    made = subprocess.run(
        [sys.executable, "-c", script, str(photo), str(tmp_path / "cache"), str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    )

    image = open_thumb(Path(made.stdout.strip()))
    assert image.format == "JPEG"
    assert image.size == (360, 480)  # seen 1200x1600: stored turned, with a HEIF rotation
    assert not image.getexif()


def test_a_fixed_box_beyond_the_allowed_sizes_is_honoured_and_cached(tmp_path: Path) -> None:
    photo = make_photo(tmp_path / "IMG_0002.heic", (2400, 1800))
    first = fitted_jpeg_blocking(str(photo), 1920, tmp_path / "cache", inside(tmp_path))
    again = fitted_jpeg_blocking(str(photo), 1920, tmp_path / "cache", inside(tmp_path))

    assert first == again
    assert open_thumb(first).size == (1920, 1440)
    assert (
        thumbnail_blocking(str(photo), 1920, tmp_path / "cache", inside(tmp_path)) != first
    )  # snapped to 1080


def test_a_heic_without_pillow_heif_says_what_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    photo = make_photo(tmp_path / "IMG_0003.heic")
    monkeypatch.setitem(sys.modules, "pillow_heif", None)  # what `import` meets when it is absent

    with pytest.raises(ArtworkError, match="need the pillow-heif package"):
        thumbnail_blocking(str(photo), 160, tmp_path / "cache", inside(tmp_path))


def test_no_more_than_two_images_are_decoded_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A TV asking for a page of thumbnails at once must not decode them all side by side (a
    12 MP HEIC needs ~140 MB while it is resized); the sixth waits for a turn."""
    from concurrent.futures import ThreadPoolExecutor
    from threading import Lock
    from time import sleep

    from core.library import artwork

    photos = [make_photo(tmp_path / f"p{n}.jpg", (64, 48)) for n in range(6)]
    lock, active, peak = Lock(), [0], [0]
    fit = artwork._fit

    def slow_fit(ref: str, image: Any, box: int) -> Any:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        sleep(0.05)
        try:
            return fit(ref, image, box)
        finally:
            with lock:
                active[0] -= 1

    monkeypatch.setattr(artwork, "_fit", slow_fit)
    with ThreadPoolExecutor(6) as pool:
        made = list(
            pool.map(
                lambda p: thumbnail_blocking(str(p), 160, tmp_path / "c", inside(tmp_path)), photos
            )
        )
    assert peak[0] == 2
    assert len(set(made)) == 6 and all(path.is_file() for path in made)
