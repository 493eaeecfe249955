"""A picture for a video without artwork: the best of a few frames, cropped to 16:9 and 2:3.

A few candidate moments around 10-20 % of the runtime (past opening credits, before the plot
gives much away) are looked at, each as the keyframe at or before it: one decoded frame per
candidate (decoding a whole group of pictures to reach the exact moment costs a Pi about a
second of 1080p H.264 each). Each is scored on a 64x36 grey copy scaled by FFmpeg: too dark or
too flat (black, a fade, a title card on black, a white flash) is refused, the rest ranked by
histogram entropy and contrast. Unless one is clearly bright and varied (a frame in a fade is
neither), keyframes later in the film are tried too, and exact moments only when no keyframe
would do (a clip with a single keyframe). Only the winner becomes a
picture, written twice: a 16:9 still (episode and home-video tiles, backdrops) and a 2:3 crop
(poster tiles), each window placed where the picture has the most detail.

Runs inside the frame worker process (frame_worker.py), never in the server: a decoder fault on
a damaged file must not take the server down, and Pillow and PyAV stay out of the server. The
worker also makes an artist's picture from an album's cover (`cover_still_blocking`: the
cover's thumbnail, copied into the stills). Never writes anywhere but the paths it is given and
the thumbnail cache, never reads a file but the one named, never uses the network. Every failure
is one `FrameError` (`ArtworkError` for a cover) with a sentence an owner can read.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
from PIL import Image, ImageStat

from core.library.artwork import still_path, thumbnail_blocking
from core.library.frame_worker import too_short
from core.library.roots import LibraryRoots
from core.library.still_catalog import VERSION

FIRST_ROUND = (0.10, 0.15, 0.20)
SECOND_ROUND = (0.30, 0.42, 0.55, 0.68)
EXACT_ROUND = (0.20, 0.45)
STILL_WIDTH = 1280  # the 16:9 still; the 2:3 crop of it is 480x720, enough for a 480 tile
JPEG_QUALITY = 85
_STEP = 0.1  # seconds: an exact candidate is the first frame this close to its moment
_MAX_DECODED = 300  # frames decoded per candidate at most (a very long group of pictures)
_DARK = 28.0  # mean grey level (0-255) under which a frame counts as black or a fade
_FLAT = 14.0  # grey standard deviation under which a frame is one colour
_CLEAR_MEAN, _CLEAR_DEVIATION = 70.0, 40.0  # a frame this bright and varied ends the search
_OPTIONS = {"protocol_whitelist": "file"}  # a crafted playlist must not reach the network


class FrameError(Exception):
    """No picture can be made from this file; `str()` says why in one sentence."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """One decoded moment and what the score saw."""

    at: float
    frame: Any  # the decoded av.VideoFrame: only the winner is turned into a picture
    mean: float
    deviation: float
    entropy: float

    @property
    def usable(self) -> bool:
        return self.mean >= _DARK and self.deviation >= _FLAT

    @property
    def clear(self) -> bool:
        """Bright and contrasted enough not to be in a fade: no need to look further."""
        return self.mean >= _CLEAR_MEAN and self.deviation >= _CLEAR_DEVIATION

    @property
    def score(self) -> float:
        return self.entropy + self.deviation / 32.0


def grade(at: float, frame: Any) -> Candidate:
    """Score a frame on a 64x36 grey copy (scaled by FFmpeg straight from the decoded planes:
    cheap), enough to tell black, fades and one colour from a picture."""
    small = frame.reformat(width=64, height=36, format="gray").to_image()
    stat = ImageStat.Stat(small)
    return Candidate(at, frame, stat.mean[0], stat.stddev[0], small.entropy())


def make_still_blocking(path: str, duration: float | None, still: Path, poster: Path) -> float:
    """Write the 16:9 still and the 2:3 poster of the video at `path`; returns the moment (in
    seconds) the picture was taken from. Raises FrameError when no picture is worth showing."""
    try:
        container = av.open(path, options=_OPTIONS)
    except (av.FFmpegError, OSError, ValueError) as err:
        raise FrameError(f"cannot be opened as a video ({_reason(err)})") from err
    with container:
        streams = [s for s in container.streams.video if not _is_cover(s)]
        if not streams:
            raise FrameError("has no video stream")
        stream = streams[0]
        stream.thread_type = "NONE"  # one core: the box is busy serving people
        length = duration or _length(container, stream)
        short = too_short(length)
        if short is not None or length is None:
            raise FrameError(short or "has no known length")
        best = _best(container, stream, length)
        if best is None:
            raise FrameError("has no frame that can be decoded")
        if not best.usable:
            raise FrameError("has only dark or one-colour frames where a picture was looked for")
        picture = _upright(best.frame, stream.sample_aspect_ratio)
    _save(_crop(picture, 16 / 9), still)
    _save(_crop(picture, 2 / 3), poster)
    return round(best.at, 3)


def _best(container: Any, stream: Any, length: float) -> Candidate | None:
    """Keyframes first (one decoded frame each); decoding up to the moment itself only when
    keyframes are too far apart to give distinct candidates (a clip with one keyframe)."""
    seen: dict[float, Candidate] = {}
    for shares, exact in ((FIRST_ROUND, False), (SECOND_ROUND, False), (EXACT_ROUND, True)):
        for share in shares:
            found = _frame_near(container, stream, length * share, exact)
            if found is not None and found.at not in seen:  # two moments, one keyframe
                seen[found.at] = found
                if found.clear and shares is not FIRST_ROUND:  # late rounds: the first will do
                    break
        usable = [c for c in seen.values() if c.usable]
        if any(c.clear for c in usable) or (usable and exact):
            break
        if usable and shares is SECOND_ROUND:  # dim but usable: better than exact moments
            break
    usable = [c for c in seen.values() if c.usable]
    return max(usable or seen.values(), key=lambda c: c.score, default=None)


def _frame_near(container: Any, stream: Any, moment: float, exact: bool) -> Candidate | None:
    """The keyframe at or before `moment`, or (`exact`) the frame at the moment, decoded on
    from that keyframe (at most `_MAX_DECODED` frames)."""
    base = stream.time_base
    try:
        container.seek(int(moment / base), stream=stream, backward=True, any_frame=False)
        for decoded, frame in enumerate(container.decode(stream)):
            at = float(frame.pts * base) if frame.pts is not None else moment
            if not exact or at >= moment - _STEP or decoded >= _MAX_DECODED:
                return grade(at, frame)
    except (av.FFmpegError, OSError, ValueError, MemoryError):
        return None  # damage at this spot; another candidate may decode
    return None


def _upright(frame: Any, ratio: Any) -> Image.Image:
    """The frame as RGB at its display aspect (anamorphic pixels widened) and STILL_WIDTH at
    most, turned as the phone that filmed it was held."""
    width, height = frame.width, frame.height
    display_width = width * float(ratio) if ratio else width  # None or 0: square pixels
    scale = min(1.0, STILL_WIDTH / max(display_width, height))
    size = (max(2, round(display_width * scale)), max(2, round(height * scale)))
    image: Image.Image = frame.to_image(width=size[0], height=size[1])
    turn = round(getattr(frame, "rotation", 0) or 0) % 360
    if turn in (90, 180, 270):
        image = image.rotate(turn, expand=True)  # counter-clockwise, as the display matrix says
    return image


def _crop(image: Image.Image, aspect: float) -> Image.Image:
    """The `aspect` window of the image with the most detail (five places tried, the middle
    one winning a tie), or the whole image when it already has that shape."""
    width, height = image.size
    if abs(width / height - aspect) < 0.02:
        return image
    if width / height > aspect:
        size = (round(height * aspect), height)
    else:
        size = (width, round(width / aspect))
    spare = (width - size[0], height - size[1])
    boxes = []
    for step in (0.5, 0.25, 0.75, 0.0, 1.0):
        left, top = round(spare[0] * step), round(spare[1] * step)
        boxes.append((left, top, left + size[0], top + size[1]))
    grey = image.convert("L")
    detail = [ImageStat.Stat(grey.crop(box).reduce(8)).stddev[0] for box in boxes]
    best = max(range(len(boxes)), key=lambda i: detail[i] - (0.5 if i else 0.0))
    return image.crop(boxes[best])


def _save(image: Image.Image, target: Path) -> None:
    """JPEG through a temporary file and a rename: a reader never sees half a picture."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            image.convert("RGB").save(file, "JPEG", quality=JPEG_QUALITY)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _length(container: Any, stream: Any) -> float | None:
    if stream.duration is not None and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return float(container.duration) / 1_000_000
    return None


def _is_cover(stream: Any) -> bool:
    """A cover picture attached to the file is a video stream too; it is not the film."""
    return bool(stream.disposition & av.stream.Disposition.attached_pic)


def _reason(err: BaseException) -> str:
    return getattr(err, "strerror", None) or str(err) or type(err).__name__


def cover_still_blocking(ref: str, cache_dir: Path, roots: LibraryRoots) -> str:
    """A still made from an album's cover (a copy of its 720 thumbnail): an artist's picture
    that no later album change can turn into a broken link. Its name says which copy it is.
    Raises ArtworkError when the cover cannot be read."""
    thumb = thumbnail_blocking(ref, 720, cache_dir, roots)
    name = hashlib.sha256(f"{VERSION}\0cover\0{thumb.name}".encode()).hexdigest()[:32] + ".jpg"
    target = still_path(cache_dir, name)
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_suffix(".tmp")
        shutil.copyfile(thumb, temporary)
        os.replace(temporary, target)
    return name
