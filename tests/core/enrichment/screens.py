"""Screenshots of the web app over a library that has nothing but media files, once online
metadata has filled it in: a film, a show, a season's episode guide, an album, Home.

Run by world.py inside its namespace (Chromium reaches the server on the namespace's own
loopback). Skipped quietly where Playwright or Chromium is missing; the pictures go to
test-artifacts/web/online-*.png for people to look at, and the test checks they were made.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.plugins.web.browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, DESKTOP, sign_in


async def take(url: str, items: dict[str, Any]) -> list[str]:
    """The names of the screenshots taken (none when no browser is available)."""
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        return []
    if not CHROMIUM.exists():
        return []
    pages = {
        "home": "/#/",
        "movie": f"/#/item/{items['movie:The Matrix']['id']}",
        "show": f"/#/item/{items['show:Night Shift']['id']}",
        "season": f"/#/item/{items['season:1']['id']}",
        "album": f"/#/item/{items['album:OK Computer']['id']}",
    }
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    taken = []
    playwright = await async_playwright().start()
    try:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        page = await (await browser.new_context(viewport=DESKTOP)).new_page()
        await sign_in(page, url)
        for name, path in pages.items():
            await page.goto(url + path)
            await page.get_by_text("Loading…").wait_for(state="detached")
            await page.locator("#main h1, #main h2").first.wait_for()
            await page.wait_for_load_state("networkidle")  # the pictures
            target = Path(ARTIFACTS / f"online-{name}.png")
            await page.screenshot(path=str(target), full_page=True)
            taken.append(target.name)
        await browser.close()
    finally:
        await playwright.stop()
    return taken
