"""What `hearth check-config` warns about in a valid `folders:` block: library folders that do
not exist (the library would stay offline) and relative ones the server would create empty.
It only looks; it never creates a folder.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.plugin_api import Advice, folder_advice

if TYPE_CHECKING:
    from plugins.folders import FoldersConfig


def advise(config: FoldersConfig) -> list[Advice]:
    """One warning per missing folder, at its place in the block."""
    found: list[Advice] = []
    for index, library in enumerate(config.libraries):
        for number, path in enumerate(library.paths):
            text = folder_advice(path, library.name)
            if text is not None:
                where: list[Any] = ["libraries", index, "paths", number]
                found.append((where, text))
    return found
