"""The person at the web app's TV remote, run inside a test namespace beside a Hearth server (see
test_tv_remote.py and tests/plugins/dlna_renderer/lan.py) as
`python -m tests.plugins.web.tv_remote_peer remote OUT HEARTH TOKEN RENDERER_PORT SCREENSHOT`.

gmediarender (libupnp, GStreamer into fake sinks that keep real time) plays the TV on the
namespace's second address; Debian's Chromium, started by Playwright inside the namespace (a
browser outside could not reach the server), signs in at phone size, opens the movie, sends it
to the TV and works the remote: pause (a tap), resume (Enter, as a TV remote's OK), seek with
the bar, -30 s, two arrow presses on the bar, volume (the slider, then an arrow key), stop.
After each step it waits until the page and gmediarender itself (AVTransport and
RenderingControl, asked directly) both say it happened, and writes what it saw to `result.json`.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp

from tests.plugins.dlna_renderer.peers import (
    GMEDIARENDER_NAME,
    TV,
    Api,
    clock,
    start_gmediarender,
    transport,
    until,
)
from tests.plugins.web.browser import CHROMIUM, CHROMIUM_ARGS, PHONE, ConsoleWatch, sign_in

RC = "urn:schemas-upnp-org:service:RenderingControl:1"
DEVICE_STATES = {"playing": "PLAYING", "paused": "PAUSED_PLAYBACK", "stopped": "STOPPED"}
REMOTE = (
    "() => { const r = document.querySelector('.remote'); if (!r) return null;"
    " return { state: r.querySelector('.remote-state').dataset.state,"
    " time: r.querySelector('[data-remote-time]').textContent,"
    " toggle: r.querySelector('[data-remote-toggle]').textContent,"
    " volume: Number(r.querySelector('.remote-volume').value),"
    " title: r.querySelector('.remote-title').textContent }; }"
)


async def volume_of(http: aiohttp.ClientSession, port: str) -> int:
    """gmediarender's own volume (RenderingControl GetVolume), asked directly."""
    body = (
        '<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"'
        ' s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body>'
        f'<u:GetVolume xmlns:u="{RC}"><InstanceID>0</InstanceID><Channel>Master</Channel>'
        "</u:GetVolume></s:Body></s:Envelope>"
    )
    headers = {
        "SOAPAction": f'"{RC}#GetVolume"',
        "Content-Type": 'text/xml; charset="utf-8"',
        "Connection": "close",
    }
    url = f"http://{TV}:{port}/upnp/control/rendercontrol1"
    async with http.post(url, data=body, headers=headers) as response:
        text = await response.text()
    found = re.search(r"<CurrentVolume>(\d+)</CurrentVolume>", text)
    return int(found[1]) if found else -1


class Watcher:
    """Waits until the page's remote and gmediarender itself agree that a step happened."""

    def __init__(self, page: Any, device: aiohttp.ClientSession, port: str) -> None:
        self.page, self.device, self.port = page, device, port
        self.steps: list[dict[str, Any]] = []

    async def step(
        self,
        name: str,
        act: Callable[[], Awaitable[Any]],
        state: str,
        low: float,
        high: float,
        volume: int | None = None,
    ) -> dict[str, Any]:
        """Do `act`; wait until the remote shows `state` and gmediarender is in it, at a
        position in [low, high] (and at `volume`)."""
        await act()

        async def reached() -> Any:
            shown, truth = await self.page.evaluate(REMOTE), await transport(self.device, self.port)
            if shown is None or shown["state"] != state:
                return None
            if truth["CurrentTransportState"] != DEVICE_STATES[state]:
                return None
            told = clock(truth["RelTime"]) if state != "stopped" else 0.0
            if state != "stopped" and not low <= told <= high:
                return None
            loud = await volume_of(self.device, self.port) if volume is not None else None
            if loud != volume:
                return None
            return {"step": name, "page": shown, "position": told, "volume": loud}

        self.steps.append(await until(reached, 15))
        return self.steps[-1]


