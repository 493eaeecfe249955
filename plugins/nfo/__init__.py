"""Metadata from the Kodi-style .nfo files that sit beside the media.

Reads `<name>.nfo`, `movie.nfo`, `tvshow.nfo`, `season.nfo`, `album.nfo` and `artist.nfo` —
nothing else, never more than 1 MiB of one — and never writes them, never fetches the artwork
URLs they list, and never uses the network. A broken nfo is logged once and treated as absent.
Finding and reading live in `reader.py`, safe XML loading in `document.py`, the fields in
`parser.py`.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.plugin_api import MetadataRequest, MetadataResult, PluginContext, no_options
from plugins.nfo.reader import NfoReader


@dataclass(frozen=True, slots=True)
class NfoConfig:
    """No options: listing `nfo:` in the configuration is the whole choice."""


CONFIG_SCHEMA = no_options(NfoConfig)


class NfoProvider:
    """Answers a lookup from the item's nfo file; None when it has none or it is unusable."""

    name = "nfo"

    def __init__(self, ctx: PluginContext) -> None:
        self._ctx = ctx
        self._reader = NfoReader(ctx.logger)

    async def lookup(self, request: MetadataRequest) -> MetadataResult | None:
        fields = await self._ctx.run_blocking(self._reader.lookup_blocking, request)
        return MetadataResult(fields, self.name) if fields else None


async def setup(ctx: PluginContext, config: NfoConfig) -> None:
    ctx.register_provider(NfoProvider(ctx))
