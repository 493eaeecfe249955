"""The web app says what TVs on the home network can see, and fixes a kid's limit that TVs
bypass in one click — in headless Chromium against a real server with DLNA on."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import StartServer, make_user
from tests.core.scan.test_scanner import settle
from tests.plugins.web.browser import sign_in
from tests.plugins.web.conftest import NewPage


async def test_the_admin_pages_say_what_tvs_see_and_limit_them_in_one_click(
    start_server: StartServer, web_library: str, new_page: NewPage, tmp_path: Path
) -> None:
    server = await start_server(web_library + "dlna: {ssdp: false}\n")
    await settle(server)
    await make_user(server.hub, "kid", "managed", max_rating="PG")
    films = await server.get_json("/api/items?q=Big%20Test&kind=movie")
    big = films["items"][0]["id"]  # type: ignore[index]
    tv_url = f"{server.url}/dlna/media/{big}.mp4"  # what a TV without an account asks for
    async with server.session.get(tv_url) as reply:
        assert reply.status == 200  # rated R, and every TV may play it

    page = await new_page()
    await sign_in(page, server.url)
    await page.goto(f"{server.url}/#/admin/libraries")
    summary = page.locator("[data-tv-summary]")
    await summary.wait_for()
    assert await summary.text_content() == (
        "TVs on your home network can see Movies, Music and TV with no rating limit."
    )
    warning = page.locator("[data-tv-warning]")
    assert "kid's profile is limited to PG" in (await warning.text_content() or "")

    await page.goto(f"{server.url}/#/admin/users")  # where kids' profiles are made: said there too
    await page.locator("[data-tv-warning]").wait_for()
    await page.get_by_role("button", name="Limit TVs to PG").click()
    await page.locator("[data-tv-warning]").wait_for(state="detached")
    async with server.session.get(tv_url) as reply:
        assert reply.status == 404

    await page.goto(f"{server.url}/#/admin/libraries")
    await page.locator("[data-tv-summary]", has_text="under PG.").wait_for()
    assert await page.get_by_label("TV rating limit").input_value() == "PG"
    assert await page.locator("[data-tv-warning]").count() == 0
    photos = page.get_by_label("Show Photos to TVs on the network")
    assert not await photos.is_checked()  # photos start hidden from TVs
    await photos.check()
    await page.locator("[data-tv-summary]", has_text="Movies, Music, Photos and TV").wait_for()
    assert await page.locator("[data-tv-summary]").text_content() == (
        "TVs on your home network can see Movies, Music, Photos and TV under PG."
    )
