"""Live updates for folder libraries: inotify events, debounced, become folder-limited scans.

A new file shows up in the API within seconds. If the kernel's inotify watch limit is reached
the watcher says so loudly once (Jellyfin's stops silently) and the periodic rescan carries
on. It never reads file contents; the scanner does.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from core.media.classify import is_ignored_directory

if TYPE_CHECKING:  # watchfiles brings anyio: imported to watch, not to check the configuration
    import watchfiles

_LOGGER = logging.getLogger("hearth.folders")
RequestScan = Callable[[list[str] | None], None]


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
            await asyncio.sleep(30)
            continue
        try:
            async for changes in watchfiles.awatch(
                *present,
                debounce=debounce_ms,
                step=100,
                watch_filter=None,
                ignore_permission_denied=True,
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
        await asyncio.sleep(5)
