"""Switching a shared device to a profile never hands out more than the switcher had: a
PIN-less managed profile opens only for an owner or admin, or for someone who may already see
everything it may see; otherwise its PIN, and without one, a plain refusal."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.people.access import Principal
from core.people.ratings import rank
from core.people.switching import SwitchNeeds, sees_no_more, switch_needs
from tests.conftest import RunningServer, StartServer, make_user
from tests.core.people.household import (
    call,
    error_code,
    household_server,
    item_by_title,
    library_ids,
)

MOVIES, TV, MUSIC = 1, 2, 3


def person(
    role: str = "managed",
    libraries: set[int] | None = None,
    rating: str | None = None,
    block_unrated: bool = False,
    excluded: tuple[str, ...] = (),
    user: int = 9,
) -> Principal:
    return Principal(
        user,
        f"user{user}",
        role,
        libraries=None if libraries is None else frozenset(libraries),
        max_rank=rank(rating) if rating else None,
        block_unrated=block_unrated,
        excluded_genres=excluded,
    )


MEMBER_MUSIC = person("member", {MUSIC}, user=2)
KID_PG = person("managed", {MOVIES, TV}, "PG", block_unrated=True, excluded=("Horror",), user=3)


@pytest.mark.parametrize(
    ("target", "switcher", "within"),
    [
        (person(libraries={MUSIC}), MEMBER_MUSIC, True),
        (person(libraries=set()), MEMBER_MUSIC, True),
        (person(libraries={MUSIC, MOVIES}), MEMBER_MUSIC, False),
        (person(libraries=None), MEMBER_MUSIC, False),  # every library, present and future
        (person(libraries=None), person("member", None), True),
        (
            person(libraries={MOVIES}, rating="G", block_unrated=True, excluded=("Horror",)),
            KID_PG,
            True,
        ),
        (
            person(libraries={MOVIES}, rating="PG-13", block_unrated=True, excluded=("Horror",)),
            KID_PG,
            False,
        ),
        (person(libraries={MOVIES}, block_unrated=True, excluded=("Horror",)), KID_PG, False),
        (person(libraries={MOVIES}, rating="PG", excluded=("Horror",)), KID_PG, False),  # unrated
        (person(libraries={MOVIES}, rating="PG", block_unrated=True), KID_PG, False),  # genre
        (
            person(libraries={MOVIES}, rating="PG", block_unrated=True, excluded=("Horror", "War")),
            KID_PG,
            True,
        ),
    ],
)
def test_a_profile_is_within_the_switchers_access_only_when_it_sees_no_more(
    target: Principal, switcher: Principal, within: bool
) -> None:
    assert sees_no_more(target, switcher) is within


def test_who_needs_what_to_switch() -> None:
    wide = person(libraries=None)
    narrow = person(libraries={MUSIC})
    for admin in (person("owner", user=1), person("admin", user=1)):
        assert switch_needs(admin, wide, has_pin=False, has_password=False) is SwitchNeeds.NOTHING
        assert switch_needs(admin, wide, has_pin=True, has_password=False) is SwitchNeeds.NOTHING
        adult = person("member", user=5)
        assert switch_needs(admin, adult, has_pin=False, has_password=True) is SwitchNeeds.SECRET
    assert switch_needs(MEMBER_MUSIC, narrow, False, False) is SwitchNeeds.NOTHING
    assert switch_needs(MEMBER_MUSIC, narrow, True, False) is SwitchNeeds.SECRET  # its own PIN
    assert switch_needs(MEMBER_MUSIC, wide, True, False) is SwitchNeeds.SECRET
    assert switch_needs(MEMBER_MUSIC, wide, False, True) is SwitchNeeds.SECRET  # its password
    assert switch_needs(MEMBER_MUSIC, wide, False, False) is SwitchNeeds.REFUSED
    assert switch_needs(MEMBER_MUSIC, MEMBER_MUSIC, False, False) is SwitchNeeds.NOTHING


@pytest.fixture
async def server(start_server: StartServer, tmp_path: Path) -> RunningServer:
    return await household_server(start_server, tmp_path / "media")


async def managed(
    server: RunningServer, name: str, libraries: list[int] | None = None, rating: str | None = None
) -> int:
    """A managed profile without a password or PIN, made by the owner as the web app does."""
    body = {"username": name, "role": "managed", "libraries": libraries, "max_rating": rating}
    status, made = await call(server, "POST", "/api/users", owner_token(server), body)
    assert status == 201, made
    return int(made["id"])


def owner_token(server: RunningServer) -> str:
    return str(server.session.headers["Authorization"]).removeprefix("Bearer ")


async def switch(server: RunningServer, token: str, target: int, **extra: str) -> tuple[int, str]:
    status, body = await call(
        server, "POST", "/api/auth/switch", token, {"user_id": target, **extra}
    )
    return status, body["token"] if status == 200 else error_code(body)


async def test_a_music_only_member_cannot_switch_into_a_pinless_profile_with_movies(
    server: RunningServer,
) -> None:
    ids = await library_ids(server)
    member = await make_user(server.hub, "sam", "member", libraries=[ids["Music"]])
    kid = await managed(server, "kid", [ids["Movies"]], "PG")
    radio = await managed(server, "radio", [ids["Music"]])
    toy = await item_by_title(server, "Toy Story", "movie")

    status, body = await call(server, "POST", "/api/auth/switch", member, {"user_id": kid})
    assert (status, error_code(body)) == (403, "pin_missing")
    assert body["error"]["message"] == (
        "kid has no PIN and may see more than you can, so you cannot switch to it. "
        "An owner or admin can switch, or set a PIN for it."
    )
    assert (await call(server, "GET", f"/api/items/{toy['id']}/stream", member))[0] == 404

    status, radio_token = await switch(server, member, radio)  # sees no more than sam: fine
    assert status == 200
    _, me = await call(server, "GET", "/api/auth/me", radio_token)
    assert me["username"] == "radio"

    owner = owner_token(server)
    assert (await call(server, "PUT", f"/api/users/{kid}/pin", owner, {"pin": "4821"}))[0] == 200
    assert await switch(server, member, kid) == (401, "pin_required")
    assert await switch(server, member, kid, pin="0000") == (401, "bad_pin")
    status, kid_token = await switch(server, member, kid, pin="4821")
    assert status == 200  # whoever knows the PIN was meant to have it
    assert (await call(server, "GET", f"/api/items/{toy['id']}/stream", kid_token))[0] == 200


async def test_owners_and_admins_switch_into_managed_profiles_without_a_pin(
    server: RunningServer,
) -> None:
    admin = await make_user(server.hub, "ada", "admin")
    kid = await managed(server, "kid", None, "PG")
    owner = owner_token(server)
    assert (await switch(server, owner, kid))[0] == 200
    assert (await call(server, "PUT", f"/api/users/{kid}/pin", owner, {"pin": "4821"}))[0] == 200
    assert (await switch(server, admin, kid))[0] == 200
    assert await switch(server, admin, kid, pin="1111") == (401, "bad_pin")  # typed: checked


async def test_a_pg_profile_cannot_switch_into_an_unlimited_one(server: RunningServer) -> None:
    kid = await make_user(server.hub, "kid", "managed", max_rating="PG")
    teen, little = (
        await managed(server, "teen", None, "R"),
        await managed(server, "little", None, "G"),
    )
    assert await switch(server, kid, teen) == (403, "pin_missing")
    assert (await switch(server, kid, little))[0] == 200
