"""Teaching Pillow HEIC/HEIF (what iPhones shoot) through `pillow-heif`, only when one is met.

Loading pillow-heif maps libheif, libde265 and x265 into the process (~8 MB RSS), and most
libraries hold no HEIF at all, so nothing imports it at module import time: every place that
opens a photo with Pillow calls `prepare_pillow_for(path)` first, in whichever process it runs
(scan workers are separate processes and each registers for itself). Registering again is
harmless, so no state is kept here.
"""

from __future__ import annotations

import os

__all__ = ["HEIF_EXTENSIONS", "HeifSupportMissingError", "is_heif", "prepare_pillow_for"]

HEIF_EXTENSIONS = frozenset({".heic", ".heif", ".hif"})


class HeifSupportMissingError(Exception):
    """HEIC/HEIF needs `pillow-heif`, which this environment cannot import."""


def is_heif(path: str | os.PathLike[str]) -> bool:
    """Judged by the name, as the scanner classifies files: sniffing would cost a read."""
    return os.path.splitext(os.fspath(path))[1].casefold() in HEIF_EXTENSIONS


def prepare_pillow_for(path: str | os.PathLike[str]) -> None:
    """Make sure Pillow can open `path`: registers the HEIF opener when it is a HEIF file."""
    if not is_heif(path):
        return
    try:
        import pillow_heif
    except ImportError as err:
        raise HeifSupportMissingError(
            "HEIC/HEIF photos need the pillow-heif package, which is not installed"
        ) from err
    # Depth maps and auxiliary images (portrait mattes) are never shown: skipping them saves
    # parsing and memory. Embedded thumbnails stay on, so `draft` can use them for small boxes.
    pillow_heif.register_heif_opener(depth_images=False, aux_images=False)
