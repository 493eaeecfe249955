"""Reading a photo's size, orientation and capture time with Pillow, from its header only.

Photo libraries are large and a Pi is slow, so nothing here decodes pixels: Pillow's `open` reads
the header, and EXIF comes from the bytes the header already holds. (PNG keeps EXIF in an `eXIf`
chunk; asking Pillow for `getexif()` when that chunk comes after the pixels would decode the whole
image, so only an early chunk is used.) HEIC/HEIF goes through `pillow-heif`, loaded only when
such a file is met (`core.media.heif`); it hands over the picture already turned upright, with
the EXIF orientation reset to 1, so width and height are the displayed ones.

Never writes or rotates images, never makes thumbnails (that is the artwork cache's job), and
leaves turning Pillow's exceptions into `ProbeError` to `probe`.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from PIL import ExifTags, Image

from core.media.facts import PhotoInfo
from core.media.heif import prepare_pillow_for

__all__ = ["PhotoInfo", "read_photo_blocking"]  # PhotoInfo: in facts


def read_photo_blocking(path: str, source: str | None = None) -> PhotoInfo:
    """The header facts of one photo; Pillow's exceptions pass through for `probe` to translate.

    `source`: where to read it (an open file's `/proc/self/fd/N`) when not at `path`, which
    then only tells its format by extension (HEIF)."""
    prepare_pillow_for(path)
    with Image.open(source or path) as image:
        exif = _header_exif(image)
        primary = exif.get_ifd(ExifTags.IFD.Exif) if exif else {}
        orientation = exif.get(ExifTags.Base.Orientation) if exif else None
        return PhotoInfo(
            width=image.width,
            height=image.height,
            format=(image.format or "unknown").casefold(),
            orientation=orientation if isinstance(orientation, int) else None,
            taken_at=_exif_time(
                primary.get(ExifTags.Base.DateTimeOriginal)
                or primary.get(ExifTags.Base.DateTimeDigitized),
                primary.get(ExifTags.Base.OffsetTimeOriginal),
            ),
        )


def _header_exif(image: Image.Image) -> Image.Exif | None:
    """EXIF without decoding pixels; None when the header holds none."""
    if image.format == "PNG":
        raw = image.info.get("exif")
        if not isinstance(raw, bytes):
            return None
        exif = Image.Exif()
        exif.load(raw)
        return exif
    return image.getexif()


def _exif_time(value: object, offset: object) -> datetime | None:
    """`2024:03:01 12:34:56` as a datetime; aware only if the camera wrote its UTC offset.

    Cameras write blanks, zeros and garbage here, so anything unparsable is simply unknown.
    """
    if not isinstance(value, str):
        return None
    try:
        taken = datetime.strptime(value.strip("\x00 ")[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    if isinstance(offset, str) and len(offset.strip("\x00 ")) == 6:
        text = offset.strip("\x00 ")
        sign = -1 if text[0] == "-" else 1
        try:
            delta = timedelta(hours=int(text[1:3]), minutes=int(text[4:6]))
            return taken.replace(tzinfo=timezone(sign * delta))
        except ValueError:  # not digits, or an offset no clock has
            return taken
    return taken
