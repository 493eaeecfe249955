"""What TVs on the home network see: photos and home videos only once ticked, a sentence that
says what TVs can see and under which rating, and a TV rating limit admins set from the web
app, which DLNA obeys at once (the stricter of it and `dlna: max_rating:`)."""

from __future__ import annotations

from pathlib import Path

from core.configuration import load_configuration
from core.hub import Hub
from core.library.lan import tv_view
from core.people.access import stricter_rating
from tests.conftest import RunningServer, StartServer, make_user
from tests.core.people.household import call, household_server, item_by_title

DLNA = "dlna: {ssdp: false}\n"


async def tv_flags(server: RunningServer) -> dict[str, bool]:
    data = await server.get_json("/api/libraries")
    return {lib["name"]: lib["lan_visible"] for lib in data["libraries"]}  # type: ignore[attr-defined]


async def lan(server: RunningServer, body: dict[str, str | None] | None = None) -> dict[str, str]:
    """GET (or PUT `body` to) /api/settings/lan as the owner."""
    url = server.url + "/api/settings/lan"
    method = server.session.get(url) if body is None else server.session.put(url, json=body)
    async with method as reply:
        assert reply.status == 200, await reply.text()
        answer: dict[str, str] = await reply.json()
        return answer


async def dlna_status(server: RunningServer, item: dict[str, str]) -> int:
    """What a TV (no account) gets for the item's file."""
    suffix = ".mkv" if item["title"] != "Alien" else ".mp4"
    async with server.session.get(f"{server.url}/dlna/media/{item['id']}{suffix}") as reply:
        return reply.status


async def test_photos_and_home_videos_start_hidden_from_tvs_and_choices_survive_a_restart(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = await household_server(start_server, tmp_path / "media")
    assert await tv_flags(server) == {
        "Home Videos": False,
        "Movies": True,
        "Music": True,
        "Photos": False,
        "TV": True,
    }
    # an install from before this rule (Photos shown), and one the owner changed (Movies hidden)
    await server.hub.catalog.write(
        lambda db: db.execute(
            "UPDATE libraries SET lan_visible = (name IN ('Photos', 'TV', 'Music'))"
        )
    )
    await server.hub.stop()
    hub = Hub(load_configuration(tmp_path / "config0"))
    await hub.start()
    try:
        await hub.scans.wait_idle()
        rows = await hub.catalog.read(
            lambda db: db.execute("SELECT name, lan_visible FROM libraries").fetchall()
        )
    finally:
        await hub.stop()
    assert {name: bool(shown) for name, shown in rows} == {
        "Home Videos": False,
        "Movies": False,
        "Music": True,
        "Photos": True,
        "TV": True,
    }


async def test_a_tv_rating_limit_set_in_one_click_hides_an_r_film_from_tvs(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = await household_server(start_server, tmp_path / "media", DLNA)
    blade = await item_by_title(server, "Blade Runner", "movie")
    toy = await item_by_title(server, "Toy Story", "movie")
    view = await lan(server)
    assert view["summary"] == (
        "TVs on your home network can see Movies, Music and TV with no rating limit."
    )
    assert view["warning"] is None
    assert await dlna_status(server, blade) == 200

    kid = await make_user(server.hub, "kid", "managed", max_rating="PG")
    member = await make_user(server.hub, "member", "member")
    view = await lan(server)
    assert view["warning"] == (
        "Any TV on your home network can play everything in Movies, Music and TV, whatever its "
        "rating, though kid's profile is limited to PG. Set a TV rating limit to close this."
    )
    assert view["suggested_max_rating"] == "PG"
    for token in (kid, member):  # only owners and admins
        status, _ = await call(server, "PUT", "/api/settings/lan", token, {"max_rating": None})
        assert status == 403
        assert (await call(server, "GET", "/api/settings/lan", token))[0] == 403

    view = await lan(server, {"max_rating": view["suggested_max_rating"]})
    assert (view["max_rating"], view["effective_max_rating"]) == ("PG", "PG")
    assert view["summary"] == "TVs on your home network can see Movies, Music and TV under PG."
    assert view["warning"] is None
    assert await dlna_status(server, blade) == 404  # at once: no remembered answer
    assert await dlna_status(server, toy) == 200

    status, body = await call(server, "PUT", "/api/settings/lan", None, {"max_rating": "PG"})
    assert status == 401
    owner = server.session.headers["Authorization"].removeprefix("Bearer ")
    status, body = await call(server, "PUT", "/api/settings/lan", owner, {"max_rating": "PG-99"})
    assert (status, body["error"]["code"]) == (400, "bad_body")
    assert body["error"]["message"].startswith("unknown rating 'PG-99'; use one of G, PG, PG-13")

    view = await lan(server, {"max_rating": None})
    assert view["effective_max_rating"] is None
    assert await dlna_status(server, blade) == 200


async def test_the_yaml_limit_and_the_setting_combine_to_the_stricter(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = await household_server(
        start_server, tmp_path / "media", "dlna: {ssdp: false, max_rating: PG-13}\n"
    )
    view = await lan(server, {"max_rating": "R"})
    assert (view["config_max_rating"], view["effective_max_rating"]) == ("PG-13", "PG-13")
    assert view["summary"] == "TVs on your home network can see Movies, Music and TV under PG-13."
    blade = await item_by_title(server, "Blade Runner", "movie")
    assert await dlna_status(server, blade) == 404
    view = await lan(server, {"max_rating": "G"})
    assert view["effective_max_rating"] == "G"


async def test_without_a_tv_service_the_sentence_says_tvs_see_nothing(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = await household_server(start_server, tmp_path / "media")
    view = await lan(server)
    assert view["summary"] == (
        "TVs on your home network see nothing: no TV service (DLNA) is running."
    )
    assert view["served"] is False


def test_sentences_and_the_stricter_limit() -> None:
    assert stricter_rating("PG-13", "PG") == "PG"
    assert stricter_rating(None, "TV-MA") == "TV-MA"
    assert stricter_rating(None, None) is None
    assert tv_view(True, [], None, [("kid", "PG")]) == {
        "summary": "TVs on your home network see no library; tick one below to show it.",
        "warning": None,
        "suggested_max_rating": None,
    }
    view = tv_view(True, ["Movies"], None, [("ann", None), ("bo", None)])
    assert view["summary"] == "TVs on your home network can see Movies with no rating limit."
    assert view["warning"] == (
        "Any TV on your home network can play everything in Movies, whatever its rating, "
        "though ann and bo have managed profiles. Set a TV rating limit to close this."
    )
    assert view["suggested_max_rating"] == "PG"
