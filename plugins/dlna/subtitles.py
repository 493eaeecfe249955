"""Which sidecar subtitle files go with the videos on a page of Browse or Search results.

The names of the subtitle files in each video's folder (kept in the folder index) are matched
to the video by name with the core's sidecar rules; only text subtitles, which a TV can fetch
and draw itself, are offered. It never reads the catalog and never opens a subtitle file.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable

from core.plugin_api import find_sidecar_subtitles
from plugins.dlna.objects import VIDEO_KINDS, Entry, MediaItem

SubtitleNames = Callable[[int, bytes, bytes], list[str]]


def with_subtitles(entries: list[Entry], names: SubtitleNames) -> list[Entry]:
    """`entries` with `subtitles` filled in for the videos among them; `names` gives the
    subtitle file names in a (library id, root, folder)."""

    def attach(entry: Entry) -> Entry:
        if not isinstance(entry, MediaItem) or entry.kind not in VIDEO_KINDS:
            return entry
        siblings = names(entry.library_id, entry.root, os.path.dirname(entry.relpath))
        if not siblings:
            return entry
        found = find_sidecar_subtitles(entry.filename, siblings)
        subtitles = tuple((s.name, s.format) for s in found if s.text_based)
        return dataclasses.replace(entry, subtitles=subtitles) if subtitles else entry

    return [attach(entry) for entry in entries]
