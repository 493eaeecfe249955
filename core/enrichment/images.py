"""Pictures from online providers: fetched once, resized, kept in the thumbnail cache.

A picture is named after its URL, so the same poster is never fetched twice (not by a rescan,
a restart, nor by two items sharing it), and stored as a JPEG at most `BOX` pixels on its long
side in the cache's `online` folder, where `online:<name>` references find it
(core.library.artwork). It never writes beside the media, never keeps the original bytes and
never copies EXIF. `fetch` asks the provider for what is not cached yet; `store_blocking`
blocks: call it through an executor.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
from collections.abc import Mapping, MutableMapping
from pathlib import Path

from core.enrichment.provider_state import IMAGE_WORDS, purpose_of
from core.enrichment.surface import ImageMissing
from core.errors import HearthError
from core.kinds import MetadataEnricher
from core.library.artwork import MAX_PIXELS, online_path, write_jpeg_atomically
from core.library.fields import ONLINE_PREFIX

_LOGGER = logging.getLogger("hearth.enrichment")
PICTURE_URLS = "__pictures__"
"""In a match's stored fields: the provider's picture URLs per artwork kind (not a metadata
field, so merging drops it), kept to fetch a picture again when its cached copy is gone."""
BOX = 1080  # the largest thumbnail size served: nothing bigger is ever shown
QUALITY = 88


class ImageRejected(HearthError):
    """The bytes a provider sent are not a picture this box will decode."""


def reference_for(url: str) -> str:
    """The `online:` reference a picture at `url` is kept under."""
    return f"{ONLINE_PREFIX}{hashlib.sha256(url.encode()).hexdigest()[:32]}.jpg"


def path_of(cache_dir: Path, ref: str) -> Path:
    return online_path(cache_dir, ref.removeprefix(ONLINE_PREFIX))


def have_blocking(cache_dir: Path, ref: str) -> bool:
    try:
        return path_of(cache_dir, ref).stat().st_size > 0
    except OSError:
        return False


def missing_blocking(cache_dir: Path, wanted: list[dict[str, str]]) -> list[dict[str, str]]:
    """For each {artwork kind: URL}, the ones whose picture is not in the cache."""
    return [
        {
            kind: url
            for kind, url in urls.items()
            if not have_blocking(cache_dir, reference_for(url))
        }
        for urls in wanted
    ]


def store_blocking(cache_dir: Path, ref: str, data: bytes) -> int:
    """Decode, shrink into `BOX` and write atomically; returns the bytes written."""
    from PIL import Image, UnidentifiedImageError  # loaded with the first picture, not at start

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.draft("RGB", (BOX, BOX))
            if image.size[0] * image.size[1] > MAX_PIXELS:
                raise ImageRejected(f"the picture is {image.size[0]}x{image.size[1]}, too large")
            image.load()
            image.thumbnail((BOX, BOX), Image.Resampling.LANCZOS)
            rgb = image.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as err:
        raise ImageRejected(f"not a picture that can be read ({err})") from err
    target = path_of(cache_dir, ref)
    write_jpeg_atomically(target, rgb, QUALITY)
    return target.stat().st_size


async def fetch(
    enricher: MetadataEnricher,
    cache_dir: Path,
    item_kind: str,
    urls: Mapping[str, str],
    counts: MutableMapping[str, int],
) -> dict[str, str]:
    """Each picture once, through the provider's gate: a reference to the cached copy per
    artwork kind. A picture the provider does not have, or that is not a picture, is left out."""
    art: dict[str, str] = {}
    loop = asyncio.get_running_loop()
    for art_kind, url in urls.items():
        if art_kind not in IMAGE_WORDS:
            continue
        ref = reference_for(url)
        if not await loop.run_in_executor(None, have_blocking, cache_dir, ref):
            try:
                data = await enricher.fetch_image(url, purpose_of(art_kind, item_kind))
                await loop.run_in_executor(None, store_blocking, cache_dir, ref, data)
            except (ImageMissing, ImageRejected) as err:
                _LOGGER.debug("No %s from %s: %s", art_kind, url, err)
                continue
            counts["images"] = counts.get("images", 0) + 1
        art[art_kind] = ref
    return art
