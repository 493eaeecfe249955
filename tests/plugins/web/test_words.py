"""The web app's words: the System page speaks of the board, memory in GB, temperature and the
encoders that passed a test, with what each means for playback (no raw field names); home's
library tiles never say "Music Music"; counts are proper plurals; the player's details use no
developer words; a PIN set in Settings shows at once; the setup page says where the code is
both when Hearth runs in a terminal and as a service."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from core.configuration import load_configuration
from core.hub import Hub
from tests.conftest import RunningServer, core_yaml, write_config
from tests.plugins.web.browser import ARTIFACTS, DESKTOP, sign_in, wait_playing
from tests.plugins.web.conftest import NewPage

RAW = re.compile(r"\b[a-z]+_[a-z_]+\b|\b(true|false|null|undefined|NaN)\b|Ram Total|Is Raspberry")


async def test_the_system_page_says_what_the_box_is_and_means_for_playback(
    web: RunningServer, new_page: NewPage
) -> None:
    page = await new_page(viewport=DESKTOP)
    await sign_in(page, web.url)
    await page.goto(f"{web.url}/#/admin/system")
    box = page.locator("section.box")
    await box.get_by_text("Memory").wait_for()
    text = await page.locator("#main").inner_text()
    assert not RAW.search(text), RAW.search(text)
    memory = await box.locator("dt:has-text('Memory') + dd .value").inner_text()
    assert re.fullmatch(r"\d+(\.\d)? GB \(\d+(\.\d)? GB free\)", memory), memory
    for term in ("Board", "Temperature"):
        assert await box.locator(f"dt:has-text('{term}') + dd .meaning").inner_text()
    assert await box.locator("dt:has-text('Board') + dd .value").inner_text() != ""
    playback = page.locator("section.playback")
    tested = await playback.locator("dt:has-text('Encoders tested') + dd").inner_text()
    assert "H.264 with the processor (libx264): works" in tested
    assert "converting uses the processor" in tested
    assert await playback.locator("dt:has-text('Converting at once') + dd .meaning").inner_text()
    await page.locator(".plugins tr", has_text="Web app").get_by_text("running").wait_for()
    plugin = page.locator(".plugins tr", has_text="Embedded tags")
    await plugin.get_by_text("Reads titles and pictures").wait_for()
    await page.screenshot(path=str(ARTIFACTS / "desktop-system.png"), full_page=True)


async def test_tiles_counts_and_player_details_read_as_words(
    web: RunningServer, new_page: NewPage
) -> None:
    page = await new_page(viewport=DESKTOP)
    await sign_in(page, web.url)
    tiles = page.locator(".library-tile")
    await tiles.first.wait_for()
    for tile in await tiles.all():
        name = await tile.locator(".name").inner_text()
        sub = await tile.locator(".sub").inner_text()
        assert name.lower() != sub.lower(), f"{name} {sub}"
        assert re.fullmatch(r"1 [a-z]+|\d+ [a-z]+s|[A-Z][a-z ]+", sub), sub
    music = tiles.filter(has_text="Music")
    assert re.fullmatch(r"\d+ albums?", await music.locator(".sub").inner_text())

    await page.goto(f"{web.url}/#/account")
    recorded = page.get_by_text(re.compile(r"recorded\.$"))
    assert await recorded.inner_text() == "0 viewings recorded."
    found: Any = await web.get_json("/api/items?q=Big Test&kind=movie")
    await page.goto(f"{web.url}/#/play/{found['items'][0]['id']}")
    await wait_playing(page, 0.5)
    await page.get_by_role("button", name="Playback details").click()
    details = await page.locator(".player-details dl").inner_text()
    assert "Plays as" in details and "Picture" in details and "Sound" in details
    assert not RAW.search(details) and "Online" not in details, details
    item = found["items"][0]["id"]
    body = {"position": 11.5, "duration": 12.0}  # a finished viewing: one row of history
    async with web.session.put(f"{web.url}/api/items/{item}/progress", json=body) as reply:
        assert reply.status < 300
    await page.goto(f"{web.url}/#/account")
    assert await recorded.inner_text() == "1 viewing recorded."


async def test_a_pin_set_in_settings_shows_without_a_reload(
    web: RunningServer, new_page: NewPage
) -> None:
    async with web.session.post(
        f"{web.url}/api/users", json={"username": "kid", "role": "managed"}
    ) as reply:
        assert reply.status < 300
    page = await new_page(viewport=DESKTOP)
    await sign_in(page, web.url)
    await page.goto(f"{web.url}/#/admin/users")
    row = page.locator("tr", has_text="kid")
    pin_cell = row.locator("td").nth(4)
    assert await pin_cell.inner_text() == "no"
    await page.get_by_role("button", name="Set PIN for kid").click()
    await page.get_by_label("4-digit PIN").fill("4321")
    await page.get_by_role("button", name="Set PIN", exact=True).click()
    await page.get_by_text("PIN set for kid.").wait_for()
    await page.locator("tr", has_text="kid").locator("td").nth(4).filter(has_text="yes").wait_for()


async def test_the_setup_page_says_where_the_code_is_in_a_terminal_and_as_a_service(
    new_page: NewPage, tmp_path: Path
) -> None:
    config = write_config(tmp_path / "config", core_yaml(tmp_path / "data") + "web:\n")
    hub = Hub(load_configuration(config))
    await hub.start()
    try:
        page = await new_page()
        await page.goto(f"http://127.0.0.1:{hub.port}/")
        await page.locator("h1", has_text="Welcome to Hearth").wait_for()
        where = await page.locator(".setup-where li").all_inner_texts()
        assert where == [
            "Started with scripts/run or ./hearth run: it is in that terminal, in the line "
            "“No owner account yet”.",
            "Running as a service (the Debian package): run journalctl -u hearth on the box "
            "to see it.",
        ]
        assert await page.get_by_text("./hearth user add NAME --role owner").is_visible()
    finally:
        await hub.stop()


async def test_a_long_photo_name_ends_in_an_ellipsis_instead_of_being_cut(
    web: RunningServer, new_page: NewPage
) -> None:
    page = await new_page(viewport={"width": 390, "height": 844})
    await sign_in(page, web.url)
    libraries: Any = (await web.get_json("/api/libraries"))["libraries"]
    photos = next(lib["id"] for lib in libraries if lib["name"] == "Photos")
    await page.goto(f"{web.url}/#/library/{photos}")
    title = page.locator("a.card .title").first
    await title.wait_for()
    # a camera's name for a photo: one long word, no space to break at
    await title.evaluate(
        "el => { el.textContent = 'IMG_20240612_183455_HDR_panorama_final_2.jpg'; }"
    )
    shown = await title.evaluate(
        "el => ({wide: el.scrollWidth <= el.clientWidth + 1, "
        "clamped: el.scrollHeight > el.clientHeight + 1, "
        "ellipsis: getComputedStyle(el).webkitLineClamp})"
    )
    assert shown == {"wide": True, "clamped": True, "ellipsis": "2"}, shown
