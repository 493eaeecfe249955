"""Playlists over HTTP on a real household server: made, filled in order, reordered, renamed and
deleted by their owner only; another account (even the owner of the box) gets 404; and a kid's
rating limit keeps an R-rated film out of a playlist and out of what it shows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunningServer, StartServer, make_user
from tests.core.people.household import call, error_code, household_server, item_by_title


@pytest.fixture
async def home(start_server: StartServer, tmp_path: Path) -> RunningServer:
    return await household_server(start_server, tmp_path / "media")


async def ids(server: RunningServer, *titles: str) -> list[str]:
    return [str((await item_by_title(server, t))["id"]) for t in titles]


def titles(playlist: dict[str, Any]) -> list[str]:
    return [item["title"] for item in playlist["items"]]


async def test_a_playlist_is_made_filled_reordered_renamed_and_deleted(home: RunningServer) -> None:
    token = await make_user(home.hub, "mia", "member")
    alien, toy, blade = await ids(home, "Alien", "Toy Story", "Blade Runner")
    status, made = await call(
        home, "POST", "/api/playlists", token, {"name": " Films ", "items": [toy]}
    )
    assert status == 201, made
    assert made["name"] == "Films" and titles(made) == ["Toy Story"]
    path = f"/api/playlists/{made['id']}"

    status, body = await call(home, "PUT", f"{path}/items", token, {"items": [alien, toy, alien]})
    assert status == 200 and titles(body) == ["Alien", "Toy Story", "Alien"]
    status, body = await call(home, "PUT", f"{path}/items", token, [blade, alien])  # bare list
    assert status == 200 and titles(body) == ["Blade Runner", "Alien"]
    assert {"id", "kind", "title", "artwork", "online"} <= set(body["items"][0])

    status, body = await call(home, "PATCH", path, token, {"name": "Weekend"})
    assert status == 200 and body["name"] == "Weekend"
    status, listing = await call(home, "GET", "/api/playlists", token)
    assert [(p["name"], p["count"]) for p in listing["playlists"]] == [("Weekend", 2)]

    status, body = await call(home, "DELETE", path, token)
    assert status == 200 and body == {"deleted": made["id"]}
    status, body = await call(home, "GET", path, token)
    assert status == 404 and error_code(body) == "playlist_not_found"
    assert (await item_by_title(home, "Alien"))["title"] == "Alien"  # the items stay


async def test_only_the_maker_sees_or_changes_a_playlist(home: RunningServer) -> None:
    mia = await make_user(home.hub, "mia", "member")
    (alien,) = await ids(home, "Alien")
    _, made = await call(home, "POST", "/api/playlists", mia, {"name": "Mine", "items": [alien]})
    path = f"/api/playlists/{made['id']}"
    owner_listing = await home.get_json("/api/playlists")
    assert owner_listing["playlists"] == []
    for method, suffix, body in (
        ("GET", "", None),
        ("PATCH", "", {"name": "Taken"}),
        ("PUT", "/items", {"items": []}),
        ("DELETE", "", None),
    ):
        async with home.session.request(method, home.url + path + suffix, json=body) as reply:
            assert reply.status == 404, (method, suffix)
    status, still = await call(home, "GET", path, mia)
    assert status == 200 and still["name"] == "Mine" and titles(still) == ["Alien"]


async def test_a_rating_limit_keeps_hidden_films_out_of_playlists(home: RunningServer) -> None:
    kid = await make_user(home.hub, "kid", "managed", max_rating="PG")
    toy, blade = await ids(home, "Toy Story", "Blade Runner")
    status, body = await call(
        home, "POST", "/api/playlists", kid, {"name": "Kid", "items": [blade]}
    )
    assert status == 400 and error_code(body) == "bad_items"
    status, made = await call(home, "POST", "/api/playlists", kid, {"name": "Kid", "items": [toy]})
    assert status == 201

    # an item that becomes hidden later (the limit was lowered) is no longer shown or counted
    await home.hub.catalog.write(
        lambda db: db.execute(
            "INSERT INTO playlist_items (playlist_id, position, item_pk) SELECT p.id, 1, i.pk "
            "FROM playlists AS p, items AS i WHERE p.public_id = ? AND i.id = ?",
            [made["id"], blade],
        )
    )
    status, body = await call(home, "GET", f"/api/playlists/{made['id']}", kid)
    assert status == 200 and titles(body) == ["Toy Story"]
    _, listing = await call(home, "GET", "/api/playlists", kid)
    assert listing["playlists"][0]["count"] == 1


async def test_bad_playlist_requests_are_refused_plainly(home: RunningServer) -> None:
    token = await make_user(home.hub, "mia", "member")
    (show,) = [str((await item_by_title(home, "The Office", "show"))["id"])]
    cases: list[tuple[str, str, Any, str]] = [
        ("POST", "/api/playlists", {"name": ""}, "bad_body"),
        ("POST", "/api/playlists", {"name": "x" * 201}, "bad_body"),
        ("POST", "/api/playlists", {"name": "A", "items": "nope"}, "bad_body"),
        ("POST", "/api/playlists", {"name": "A", "items": ["missing"]}, "bad_items"),
        ("POST", "/api/playlists", {"name": "A", "items": [show]}, "bad_items"),  # no file
        ("GET", "/api/playlists/nope", None, "playlist_not_found"),
    ]
    for method, path, body, code in cases:
        status, answer = await call(home, method, path, token, body)
        assert status in (400, 404) and error_code(answer) == code, (path, body, answer)
    status, answer = await call(home, "GET", "/api/playlists")
    assert status == 401
