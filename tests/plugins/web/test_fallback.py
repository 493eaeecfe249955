"""Playback that never dead-ends, in Chromium: the player reports what this browser decodes
and the server decides from that (an HEVC film becomes H.264 for a Chromium without HEVC);
a first attempt that fails (the browser claims HEVC and then cannot show it) is asked again
without it and plays, saying why in one line; and fragmented-MP4 HLS plays through the web
app's Media Source player."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunningServer, StartServer
from tests.core.playback.films import make_film
from tests.core.scan.test_scanner import settle
from tests.plugins.web.browser import sign_in, wait_playing
from tests.plugins.web.conftest import NewPage

# A browser that says it decodes HEVC (as some phones do for profiles they then fail on).
CLAIMS_HEVC = """
(() => {
  const hevc = (type) => /hvc1|hev1/.test(String(type));
  const mse = MediaSource.isTypeSupported.bind(MediaSource);
  MediaSource.isTypeSupported = (type) => hevc(type) || mse(type);
  const can = HTMLMediaElement.prototype.canPlayType;
  HTMLMediaElement.prototype.canPlayType = function (type) {
    return hevc(type) ? 'probably' : can.call(this, type);
  };
})();
"""


@pytest.fixture(scope="module")
def films(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("fallback-films")
    make_film(folder / "Colour Bars (2021)" / "Colour Bars (2021).mp4", 12, video="libx265")
    make_film(folder / "Test Card (2020)" / "Test Card (2020).mkv", 12)
    return folder


@pytest.fixture
async def server(start_server: StartServer, films: Path) -> AsyncIterator[RunningServer]:
    running = await start_server(
        f"folders:\n  watch: false\n  libraries:\n"
        f"    - {{name: Movies, kind: movies, paths: ['{films}']}}\nweb:\n"
    )
    await settle(running)
    yield running


async def film(server: RunningServer, title: str) -> str:
    found = await server.get_json(f"/api/items?q={title}&kind=movie")
    return str(found["items"][0]["id"])  # type: ignore[index]


async def details(page: Any) -> tuple[str | None, str | None, str]:
    """Method and delivery as the player's details show them, and the status line."""
    await page.get_by_role("button", name="Playback details").click()
    method = await page.locator("[data-method]").text_content()
    mode = await page.locator("[data-mode]").get_attribute("data-mode")
    return method, mode, await page.locator(".player-status").inner_text()


async def test_hevc_plays_as_h264_where_the_browser_reports_no_hevc(
    server: RunningServer, new_page: NewPage
) -> None:
    """With an Android User-Agent the profile alone would copy the HEVC and dead-end."""
    android = (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/156.0.0.0 Mobile Safari/537.36"
    )
    page = await new_page(user_agent=android)
    await sign_in(page, server.url)
    await page.goto(f"{server.url}/#/play/{await film(server, 'Colour Bars')}?t=0")
    assert await wait_playing(page, 1.0) > 1.0
    method, _, status = await details(page)
    assert method == "Transcode"
    assert "Could not play" not in status  # decided right the first time, no fallback
    reasons = await page.locator(".reasons li").all_inner_texts()
    assert "video HEVC Main is not supported by this browser" in reasons


async def test_a_failing_first_attempt_falls_back_to_a_transcode_and_says_why(
    server: RunningServer, new_page: NewPage
) -> None:
    page = await new_page()
    await page.add_init_script(CLAIMS_HEVC)
    await sign_in(page, server.url)
    await page.goto(f"{server.url}/#/play/{await film(server, 'Colour Bars')}?t=0")
    assert await wait_playing(page, 1.0) > 1.0
    method, _, status = await details(page)
    assert method == "Transcode"
    line = await page.locator(".player-status .fallback").inner_text()
    assert line.startswith("Could not play HEVC Main with AAC here (")
    assert line.endswith("); the server converts it instead.")
    assert status == line


async def test_no_progress_for_10_s_falls_back_to_a_transcode(
    server: RunningServer, new_page: NewPage
) -> None:
    """The first session's segments never arrive (a stalled network path, a stuck remux):
    after 10 s without progress the player asks again without what it copied."""
    page = await new_page()
    await sign_in(page, server.url)
    sessions: list[str] = []  # in the order the player first asked for their segments
    release = asyncio.Event()

    async def stall_first_session(route: Any) -> None:
        session = route.request.url.split("/hls/")[1].split("/")[0]
        if session not in sessions:
            sessions.append(session)
        if session != sessions[0]:
            await route.continue_()
            return
        await release.wait()
        await route.abort()

    await page.route("**/hls/*/*.ts*", stall_first_session)
    item = await film(server, "Test Card")
    await page.goto(f"{server.url}/#/play/{item}?t=0&mode=mse")
    try:
        assert await wait_playing(page, 1.0, timeout=45) > 1.0
    finally:
        release.set()
    line = await page.locator(".player-status .fallback").inner_text()
    assert line == (
        "Could not play H.264 High with AAC here (no progress for 10 s); "
        "the server converts it instead."
    )
    method, _, _ = await details(page)
    assert method == "Transcode"
    assert len(sessions) == 2  # the stalled one, then the transcode


async def test_fmp4_hls_plays_through_media_source(
    server: RunningServer, new_page: NewPage
) -> None:
    page = await new_page()
    await sign_in(page, server.url)
    item = await film(server, "Test Card")
    await page.goto(f"{server.url}/#/play/{item}?t=0&mode=mse&segments=fmp4")
    assert await wait_playing(page, 1.0) > 1.0
    (session,) = server.hub.playback.manager.sessions
    assert (session.plan.segments, session.plan.video.action) == ("fmp4", "copy")
    _, mode, _ = await details(page)
    assert mode == "mse-hls"
    await page.evaluate("document.querySelector('.player video').currentTime = 7")
    assert await wait_playing(page, 7.4) > 7.4  # a seek fetches the segment it needs
