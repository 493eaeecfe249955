"""The mixed ("realistic") library for bench/mediagen.py: real-sized, varied files, more hostiles.

Why: the default tree links every item to one ~100 KB sample per kind, which flatters a scanner
whose cost grows with file size (fingerprints, photo headers, tag blocks). A held-out library of
10k items with hostile names, broken files, a 200 MB movie, many photos and music scanned at
~1.0x MiniDLNA's time where the default tree showed 0.7x. This shape is meant to be that kind of
library, still built in well under a minute:
- photos: a few dozen distinct 3-megapixel JPEGs of noise (1-2 MB each, like a camera's), each
  with its own EXIF (make, model, date, orientation, GPS) and a few PNGs;
- music: MP3 (ID3v2 with an embedded cover on half of them) and FLAC (Vorbis comments) samples
  of 30 s, several distinct albums' worth of tags;
- video: clips at two sizes in MKV and MP4, one ~200 MB movie made by looping an encoded clip
  with stream copy (seconds, not an encode of 200 MB), MP4s with their index at the end;
- hostile: mediagen's cases plus names with newlines, quotes, percent signs, emoji, leading
  dashes and trailing spaces, a truncated JPEG, random bytes named .jpg / .mp3 / .flac, text
  named .mp4.
Items are still hardlinks to the samples (the page cache stays warm: CPU, syscalls, database).
Never touches anything outside the output folder.
"""

from __future__ import annotations

import io
import os
import random
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bench.mediagen import _Tree

# A library of many photos and much music, as a family's is: per 10k items, 3000 photos,
# 3500 tracks, 2200 episodes, 800 movies, 500 home videos.
REALISTIC_MIX: dict[str, float] = {
    "movies": 0.08,
    "episodes": 0.22,
    "tracks": 0.35,
    "photos": 0.30,
    "videos": 0.05,
}
PHOTOS = 24
ALBUMS = 8
BIG_MOVIE_BYTES = 200 * 1024 * 1024
CAMERAS = (("Canon", "EOS 80D"), ("NIKON CORPORATION", "NIKON D5300"), ("Apple", "iPhone 12"))


