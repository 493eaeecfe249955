"""Arrow keys on a 1920x1080 screen (a TV remote): focus moves to the nearest card in the
direction pressed, across shelves and grids — down from the end of a long shelf lands in the
next, shorter shelf instead of leaping over it, and sideways stays in its shelf."""

from __future__ import annotations

import itertools
from typing import Any

from tests.conftest import RunningServer
from tests.plugins.web.browser import ARTIFACTS, sign_in, until
from tests.plugins.web.conftest import NewPage

TV = {"width": 1920, "height": 1080}

# Every shelf's cards with their centres, in page order.
SHELVES = """() => [...document.querySelectorAll('section.shelf')].map((shelf) =>
  [...shelf.querySelectorAll('a.card')].map((card) => {
    const box = card.getBoundingClientRect();
    return {id: card.dataset.id, x: box.left + box.width / 2, y: box.top + box.height / 2};
  }))"""
FOCUSED = "document.activeElement.dataset.id || document.activeElement.tagName"


def nearest(cards: list[dict[str, Any]], x: float) -> str:
    return str(min(cards, key=lambda card: abs(card["x"] - x))["id"])


async def focus(page: Any, card_id: str) -> None:
    await page.locator(f'a.card[data-id="{card_id}"]').first.focus()


async def test_arrow_keys_move_to_the_nearest_card_across_shelves(
    web: RunningServer, new_page: NewPage
) -> None:
    page = await new_page(viewport=TV)
    await sign_in(page, web.url)
    await page.locator("section.shelf a.card").first.wait_for()
    await until(page, "Array.from(document.images).every(i => i.complete)")
    shelves = [s for s in await page.evaluate(SHELVES) if s]
    assert len(shelves) >= 3, shelves
    # a long shelf above a shorter one: from its last card, Down must stay in the next shelf
    pairs = [(i, s) for i, s in enumerate(shelves[:-1]) if len(s) > len(shelves[i + 1])]
    assert pairs, [len(s) for s in shelves]
    index, upper = pairs[0]
    lower = shelves[index + 1]
    for card in (upper[0], upper[-1], upper[len(upper) // 2]):
        await focus(page, card["id"])
        here = await page.evaluate(SHELVES)
        now = next(c for c in [c for s in here for c in s] if c["id"] == card["id"])
        lower_now = [s for s in here if s][index + 1]
        await page.keyboard.press("ArrowDown")
        assert await page.evaluate(FOCUSED) == nearest(lower_now, now["x"]), card
        await page.keyboard.press("ArrowUp")
        back = await page.evaluate(FOCUSED)
        assert back in {c["id"] for c in upper}, "Up went somewhere else than the shelf above"
    # sideways stays in the shelf: Right from the lower shelf's last card goes nowhere
    await focus(page, lower[-1]["id"])
    await page.keyboard.press("ArrowRight")
    assert await page.evaluate(FOCUSED) == lower[-1]["id"]
    await page.keyboard.press("ArrowLeft")
    assert len(lower) == 1 or await page.evaluate(FOCUSED) == lower[-2]["id"]
    await page.screenshot(path=str(ARTIFACTS / "tv-1920x1080-focus.png"))


async def test_arrow_keys_move_between_the_grids_of_search_results(
    web: RunningServer, new_page: NewPage
) -> None:
    page = await new_page(viewport=TV)
    await sign_in(page, web.url)
    await page.goto(f"{web.url}/#/search?q=a")
    await page.locator(".results a.card").first.wait_for()
    grids = await page.locator(".results .grid").evaluate_all(
        "grids => grids.map(g => [...g.querySelectorAll('a.card')].map(c => { "
        "const b = c.getBoundingClientRect(); "
        "return {id: c.dataset.id, x: b.left + b.width / 2, y: b.top + b.height / 2}; }))"
    )
    grids = [g for g in grids if g]
    assert len(grids) >= 3, grids
    for upper, lower in itertools.pairwise(grids):
        start = upper[-1]  # the last card of one grid: Down goes to the next grid's nearest
        await focus(page, start["id"])
        await page.keyboard.press("ArrowDown")
        row = [c for c in lower if c["y"] == min(c["y"] for c in lower)]
        assert await page.evaluate(FOCUSED) == nearest(row, start["x"])
    await page.keyboard.press("ArrowUp")
    assert await page.evaluate(FOCUSED) in {c["id"] for c in grids[-2]}
