"""Fixtures for the web app: a Chromium per test, pages that are watched for console errors,
and a real server with a scanned library and the `web` plugin."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunningServer, StartServer
from tests.core.scan.test_scanner import settle
from tests.plugins.web.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DESKTOP,
    ConsoleWatch,
    build_web_library,
    chromium_problem,
)

NewPage = Callable[..., Awaitable[Any]]


@pytest.fixture(scope="session")
def chromium_ready() -> None:
    """Skip (only) when Playwright or Debian's Chromium is truly not there."""
    pytest.importorskip("playwright.async_api", reason="Playwright for Python is not installed")
    problem = chromium_problem()
    if problem:
        pytest.skip(problem)


@pytest.fixture
def console() -> ConsoleWatch:
    return ConsoleWatch()


@pytest.fixture
async def new_page(chromium_ready: None, console: ConsoleWatch) -> AsyncIterator[NewPage]:
    """`await new_page(viewport=…)`: a page in a fresh browser context (its own cookies)."""
    from playwright.async_api import async_playwright

    playwright = await async_playwright().start()
    browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)

    async def make(viewport: dict[str, int] | None = None, **options: Any) -> Any:
        size = viewport or DESKTOP
        context = await browser.new_context(
            viewport={"width": size["width"], "height": size["height"]}, **options
        )
        context.set_default_timeout(15_000)
        page = await context.new_page()
        console.attach(page)
        return page

    try:
        yield make
    finally:
        await browser.close()
        await playwright.stop()
    assert not console.problems, "browser console errors:\n" + "\n".join(console.problems)


@pytest.fixture(scope="session")
def web_library(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The media, made once: servers only read it. Answers the YAML that serves it."""
    return build_web_library(tmp_path_factory.mktemp("web") / "media")


# What a server measures about this box once and caches in its data folder (test encodes,
# transcode speed, its certificate): carried from one test's server to the next, as a real
# box keeps them across restarts, so each test does not spend seconds of CPU re-measuring.
WARM = ("hardware.json", "transcode-calibration.json", "tls")


@pytest.fixture(scope="session")
def warm_caches(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("warm")


def _carry(source: Path, target: Path) -> None:
    for name in WARM:
        if (source / name).exists() and not (target / name).exists():
            copy = shutil.copytree if (source / name).is_dir() else shutil.copy2
            copy(source / name, target / name)


@pytest.fixture
async def web(
    start_server: StartServer, web_library: str, warm_caches: Path, tmp_path: Path
) -> AsyncIterator[RunningServer]:
    """A server with the web app and a scanned library (owner "owner", tests.conftest.PASSWORD)."""
    data = tmp_path / "data"  # where start_server keeps it
    data.mkdir(parents=True, exist_ok=True)
    _carry(warm_caches, data)
    server = await start_server(web_library)
    await settle(server)
    yield server
    _carry(data, warm_caches)
