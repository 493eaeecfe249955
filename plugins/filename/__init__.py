"""Metadata from names: `Movie (1999)`, `Show - S01E02 - Title`, `Artist/Album (Year)/01 - Song`.

The scanner already parsed each path (in its worker processes, where guessit's cost does not
block anything) and offers what the name says as `known["filename"]`; this provider hands it
on, so its place in the configured order decides whether names beat nfo files or tags. Reads
nothing itself; no network.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.plugin_api import MetadataRequest, MetadataResult, PluginContext, no_options


@dataclass(frozen=True)
class FilenameConfig:
    """No options: names are what they are."""


CONFIG_SCHEMA = no_options(FilenameConfig)


class FilenameProvider:
    """Answers with the facts the path gave the scanner."""

    name = "filename"

    async def lookup(self, request: MetadataRequest) -> MetadataResult | None:
        facts: Any = request.known.get("filename")
        if not isinstance(facts, dict) or not facts:
            return None
        return MetadataResult(dict(facts), self.name)


async def setup(ctx: PluginContext, config: FilenameConfig) -> None:
    ctx.register_provider(FilenameProvider())
