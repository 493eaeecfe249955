"""What a worker process learns about one file: its probe, its name and a content fingerprint.

Runs in worker processes (PyAV holds the GIL while it parses headers; see core.scan.worker), so
everything here is a plain function over plain values returning a picklable frozen dataclass.
A bad file becomes an `Analysis` with `error` set: a scan never stops for one file. A file is
opened once, checked to be a library file once open (core.library.roots) and read only through
that descriptor, so a link put at its path after the walk looked is never read: its tags would
end up in the catalog.
"""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass
from typing import BinaryIO

from core.heap import malloc_trim
from core.library.roots import LibraryRoot, LibraryRoots, OutsideLibraryError
from core.media.classify import FileKind
from core.media.facts import ProbeResult  # not core.media.probe: that loads PyAV, mutagen, Pillow
from core.media.naming import LibraryKind, ParsedName, parse_name

# The fingerprint reads 64 KiB at each end: a 1 MiB head cost ~1.7 ms a file here (CRC and copy)
# and ~25 ms from an SD card, more than the probe; the tail tells apart same-size files whose
# heads match (an album's tracks behind one large embedded cover).
HEAD_BYTES = 64 * 1024
TAIL_BYTES = 64 * 1024
FINGERPRINT = "ht:"  # marks this kind of fingerprint; a catalog may hold the older kind
LEGACY_HEAD_BYTES = 1024 * 1024  # the older kind: CRC of the first MiB, no marker
MEDIA_ROLES = frozenset({FileKind.VIDEO, FileKind.AUDIO, FileKind.PHOTO})


@dataclass(frozen=True, slots=True)
class Analysis:
    """Everything the main process needs to plan an item for one file."""

    root: str
    relpath: str
    probe: ProbeResult | None
    name: ParsedName | None
    head_hash: str | None
    error: str | None


def head_hash_blocking(path: str) -> str:
    """Fingerprint of the first and last 64 KiB plus the size: finds a file again after a move.

    CRC-32, not a cryptographic hash: it only has to tell apart files of the same size that
    went missing in the same scan, and zlib's CRC runs at memory speed on a Pi (which has CRC
    instructions but no SHA ones), where a SHA would cost more than the probe itself.
    """
    with open(path, "rb") as file:
        return fingerprint_blocking(file)


def fingerprint_blocking(file: BinaryIO) -> str:
    """`head_hash_blocking`'s fingerprint of a file open for reading, wherever it is at."""
    size = os.fstat(file.fileno()).st_size
    file.seek(0)
    crc = zlib.crc32(file.read(HEAD_BYTES))
    if size > HEAD_BYTES:
        file.seek(max(HEAD_BYTES, size - TAIL_BYTES))
        crc = zlib.crc32(file.read(TAIL_BYTES), crc)
    return f"{FINGERPRINT}{crc:08x}-{size:x}"


def is_legacy_fingerprint(head_hash: str) -> bool:
    """Stored by an older scan (CRC of the first MiB), so not comparable with a new one."""
    return not head_hash.startswith(FINGERPRINT)


def legacy_head_hash_blocking(path: str) -> str:
    """The older fingerprint of a file, to find a file again whose catalog row holds one."""
    with open(path, "rb") as file:
        head = file.read(LEGACY_HEAD_BYTES)
        size = os.fstat(file.fileno()).st_size
    return f"{zlib.crc32(head):08x}-{size:x}"


def analyze_blocking(
    root: str, relpath: str, library_kind: LibraryKind, roots: LibraryRoots | None = None
) -> Analysis:
    """Probe and name one media file; never raises for a bad file. `roots`: where library
    files may be (every library's folders, with their link rules); `root` alone if not given."""
    from core.media.probe import ProbeError, probe_blocking, unreadable

    path = os.path.join(root, relpath)
    try:
        name: ParsedName | None = parse_name(relpath, library_kind)
    except Exception as err:  # naming is total by design; a bug there must not stop a scan
        name = None
        naming_error: str | None = f"cannot parse the name: {err}"
    else:
        naming_error = None
    if roots is None:
        roots = LibraryRoots([LibraryRoot(root)])
    try:
        with roots.open_blocking(path) as opened:
            probe = probe_blocking(path, opened)
            with open(opened.file.fileno(), "rb", closefd=False) as file:  # buffered
                fingerprint = fingerprint_blocking(file)
    except ProbeError as err:
        return Analysis(root, relpath, None, name, None, err.problem)
    except OutsideLibraryError as err:  # a link put there since the walk (logged by the roots)
        problem = f"leads to {err.real}, outside every library folder"
        return Analysis(root, relpath, None, name, None, problem)
    except OSError as err:  # vanished or became unreadable before it was opened, or since
        return Analysis(root, relpath, None, name, None, unreadable(err))
    return Analysis(root, relpath, probe, name, fingerprint, naming_error)


def analyze_many_blocking(
    jobs: list[tuple[str, str, LibraryKind]], roots: LibraryRoots | None = None
) -> list[Analysis]:
    """A chunk of files in one round trip to a worker (pickling per file costs more)."""
    result = [analyze_blocking(root, relpath, kind, roots) for root, relpath, kind in jobs]
    release_memory()
    return result


def release_memory() -> None:
    """Give freed heap pages back to the system (glibc only; a no-op elsewhere).

    FFmpeg's many short-lived allocations leave glibc's heap fragmented: without this a worker
    grew by ~2 MB per thousand movies probed (107 MB after a 100k-item scan), with it ~0.4 MB.
    """
    malloc_trim()
