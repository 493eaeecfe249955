"""The web app end to end, about watching: browse to a film and play it, leave and resume,
an HLS-repackaged film (native and Media Source), playlists, music and photos, remote-control
arrow keys, a service worker that keeps only the shell, admin scan and system pages, and
screenshots of phone and desktop layouts saved under test-artifacts/web/."""

from __future__ import annotations

from typing import Any

import pytest

from core.egress_ledger import LedgerEntry, insert_entries_blocking
from tests.conftest import RunningServer
from tests.plugins.web.browser import ARTIFACTS, DESKTOP, PHONE, sign_in, until, wait_playing
from tests.plugins.web.conftest import NewPage

HLS_MASTER = "/api/items/{id}/hls/master.m3u8"


async def movie_id(server: RunningServer, title: str) -> str:
    found = await server.get_json(f"/api/items?q={title}&kind=movie")
    return str(found["items"][0]["id"])  # type: ignore[index]


async def movies_path(server: RunningServer) -> str:
    libraries = (await server.get_json("/api/libraries"))["libraries"]
    return f"/#/library/{next(lib['id'] for lib in libraries if lib['name'] == 'Movies')}"  # type: ignore[attr-defined]


async def open_movie(page: Any, title: str) -> None:
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Movies").click()
    await page.locator("a.card", has_text=title).click()
    await page.locator("h1", has_text=title).wait_for()


async def test_browse_play_leave_and_resume_near_the_same_position(
    web: RunningServer, new_page: NewPage
) -> None:
    page = await new_page()
    await sign_in(page, web.url)
    await open_movie(page, "Big Test")
    poster = page.locator(".hero-art img")
    assert "size=" in (await poster.get_attribute("src") or "")
    await page.get_by_role("link", name="Play", exact=True).click()
    first = await wait_playing(page, 0.5)
    assert first > 0.5
    await page.get_by_role("button", name="Playback details").click()
    await page.locator("[data-method]", has_text="Direct play").wait_for()
    assert await page.locator("[data-mode]").get_attribute("data-mode") == "file"
    assert await page.locator(".reasons li").count() >= 1

    await page.evaluate("document.querySelector('.player video').currentTime = 6.5")
    left_at = await wait_playing(page, 7.0)
    await page.get_by_role("button", name="Back", exact=True).click()
    resume = page.get_by_role("link", name="Resume from")
    await resume.wait_for()
    progress: Any = await web.get_json(f"/api/me/progress?ids={await movie_id(web, 'Big Test')}")
    stored = next(iter(progress["progress"].values()))
    assert abs(stored["position"] - left_at) < 1.5

    await resume.click()
    resumed = await wait_playing(page, 0.0)
    assert abs(resumed - left_at) < 2.0, (resumed, left_at)
    await page.get_by_text("Resumed at").wait_for()


async def test_a_film_chromium_cannot_open_plays_as_hls(
    web: RunningServer, new_page: NewPage
) -> None:
    routes = await web.get_json("/api/openapi.json")
    assert HLS_MASTER in routes["paths"]  # type: ignore[operator]
    page = await new_page()
    await sign_in(page, web.url)
    await open_movie(page, "Matroska")
    await page.get_by_role("link", name="Play", exact=True).click()
    assert await wait_playing(page, 1.0) > 1.0
    await page.get_by_role("button", name="Playback details").click()
    assert await page.locator("[data-method]").text_content() in ("Direct stream", "Transcode")
    native = await page.locator("[data-mode]").get_attribute("data-mode")
    assert native in ("native-hls", "mse-hls")

    await page.goto(f"{web.url}/#/play/{await movie_id(web, 'Matroska')}?t=0&mode=mse")
    assert await wait_playing(page, 1.0) > 1.0
    await page.get_by_role("button", name="Playback details").click()
    assert await page.locator("[data-mode]").get_attribute("data-mode") == "mse-hls"
    await page.evaluate("document.querySelector('.player video').currentTime = 5")
    assert await wait_playing(page, 5.4) > 5.4  # a seek fetches the segment it needs


