"""The item page's "Fix match" for owners: search the online provider, pick another result,
lock the item to what is on disk. The provider is the `oracle` test plugin (canned answers, no
network), so the page and the API are what is tested here; the real providers are tested
against fakes of their APIs in tests/core/enrichment."""

from __future__ import annotations

from tests.conftest import StartServer
from tests.core.scan.test_scanner import settle
from tests.plugins.web.browser import ARTIFACTS, DESKTOP, sign_in
from tests.plugins.web.conftest import NewPage


async def test_fix_match_picks_another_result_then_locks_to_local_metadata(
    start_server: StartServer, web_library: str, new_page: NewPage
) -> None:
    server = await start_server(web_library + "oracle:\n", plugins=("oracle",))
    await settle(server)
    assert server.hub.enrichment is not None
    await server.hub.enrichment.idle()
    found = await server.get_json("/api/items?q=Matroska&kind=movie")
    (film,) = found["items"]  # type: ignore[index]
    page = await new_page(viewport=DESKTOP)
    await sign_in(page, server.url)
    await page.goto(f"{server.url}/#/item/{film['id']}")
    await page.locator("p.plot", has_text="A film about containers.").wait_for()

    await page.get_by_role("button", name="Fix match…").click()
    box = page.locator("dialog.fix-match")
    await box.get_by_text("Matched to m1, 90 % sure.").wait_for()
    await box.get_by_role("button", name="Search").click()
    sequel = box.locator("li", has_text="Matroska Returns")
    await sequel.get_by_text("(2022)").wait_for()
    await page.screenshot(path=str(ARTIFACTS / "desktop-fix-match.png"))
    await sequel.get_by_role("button", name="Use this").click()
    await box.wait_for(state="detached")
    await page.reload()
    await page.locator("p.plot", has_text="The sequel, with subtitles.").wait_for()

    await page.get_by_role("button", name="Fix match…").click()
    await box.get_by_text("Matched to m2 (chosen by hand), 100 % sure.").wait_for()
    await box.get_by_role("button", name="Use only what is on disk").click()
    await box.wait_for(state="detached")
    await page.reload()
    await page.get_by_role("button", name="Fix match…").wait_for()
    assert await page.locator("p.plot").count() == 0  # Matroska has no nfo: no plot of its own


async def test_the_system_page_says_which_hosts_an_online_provider_needs(
    start_server: StartServer, new_page: NewPage
) -> None:
    server = await start_server("web:\ntmdb:\n  api_key: not-a-real-key\n")
    page = await new_page(viewport=DESKTOP)
    await sign_in(page, server.url)
    await page.goto(f"{server.url}/#/admin/system")
    row = page.locator(".plugins tr", has_text="The Movie Database")
    await row.get_by_text(
        "add to configuration.yaml: hearth: egress: {tmdb: [api.themoviedb.org, image.tmdb.org]}"
    ).wait_for()
