"""The web app: Hearth in any browser on the home network, from a phone to a TV.

Serves only the app's own shell — one page, ES modules, styles, icons, the manifest and a
service worker — from files read once at setup (`shell.py`); everything a person sees comes
from the API, signed in. Plain platform code, no build step, no third-party front-end code,
no network use of its own. Listing `web:` in the configuration is the whole choice.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.plugin_api import PluginContext, PluginSetupError, no_options

STATIC = Path(__file__).parent / "static"


@dataclass(frozen=True, slots=True)
class WebConfig:
    """No options."""


CONFIG_SCHEMA = no_options(WebConfig)


async def setup(ctx: PluginContext, config: WebConfig) -> None:
    """Load the shell and serve it at /, /app/…, /manifest.webmanifest and /sw.js."""
    from plugins.web.shell import load_shell_blocking  # aiohttp: not for `hearth check-config`

    try:
        shell = await ctx.run_blocking(load_shell_blocking, STATIC)
    except (OSError, KeyError) as err:
        raise PluginSetupError(f"the web app's files are incomplete: {err}") from err
    ctx.add_routes(shell.routes())
    ctx.report({"build": shell.build, "files": len(shell.assets)})
