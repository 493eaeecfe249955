"""A synthetic media library, big enough to benchmark a scanner, built in seconds.

Why this shape: a scanner's cost is in walking directories, parsing names, probing containers and
reading tags, so the tree must look like a real Plex/Jellyfin-style library and every file must be
real media. Encoding 100,000 files would take hours and fill the disk, so a handful of tiny REAL
samples are made once with ffmpeg (H.264/AAC in MP4 and MKV, MP3 with ID3 tags and FLAC with
Vorbis comments written by mutagen, a JPEG with EXIF DateTimeOriginal written by Pillow), and
every library entry is a HARDLINK (os.link) to one of them: one inode, one directory entry each.

Consequences worth knowing when reading benchmark numbers:
- Hardlinks share content, so every MP3 carries the same tags (and every FLAC, every JPEG the
  same EXIF date). Names differ; tags do not. A scanner that groups music by tags will see one
  album. That is acceptable for a speed benchmark; it is not a correctness fixture.
- All items share a few inodes, so after the first read everything is in the page cache: the
  numbers measure CPU, syscalls and database work, not the SD card.
- The "unreadable" file (chmod 000) is a separate copy, since a mode applies to the inode and
  would otherwise lock every hardlink. As root it is still readable (CAP_DAC_OVERRIDE).

Hostile cases (always added unless disabled, never counted as items): a zero-byte file, a
truncated video, random bytes named .mkv, a directory symlink loop (`again -> ..`; MiniDLNA 1.3.0
follows it ~200 levels deep, turning a 10k scan into minutes: leave it out with --no-dir-loop
when timing against it), a pair of file symlinks that
point at each other, a dangling symlink, non-UTF-8 (Latin-1) file and folder names, a 255-byte
file name and an unreadable file.

Everything is deterministic for a given seed, item count and mix.
--realistic builds the mixed library of bench/mediamix.py instead (sized, varied real files).
Usage: .venv/bin/python bench/mediagen.py OUT_DIR --items 10000 [--seed 1] [--mix movies=0.2,...]
       [--realistic]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import mediamix

SAMPLES = ".samples"  # inside OUT_DIR: hardlinks cannot cross filesystems
LIBRARIES = ("Movies", "TV", "Music", "Photos", "Videos")
DEFAULT_MIX: dict[str, float] = {
    "movies": 0.18,
    "episodes": 0.40,
    "tracks": 0.30,
    "photos": 0.10,
    "videos": 0.02,
}

# fmt: off
ADJECTIVES = (
    "Silent", "Hidden", "Broken", "Golden", "Frozen", "Crimson", "Distant", "Hollow", "Burning",
    "Quiet", "Forgotten", "Endless", "Wild", "Lonely", "Bright", "Iron", "Paper", "Glass",
    "Velvet", "Electric", "Midnight", "Northern", "Southern", "Secret", "Last", "First", "Lost",
    "Falling", "Rising", "Sleeping", "Wandering", "Restless", "Silver", "Scarlet", "Emerald",
    "Bitter", "Gentle", "Savage", "Crooked", "Shallow",
)
NOUNS = (
    "Harbor", "River", "Garden", "Kingdom", "Mirror", "Signal", "Shadow", "Forest", "Station",
    "Engine", "Letter", "Island", "Winter", "Summer", "Valley", "Empire", "Horizon", "Lantern",
    "Machine", "Orchard", "Compass", "Canyon", "Frontier", "Voyage", "Desert", "Tide", "Circus",
    "Archive", "Beacon", "Citadel", "Meadow", "Prairie", "Outpost", "Echo", "Furnace", "Quarry",
    "Lighthouse", "Monsoon", "Avalanche", "Labyrinth",
)
# fmt: on
EVENTS = (
    "Birthday",
    "Beach Day",
    "Hiking Trip",
    "Christmas",
    "Wedding",
    "Graduation",
    "Road Trip",
    "Garden Party",
    "First Snow",
    "Camping",
    "Zoo Visit",
    "New Year",
)


@dataclass
class Manifest:
    """What was generated: item counts per kind, side files and the hostile paths."""

    root: Path
    items: dict[str, int] = field(default_factory=dict)
    extras: int = 0
    hostile: dict[str, Path | bytes] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def total_items(self) -> int:
        return sum(self.items.values())


def parse_mix(text: str) -> dict[str, float]:
    """`movies=0.2,episodes=0.4` -> weights; kinds left out get 0, the rest are normalised."""
    mix = dict.fromkeys(DEFAULT_MIX, 0.0)
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, _, value = part.partition("=")
        if key not in mix:
            raise ValueError(f"unknown kind {key!r}; expected one of {', '.join(mix)}")
        mix[key] = float(value)
    if sum(mix.values()) <= 0:
        raise ValueError("the mix must have a positive weight")
    return mix


def split_counts(total: int, mix: dict[str, float]) -> dict[str, int]:
    """Largest-remainder split, so the kinds add up to exactly `total`."""
    weight = sum(mix.values())
    exact = {kind: total * w / weight for kind, w in mix.items()}
    counts = {kind: int(value) for kind, value in exact.items()}
    short = total - sum(counts.values())
    for kind in sorted(exact, key=lambda k: exact[k] - counts[k], reverse=True)[:short]:
        counts[kind] += 1
    return counts


# --- samples -----------------------------------------------------------------------------------


def _ffmpeg(*args: str) -> None:
    ffmpeg = shutil.which("ffmpeg") or "/usr/bin/ffmpeg"
    subprocess.run(
        [ffmpeg, "-hide_banner", "-loglevel", "error", "-y", *args],
        check=True,
        timeout=120,
    )


def make_samples(where: Path, seed: int) -> dict[str, Path]:
    """The few real files every library entry links to (about 300 KB in all)."""
    from mutagen.flac import FLAC
    from mutagen.id3 import ID3, TALB, TCON, TDRC, TIT2, TPE1, TRCK
    from PIL import Image, ImageDraw

    where.mkdir(parents=True, exist_ok=True)
    s = {
        name: where / name
        for name in (
            "video.mp4",
            "video.mkv",
            "track.mp3",
            "track.flac",
            "photo.jpg",
            "poster.jpg",
            "subtitle.srt",
            "truncated.mkv",
            "truncated.mp4",
            "noise.mkv",
        )
    }
    bitexact = ["-fflags", "+bitexact", "-flags:v", "+bitexact", "-flags:a", "+bitexact"]
    _ffmpeg(
        *("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=2"),
        *("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100:duration=2"),
        *("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "25"),
        *("-c:a", "aac", "-b:a", "64k", "-shortest", "-map_metadata", "-1", *bitexact),
        str(s["video.mp4"]),
    )
    _ffmpeg("-i", str(s["video.mp4"]), "-c", "copy", *bitexact, str(s["video.mkv"]))
    sine = ("-f", "lavfi", "-i", "sine=frequency=330:sample_rate=44100:duration=2")
    _ffmpeg(*sine, "-c:a", "libmp3lame", "-b:a", "64k", *bitexact, str(s["track.mp3"]))
    _ffmpeg(*sine, "-c:a", "flac", *bitexact, str(s["track.flac"]))

    id3 = ID3()
    id3.add(TIT2(encoding=3, text="Sample Track"))
    id3.add(TPE1(encoding=3, text="Sample Artist"))
    id3.add(TALB(encoding=3, text="Sample Album"))
    id3.add(TRCK(encoding=3, text="1/10"))
    id3.add(TDRC(encoding=3, text="2011"))
    id3.add(TCON(encoding=3, text="Ambient"))
    id3.save(s["track.mp3"])
    flac = FLAC(s["track.flac"])
    flac.update(
        {
            "title": "Sample Track",
            "artist": "Sample Artist",
            "album": "Sample Album",
            "tracknumber": "1",
            "date": "2011",
        }
    )
    flac.save()

    for name, size, date in (
        ("photo.jpg", (640, 480), "2024:05:01 14:30:00"),
        ("poster.jpg", (200, 300), None),
    ):
        image = Image.new("RGB", size, (30, 60, 90))
        draw = ImageDraw.Draw(image)
        for x in range(0, size[0], 20):
            draw.line([(x, 0), (size[0] - x, size[1])], fill=(x % 255, 120, 200), width=3)
        exif = image.getexif()
        if date:
            exif[0x010F] = "HearthBench"  # Make
            exif[0x0110] = "Synthetic 1"  # Model
            exif[0x0132] = date  # DateTime
            exif.get_ifd(0x8769)[0x9003] = date  # Exif IFD: DateTimeOriginal
        image.save(where / name, "JPEG", quality=80, exif=exif)

    s["subtitle.srt"].write_text("1\n00:00:00,000 --> 00:00:01,500\nHello.\n")
    whole = s["video.mkv"].read_bytes()
    s["truncated.mkv"].write_bytes(whole[: len(whole) * 2 // 5])
    # Without +faststart the moov atom is at the end: cutting it off leaves no index at all
    mp4 = s["video.mp4"].read_bytes()
    s["truncated.mp4"].write_bytes(mp4[: len(mp4) // 2])
    s["noise.mkv"].write_bytes(random.Random(seed).randbytes(64 * 1024))
    return s


# --- the tree ----------------------------------------------------------------------------------


Samples = dict[str, list[Path]]  # per sample name, the files items of that kind link to


def _one(s: Samples, name: str, index: int) -> Path:
    """The sample for the index-th item: always the same one in the default tree."""
    choices = s[name]
    return choices[(index * 7919) % len(choices)]


class _Namer:
    """Readable names from a seeded generator; `unique` adds a number only once draws collide."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.seen: set[str] = set()

    def title(self, the: bool = False) -> str:
        words = f"{self.rng.choice(ADJECTIVES)} {self.rng.choice(NOUNS)}"
        return f"The {words}" if the else words

    def unique(self, make: Callable[[], str]) -> str:
        for _ in range(8):
            name = make()
            if name not in self.seen:
                break
        else:
            name = f"{name} {len(self.seen)}"
        self.seen.add(name)
        return name


