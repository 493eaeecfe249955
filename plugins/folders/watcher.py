"""Live updates for folder libraries: inotify events, debounced, become folder-limited scans.

A new file shows up in the API within seconds. If the kernel's inotify watch limit is reached
the watcher says so loudly once (Jellyfin's stops silently) and the periodic rescan carries
on. It never reads file contents; the scanner does.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from core.plugin_api import is_ignored_directory

if TYPE_CHECKING:  # watchfiles brings anyio: imported to watch, not to check the configuration
    import watchfiles

_LOGGER = logging.getLogger("hearth.folders")
RequestScan = Callable[[list[str] | None], None]
S = TypeVar("S")
ROOT_CHECK_SECONDS = 30.0


def request_scans(
    request: Callable[[S, list[str] | None], None],
    watched: Sequence[tuple[Path, S]],
    folders: list[str] | None,
) -> None:
    """One watcher serves every library: each changed folder goes to every library whose root
    holds it (as when each library had its own watcher); None, changes that may have been
    missed, rescans every library."""
    sources: list[S] = []
    for _, source in watched:
        if not any(source is known for known in sources):
            sources.append(source)
    for source in sources:
        roots = [os.fspath(path) for path, owner in watched if owner is source]
        if folders is None:
            request(source, None)
            continue
        mine = [f for f in folders if any(f == r or f.startswith(r + os.sep) for r in roots)]
        if mine:
            request(source, mine)


def changed_folders(changes: set[tuple[watchfiles.Change, str]], roots: list[Path]) -> list[str]:
    """The folders to rescan for a batch of changes: each changed path's folder, inside a root."""
    folders: set[str] = set()
    root_texts = [os.fspath(root) for root in roots]
    for _change, path in changes:
        parts = Path(path).parts
        if any(is_ignored_directory(part) for part in parts[-8:-1]):
            continue
        folder = os.path.dirname(path)
        if any(folder == r or folder.startswith(r + os.sep) for r in root_texts):
            folders.add(folder)
        elif path in root_texts:
            folders.add(path)
    # a folder inside another one being rescanned is covered by that scan
    ordered = sorted(folders)
    return [f for f in ordered if not any(f.startswith(o + os.sep) for o in ordered if o != f)]


async def watch_folders(roots: list[Path], request: RequestScan, debounce_ms: int = 800) -> None:
    """Watch until cancelled; a lost watch (folder gone, limit reached) is retried slowly."""
    import watchfiles

    warned = False
    while True:
        present = [root for root in roots if root.is_dir()]
        if not present:
            await asyncio.sleep(ROOT_CHECK_SECONDS)
            continue
        appeared = asyncio.Event()  # a missing root (a drive mounted later) joins the watch
        checker = asyncio.create_task(_until_one_appears(roots, present, appeared))
        try:
            async for changes in watchfiles.awatch(
                *present,
                debounce=debounce_ms,
                step=100,
                watch_filter=None,
                ignore_permission_denied=True,
                stop_event=appeared,
            ):
                folders = changed_folders(changes, present)
                if folders:
                    request(folders)
            warned = False
        except asyncio.CancelledError:
            raise
        except Exception as err:  # inotify limit, a folder vanishing under the watcher
            if not warned:
                _LOGGER.warning(
                    "Live watching of %s stopped (%s); new files will appear at the next "
                    "periodic rescan. If this says 'too many', raise fs.inotify.max_user_watches.",
                    ", ".join(map(str, present)),
                    err,
                )
                warned = True
            request(None)  # what changed while we were blind
        finally:
            checker.cancel()
        if not appeared.is_set():
            await asyncio.sleep(5)


async def _until_one_appears(
    roots: list[Path], present: list[Path], appeared: asyncio.Event
) -> None:
    """Set `appeared` once a root that was missing is a folder again (checked every 30 s)."""
    missing = [root for root in roots if root not in present]
    while missing:
        await asyncio.sleep(ROOT_CHECK_SECONDS)
        if any(root.is_dir() for root in missing):
            appeared.set()
            return
