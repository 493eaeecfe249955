"""What each person may see, enforced the same way everywhere: browsing, search, one item,
artwork, streaming, library counts and recently added. A kid's PG profile cannot reach an
R-rated film by any route; a member granted one library cannot reach another's items."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunningServer, StartServer, make_user
from tests.core.people.household import (
    call,
    household_server,
    item_by_title,
    library_ids,
    user_id,
)


@pytest.fixture
async def server(start_server: StartServer, tmp_path: Path) -> RunningServer:
    return await household_server(start_server, tmp_path / "media")


async def titles(server: RunningServer, token: str, query: str) -> set[str]:
    status, body = await call(server, "GET", f"/api/items?{query}&limit=500", token)
    assert status == 200, body
    return {i["title"] for i in body["items"]}


async def reachable(server: RunningServer, token: str, item: dict[str, Any]) -> dict[str, int]:
    """The status of every per-item route for this item, as `token`'s owner."""
    base = f"/api/items/{item['id']}"
    statuses = {}
    for method, path in (
        ("GET", base),
        ("GET", base + "/artwork/poster"),
        ("GET", base + "/stream"),
        ("HEAD", base + "/stream"),
    ):
        statuses[f"{method} {path.removeprefix(base) or '/'}"] = (
            await call(server, method, path, token)
        )[0]
    return statuses


HIDDEN = {"GET /": 404, "GET /artwork/poster": 404, "GET /stream": 404, "HEAD /stream": 404}
SHOWN = {"GET /": 200, "GET /artwork/poster": 200, "GET /stream": 200, "HEAD /stream": 200}


async def test_a_pg_profile_cannot_reach_an_r_rated_film_by_any_route(
    server: RunningServer,
) -> None:
    kid = await make_user(server.hub, "kid", "managed", max_rating="PG")
    blade = await item_by_title(server, "Blade Runner", "movie")
    toy = await item_by_title(server, "Toy Story", "movie")
    assert blade["content_rating"] == "R" and toy["content_rating"] == "PG"
    assert await reachable(server, kid, blade) == HIDDEN
    assert await reachable(server, kid, toy) == SHOWN
    assert await titles(server, kid, "kind=movie") == {"Toy Story", "Alien"}  # unrated: allowed
    assert await titles(server, kid, "q=Blade") == set()
    assert await titles(server, kid, "q=Runner&kind=movie") == set()
    assert await titles(server, kid, "genre=Science%20Fiction") == set()
    owner_token = server.session.headers["Authorization"].removeprefix("Bearer ")
    assert await reachable(server, owner_token, blade) == SHOWN


async def test_a_mature_show_hides_its_seasons_and_episodes(server: RunningServer) -> None:
    kid = await make_user(server.hub, "kid", "managed", max_rating="TV-PG")
    episode = await item_by_title(server, "Pilot", "episode")
    assert episode["content_rating"] is None  # inherited from tvshow.nfo, not its own
    assert await reachable(server, kid, episode) == {
        "GET /": 404,
        "GET /artwork/poster": 404,  # the show's poster, through the episode, is hidden too
        "GET /stream": 404,
        "HEAD /stream": 404,
    }
    assert await titles(server, kid, "kind=episode") == set()
    assert await titles(server, kid, "kind=season") == set()
    assert await titles(server, kid, "q=Office") == set()


async def test_counts_and_recently_added_leave_hidden_items_out(server: RunningServer) -> None:
    kid = await make_user(server.hub, "kid", "managed", max_rating="PG")
    _, libraries = await call(server, "GET", "/api/libraries", kid)
    movies = next(lib for lib in libraries["libraries"] if lib["name"] == "Movies")
    assert movies["counts"] == {"movie": 2}
    tv = next(lib for lib in libraries["libraries"] if lib["name"] == "TV")
    assert tv["counts"] == {}
    _, recent = await call(server, "GET", "/api/recent", kid)
    shown = {i["title"] for lib in recent["libraries"] for i in lib["items"]}
    assert "Blade Runner" not in shown and "Toy Story" in shown and "Pilot" not in shown


async def test_blocking_unrated_items_hides_them_at_once(server: RunningServer) -> None:
    kid = await make_user(server.hub, "kid", "managed", max_rating="PG")
    alien = await item_by_title(server, "Alien", "movie")
    assert await reachable(server, kid, alien) == SHOWN  # and now cached for the kid
    kid_id = await user_id(server, "kid")
    async with server.session.patch(
        f"{server.url}/api/users/{kid_id}", json={"unrated": "block"}
    ) as reply:
        assert reply.status == 200
    assert await reachable(server, kid, alien) == HIDDEN
    assert await titles(server, kid, "kind=movie") == {"Toy Story"}
    assert await titles(server, kid, "kind=track") == set()  # untagged music is unrated too


async def test_a_member_granted_one_library_sees_nothing_of_the_others(
    server: RunningServer,
) -> None:
    ids = await library_ids(server)
    member = await make_user(server.hub, "guest", "member", libraries=[ids["Movies"]])
    _, libraries = await call(server, "GET", "/api/libraries", member)
    assert [lib["name"] for lib in libraries["libraries"]] == ["Movies"]
    episode = await item_by_title(server, "Pilot", "episode")
    assert await reachable(server, member, episode) == HIDDEN
    assert await titles(server, member, "q=Office") == set()
    assert await titles(server, member, f"library={ids['TV']}&kind=episode") == set()
    movie = await item_by_title(server, "Blade Runner", "movie")
    assert await reachable(server, member, movie) == SHOWN  # no rating limit for adults


async def test_a_member_without_a_list_of_libraries_sees_all_of_them(
    server: RunningServer,
) -> None:
    member = await make_user(server.hub, "partner", "member")
    _, libraries = await call(server, "GET", "/api/libraries", member)
    assert len(libraries["libraries"]) == 5
    assert "Pilot" in await titles(server, member, "kind=episode")


async def test_changing_grants_applies_to_the_next_request(server: RunningServer) -> None:
    ids = await library_ids(server)
    member = await make_user(server.hub, "guest", "member", libraries=[ids["Movies"]])
    episode = await item_by_title(server, "Pilot", "episode")
    assert (await call(server, "GET", f"/api/items/{episode['id']}", member))[0] == 404
    guest = await user_id(server, "guest")
    async with server.session.patch(
        f"{server.url}/api/users/{guest}", json={"libraries": [ids["Movies"], ids["TV"]]}
    ) as reply:
        assert reply.status == 200
    assert (await call(server, "GET", f"/api/items/{episode['id']}", member))[0] == 200
