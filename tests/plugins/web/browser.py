"""Driving the web app in headless Chromium: finding the browser, watching the console, signing
in, and the small real library the end-to-end tests browse and play.

Chromium is Debian's (/usr/bin/chromium), never one downloaded by `playwright install`; as root
it is apt-installed when missing. Every page is watched: a console error or an uncaught
exception fails the test unless the test declared that HTTP answer (a 401 while signing in
with two steps is the protocol, not a bug).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from tests.conftest import PASSWORD
from tests.core.media.mediagen import make_video
from tests.core.scan.library import build_library, library_yaml

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[3]
ARTIFACTS = ROOT / "test-artifacts" / "web"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}
MOVIE_SECONDS = 12.0
"""Long enough to resume from: the server stores a position once it moved 5 s, and calls an
item watched at 90 %, so a 4-5 s film could never be resumed."""


def chromium_problem() -> str | None:
    """Why Chromium cannot be used here, or None; as root, install it when missing."""
    if not CHROMIUM.exists() and os.geteuid() == 0 and shutil.which("apt-get"):
        quiet = {"capture_output": True, "timeout": 900, "check": False}
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = ["apt-get", "install", "-y", "--no-install-recommends", "chromium"]
        if subprocess.run(install, env=env, **quiet).returncode != 0:  # type: ignore[call-overload]
            subprocess.run(["apt-get", "update"], env=env, **quiet)  # type: ignore[call-overload]
            subprocess.run(install, env=env, **quiet)  # type: ignore[call-overload]
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is not installed (apt-get install chromium)"
    return None


@dataclass
class ConsoleWatch:
    """Console errors and page exceptions of every page, except declared HTTP answers."""

    problems: list[str] = field(default_factory=list)
    allowed: list[tuple[int, str]] = field(default_factory=list)

    def allow(self, status: int, url_part: str) -> None:
        """A failing resource the test expects: `status` for a URL containing `url_part`."""
        self.allowed.append((status, url_part))

    def attach(self, page: Any) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"uncaught: {error}"))

    def _console(self, message: Any) -> None:
        if message.type != "error":
            return
        text, url = message.text, message.location.get("url", "")
        for status, part in self.allowed:
            if f"status of {status}" in text and part in url:
                return
        self.problems.append(f"{text} ({url})")


async def sign_in(page: Any, base: str, username: str = "owner", password: str = PASSWORD) -> None:
    """Sign in through the form and wait for Home (or the profile picker)."""
    await page.goto(f"{base}/#/signin")
    await page.get_by_label("User name").fill(username)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await page.locator("h1", has_text="Home").or_(page.locator("h1", has_text="Who is")).wait_for()


async def until(page: Any, script: str, arg: Any = None, timeout: float = 30.0) -> Any:
    """Poll `script` (an expression, or a function of `arg`) until it is truthy. Playwright's
    wait_for_function evaluates strings inside the page, which the app's CSP forbids."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await page.evaluate(script, arg)
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"still false after {timeout} s: {script}")
        await asyncio.sleep(0.1)


async def wait_playing(page: Any, beyond: float, timeout: float = 20.0) -> float:
    """Until the player's video has played past `beyond` seconds; returns its position."""
    script = (
        "(t) => { const v = document.querySelector('.player video'); "
        "return v && !v.paused && v.currentTime > t && v.currentTime; }"
    )
    position: float = await until(page, script, beyond, timeout)
    return position


def build_web_library(base: Path) -> str:
    """The scanner's five test libraries plus two real films; answers the YAML to serve them:
    "Big Test" (MP4, H.264/AAC, rated R, with a poster) plays directly in Chromium; "Matroska"
    (MKV) must be repackaged as HLS."""
    build_library(base)
    big = base / "Movies/Big Test (2020)"
    big.mkdir(parents=True)
    make_video(big / "Big Test (2020).mp4", MOVIE_SECONDS)
    (big / "movie.nfo").write_text(
        "<movie><title>Big Test</title><plot>A film to test with.</plot><mpaa>R</mpaa>"
        "<genre>Drama</genre></movie>"
    )
    poster = Image.new("RGB", (600, 900), "#7a3b12")
    poster.paste(Image.new("RGB", (600, 300), "#f0a040"), (0, 600))
    poster.save(big / "poster.jpg")
    mkv = base / "Movies/Matroska (2021)"
    mkv.mkdir(parents=True)
    make_video(mkv / "Matroska (2021).mkv", 8.0)
    return library_yaml(base) + "nfo:\nembedded:\nfilename:\nlocal_artwork:\nweb:\n"