async def test_playlists_are_made_reordered_and_played(
    web: RunningServer, new_page: NewPage
) -> None:
    page = await new_page()
    await sign_in(page, web.url)
    for title, choose in (("Big Test", None), ("Alien", "Evening (1)")):
        await open_movie(page, title)
        await page.get_by_role("button", name="Add to playlist").click()
        if choose is None:
            await page.get_by_label("New playlist").fill("Evening")
            await page.get_by_role("button", name="Create and add").click()
        else:
            await page.get_by_role("button", name=choose).click()
        await page.get_by_text("Added to “Evening”").wait_for()
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Playlists").click()
    await page.get_by_role("link", name="Evening").click()
    items = page.locator(".playlist-item .title")
    await items.first.wait_for()
    assert await items.all_text_contents() == ["Big Test", "Alien"]
    await page.get_by_role("button", name="Move Alien up").click()
    await page.locator(".playlist-item .title").first.filter(has_text="Alien").wait_for()
    listing: Any = await web.get_json("/api/playlists")
    stored: Any = await web.get_json(f"/api/playlists/{listing['playlists'][0]['id']}")
    assert [i["title"] for i in stored["items"]] == ["Alien", "Big Test"]
    await page.get_by_role("button", name="Play", exact=True).click()
    await page.locator(".player h1", has_text="Alien").wait_for()


async def test_music_queue_and_photo_viewer(web: RunningServer, new_page: NewPage) -> None:
    page = await new_page()
    await sign_in(page, web.url)
    main = page.get_by_role("navigation", name="Main")
    await main.get_by_role("link", name="Music").click()
    await page.locator("a.card", has_text="Miles Davis").click()
    await page.locator("a.card", has_text="Kind of Blue").click()
    await page.get_by_role("button", name="Play album").click()
    bar = page.get_by_role("region", name="Now playing")
    await bar.get_by_text("So What").or_(bar.get_by_text("Freddie")).first.wait_for()
    await until(page, "document.querySelector('.audio-bar audio').currentTime > 0.2")

    await main.get_by_role("link", name="Photos").click()
    await page.locator("a.card", has_text="beach").click()
    viewer = page.locator("dialog.viewer img")
    await until(
        page,
        "() => { const i = document.querySelector('dialog.viewer img'); "
        "return i && i.complete && i.naturalWidth > 0; }",
    )
    assert "size=1080" in (await viewer.get_attribute("src") or "")
    await page.keyboard.press("Escape")
    await until(page, "document.querySelector('dialog.viewer') === null")


async def test_arrow_keys_move_focus_between_cards_like_a_tv_remote(
    web: RunningServer, new_page: NewPage
) -> None:
    page = await new_page(viewport={"width": 1920, "height": 1080})
    await sign_in(page, web.url)
    await page.goto(web.url + await movies_path(web))
    await page.locator("a.card").first.wait_for()
    focused = "document.activeElement.dataset.id || document.activeElement.tagName"
    cards = await page.locator("a.card").evaluate_all("cards => cards.map(c => c.dataset.id)")
    await until(page, f"({focused}) === {cards[0]!r}")
    await page.keyboard.press("ArrowRight")
    assert await page.evaluate(focused) == cards[1]
    await page.keyboard.press("ArrowLeft")
    assert await page.evaluate(focused) == cards[0]
    await page.keyboard.press("ArrowUp")  # up from the first row: the filters
    assert await page.evaluate("document.activeElement.closest('.filters') !== null")
    await page.keyboard.press("ArrowDown")
    assert await page.evaluate(focused) in cards
    await page.keyboard.press("Enter")
    await page.locator(".hero h1").wait_for()
    await page.keyboard.press("Escape")  # a remote's Back
    await page.locator("a.card").first.wait_for()


async def test_service_worker_caches_the_shell_and_nothing_else(
    web: RunningServer, new_page: NewPage
) -> None:
    page = await new_page()
    await sign_in(page, web.url)
    await page.evaluate("navigator.serviceWorker.ready")
    await open_movie(page, "Big Test")
    await page.get_by_role("link", name="Play", exact=True).click()
    await wait_playing(page, 0.3)
    cached: list[str] = await page.evaluate(
        """async () => {
            const urls = [];
            for (const name of await caches.keys()) {
              const cache = await caches.open(name);
              for (const request of await cache.keys()) urls.push(new URL(request.url).pathname);
            }
            return urls;
        }"""
    )
    assert "/" in cached and any(u.endswith("/main.js") for u in cached)
    assert all(u == "/" or u.startswith("/app/v-") for u in cached), cached


