"""Each person's viewing: coalesced progress, watched at 90 %, continue watching, next episode,
history (paused, cleared, kept only `history_days`), and nothing shown that they may not see."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from core.people.retention import keep_history, prune_history
from core.people.watch import stamp
from tests.conftest import RunningServer, StartServer, make_user
from tests.core.scan.library import build_library, library_yaml
from tests.core.scan.test_scanner import db_fingerprint, items, library_ids, settle


@pytest.fixture
async def server(start_server: StartServer, tmp_path: Path) -> RunningServer:
    build_library(tmp_path / "media")
    running = await start_server(library_yaml(tmp_path / "media"))
    await settle(running)
    return running


async def call(
    server: RunningServer,
    method: str,
    path: str,
    body: Any = None,
    token: str | None = None,
    status: int = 200,
) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with server.session.request(
        method, server.url + path, json=body, headers=headers
    ) as reply:
        assert reply.status == status, await reply.text()
        return await reply.json()


async def report(server: RunningServer, item_id: str, position: float, **kw: Any) -> Any:
    body = {"position": position, "duration": 100.0}
    return await call(server, "PUT", f"/api/items/{item_id}/progress", body, **kw)


def rows(server: RunningServer, table: str) -> int:
    with sqlite3.connect(server.hub.config.hearth.data_dir / "catalog.db") as db:
        return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


async def by_title(server: RunningServer, kind: str) -> dict[str, str]:
    return {i["title"]: i["id"] for i in await items(server, kind=kind)}


async def test_progress_is_stored_only_when_it_moved_5_s_or_finished(
    server: RunningServer,
) -> None:
    movie = (await by_title(server, "movie"))["Alien"]
    assert (await report(server, movie, 3))["stored"] is False  # 3 s from the start: noise
    assert (await report(server, movie, 10))["stored"] is True
    assert (await report(server, movie, 12))["stored"] is False
    assert (await report(server, movie, 40))["stored"] is True
    assert rows(server, "history") == 0
    (card,) = (await call(server, "GET", "/api/me/continue"))["items"]
    assert card["id"] == movie and card["title"] == "Alien"
    assert card["progress"]["position"] == 40 and card["progress"]["watched"] is False
    finished = await report(server, movie, 91)
    assert finished == {
        "stored": True,
        "paused": False,
        "position": 91,
        "duration": 100,
        "watched": True,
    }
    assert (await report(server, movie, 93))["stored"] is False  # still finished: no new row
    assert rows(server, "history") == 1
    assert (await call(server, "GET", "/api/me/continue"))["items"] == []
    history = await call(server, "GET", "/api/me/history")
    assert history["total"] == 1 and history["paused"] is False
    assert history["history"][0]["item"]["id"] == movie
    progress = await call(server, "GET", f"/api/me/progress?ids={movie},nosuchid")
    assert progress["progress"][movie]["watched"] is True
    assert set(progress["progress"]) == {movie}


async def test_continue_watching_is_newest_first_and_per_person(server: RunningServer) -> None:
    movies = await by_title(server, "movie")
    other = await make_user(server.hub, "mia", "member")
    await report(server, movies["Alien"], 20)
    await report(server, movies["Blade Runner"], 30)
    await report(server, movies["Alien"], 50)
    cards = (await call(server, "GET", "/api/me/continue"))["items"]
    assert [c["title"] for c in cards] == ["Alien", "Blade Runner"]
    assert (await call(server, "GET", "/api/me/continue", token=other))["items"] == []
    assert (await call(server, "GET", "/api/me/history", token=other))["total"] == 0


async def test_next_episode_follows_the_last_watched_and_skips_specials(
    server: RunningServer,
) -> None:
    episodes = await by_title(server, "episode")
    assert (await call(server, "GET", "/api/me/next"))["items"] == []
    await report(server, episodes["Blooper Reel"], 95)  # a special: never "next", nor starts
    nxt = (await call(server, "GET", "/api/me/next"))["items"]
    assert [i["title"] for i in nxt] == ["Pilot"]
    await report(server, episodes["Pilot"], 95)
    nxt = (await call(server, "GET", "/api/me/next"))["items"]
    assert [i["title"] for i in nxt] == ["Double"]
    await report(server, episodes["Double"], 99)  # S01E02-E03: next is after episode 3
    nxt = (await call(server, "GET", "/api/me/next"))["items"]
    assert [(i["title"], i["parent_title"]) for i in nxt] == [("The Dundies", "Season 2")]
    await report(server, episodes["The Dundies"], 99)
    assert (await call(server, "GET", "/api/me/next"))["items"] == []


async def test_nothing_is_stored_while_history_is_paused(server: RunningServer) -> None:
    movie = (await by_title(server, "movie"))["Alien"]
    assert await call(server, "POST", "/api/me/history/pause", {"paused": True}) == {"paused": True}
    answer = await report(server, movie, 95)
    assert answer["stored"] is False and answer["paused"] is True
    assert rows(server, "progress") == 0 and rows(server, "history") == 0
    assert (await call(server, "GET", "/api/me/history"))["paused"] is True
    await call(server, "POST", "/api/me/history/pause", {"paused": False})
    assert (await report(server, movie, 95))["stored"] is True
    await call(server, "POST", "/api/me/history/pause", {"paused": "yes"}, status=400)


async def test_clearing_history_forgets_positions_too(server: RunningServer) -> None:
    movies = await by_title(server, "movie")
    await report(server, movies["Alien"], 95)
    await report(server, movies["Blade Runner"], 30)
    cleared = await call(server, "DELETE", "/api/me/history")
    assert cleared == {"removed": {"history": 1, "progress": 2}}
    assert (await call(server, "GET", "/api/me/continue"))["items"] == []
    assert (await call(server, "GET", "/api/me/history"))["total"] == 0


async def test_items_a_person_may_not_see_are_refused_and_vanish_from_their_lists(
    server: RunningServer,
) -> None:
    libraries = await library_ids(server)
    kid = await make_user(server.hub, "kid", "member", [libraries["Movies"], libraries["TV"]])
    movies = await by_title(server, "movie")
    track = next(iter((await by_title(server, "track")).values()))
    await call(server, "PUT", f"/api/items/{track}/progress", {"position": 9}, kid, 404)
    await report(server, movies["Alien"], 30, token=kid)
    assert len((await call(server, "GET", "/api/me/continue", token=kid))["items"]) == 1
    user = await call(server, "GET", "/api/users")
    kid_id = next(u["id"] for u in user["users"] if u["username"] == "kid")
    await call(server, "PATCH", f"/api/users/{kid_id}", {"libraries": [libraries["TV"]]})
    assert (await call(server, "GET", "/api/me/continue", token=kid))["items"] == []
    assert (await call(server, "GET", f"/api/me/progress?ids={movies['Alien']}", token=kid)) == {
        "progress": {}
    }
    show = (await items(server, kind="show"))[0]["id"]
    await call(server, "PUT", f"/api/items/{show}/progress", {"position": 9}, status=400)
    await call(server, "PUT", f"/api/items/{movies['Alien']}/progress", {"position": -1}, None, 400)


async def test_history_older_than_the_retention_is_pruned_and_nothing_else_is_written(
    server: RunningServer,
) -> None:
    movie = (await by_title(server, "movie"))["Alien"]
    await report(server, movie, 95)
    catalog = server.hub.catalog
    await settle(server)
    before = db_fingerprint(server.hub.config.hearth.data_dir)
    assert await prune_history(catalog, 365) == 0
    assert db_fingerprint(server.hub.config.hearth.data_dir) == before  # nothing due: no write

    def age(db: Any) -> None:
        old = stamp(-400 * 86400)
        db.execute("UPDATE history SET watched_at = ?", [old])
        db.execute("UPDATE progress SET updated_at = ?", [old])

    await catalog.write(age)
    assert await prune_history(catalog, 0) == 0  # 0 keeps everything
    assert await prune_history(catalog, 500) == 0
    assert await prune_history(catalog, 365) == 2
    assert rows(server, "history") == 0 and rows(server, "progress") == 0


async def test_the_daily_task_prunes_at_once_and_keeps_running(server: RunningServer) -> None:
    assert any(t.get_name() == "history-retention" for t in asyncio.all_tasks())
    await report(server, (await by_title(server, "movie"))["Alien"], 95)
    await server.hub.catalog.write(
        lambda db: db.execute("UPDATE history SET watched_at = ?", [stamp(-40 * 86400)])
    )
    task = asyncio.get_running_loop().create_task(keep_history(server.hub.catalog, 30, 0.05))
    try:
        for _ in range(100):
            if rows(server, "history") == 0:
                break
            await asyncio.sleep(0.02)
        assert rows(server, "history") == 0
        assert not task.done()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
