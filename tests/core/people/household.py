"""A household on a real server for the people-and-privacy tests: a scanned library with rated
films and a mature show, accounts of every role, and a client call that takes any token.

Ratings come from real Kodi .nfo files read by the nfo plugin: Blade Runner is R, Toy Story is
PG, Alien has no rating, and The Office (its tvshow.nfo) is TV-MA, which its episodes inherit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
from PIL import Image

from tests.conftest import PASSWORD, RunningServer, StartServer
from tests.core.scan.library import build_library, library_yaml, video
from tests.core.scan.test_scanner import settle

PROVIDERS = "nfo:\nlocal_artwork:\n"


def movie_nfo(title: str, rating: str) -> str:
    return f"<movie><title>{title}</title><mpaa>Rated {rating}</mpaa></movie>"


def build_rated_library(base: Path) -> None:
    """The scanner's test library plus ratings and posters."""
    build_library(base)
    blade = base / "Movies/Blade Runner (1982)"
    (blade / "movie.nfo").write_text(movie_nfo("Blade Runner", "R"))
    Image.new("RGB", (60, 90), "red").save(blade / "poster.jpg")
    Image.new("RGB", (60, 90), "gray").save(base / "Movies/Alien (1979)-poster.jpg")
    toy = base / "Movies/Toy Story (1995)"
    video(base / "Movies", "Toy Story (1995)/Toy Story (1995).mkv")
    (toy / "movie.nfo").write_text(movie_nfo("Toy Story", "PG"))
    Image.new("RGB", (60, 90), "blue").save(toy / "poster.jpg")
    show = base / "TV/The Office (2005)"
    (show / "tvshow.nfo").write_text("<tvshow><title>The Office</title><mpaa>TV-MA</mpaa></tvshow>")
    Image.new("RGB", (60, 90), "green").save(show / "poster.jpg")


async def household_server(start_server: StartServer, base: Path, extra: str = "") -> RunningServer:
    """A started, fully scanned server over the rated library."""
    build_rated_library(base)
    server = await start_server(library_yaml(base) + PROVIDERS + extra)
    await settle(server)
    return server


async def call(
    server: RunningServer,
    method: str,
    path: str,
    token: str | None = None,
    json: Any = None,
    headers: dict[str, str] | None = None,
    client: aiohttp.ClientSession | None = None,
    data: str | None = None,
) -> tuple[int, Any]:
    """One request as whoever `token` belongs to (no token: nobody); answers status and JSON
    (None when the body is not JSON). `data` is a raw body, sent with the `headers` given."""
    sent = dict(headers or {})
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    own = client is None
    session = client or aiohttp.ClientSession()
    try:
        raw = data.encode() if data is not None else None
        async with session.request(
            method, server.url + path, json=json, data=raw, headers=sent
        ) as reply:
            body = await reply.read()
            is_json = reply.content_type == "application/json"
            return reply.status, (await reply.json()) if is_json and body else None
    finally:
        if own:
            await session.close()


async def login(
    server: RunningServer, username: str, password: str = PASSWORD, **extra: Any
) -> Any:
    """Sign in; answers the body (token and user), failing the test on anything but 200."""
    status, body = await call(
        server,
        "POST",
        "/api/auth/login",
        json={"username": username, "password": password, **extra},
    )
    assert status == 200, body
    return body


async def library_ids(server: RunningServer) -> dict[str, int]:
    data = await server.get_json("/api/libraries")
    return {lib["name"]: lib["id"] for lib in data["libraries"]}  # type: ignore[attr-defined]


async def user_id(server: RunningServer, username: str) -> int:
    data = await server.get_json("/api/users")
    return next(u["id"] for u in data["users"] if u["username"] == username)  # type: ignore[attr-defined]


async def item_by_title(
    server: RunningServer, title: str, kind: str | None = None
) -> dict[str, Any]:
    """As the owner, who sees everything."""
    query = f"q={title}&limit=50" + (f"&kind={kind}" if kind else "")
    data = await server.get_json(f"/api/items?{query}")
    found = [i for i in data["items"] if i["title"] == title]  # type: ignore[attr-defined]
    assert found, f"no item called {title!r}"
    return found[0]  # type: ignore[no-any-return]


def error_code(body: Any) -> str:
    return str(body["error"]["code"])


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def sign_in(server: RunningServer, **extra: str) -> tuple[int, str]:
    """Sign in as the fixture's owner; answers the status and the token or the error code."""
    status, body = await call(
        server,
        "POST",
        "/api/auth/login",
        json={"username": "owner", "password": PASSWORD, **extra},
    )
    return status, body["token"] if status == 200 else error_code(body)