async def work_the_remote(page: Any, watch: Watcher, renderer: dict[str, Any], shot: Path) -> Any:
    """Send the open movie to the TV, then pause, resume, seek, -30 s, volume and stop."""
    remote = page.locator(".remote")
    toggle = remote.locator("[data-remote-toggle]")

    async def choose_tv() -> None:
        await page.get_by_role("button", name="Play on TV").click()
        box = page.get_by_role("dialog", name="Play on a TV")
        await box.locator(f"[data-tv='{renderer['id']}']").click()

    async def ok_key() -> None:  # a TV remote's OK on the focused toggle
        await toggle.focus()
        await page.keyboard.press("Enter")

    async def two_steps_ahead() -> None:  # two presses on the bar make one seek of +20 s
        await remote.get_by_label("Position").focus()
        await page.keyboard.press("ArrowRight")
        await page.keyboard.press("ArrowRight")

    async def quieter() -> None:
        await remote.get_by_label("Volume").focus()
        await page.keyboard.press("ArrowLeft")

    await watch.step("play", choose_tv, "playing", 1, 44)
    focused = await page.evaluate("document.activeElement.dataset.remoteToggle !== undefined")
    paused = await watch.step("pause", toggle.click, "paused", 1, 44)
    resumed = await watch.step("resume", ok_key, "playing", paused["position"], 44)
    seek_bar = remote.get_by_label("Position")
    await watch.step("seek", lambda: seek_bar.fill("30"), "playing", 28, 32)
    await page.screenshot(path=str(shot))
    fits = await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    back = remote.get_by_role("button", name="Back 30 seconds")
    await watch.step("back 30 s", back.click, "playing", 0, 6)
    await watch.step("arrow keys", two_steps_ahead, "playing", 19, 27)
    loud = remote.get_by_label("Volume")
    await watch.step("volume", lambda: loud.fill("40"), "playing", 0, 44, volume=40)
    await watch.step("volume key", quieter, "playing", 0, 44, volume=35)
    stop = remote.get_by_role("button", name="Stop")
    await watch.step("stop", stop.click, "stopped", 0, 0)
    return {
        "resumed_from": [paused["position"], resumed["position"]],
        "toggle_focused": focused,
        "fits": fits,
    }


async def drive(hearth: str, token: str, port: str, shot: Path) -> dict[str, Any]:
    """Wait for the TV and the movie through the API, then open the web app in Chromium."""
    from playwright.async_api import async_playwright

    console = ConsoleWatch()
    device = aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True))
    auth = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(headers=auth) as http, device, async_playwright() as pw:
        api = Api(http, hearth)

        async def found() -> Any:
            listed = await api.get("/api/renderers") or []
            return next((r for r in listed if r["name"] == GMEDIARENDER_NAME), None)

        async def movies() -> Any:
            return ((await api.get("/api/items?kind=movie")) or {}).get("items")

        renderer = await until(found, 30)
        [movie] = await until(movies, 30)
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = await browser.new_context(viewport=PHONE)
        context.set_default_timeout(15_000)
        page = await context.new_page()
        console.attach(page)
        await sign_in(page, hearth)
        await page.goto(f"{hearth}/#/play/{movie['id']}")
        watch = Watcher(page, device, port)
        try:
            seen = await work_the_remote(page, watch, renderer, shot)
        finally:
            await browser.close()
    return {"movie": movie, "steps": watch.steps, **seen, "console": console.problems}


async def main(out: Path, hearth: str, token: str, port: str, shot: str) -> None:
    tv = start_gmediarender(out, port)
    began = time.monotonic()
    try:
        (out / "ready").write_text("")
        result = await drive(hearth, token, port, Path(shot))
    except BaseException as err:
        result = {"failed": repr(err)}
    finally:
        tv.terminate()
        tv.wait(10)
    result["seconds"] = round(time.monotonic() - began, 1)
    (out / "result.json").write_text(json.dumps(result))


if __name__ == "__main__":
    _remote, folder, base, key, renderer_port, screenshot = sys.argv[1:]
    asyncio.run(main(Path(folder), base, key, renderer_port, screenshot))
