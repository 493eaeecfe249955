"""Metadata from the files themselves: audio tags (ID3, Vorbis comments, MP4 atoms) read by
the scanner's probe with mutagen.

The scanner reads tags once, in its worker processes, and offers them as `known["embedded"]`;
this provider hands them on, so its place in the configured order decides whether tags beat
nfo files or names. Reads nothing itself; no network.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.plugin_api import MetadataRequest, MetadataResult, PluginContext, no_options


@dataclass(frozen=True)
class EmbeddedConfig:
    """No options."""


CONFIG_SCHEMA = no_options(EmbeddedConfig)


class EmbeddedTagProvider:
    """Answers with what the file's tags said."""

    name = "embedded"

    async def lookup(self, request: MetadataRequest) -> MetadataResult | None:
        facts: Any = request.known.get("embedded")
        if not isinstance(facts, dict) or not facts:
            return None
        return MetadataResult(dict(facts), self.name)


async def setup(ctx: PluginContext, config: EmbeddedConfig) -> None:
    ctx.register_provider(EmbeddedTagProvider())
