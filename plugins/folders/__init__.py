"""Folder libraries: movies, shows, music, photos and home videos from folders on this box.

Reads only the configured folders and never writes inside them (it creates a missing folder
only for a relative path, the newcomer's `./media/Movies`). No network. Each library becomes one
source; inotify and a periodic rescan keep the catalog current. A library's `follow_symlinks`
(`inside` by default, `false` or `all`) says which symbolic links its scan follows.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import voluptuous as vol

from core.plugin_api import (
    DEFAULT_FOLLOW,
    FOLLOW_SYMLINKS,
    LIBRARY_KINDS,
    HubStarted,
    PluginContext,
)
from core.plugin_api import validators as cv
from plugins.folders.advice import advise
from plugins.folders.source import LibraryConfig, LocalFolderSource
from plugins.folders.watcher import request_scans, watch_folders

__all__ = ["CONFIG_SCHEMA", "advise", "setup"]  # advise: hearth check-config's warnings


@dataclass(frozen=True)
class FoldersConfig:
    """The plugin's settings."""

    libraries: tuple[LibraryConfig, ...]
    watch: bool
    rescan_hours: float


def _library(data: dict[str, Any]) -> LibraryConfig:
    return LibraryConfig(data["name"], data["kind"], tuple(data["paths"]), data["follow_symlinks"])


def _unique_names(libraries: list[LibraryConfig]) -> list[LibraryConfig]:
    names = [library.name for library in libraries]
    for name in names:
        if names.count(name) > 1:
            raise vol.Invalid(f"two libraries are called {name!r}; names must differ")
    return libraries


LIBRARY_SCHEMA = vol.Schema(
    vol.All(
        {
            vol.Required("name"): cv.non_empty_string,
            vol.Required("kind"): cv.one_of(*LIBRARY_KINDS),
            vol.Required("paths"): vol.All(cv.ensure_list, vol.Length(min=1), [cv.path]),
            vol.Optional("follow_symlinks", default=DEFAULT_FOLLOW): cv.one_of(*FOLLOW_SYMLINKS),
        },
        _library,
    )
)

CONFIG_SCHEMA = vol.Schema(
    vol.All(
        {
            vol.Optional("libraries", default=list): vol.All([LIBRARY_SCHEMA], _unique_names),
            vol.Optional("watch", default=True): cv.boolean,
            vol.Optional("rescan_hours", default=6): vol.All(cv.integer(0, 24 * 30)),
        },
        lambda d: FoldersConfig(tuple(d["libraries"]), d["watch"], float(d["rescan_hours"])),
    )
)


def _prepare_blocking(library: LibraryConfig) -> LibraryConfig:
    """Resolve relative paths from the working directory; create them (and only them)."""
    for path in library.paths:
        if not path.is_absolute():
            path.mkdir(parents=True, exist_ok=True)
    paths = tuple(p.resolve() for p in library.paths)
    return LibraryConfig(library.name, library.kind, paths, library.follow_symlinks)


async def setup(ctx: PluginContext, config: FoldersConfig) -> None:
    """Register one source per library and keep each current."""
    libraries = [await ctx.run_blocking(_prepare_blocking, c) for c in config.libraries]
    # All registered at once, before any scan can start: a scan follows a link into another
    # library's folder only if that library is registered by then.
    watched: list[tuple[Path, LocalFolderSource]] = []
    for library in libraries:
        source = LocalFolderSource(library)
        missing = source.missing_roots()
        if missing:
            ctx.logger.warning(
                "%s: %s not found (drive not mounted?); the library stays offline until it is",
                library.name,
                ", ".join(map(str, missing)),
            )
        ctx.register_source(source)
        if not ctx.live:
            continue
        watched += [(path, source) for path in library.paths]
        if config.rescan_hours > 0:
            ctx.create_task(_periodic(ctx, source, config.rescan_hours), f"rescan-{library.name}")
    if watched and config.watch:  # one watcher (one inotify, one thread) for every library
        request = partial(request_scans, ctx.request_scan, watched)
        status = ctx.report  # "starting", then "on" with the folders watched, in /api/health
        watch = partial(watch_folders, [path for path, _ in watched], request, status=status)
        ctx.create_task(_once_serving(ctx, watch), "watch-folders")


async def _once_serving(ctx: PluginContext, start: Callable[[], Awaitable[None]]) -> None:
    """Start once the server answers: adding a watch to each of 30k folders (100k files) takes
    a core for a second or more, which the start and the first answers need more."""
    if not ctx.http_port:  # not yet serving (a plugin set up again later finds it serving)
        serving = asyncio.Event()
        ctx.subscribe(HubStarted, lambda _event: serving.set())
        await serving.wait()
    await start()


async def _periodic(ctx: PluginContext, source: LocalFolderSource, hours: float) -> None:
    """The safety net under inotify: a full incremental rescan (stats only when unchanged)."""
    while True:
        await asyncio.sleep(hours * 3600)
        ctx.request_scan(source)
