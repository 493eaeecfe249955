"""Albums and artists from MusicBrainz, covers from the Cover Art Archive; online, on request.

Listing `musicbrainz:`, and its hosts under `hearth: egress: musicbrainz`, is the consent.
MusicBrainz's rules are kept: at most one request a second (`interval`, never below 1 s against
musicbrainz.org) and a User-Agent naming Hearth, its version and a contact. Asked after scans
(core.enrichment), it sends only MusicBrainz ids from tags, album titles and artist names.
Answers are cached under the plugin's data folder; the requests live in `lookup.py`.
"""

from __future__ import annotations

from dataclasses import dataclass

import voluptuous as vol
from yarl import URL

from core.plugin_api import PluginContext, egress_advice, missing_hosts, override_option
from core.plugin_api import validators as cv
from plugins.musicbrainz.lookup import MusicBrainzEnricher

API = "https://musicbrainz.org/ws/2"
COVERS = "https://coverartarchive.org"
CONTACT = "a self-hosted home media server"
"""Said when the owner names no `contact` (an e-mail address or URL MusicBrainz may use)."""


@dataclass(frozen=True, slots=True)
class MusicBrainzConfig:
    base_url: str = API
    cover_art_url: str = COVERS
    contact: str = CONTACT
    interval: float = 1.0
    override_local: frozenset[str] = frozenset()
    timeout: float = 60.0


def _interval(options: dict[str, object]) -> MusicBrainzConfig:
    config = MusicBrainzConfig(**options)  # type: ignore[arg-type]
    if URL(config.base_url).host == "musicbrainz.org" and config.interval < 1.0:
        raise vol.Invalid("interval: musicbrainz.org allows one request a second at most")
    return config


CONFIG_SCHEMA = vol.Schema(
    vol.All(
        lambda value: {} if value is None else value,
        {
            vol.Optional("base_url", default=API): vol.All(cv.non_empty_string, vol.Url()),
            vol.Optional("cover_art_url", default=COVERS): vol.All(cv.non_empty_string, vol.Url()),
            vol.Optional("contact", default=CONTACT): cv.non_empty_string,
            vol.Optional("interval", default=1.0): vol.All(vol.Coerce(float), vol.Range(0, 60)),
            vol.Optional("override_local", default=[]): override_option,
            vol.Optional("timeout", default=60): cv.integer(1, 600),
        },
        _interval,
    )
)


async def setup(ctx: PluginContext, config: MusicBrainzConfig) -> None:
    missing = missing_hosts([config.base_url, config.cover_art_url], ctx.http.enabled_hosts())
    if missing:  # the gate will refuse: say once, and in health, what the owner must add
        advice = egress_advice(ctx.domain, missing)
        ctx.logger.warning("MusicBrainz cannot be reached: %s", advice)
        ctx.report({"egress": advice})
    ctx.register_enricher(MusicBrainzEnricher(ctx, config))
