"""Thumbnails of posters, covers and photos, made once with Pillow and kept in a disk cache.

The HTTP API hands a catalog artwork reference (an absolute image path, or `embedded:<media
path>` for the cover inside an audio or video file) and a wanted size to `thumbnail_blocking`,
and serves the JPEG it returns. The source is decoded and resized only the first time; the
cache key includes the source's mtime and size, so a replaced poster gets a new thumbnail and
the old one ages out through `prune_cache_blocking`. Sizes snap up to a short list, so clients
cannot fill an SD card by asking for every width from 1 to 4000; `fitted_jpeg_blocking` takes a
box the server fixed itself (DLNA's screen-sized JPEG of a photo whose own format a TV cannot
decode) into the same cache. HEIC/HEIF opens through `core.media.heif`. The source is opened
through the library roots (`LibraryRoots.open_blocking`) and decoded from that open file, so a
poster that is a link out of the library folders is "missing", even when a thumbnail of it was
cached before. A `still:<name>` reference is a picture the server made itself from a video
frame (core.library.stills); it lives in the cache's `stills` folder, which pruning leaves alone;
an `online:<name>` reference, a picture an online provider supplied (core.enrichment.images),
likewise lives in its `online` folder.

Never writes beside the media, never fetches a URL, never copies EXIF (a photo's GPS position)
into a thumbnail, and never lets a Pillow or mutagen exception escape: every failure is one
`ArtworkError` naming the reference. Every function blocks; call them through `run_blocking`.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import tempfile
import threading
import time
from pathlib import Path
from typing import IO, TYPE_CHECKING

from core.errors import HearthError
from core.library.fields import EMBEDDED_PREFIX, ONLINE_PREFIX, STILL_PREFIX
from core.library.roots import LibraryFile, LibraryRoots
from core.media.heif import HeifSupportMissingError, prepare_pillow_for

if TYPE_CHECKING:  # Pillow and PyAV (~20 MB) load on the first picture made, not at start
    from PIL import Image

ALLOWED_SIZES = (160, 320, 480, 720, 1080)
# Decoding is what costs memory: a 12 MP HEIC needs ~140 MB while it is turned into a JPEG (JPEG
# sources decode reduced, HEIC ones cannot). A TV asking for a page of thumbnails at once must
# not decode a dozen side by side on a box with ~1 GB to spare; cached answers never wait.
_DECODING = threading.BoundedSemaphore(2)
"""Longest-side boxes a thumbnail can have; a request snaps up to the next one."""

MAX_PIXELS = 40_000_000
"""Most pixels decoded (after JPEG draft scaling): a 16-bit PNG that size already takes ~320 MB."""

JPEG_QUALITY = 85
_FORMAT_VERSION = "1"  # part of every cache key: bump it when the encoding settings change
_TOUCH_AFTER_SECONDS = 86_400  # refresh a hit's access time at most daily: browsing barely writes
_STALE_TEMP_SECONDS = 3_600
_BACKGROUND = (0, 0, 0)  # transparent areas become black, which suits dark media interfaces
STILLS_FOLDER = "stills"
_STILL_NAME = re.compile(r"^[0-9a-f]{32}(?:-poster)?\.jpg$")
ONLINE_FOLDER = "online"
_ONLINE_NAME = re.compile(r"^[0-9a-f]{32}\.jpg$")


class ArtworkError(HearthError):
    """An artwork reference cannot be made into a thumbnail: missing, unreadable or not an image."""

    def __init__(self, ref: str, problem: str) -> None:
        super().__init__(f"{ref}: {problem}")
        self.ref = ref
        self.problem = problem


def allowed_size(size: int) -> int:
    """The smallest allowed box at least `size` wide, or the largest one."""
    return next((allowed for allowed in ALLOWED_SIZES if allowed >= size), ALLOWED_SIZES[-1])


def thumbnail_blocking(ref: str, size: int, cache_dir: Path, roots: LibraryRoots) -> Path:
    """The cached JPEG of `ref` fitted into a `size` box (snapped up), made now if needed;
    `ref` must lead to a file inside the library `roots`."""
    return _cached_jpeg(ref, allowed_size(size), cache_dir, roots)


def fitted_jpeg_blocking(ref: str, box: int, cache_dir: Path, roots: LibraryRoots) -> Path:
    """The cached JPEG of `ref` fitted into exactly `box`, made now if needed. Only for a size
    the server fixed: a number a client sent could fill the card, one size per width."""
    return _cached_jpeg(ref, box, cache_dir, roots)


def still_path(cache_dir: Path, name: str) -> Path:
    """Where the still called `name` (a `still:` reference without its prefix) is kept."""
    if not _STILL_NAME.match(name):
        raise ArtworkError(STILL_PREFIX + name, "is not the name of a still")
    return cache_dir / STILLS_FOLDER / name[:2] / name


def online_path(cache_dir: Path, name: str) -> Path:
    """Where the online picture called `name` (an `online:` reference without its prefix) is."""
    if not _ONLINE_NAME.match(name):
        raise ArtworkError(ONLINE_PREFIX + name, "is not the name of an online picture")
    return cache_dir / ONLINE_FOLDER / name[:2] / name


def _cached_jpeg(ref: str, box: int, cache_dir: Path, roots: LibraryRoots) -> Path:
    if ref.startswith((STILL_PREFIX, ONLINE_PREFIX)):  # the server's own picture
        path = (
            still_path(cache_dir, ref.removeprefix(STILL_PREFIX))
            if ref.startswith(STILL_PREFIX)
            else online_path(cache_dir, ref.removeprefix(ONLINE_PREFIX))
        )
        try:
            file = io.FileIO(path, "r")
        except OSError as err:
            raise ArtworkError(ref, "has not been made yet, or was removed") from err
        with LibraryFile(file, os.fstat(file.fileno()), str(path)) as still:
            return _cached_jpeg_of(ref, still, box, cache_dir)
    source = _source_path(ref)
    try:
        opened = roots.open_blocking(source)
    except FileNotFoundError as err:  # an OutsideLibraryError too: as if it were missing
        raise ArtworkError(ref, "does not exist (moved or deleted?)") from err
    except OSError as err:
        raise ArtworkError(ref, f"cannot be read ({err.strerror or err})") from err
    with opened:
        return _cached_jpeg_of(ref, opened, box, cache_dir)


def _cached_jpeg_of(ref: str, opened: LibraryFile, box: int, cache_dir: Path) -> Path:
    stat = opened.stat
    key = hashlib.sha256(
        f"{_FORMAT_VERSION}\0{ref}\0{stat.st_mtime_ns}\0{stat.st_size}\0{box}".encode()
    ).hexdigest()
    target = cache_dir / key[:2] / f"{key}.jpg"
    if _cached(target):
        return target
    with _DECODING:
        if _cached(target):  # made while this one waited its turn
            return target
        image = _open(ref, opened)
        try:
            thumbnail = _fit(ref, image, box)
        finally:
            image.close()
        write_jpeg_atomically(target, thumbnail)
    return target


def cache_size_blocking(cache_dir: Path) -> int:
    """Bytes the thumbnail cache takes on disk."""
    return sum(size for _, size, _ in _cache_files(cache_dir))


def prune_cache_blocking(cache_dir: Path, max_bytes: int) -> int:
    """Delete the least recently used thumbnails until the cache fits in `max_bytes`; returns
    the bytes freed. Leftover temporary files of interrupted writes go too."""
    freed = 0
    files = []
    now = time.time()
    for path, size, accessed in _cache_files(cache_dir):
        if path.parent.parent.name in (STILLS_FOLDER, ONLINE_FOLDER):
            continue  # sources, not copies
        if path.suffix == ".tmp" and now - accessed > _STALE_TEMP_SECONDS:
            freed += _unlink(path, size)
        elif path.suffix == ".jpg":
            files.append((accessed, size, path))
    total = sum(size for _, size, _ in files)
    for _, size, path in sorted(files):
        if total <= max_bytes:
            break
        freed += _unlink(path, size)
        total -= size
    return freed


def _source_path(ref: str) -> Path:
    """The file holding the image: the reference itself, or the media file it is embedded in."""
    raw = ref.removeprefix(EMBEDDED_PREFIX)
    path = Path(raw)
    if not raw or not path.is_absolute():
        raise ArtworkError(ref, "is not an absolute path or an embedded: reference")
    return path


def _open(ref: str, opened: LibraryFile) -> Image.Image:
    """Open the image lazily (header only) from the checked file; the pixels are decoded
    later, in `_fit`, while the file is still open."""
    from PIL import Image, UnidentifiedImageError

    from core.media.probe import ProbeError, extract_cover_blocking

    stream: IO[bytes]
    if ref.startswith(EMBEDDED_PREFIX):
        try:  # by the open file's own name: what was checked is what is read
            cover = extract_cover_blocking(opened.proc_path)
        except ProbeError as err:
            raise ArtworkError(ref, f"has no readable embedded cover ({err.problem})") from err
        if cover is None:
            raise ArtworkError(ref, "has no embedded cover")
        stream = io.BytesIO(cover.data)
    else:
        stream = io.BufferedReader(opened.file)
    try:
        if not ref.startswith(EMBEDDED_PREFIX):
            prepare_pillow_for(ref)  # HEIF is told by the name
        return Image.open(stream)
    except HeifSupportMissingError as err:
        raise ArtworkError(ref, str(err)) from err
    except Image.DecompressionBombError as err:
        raise ArtworkError(ref, f"is too large an image to decode safely ({err})") from err
    except UnidentifiedImageError as err:
        raise ArtworkError(ref, "is not an image Pillow can read") from err
    except OSError as err:
        raise ArtworkError(ref, f"cannot be read ({err.strerror or err})") from err


def _fit(ref: str, image: Image.Image, box: int) -> Image.Image:
    """Decode, turn upright, shrink into the box (never enlarge) and flatten to RGB."""
    from PIL import Image, ImageOps

    try:
        # JPEG can decode at 1/2, 1/4 or 1/8 scale: a 48 MP photo never needs 48 MP of memory.
        image.draft("RGB", (box, box))
        width, height = image.size
        if width * height > MAX_PIXELS:
            raise ArtworkError(ref, f"is {width}x{height}, too large an image to decode safely")
        image.load()
        upright = ImageOps.exif_transpose(image)
        upright.thumbnail((box, box), Image.Resampling.LANCZOS)
        return _flattened(upright)
    except Image.DecompressionBombError as err:
        raise ArtworkError(ref, f"is too large an image to decode safely ({err})") from err
    except (OSError, ValueError, SyntaxError, EOFError) as err:
        raise ArtworkError(ref, f"is damaged or cut short ({err})") from err


def _flattened(image: Image.Image) -> Image.Image:
    """RGB for JPEG: alpha composited onto the background, palettes and CMYK converted."""
    from PIL import Image

    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    if not has_alpha:
        return image if image.mode == "RGB" else image.convert("RGB")
    rgba = image.convert("RGBA")
    flat = Image.new("RGB", rgba.size, _BACKGROUND)
    flat.paste(rgba, mask=rgba.getchannel("A"))
    return flat


def _cached(target: Path) -> bool:
    """A usable cached thumbnail exists; its access time is refreshed for pruning, at most daily
    (mounts with noatime never update it, and a write per view would wear the card)."""
    try:
        stat = target.stat()
    except OSError:
        return False
    if stat.st_size == 0:  # a crash between create and write-back can leave an empty file
        return False
    now = time.time()
    if now - stat.st_atime > _TOUCH_AFTER_SECONDS:
        with contextlib.suppress(OSError):  # a read-only cache still serves
            os.utime(target, (now, stat.st_mtime))
    return True


def write_jpeg_atomically(target: Path, image: Image.Image, quality: int = JPEG_QUALITY) -> None:
    """Write to a temporary file beside the target, then rename: readers never see half a JPEG."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            image.save(file, "JPEG", quality=quality, progressive=True, optimize=True)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _cache_files(cache_dir: Path) -> list[tuple[Path, int, float]]:
    """(path, size, access time) of every file in the cache; vanished files are skipped."""
    found = []
    for folder, _, names in os.walk(cache_dir):
        for name in names:
            path = Path(folder, name)
            try:
                stat = path.stat()
            except OSError:
                continue
            found.append((path, stat.st_size, stat.st_atime))
    return found


def _unlink(path: Path, size: int) -> int:
    try:
        path.unlink()
    except OSError:
        return 0
    return size
