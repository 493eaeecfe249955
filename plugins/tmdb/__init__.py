"""Films and shows from The Movie Database (TMDB), online, only when the owner configures it.

Listing `tmdb:` with the owner's API key, and `api.themoviedb.org` and `image.tmdb.org` under
`hearth: egress: tmdb`, is the consent; without the second the gate refuses every request and
the plugin's health says what to add. It is asked after scans (core.enrichment), never in them,
and sends only titles, years, TMDB/IMDb ids, season and episode numbers, the language and the
country. Answers are cached under the plugin's data folder. The requests live in `lookup.py`,
the translation of TMDB's answers into Hearth's fields in `shapes.py`.
"""

from __future__ import annotations

from dataclasses import dataclass

import voluptuous as vol

from core.plugin_api import PluginContext, egress_advice, missing_hosts, override_option
from core.plugin_api import validators as cv
from plugins.tmdb.lookup import TmdbEnricher

API = "https://api.themoviedb.org/3"
IMAGES = "https://image.tmdb.org/t/p"


@dataclass(frozen=True, slots=True)
class TmdbConfig:
    api_key: str
    language: str = "en-US"
    country: str = "US"
    base_url: str = API
    image_base_url: str = IMAGES
    override_local: frozenset[str] = frozenset()
    concurrency: int = 2
    timeout: float = 60.0


CONFIG_SCHEMA = vol.Schema(
    vol.All(
        {
            vol.Required("api_key"): cv.non_empty_string,
            vol.Optional("language", default="en-US"): cv.non_empty_string,
            vol.Optional("country", default="US"): vol.All(cv.non_empty_string, str.upper),
            vol.Optional("base_url", default=API): vol.All(cv.non_empty_string, vol.Url()),
            vol.Optional("image_base_url", default=IMAGES): vol.All(cv.non_empty_string, vol.Url()),
            vol.Optional("override_local", default=[]): override_option,
            vol.Optional("concurrency", default=2): cv.integer(1, 8),
            vol.Optional("timeout", default=60): cv.integer(1, 600),
        },
        lambda options: TmdbConfig(**options),
    )
)


async def setup(ctx: PluginContext, config: TmdbConfig) -> None:
    missing = missing_hosts([config.base_url, config.image_base_url], ctx.http.enabled_hosts())
    if missing:  # the gate will refuse: say once, and in health, what the owner must add
        advice = egress_advice(ctx.domain, missing)
        ctx.logger.warning("TMDB cannot be reached: %s", advice)
        ctx.report({"egress": advice})
    ctx.register_enricher(TmdbEnricher(ctx, config))
