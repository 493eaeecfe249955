"""Every library kind shows a real picture for items without local artwork, in Chromium.

A library of films with no poster, thumb or fanart beside them (and an album with only its
cover), scanned by a real server; once the stills job is done, each library page's cards must
hold an `<img>` whose pixels are not one colour, at desktop and phone sizes, and Settings says
the pictures are up to date. Screenshots go to test-artifacts/web/ for a person to look at.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image, ImageStat

from core.media.tags import AudioTags
from tests.conftest import RunningServer, StartServer
from tests.core.library.stills_media import film
from tests.core.media.mediagen import make_audio
from tests.core.scan.library import library_yaml
from tests.core.scan.test_scanner import library_ids, settle
from tests.plugins.web.browser import ARTIFACTS, DESKTOP, PHONE, sign_in, until
from tests.plugins.web.conftest import NewPage


@pytest.fixture
async def pictures(start_server: StartServer, tmp_path: Path) -> RunningServer:
    base = tmp_path / "media"
    film(base / "Movies/Night Film (2001).mp4")
    film(base / "Movies/Second Film (2003).mkv", black=0.4)
    film(base / "TV/Harbour (2019)/Season 01/Harbour - S01E01 - Arrival.mkv")
    film(base / "Videos/2020-01-01 Party.mp4")
    album = base / "Music/Ada Reed/Tides (2004)"
    album.mkdir(parents=True)
    tags = AudioTags(title="Ebb", artists=("Ada Reed",), album="Tides", album_artists=("Ada Reed",))
    make_audio(album / "01 - Ebb.mp3", 1.0, tags=tags)
    cover = Image.new("RGB", (400, 400), (30, 90, 160))
    cover.paste(Image.new("RGB", (200, 200), (240, 200, 40)), (100, 100))
    cover.save(album / "cover.jpg")
    (base / "Photos").mkdir()
    server = await start_server(
        library_yaml(base) + "nfo:\nembedded:\nfilename:\nlocal_artwork:\nweb:\n"
    )
    await settle(server)
    assert server.hub.stills is not None
    await server.hub.stills.wait_until(lambda status: status["state"] == "idle")
    return server


@pytest.mark.parametrize("size", ["desktop", "phone"])
async def test_each_library_kind_shows_a_real_picture(
    pictures: RunningServer, new_page: NewPage, size: str
) -> None:
    page = await new_page(viewport=DESKTOP if size == "desktop" else PHONE)
    await sign_in(page, pictures.url)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    ids = await library_ids(pictures)
    for name, cards in (("Movies", 2), ("TV", 1), ("Home Videos", 1), ("Music", 1)):
        await page.goto(f"{pictures.url}/#/library/{ids[name]}")
        await page.locator(".card").nth(cards - 1).wait_for()
        assert await page.locator(".card .art.placeholder").count() == 0, name
        images = page.locator(".card .art img")
        assert await images.count() == cards, name
        for index in range(cards):
            picture = images.nth(index)
            await picture.scroll_into_view_if_needed()
            loaded = "(img) => img.complete && img.naturalWidth > 0"
            await until(page, loaded, await picture.element_handle())
            shot = Image.open(io.BytesIO(await picture.screenshot())).convert("L")
            assert ImageStat.Stat(shot).stddev[0] > 20, (name, index)  # not one colour
        slug = name.lower().replace(" ", "-")
        await page.screenshot(path=str(ARTIFACTS / f"pictures-{size}-{slug}.png"))
    await page.goto(f"{pictures.url}/#/admin/libraries")  # the job's progress for the owner
    state = page.locator("[data-pictures-state]")
    assert await state.text_content() == "Up to date: 4 pictures made in the last run."
    await page.screenshot(path=str(ARTIFACTS / f"pictures-{size}-settings.png"), full_page=True)