def make_mixed_samples(where: Path, seed: int, ffmpeg: object) -> dict[str, list[Path]]:
    """Distinct real files per kind; `ffmpeg(*args)` runs ffmpeg (mediagen's helper)."""
    run = ffmpeg  # typed loosely: mediagen passes its _ffmpeg
    assert callable(run)
    rng = random.Random(f"{seed}-mixed-samples")
    where.mkdir(parents=True, exist_ok=True)
    bitexact = ["-fflags", "+bitexact", "-flags:v", "+bitexact", "-flags:a", "+bitexact"]
    videos: list[Path] = []
    for width, height, seconds in ((640, 360, 4), (1280, 720, 6)):
        mp4 = where / f"clip-{height}p.mp4"
        run(
            *("-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate=25:duration={seconds}"),
            *("-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}"),
            *("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "50"),
            *("-c:a", "aac", "-b:a", "128k", "-shortest", "-map_metadata", "-1", *bitexact),
            str(mp4),
        )
        mkv = mp4.with_suffix(".mkv")
        run("-i", str(mp4), "-c", "copy", *bitexact, str(mkv))
        videos += [mkv, mp4]
    # The big movie: a dense clip looped by stream copy until it reaches ~200 MB
    dense = where / "dense.mkv"
    run(
        *("-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25:duration=4"),
        *("-f", "lavfi", "-i", "anoisesrc=d=4:c=pink:r=48000"),
        *("-c:v", "libx264", "-preset", "ultrafast", "-qp", "4", "-pix_fmt", "yuv420p"),
        *("-c:a", "aac", "-b:a", "192k", "-shortest", *bitexact),
        str(dense),
    )
    loops = max(1, BIG_MOVIE_BYTES // max(1, dense.stat().st_size))
    big = where / "big-movie.mkv"
    run("-stream_loop", str(loops - 1), "-i", str(dense), "-c", "copy", *bitexact, str(big))
    dense.unlink()

    tracks = _music_samples(where, rng, run, bitexact)
    photos = _photo_samples(where, rng)
    return {"video": videos, "big": [big], "track": tracks, "photo": photos}


def _music_samples(where: Path, rng: random.Random, run: object, bitexact: list[str]) -> list[Path]:
    from mutagen.flac import FLAC, Picture
    from mutagen.id3 import APIC, ID3, TALB, TCON, TDRC, TIT2, TPE1, TPE2, TPOS, TRCK
    from PIL import Image

    assert callable(run)
    # A cover like a record sleeve (~90 KB): smooth colour with some grain, not pure noise,
    # which would take FFmpeg several times as long to decode as a real cover does
    cover = io.BytesIO()
    grain = Image.effect_noise((600, 600), 24).convert("RGB")
    shade = Image.linear_gradient("L").resize((600, 600)).convert("RGB")
    Image.blend(shade, grain, 0.4).save(cover, "JPEG", quality=85)
    out: list[Path] = []
    genres = ("Rock", "Jazz", "Classical", "Electronic", "Folk", "Hip-Hop", "Ambient", "Pop")
    for album in range(ALBUMS):
        ext = "flac" if album % 4 == 3 else "mp3"
        path = where / f"album-{album}.{ext}"
        source = ("-f", "lavfi", "-i", f"sine=frequency={220 + 55 * album}:duration=30")
        codec = ("-c:a", "flac") if ext == "flac" else ("-c:a", "libmp3lame", "-b:a", "192k")
        run(*source, *codec, *bitexact, str(path))
        artist, title = f"Artist {album} \u00e9t\u00e9", f"Album {album} ({1970 + album * 6})"
        if ext == "mp3":
            id3 = ID3()
            for frame in (
                TIT2(encoding=3, text=f"Track of album {album}"),
                TPE1(encoding=3, text=artist),
                TPE2(encoding=3, text="Various Artists" if album == 5 else artist),
                TALB(encoding=3, text=title),
                TRCK(encoding=3, text=f"{rng.randint(1, 12)}/12"),
                TPOS(encoding=3, text="1/2" if album % 3 == 0 else "1/1"),
                TDRC(encoding=3, text=str(1970 + album * 6)),
                TCON(encoding=3, text=genres[album]),
            ):
                id3.add(frame)
            if album % 2 == 0:
                id3.add(APIC(encoding=3, mime="image/jpeg", type=3, data=cover.getvalue()))
            id3.save(path)
        else:
            flac = FLAC(path)
            flac.update(
                {"title": "Track", "artist": artist, "album": title, "genre": genres[album]}
            )
            flac.update({"tracknumber": str(rng.randint(1, 12)), "date": str(1970 + album * 6)})
            picture = Picture()
            picture.type, picture.mime, picture.data = 3, "image/jpeg", cover.getvalue()
            flac.add_picture(picture)
            flac.save()
        out.append(path)
    return out


def _photo_samples(where: Path, rng: random.Random) -> list[Path]:
    """3-megapixel noise (compresses like a photo, not like a test card) with EXIF of its own."""
    from PIL import Image

    out: list[Path] = []
    base = Image.effect_noise((2048, 1536), 48).convert("RGB")
    for index in range(PHOTOS):
        tint = Image.new("RGB", base.size, (rng.randrange(256), rng.randrange(256), 90))
        image = Image.blend(base, tint, 0.3)
        if index % 2:
            image = image.transpose(Image.Transpose.ROTATE_90)
        exif = image.getexif()
        make, model = CAMERAS[index % len(CAMERAS)]
        day = f"{rng.randint(2010, 2024)}:{rng.randint(1, 12):02d}:{rng.randint(1, 28):02d}"
        date = f"{day} 1{index % 10}:30:00"
        exif[0x010F], exif[0x0110], exif[0x0132] = make, model, date
        exif[0x0112] = (1, 6, 8, 3)[index % 4]  # Orientation
        sub = exif.get_ifd(0x8769)
        sub[0x9003] = sub[0x9004] = date  # DateTimeOriginal, DateTimeDigitized
        if index % 3 == 0:
            sub[0x9011] = "+02:00"  # OffsetTimeOriginal
        if index % 2 == 0:
            gps = exif.get_ifd(0x8825)
            gps[1], gps[2] = "N", (48.0, 51.0, 24.0)
            gps[3], gps[4] = "E", (2.0, 21.0, 3.0)
        if index % 8 == 7:
            path = where / f"photo-{index}.png"
            image.resize((1024, 768)).save(path, "PNG", exif=exif)
        else:
            path = where / f"photo-{index}.jpg"
            image.save(path, "JPEG", quality=88, exif=exif)
        out.append(path)
    return out


def mixed_hostile(tree: _Tree, samples: dict[str, list[Path]], seed: int) -> dict[str, Path]:
    """Names no scanner is kind to, and broken files of every kind; none is an item."""
    rng = random.Random(f"{seed}-mixed-hostile")
    found: dict[str, Path] = {}
    video, photo, track = samples["video"][0], samples["photo"][0], samples["track"][0]
    named = tree.dir("Movies", "Odd Names (2020)")
    for label, name in (
        ("newline", "Line\nBreak (2020).mkv"),
        ("quotes", 'It\'s "Quoted" (2020).mkv'),
        ("percent", "100% %s %n (2020).mkv"),
        ("emoji", "\U0001f3ac Film \u2764 (2020).mkv"),
        ("leading_dash", "-rf --help (2020).mkv"),
        ("trailing_space", "Spaces (2020) .mkv"),
        ("backslash", "Back\\slash (2020).mkv"),
    ):
        tree.link(video, named, name)
        found[f"name_{label}"] = named / name
    broken = {
        "truncated_jpg": ("Photos/2021/2021-01-01 Broken", "IMG_0001.jpg", photo, 0.3),
        "noise_jpg": ("Photos/2021/2021-01-01 Broken", "IMG_0002.jpg", None, 0),
        "noise_mp3": ("Music/Broken Artist/Broken Album (2001)", "01 - Static.mp3", None, 0),
        "truncated_flac": ("Music/Broken Artist/Broken Album (2001)", "02 - Cut.flac", track, 0.1),
        "text_mp4": ("Videos/2022/2022-02-02 Not A Video", "VID_20220202_120000.mp4", None, 0),
    }
    for label, (folder, name, source, keep) in broken.items():
        target = tree.dir(*folder.split("/")) / name
        if source is None and label == "text_mp4":
            target.write_text("this is not a video\n" * 100)
        elif source is None:
            target.write_bytes(rng.randbytes(96 * 1024))
        else:
            data = source.read_bytes()
            target.write_bytes(data[: int(len(data) * keep)])
        found[label] = target
    return found


def place_big_movie(tree: _Tree, samples: dict[str, list[Path]]) -> Path:
    """The one large file, in its own movie folder."""
    folder = tree.dir("Movies", "The Long Feature (2019)")
    tree.link(samples["big"][0], folder, "The Long Feature (2019).mkv")
    return folder / "The Long Feature (2019).mkv"


def pick(samples: list[Path], index: int) -> Path:
    """A deterministic, spread-out choice of sample for the index-th item."""
    return samples[(index * 7919) % len(samples)]


def size_of(folder: Path) -> int:
    """Bytes of distinct inodes under `folder` (hardlinks counted once)."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for dirpath, _, files in os.walk(folder):
        for name in files:
            info = os.lstat(os.path.join(dirpath, name))
            if (info.st_dev, info.st_ino) not in seen:
                seen.add((info.st_dev, info.st_ino))
                total += info.st_size
    return total
