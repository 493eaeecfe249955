"""Downloads in the web app, in Chromium: download a film, go offline, open the app again and
play it from this browser's storage; back online, the position reached offline is on the
server. A revoked session's downloads are deleted on the app's next contact, and so is a
(phone-sized, made by the server first) download whose library the person lost."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunningServer, StartServer, make_user
from tests.core.playback.films import make_film
from tests.core.scan.test_scanner import settle
from tests.plugins.web.browser import ARTIFACTS, PHONE, sign_in, until, wait_playing
from tests.plugins.web.conftest import NewPage

STORED = """async () => {
  const root = await navigator.storage.getDirectory();
  const folder = await root.getDirectoryHandle('downloads', { create: true });
  const names = [];
  for await (const [name] of folder.entries()) names.push(name);
  return names;
}"""


@pytest.fixture(scope="module")
def films(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("offline-films")
    make_film(base / "Movies/Night Train (2022)/Night Train (2022).mp4", 12)
    make_film(base / "Kids/Paper Boats (2018)/Paper Boats (2018).mp4", 4)
    return base


@pytest.fixture
async def server(start_server: StartServer, films: Path) -> AsyncIterator[RunningServer]:
    running = await start_server(
        "folders:\n  watch: false\n  libraries:\n"
        f"    - {{name: Movies, kind: movies, paths: ['{films}/Movies']}}\n"
        f"    - {{name: Kids, kind: movies, paths: ['{films}/Kids']}}\nweb:\n"
    )
    await settle(running)
    yield running


async def film(server: RunningServer, title: str) -> str:
    found = await server.get_json(f"/api/items?q={title}&kind=movie")
    return str(found["items"][0]["id"])  # type: ignore[index]


async def download(page: Any, base: str, item: str, version: str = "Original file") -> None:
    """Download a version from the item's page; wait until it is stored here."""
    await page.goto(f"{base}/#/item/{item}")
    await page.get_by_role("button", name="Download", exact=True).click()
    await page.get_by_role("button", name=f"Download: {version}").click()
    await page.get_by_role("link", name="Downloads").first.click()
    await page.locator(".download[data-state=stored]").wait_for()


async def test_a_download_plays_offline_and_its_progress_reaches_the_server_once_online(
    server: RunningServer, new_page: NewPage
) -> None:
    page = await new_page()
    await sign_in(page, server.url)
    item = await film(server, "Night Train")
    await download(page, server.url, item)
    row = await page.locator(".download").inner_text()
    assert "Night Train" in row and "On this device" in row and "KB" in row
    assert "left on this device" in await page.locator(".space").inner_text()
    await until(page, "navigator.serviceWorker.controller !== null")  # the installed shell
    await page.context.set_offline(True)
    await page.reload()  # the app opened again with no server: its downloads still play
    await page.get_by_role("link", name="Play Night Train").click()
    assert await wait_playing(page, 6.5) > 6.5
    await page.evaluate("document.querySelector('.player video').pause()")
    progress = f"/api/me/progress?ids={item}"
    assert (await server.get_json(progress))["progress"] == {}
    await page.context.set_offline(False)
    deadline = asyncio.get_running_loop().time() + 15
    while not (found := (await server.get_json(progress))["progress"]):
        assert asyncio.get_running_loop().time() < deadline, "the offline position never came"
        await asyncio.sleep(0.1)
    assert found[item]["position"] > 6.5  # type: ignore[index]


async def test_a_revoked_session_has_its_downloads_deleted_on_the_next_contact(
    server: RunningServer, new_page: NewPage, console: Any
) -> None:
    console.allow(401, "/api/downloads/check")
    page = await new_page()
    await sign_in(page, server.url)
    await download(page, server.url, await film(server, "Night Train"))
    assert len(await page.evaluate(STORED)) == 1
    await page.set_viewport_size(PHONE)  # the Downloads page fits a phone
    assert await page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "downloads-phone.png"))
    sessions = (await server.get_json("/api/auth/sessions"))["sessions"]
    browser = next(s["id"] for s in sessions if not s["current"])  # type: ignore[union-attr]
    async with server.session.delete(f"{server.url}/api/auth/sessions/{browser}") as answer:
        assert answer.status == 200
    await page.evaluate("window.dispatchEvent(new Event('online'))")  # the next contact
    await until(page, f"({STORED})().then((names) => names.length === 0)")
    await page.locator("h1", has_text="Sign in").wait_for()


async def test_a_download_whose_library_was_taken_away_is_deleted_by_the_app(
    server: RunningServer, new_page: NewPage
) -> None:
    libraries = (await server.get_json("/api/libraries"))["libraries"]
    ids = {lib["name"]: lib["id"] for lib in libraries}  # type: ignore[union-attr]
    await make_user(server.hub, "kim", "member", libraries=[ids["Movies"], ids["Kids"]])
    users = (await server.get_json("/api/users"))["users"]
    kim = next(u["id"] for u in users if u["username"] == "kim")  # type: ignore[union-attr]
    page = await new_page()
    await sign_in(page, server.url, "kim")
    await download(page, server.url, await film(server, "Paper Boats"), "Phone size, 480p")
    assert "480p" in await page.locator(".download").inner_text()
    async with server.session.patch(
        f"{server.url}/api/users/{kim}", json={"libraries": [ids["Movies"]]}
    ) as answer:
        assert answer.status == 200
    await page.goto(f"{server.url}/#/")
    await page.get_by_role("link", name="Downloads").first.click()  # each visit checks
    await page.locator(".empty", has_text="Nothing downloaded yet").wait_for()
    assert await page.evaluate(STORED) == []
