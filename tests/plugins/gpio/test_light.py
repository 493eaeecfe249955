"""The status LED follows the box with a real server and real events: starting, then idle; a
short press on the button rescans (scanning, then idle); a stream shows while it plays."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conftest import StartServer
from tests.core.scan.library import video
from tests.core.scan.test_scanner import items, settle
from tests.plugins.dlna.dms import show_every_library_to_tvs
from tests.plugins.gpio.pins import LED_PIN, gpio_health, press, start_with_gpio


def home_videos(tmp_path: Path) -> str:
    video(tmp_path / "media", "Home Movies/Lake.mp4")
    folder = tmp_path / "media"
    return f"folders:\n  libraries:\n    - {{name: Home, kind: videos, paths: [{folder}]}}\n"


async def test_a_short_press_rescans_and_the_led_shows_the_scan(
    start_server: StartServer, tmp_path: Path, mock_pins: Any
) -> None:
    server, runtime, clock = await start_with_gpio(
        start_server,
        home_videos(tmp_path),
    )
    await settle(server)
    await runtime.light.wait_for("idle")
    assert runtime.light.history[0] == "starting"
    assert mock_pins.pin(LED_PIN).state  # idle: steady on
    assert (await gpio_health(server))["detail"]["led"] == {"pin": LED_PIN, "pattern": "idle"}

    shown = len(runtime.light.history)
    await press(mock_pins, clock, 0.4)
    await runtime.light.wait_for("scanning")
    await settle(server)
    await runtime.light.wait_for("idle")
    assert list(runtime.light.history)[shown:] == ["scanning", "idle"]
    assert runtime.actions.last == "rescan: libraries queued for a rescan: 1"
    assert server.hub.scans.last["Home"].state == "done"


async def test_the_led_shows_a_stream_while_it_plays(
    start_server: StartServer, tmp_path: Path, mock_pins: Any
) -> None:
    server, runtime, _ = await start_with_gpio(
        start_server, home_videos(tmp_path) + "dlna:\n  ssdp: off\n"
    )
    await settle(server)
    await show_every_library_to_tvs(server)
    await runtime.light.wait_for("idle")
    runtime.light.stream_linger = 0.0  # no grace period after the last stream, for the test
    [item] = await items(server, kind="video")
    for path in (  # direct play (the app's, a TV's), then a progressive transcode
        f"/api/items/{item['id']}/stream",
        f"/dlna/media/{item['id']}.mp4",
        f"/api/items/{item['id']}/transcode.ts",
    ):
        shown = len(runtime.light.history)
        async with server.session.get(server.url + path) as reply:
            assert reply.status == 200
            await reply.read()
        await server.hub.bus.drain()
        await runtime.light.wait_for("idle")
        assert list(runtime.light.history)[shown:] == ["streaming", "idle"], path


async def test_the_led_is_dark_once_the_server_stops(
    start_server: StartServer, mock_pins: Any
) -> None:
    server, runtime, _ = await start_with_gpio(start_server)
    await server.hub.stop()
    assert runtime.light.history[-1] == "off"
    assert not mock_pins.pin(LED_PIN).state
