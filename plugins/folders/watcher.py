"""Live updates for folder libraries: inotify events, debounced, become folder-limited scans.

A new file shows up in the API within seconds. If the kernel's inotify watch limit is reached
the watcher says so loudly once (Jellyfin's stops silently) and the periodic rescan carries
on. It never reads file contents; the scanner does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from core.plugin_api import is_ignored_directory, trim_blocking
from plugins.folders.inotify import Change, Changes, FolderTree

__all__ = ["Change", "changed_folders", "request_scans", "watch_folders"]

_LOGGER = logging.getLogger("hearth.folders")
RequestScan = Callable[[list[str] | None], None]
Status = Callable[[Mapping[str, Any]], None]  # what /api/health shows about the watch
S = TypeVar("S")
ROOT_CHECK_SECONDS = 30.0
STEP_SECONDS = 0.1  # a batch is handed on after this long without a new change


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


def changed_folders(changes: Iterable[tuple[Change, str]], roots: list[Path]) -> list[str]:
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


async def watch_folders(
    roots: list[Path],
    request: RequestScan,
    debounce_ms: int = 800,
    status: Status | None = None,
) -> None:
    """Watch until cancelled. A thread adds the watches folder by folder and reads the events
    (FolderTree), so the loop and every request go on meanwhile; the changes it reports are
    gathered here for up to `debounce_ms` and become folder-limited scans. `status` hears
    "starting", then "on" or "partial" (the watch limit) with the number of folders watched."""
    say = status or (lambda _detail: None)
    while True:
        say({"watch": "starting"})
        try:
            await _watch_once(roots, request, debounce_ms / 1000, say)
        except OSError as err:  # no inotify instance left (fs.inotify.max_user_instances)
            say({"watch": "off", "error": str(err)})
            _LOGGER.warning(
                "Live watching of %s stopped (%s); new files will appear at the next periodic "
                "rescan. It is tried again every %.0f s.",
                ", ".join(map(str, roots)),
                err,
                ROOT_CHECK_SECONDS,
            )
        await asyncio.sleep(ROOT_CHECK_SECONDS)


async def _watch_once(
    roots: list[Path], request: RequestScan, debounce: float, say: Status
) -> None:
    """One watching thread's life: until cancelled (the thread is stopped and waited for) or
    until it fails (raised here)."""
    loop = asyncio.get_running_loop()
    inbox: asyncio.Queue[Changes | BaseException | None] = asyncio.Queue()
    ended = threading.Event()

    def put(item: Changes | BaseException | None) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody listens any more
            loop.call_soon_threadsafe(inbox.put_nowait, item)

    def limit_reached(err: OSError) -> None:
        loop.call_soon_threadsafe(_warn_limit, roots, err)

    def ready(watched: int, partial: bool) -> None:
        # in the watching thread, once: what the walk freed (its listings, the watch map's
        # copies as it grew: ~0.4 MB at 30k folders) goes back to the system
        trim_blocking()
        detail = {"watch": "partial" if partial else "on", "folders": watched}
        loop.call_soon_threadsafe(say, detail)

    tree = FolderTree(roots, put, limit_reached, ROOT_CHECK_SECONDS, ready)

    def run() -> None:
        try:
            tree.run_blocking()
        except BaseException as err:  # handed to the loop, which logs or raises it
            put(err)
        finally:
            ended.set()

    thread = threading.Thread(target=run, name="hearth-folder-watch", daemon=True)
    thread.start()
    try:
        while True:
            batch = await _gather(inbox, loop, debounce)
            if any(item is None for item in batch):
                request(None)  # the kernel's queue overflowed: what changed is unknown
                continue
            changes: Changes = set()
            for item in batch:
                if isinstance(item, BaseException):
                    raise item
                if item is not None:
                    changes |= item
            folders = changed_folders(changes, roots)
            if folders:
                request(folders)
    finally:
        tree.stop()
        await asyncio.to_thread(ended.wait)


async def _gather(
    inbox: asyncio.Queue[Changes | BaseException | None],
    loop: asyncio.AbstractEventLoop,
    debounce: float,
) -> list[Changes | BaseException | None]:
    """The next batch: from the first report until STEP_SECONDS pass without one, at most
    `debounce` seconds (a copy that goes on for minutes is still seen in parts)."""
    batch = [await inbox.get()]
    deadline = loop.time() + debounce
    while (remaining := deadline - loop.time()) > 0:
        try:
            batch.append(await asyncio.wait_for(inbox.get(), min(remaining, STEP_SECONDS)))
        except TimeoutError:
            break
    return batch


def _warn_limit(roots: list[Path], err: OSError) -> None:
    _LOGGER.warning(
        "Live watching of %s is partial (%s): folders beyond the limit get new files at the "
        "next periodic rescan. Raise fs.inotify.max_user_watches to watch them all.",
        ", ".join(map(str, roots)),
        err,
    )