class _Tree:
    """Makes directories once (a set is far cheaper than makedirs(exist_ok=True) per file)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.made: set[Path] = set()
        self.links = 0

    def dir(self, *parts: str) -> Path:
        path = self.root.joinpath(*parts)
        if path not in self.made:
            path.mkdir(parents=True, exist_ok=True)
            self.made.add(path)
        return path

    def link(self, source: Path, folder: Path, name: str) -> None:
        os.link(source, folder / name)
        self.links += 1


def _movies(tree: _Tree, s: Samples, rng: random.Random, count: int) -> int:
    namer, extras = _Namer(rng), 0
    for i in range(count):
        name = namer.unique(
            lambda: f"{namer.title(rng.random() < 0.3)} ({rng.randint(1950, 2024)})"
        )
        folder = tree.dir("Movies", name)
        ext = "mp4" if i % 4 == 3 else "mkv"
        tree.link(_one(s, f"video.{ext}", i), folder, f"{name}.{ext}")
        if i % 3 == 0:
            tree.link(s["poster.jpg"][0], folder, "poster.jpg")
            extras += 1
        if i % 5 == 0:
            (folder / "movie.nfo").write_text(
                f"<movie><title>{name[:-7]}</title><year>{name[-5:-1]}</year></movie>\n"
            )
            extras += 1
        if i % 10 == 0:
            tree.link(s["subtitle.srt"][0], folder, f"{name}.en.srt")
            extras += 1
    return extras


def _episodes(tree: _Tree, s: Samples, rng: random.Random, count: int) -> int:
    namer, made, show = _Namer(rng), 0, 0
    while made < count:
        show += 1
        title = f"{namer.title()} {show}"  # "Show N": the number keeps shows apart, as asked
        for season in range(1, rng.randint(1, 4) + 1):
            for episode in range(1, rng.randint(6, 13) + 1):
                if made == count:
                    return 0
                folder = tree.dir("TV", title, f"Season {season:02d}")
                name = f"{title} - S{season:02d}E{episode:02d} - {namer.title()}.mkv"
                tree.link(_one(s, "video.mkv", made), folder, name)
                made += 1
    return 0


def _tracks(tree: _Tree, s: Samples, rng: random.Random, count: int) -> int:
    namer, made, artist, extras = _Namer(rng), 0, 0, 0
    while made < count:
        artist += 1
        performer = f"{namer.title()} {artist}"  # "Artist N"
        for album_no in range(1, rng.randint(1, 4) + 1):
            album = (
                f"{namer.title(the=True)} {album_no} ({rng.randint(1965, 2024)})"  # "Album N (Y)"
            )
            ext = "flac" if rng.random() < 0.25 else "mp3"
            folder = tree.dir("Music", performer, album)
            if album_no % 2:
                tree.link(s["poster.jpg"][0], folder, "folder.jpg")
                extras += 1
            for track in range(1, rng.randint(8, 14) + 1):
                if made == count:
                    return extras
                source = _one(s, f"track.{ext}", artist * 5 + album_no)  # one sample per album
                tree.link(source, folder, f"{track:02d} - {namer.title()}.{ext}")
                made += 1
    return extras


def _dated(rng: random.Random, count: int, per_event: tuple[int, int]) -> Iterator[tuple[str, ...]]:
    """(year, "YYYY-MM-DD Event", YYYYMMDD, index) for `count` files grouped into events."""
    made, seen = 0, set()
    while made < count:
        year = rng.randint(2010, 2024)
        day = f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        event = f"{day} {rng.choice(EVENTS)}"
        if event in seen:
            event = f"{event} {len(seen)}"  # keeps same-day, same-name events apart
        seen.add(event)
        for index in range(1, rng.randint(*per_event) + 1):
            if made == count:
                return
            yield str(year), event, day.replace("-", ""), str(index)
            made += 1


def _photos(tree: _Tree, s: Samples, rng: random.Random, count: int) -> int:
    for n, (year, event, _, index) in enumerate(_dated(rng, count, (10, 60))):
        source = _one(s, "photo.jpg", n)
        name = f"IMG_{int(index):04d}{source.suffix}"
        tree.link(source, tree.dir("Photos", year, event), name)
    return 0


def _videos(tree: _Tree, s: Samples, rng: random.Random, count: int) -> int:
    for n, (year, event, day, index) in enumerate(_dated(rng, count, (1, 5))):
        name = f"VID_{day}_{12 + int(index) % 10:02d}{int(index) % 60:02d}00.mp4"
        tree.link(_one(s, "video.mp4", n), tree.dir("Videos", year, event), name)
    return 0


def _hostile(tree: _Tree, s: dict[str, Path], dir_loop: bool) -> dict[str, Path | bytes]:
    """The files a scanner must survive without stopping, hanging or crashing."""
    found: dict[str, Path | bytes] = {}
    empty = tree.dir("Movies", "Empty Reel (2003)") / "Empty Reel (2003).mkv"
    empty.touch()
    found["zero_byte"] = empty
    cut = tree.dir("Movies", "Cut Short (2005)")
    tree.link(s["truncated.mkv"], cut, "Cut Short (2005).mkv")
    found["truncated_mkv"] = cut / "Cut Short (2005).mkv"
    home = tree.dir("Videos", "2019", "2019-07-04 Broken Camera")
    tree.link(s["truncated.mp4"], home, "VID_20190704_120000.mp4")
    found["truncated_mp4"] = home / "VID_20190704_120000.mp4"
    noise = tree.dir("TV", "Static Noise", "Season 01")
    tree.link(s["noise.mkv"], noise, "Static Noise - S01E01 - Snow.mkv")
    found["random_bytes"] = noise / "Static Noise - S01E01 - Snow.mkv"

    loop = tree.dir("Movies", "Loop (2010)")
    tree.link(s["video.mkv"], loop, "Loop (2010).mkv")
    if dir_loop:
        (loop / "again").symlink_to("..")  # Movies/Loop (2010)/again/Loop (2010)/again/...
        found["directory_loop"] = loop / "again"
    music = tree.dir("Music")
    (music / "loop-a.mp3").symlink_to("loop-b.mp3")
    (music / "loop-b.mp3").symlink_to("loop-a.mp3")
    found["file_symlink_loop"] = music / "loop-a.mp3"
    (music / "gone.flac").symlink_to("nowhere/gone.flac")
    found["dangling_symlink"] = music / "gone.flac"

    latin1 = os.fsencode(tree.dir("Movies")) + b"/Am\xe9lie (2001)"
    os.mkdir(latin1)
    os.link(s["video.mkv"], latin1 + b"/Am\xe9lie (2001).mkv")
    os.link(s["poster.jpg"], latin1 + b"/poster.jpg")
    found["non_utf8"] = latin1 + b"/Am\xe9lie (2001).mkv"
    track = os.fsencode(tree.dir("Music", "Zo\u00eb Static 1", "Caf\u00e9 Tunes (1999)"))
    os.link(s["track.mp3"], track + b"/01 - Cr\xe8me Br\xfbl\xe9e.mp3")  # Latin-1 in UTF-8 dir
    found["non_utf8_track"] = track + b"/01 - Cr\xe8me Br\xfbl\xe9e.mp3"

    head, tail = "Long Story - S01E01 - ", ".mkv"
    filler = "Caf\u00e9 Chapter "  # 2-byte characters, so bytes and characters differ
    body = ""
    while len((head + body + filler + tail).encode()) <= 255:
        body += filler
    while len((head + body + tail).encode()) < 255:
        body += "x"
    long_name = head + body + tail
    assert len(long_name.encode()) == 255, len(long_name.encode())
    long_dir = tree.dir("TV", "Long Story", "Season 01")
    tree.link(s["video.mkv"], long_dir, long_name)
    found["name_255_bytes"] = long_dir / long_name

    locked = tree.dir("Movies", "Locked Room (2012)") / "Locked Room (2012).mkv"
    shutil.copyfile(s["video.mkv"], locked)  # its own inode: chmod must not lock the others
    locked.chmod(0)
    found["unreadable"] = locked
    return found


def generate(
    out_dir: Path,
    items: int,
    *,
    seed: int = 1,
    mix: dict[str, float] | None = None,
    hostile: bool = True,
    dir_loop: bool = True,
    realistic: bool = False,
) -> Manifest:
    """Build the library under `out_dir` (created; must be empty) and say what is in it.
    `realistic`: the mixed library of bench/mediamix.py (its mix unless `mix` is given)."""
    began = time.perf_counter()
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise FileExistsError(f"{out_dir} is not empty")
    counts = split_counts(items, mix or (mediamix.REALISTIC_MIX if realistic else DEFAULT_MIX))
    base = make_samples(out_dir / SAMPLES, seed)
    samples: Samples = {name: [path] for name, path in base.items()}
    if realistic:
        mixed = mediamix.make_mixed_samples(out_dir / SAMPLES / "mixed", seed, _ffmpeg)
        samples["video.mkv"] = [p for p in mixed["video"] if p.suffix == ".mkv"]
        samples["video.mp4"] = [p for p in mixed["video"] if p.suffix == ".mp4"]
        samples["track.mp3"] = [p for p in mixed["track"] if p.suffix == ".mp3"]
        samples["track.flac"] = [p for p in mixed["track"] if p.suffix == ".flac"]
        samples["photo.jpg"] = mixed["photo"]
    tree = _Tree(out_dir)
    for library in LIBRARIES:
        tree.dir(library)
    manifest = Manifest(root=out_dir, items=counts)
    big = realistic and counts["movies"] > 0
    counts["movies"] -= big  # the big movie is one of them
    makers = {
        "movies": _movies,
        "episodes": _episodes,
        "tracks": _tracks,
        "photos": _photos,
        "videos": _videos,
    }
    for kind, make in makers.items():
        # One generator per kind, so changing one count leaves the other kinds' names alone
        manifest.extras += make(tree, samples, random.Random(f"{seed}-{kind}"), counts[kind])
    if hostile:
        manifest.hostile = _hostile(tree, base, dir_loop)
        if realistic:
            manifest.hostile.update(mediamix.mixed_hostile(tree, mixed, seed))
    if big:
        mediamix.place_big_movie(tree, mixed)
        counts["movies"] += 1
    manifest.seconds = time.perf_counter() - began
    return manifest


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--mix",
        type=parse_mix,
        default=None,
        help="weights per kind, e.g. movies=0.2,episodes=0.4,tracks=0.3,photos=0.1,videos=0",
    )
    parser.add_argument("--no-hostile", action="store_true", help="leave out the hostile cases")
    parser.add_argument(
        "--realistic",
        action="store_true",
        help="the mixed library (bench/mediamix.py): real-sized photos with EXIF, music with "
        "varied tags and covers, a 200 MB movie, more hostile names and broken files",
    )
    parser.add_argument(
        "--no-dir-loop", action="store_true", help="keep the other hostile cases, not this one"
    )
    args = parser.parse_args(argv)
    try:
        manifest = generate(
            args.out_dir,
            args.items,
            seed=args.seed,
            mix=args.mix,
            hostile=not args.no_hostile,
            dir_loop=not args.no_dir_loop,
            realistic=args.realistic,
        )
    except (FileExistsError, ValueError, subprocess.CalledProcessError) as err:
        sys.exit(f"mediagen: {err}")
    kinds = ", ".join(f"{n} {kind}" for kind, n in manifest.items.items())
    print(f"{manifest.total_items} items ({kinds}) + {manifest.extras} side files")
    print(f"{len(manifest.hostile)} hostile cases: {', '.join(manifest.hostile)}")
    print(f"generated in {manifest.seconds:.2f} s under {manifest.root}")


if __name__ == "__main__":
    main()
