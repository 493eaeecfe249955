"""Artwork from the image files kept beside the media, and covers embedded in music files.

Looks only in the item's own folder (and its show, album or disc folder), by the names Kodi,
Jellyfin and Plex use; answers with file paths or `embedded:<track>` references, never with
image bytes. Never writes, never decodes an image, never uses the network. The names live in
`finder.py`.
"""

from __future__ import annotations

from dataclasses import dataclass

import voluptuous as vol

from core.plugin_api import MetadataRequest, MetadataResult, PluginContext, clean_fields
from core.plugin_api import validators as cv
from plugins.local_artwork.finder import ArtworkFinder, FolderIndex


@dataclass(frozen=True, slots=True)
class LocalArtworkConfig:
    """`embedded: false` skips opening music files for covers when a folder has no image."""

    embedded: bool = True


CONFIG_SCHEMA = vol.Schema(
    vol.All(
        lambda value: {} if value is None else value,
        {vol.Optional("embedded", default=True): cv.boolean},
        lambda options: LocalArtworkConfig(**options),
    )
)


class LocalArtworkProvider:
    """Answers a lookup with the artwork found on disk; None when there is none."""

    name = "local_artwork"

    def __init__(self, ctx: PluginContext, embedded: bool) -> None:
        self._ctx = ctx
        self._finder = ArtworkFinder(FolderIndex(), embedded, ctx.logger)

    async def lookup(self, request: MetadataRequest) -> MetadataResult | None:
        artwork = await self._ctx.run_blocking(self._finder.find_blocking, request)
        fields = clean_fields({"artwork": artwork})
        return MetadataResult(fields, self.name) if fields else None


async def setup(ctx: PluginContext, config: LocalArtworkConfig) -> None:
    ctx.register_provider(LocalArtworkProvider(ctx, config.embedded))
