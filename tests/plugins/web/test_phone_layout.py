"""The web app on phones (360x740, 390x844, 430x932): no page scrolls sideways, the main
navigation is one tap away (a Menu button) with Search always on screen, Settings and the
account one tap away, and the player fits the screen. Screenshots go to test-artifacts/web/."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import RunningServer
from tests.plugins.web.browser import ARTIFACTS, sign_in, until, wait_playing
from tests.plugins.web.conftest import NewPage

PHONES = [
    pytest.param({"width": 360, "height": 740}, id="360x740"),
    pytest.param({"width": 390, "height": 844}, id="390x844"),
    pytest.param({"width": 430, "height": 932}, id="430x932"),
]

# What sticks out past the right edge, for a message that says where to look.
OVERFLOW = """() => {
  const width = window.innerWidth;
  const wide = [...document.querySelectorAll('body *')].filter((el) => {
    const box = el.getBoundingClientRect();
    return box.width > 0 && box.right > width + 1 && !el.closest('.row, .table-wrap, #nav ul');
  }).slice(0, 5).map((el) => `${el.tagName.toLowerCase()}.${el.className} `
    + Math.round(el.getBoundingClientRect().right));
  return {scroll: document.documentElement.scrollWidth, width, wide};
}"""


async def fits(page: Any, name: str) -> None:
    await until(page, "Array.from(document.images).every(i => i.complete)")
    measured = await page.evaluate(OVERFLOW)
    assert measured["scroll"] <= measured["width"], (name, measured)


async def pages(server: RunningServer) -> dict[str, str]:
    libraries = (await server.get_json("/api/libraries"))["libraries"]
    by_name = {lib["name"]: lib["id"] for lib in libraries}  # type: ignore[attr-defined]
    found: Any = await server.get_json("/api/items?q=Big Test&kind=movie")
    movie = found["items"][0]["id"]
    return {
        "home": "/#/",
        "movies": f"/#/library/{by_name['Movies']}",
        "music": f"/#/library/{by_name['Music']}",
        "photos": f"/#/library/{by_name['Photos']}",
        "shows": f"/#/library/{by_name['TV']}",
        "item": f"/#/item/{movie}",
        "search": "/#/search?q=a",
        "playlists": "/#/playlists",
        "account": "/#/account",
        "settings": "/#/admin",
        "people": "/#/admin/users",
        "privacy": "/#/admin/privacy",
        "system": "/#/admin/system",
        "player": f"/#/play/{movie}",
    }


@pytest.mark.parametrize("viewport", PHONES)
async def test_no_page_scrolls_sideways_and_navigation_is_one_tap_away(
    web: RunningServer, new_page: NewPage, viewport: dict[str, int]
) -> None:
    page = await new_page(viewport=viewport)
    await sign_in(page, web.url)
    size = f"{viewport['width']}x{viewport['height']}"
    for name, path in (await pages(web)).items():
        await page.goto(web.url + path)
        await page.locator("#main h1").first.wait_for()
        if name == "player":
            await wait_playing(page, 0.3)
            stage = await page.locator(".stage video").bounding_box()
            assert stage["y"] + stage["height"] <= viewport["height"], "the picture runs off"
            assert stage["width"] <= viewport["width"]
        await fits(page, f"{size} {name}")
        if name in ("home", "player", "settings", "system"):
            await page.screenshot(path=str(ARTIFACTS / f"phone-{size}-{name}.png"))

    await page.goto(web.url + "/#/")
    main = page.get_by_role("navigation", name="Main")
    search = main.get_by_role("link", name="Search")
    assert await search.is_visible()  # Search needs no menu
    await search.click()
    await page.get_by_role("searchbox", name="Search").wait_for()
    menu = main.get_by_role("button", name="Menu")
    assert await menu.get_attribute("aria-expanded") == "false"
    await menu.click()
    assert await menu.get_attribute("aria-expanded") == "true"
    await fits(page, f"{size} menu open")
    await page.screenshot(path=str(ARTIFACTS / f"phone-{size}-menu.png"))
    await main.get_by_role("link", name="Settings").click()  # one tap from the menu
    await page.get_by_role("heading", name="Settings").wait_for()
    assert await menu.get_attribute("aria-expanded") == "false"  # it closes once used
    await menu.click()
    await main.get_by_role("link", name="Account: owner").click()
    await page.get_by_role("heading", name="owner").first.wait_for()
    await menu.click()
    await page.keyboard.press("Escape")
    assert await menu.get_attribute("aria-expanded") == "false"


async def test_a_wide_screen_shows_every_link_without_a_menu(
    web: RunningServer, new_page: NewPage
) -> None:
    page = await new_page(viewport={"width": 1920, "height": 1080})
    await sign_in(page, web.url)
    main = page.get_by_role("navigation", name="Main")
    for name in ("Home", "Movies", "Music", "Search", "Settings", "Account: owner"):
        assert await main.get_by_role("link", name=name, exact=True).is_visible(), name
    assert not await main.get_by_role("button", name="Menu").is_visible()
    await page.screenshot(path=str(ARTIFACTS / "tv-1920x1080-home.png"))