async def test_settings_pages_show_scans_plugins_people_privacy_and_account(
    web: RunningServer, new_page: NewPage
) -> None:
    page = await new_page()
    await sign_in(page, web.url)
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    await page.get_by_role("button", name="Scan all libraries").click()
    await page.get_by_role("heading", name="Last scans").wait_for()
    await page.get_by_role("cell", name="Movies").first.wait_for()
    await page.get_by_role("link", name="System").click()
    await page.locator(".plugins tr", has_text="Web app").get_by_text("running").wait_for()
    await page.get_by_role("link", name="People").click()
    await page.get_by_role("cell", name="owner", exact=True).wait_for()
    entries = [
        LedgerEntry(
            "2026-12-03T12:00:00Z", "tmdb", "api.themoviedb.org", "details", True, 900, 310
        ),
        LedgerEntry(
            "2026-12-03T12:00:01Z", "tmdb", "api.themoviedb.org", "details", True, 700, 300
        ),
    ]
    await web.hub.catalog.write(lambda db: insert_entries_blocking(db, entries))
    await page.get_by_role("link", name="Privacy").click()
    await page.get_by_role("heading", name="What each plugin may reach").wait_for()
    sent = page.locator("section.sent")  # what the ledger says each plugin sent, summed
    await sent.get_by_text("tmdb: 2 requests, 0 refused, 610 B sent, 1.6 KB received").wait_for()
    await sent.get_by_text("2 requests for details (api.themoviedb.org)").wait_for()
    await page.get_by_role("link", name="Account: owner").click()
    await page.get_by_role("button", name="Set up").click()
    await page.locator("code.secret").wait_for()  # a new TOTP secret, shown once
    await page.get_by_role("button", name="Download my data").wait_for()


@pytest.mark.parametrize("name,viewport", [("phone", PHONE), ("desktop", DESKTOP)])
async def test_screenshots_of_home_library_item_and_player(
    web: RunningServer, new_page: NewPage, name: str, viewport: dict[str, int]
) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = await new_page(viewport=viewport)
    await sign_in(page, web.url)
    wide = "document.documentElement.scrollWidth <= window.innerWidth + 1"
    await page.locator(".shelf").first.wait_for()
    shots = {"home": None, "library": "Movies", "item": "Big Test", "player": None}
    for shot, target in shots.items():
        if shot == "library":
            await page.goto(web.url + await movies_path(web))
            await page.locator("a.card img").first.wait_for()
        elif shot == "item":
            await page.locator("a.card", has_text=target).click()
            await page.locator(".hero h1").wait_for()
        elif shot == "player":
            await page.get_by_role("link", name="Play", exact=True).click()
            await wait_playing(page, 0.5)
        await until(page, "Array.from(document.images).every(i => i.complete)")
        assert await page.evaluate(wide), f"{name} {shot} scrolls sideways"
        await page.screenshot(
            path=str(ARTIFACTS / f"{name}-{shot}.png"), full_page=shot != "player"
        )


async def test_a_link_for_vlc_is_made_in_the_web_app_and_plays_without_sign_in(
    web: RunningServer, new_page: NewPage
) -> None:
    import aiohttp

    page = await new_page()
    await sign_in(page, web.url)
    await open_movie(page, "Big Test")
    await page.get_by_role("button", name="Open in VLC…").click()
    box = page.get_by_role("dialog", name="Open in another player")
    await box.wait_for()
    url = await box.get_by_role("textbox", name="The file as it is").input_value()
    hls = await box.get_by_role("textbox", name="Converted as needed (HLS)").input_value()
    assert "/stream?link=hl_" in url and "/hls/master.m3u8?link=hl_" in hls
    assert await box.get_by_role("link", name="Open in VLC").first.get_attribute("href") == (
        url.replace("http:", "vlc:", 1)
    )
    async with aiohttp.ClientSession() as player:  # no cookie, no header: a player's request
        async with player.get(url, headers={"Range": "bytes=0-15"}) as reply:
            assert reply.status == 206
        async with player.get(hls) as reply:
            assert reply.status == 200 and "link=hl_" in await reply.text()
