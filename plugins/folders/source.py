"""A library made of folders on this box: what the folder source registers with the hub.

Reads only; never writes inside the folders. A folder that is missing or unreadable makes the
library offline (its items are kept and hidden), it does not fail the plugin. Which symbolic
links the walk follows is the library's `follow_symlinks` (see core.library.roots).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from core.plugin_api import (
    DEFAULT_FOLLOW,
    FileRecord,
    LibraryInfo,
    LibraryRoots,
    WalkProblem,
    walk_tree_blocking,
)


@dataclass(frozen=True)
class LibraryConfig:
    """One configured library."""

    name: str
    kind: str
    paths: tuple[Path, ...]
    follow_symlinks: str = DEFAULT_FOLLOW


class LocalFolderSource:
    """The folders of one configured library."""

    # its walk is walk_tree_blocking over roots(): a scan walks it in a child process
    walks_folder_trees = True

    def __init__(self, config: LibraryConfig) -> None:
        self._config = config

    @property
    def source_id(self) -> str:
        return f"folders:{self._config.name}"

    @property
    def library(self) -> LibraryInfo:
        return LibraryInfo(self._config.name, self._config.kind, self._config.follow_symlinks)

    def roots(self) -> Sequence[Path]:
        return self._config.paths

    def is_online(self) -> bool:
        return all(
            os.path.isdir(path) and os.access(path, os.R_OK | os.X_OK) for path in self.roots()
        )

    def missing_roots(self) -> list[Path]:
        return [path for path in self.roots() if not os.path.isdir(path)]

    def walk_blocking(self, roots: LibraryRoots) -> Iterator[FileRecord | WalkProblem]:
        for root in self.roots():
            yield from walk_tree_blocking(root, roots=roots)
