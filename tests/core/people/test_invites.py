"""Invites: made by an admin, redeemed once by someone with no account, refused when expired,
used or withdrawn; the account they make has exactly the grants and limit the invite carried."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PASSWORD, RunningServer, StartServer, make_user
from tests.core.people.household import call, error_code, household_server, library_ids


@pytest.fixture
async def server(start_server: StartServer, tmp_path: Path) -> RunningServer:
    return await household_server(start_server, tmp_path / "media")


async def invite(server: RunningServer, token: str, **fields: object) -> dict[str, object]:
    status, body = await call(server, "POST", "/api/invites", token, fields)
    assert status == 201, body
    return body  # type: ignore[no-any-return]


async def redeem(server: RunningServer, code: object, username: str) -> tuple[int, Any]:
    return await call(
        server,
        "POST",
        "/api/invites/redeem",
        json={"code": code, "username": username, "password": PASSWORD},
    )


async def test_an_invite_makes_one_account_with_its_grants_and_limit(
    server: RunningServer,
) -> None:
    ids = await library_ids(server)
    admin = await make_user(server.hub, "ada", "admin")
    made = await invite(
        server, admin, role="managed", libraries=[ids["Movies"]], max_rating="PG", note="nephew"
    )
    assert str(made["code"]).startswith("hi_") and made["path"] == f"/#/invite/{made['code']}"
    status, body = await redeem(server, made["code"], "nephew")  # no token: the code is the key
    assert status == 200
    assert body["user"]["role"] == "managed" and body["user"]["max_rating"] == "PG"
    assert body["user"]["libraries"] == [ids["Movies"]]
    token = body["token"]
    _, libraries = await call(server, "GET", "/api/libraries", token)
    assert [lib["name"] for lib in libraries["libraries"]] == ["Movies"]
    _, movies = await call(server, "GET", "/api/items?kind=movie", token)
    assert {m["title"] for m in movies["items"]} == {"Toy Story", "Alien"}
    status, again = await redeem(server, made["code"], "someone else")
    assert (status, error_code(again)) == (404, "bad_invite")
    _, listed = await call(server, "GET", "/api/invites", admin)
    used = next(i for i in listed["invites"] if i["id"] == made["id"])
    assert used["used_at"] is not None and "code" not in used


async def test_members_cannot_invite(server: RunningServer) -> None:
    member = await make_user(server.hub, "sam", "member")
    status, body = await call(server, "POST", "/api/invites", member, {"role": "member"})
    assert (status, error_code(body)) == (403, "forbidden")
    admin = await make_user(server.hub, "ada", "admin")
    status, body = await call(server, "POST", "/api/invites", admin, {"role": "admin"})
    assert status == 400  # an invite never makes an admin or an owner


async def test_expired_and_withdrawn_invites_are_refused(server: RunningServer) -> None:
    admin = await make_user(server.hub, "ada", "admin")
    old = await invite(server, admin, days=1)
    await server.hub.catalog.write(
        lambda db: db.execute(
            "UPDATE invites SET expires_at = '2000-01-01T00:00:00Z' WHERE id = ?", [old["id"]]
        )
    )
    status, body = await redeem(server, old["code"], "late")
    assert (status, error_code(body)) == (404, "bad_invite")
    withdrawn = await invite(server, admin)
    assert (await call(server, "DELETE", f"/api/invites/{withdrawn['id']}", admin))[0] == 200
    status, body = await redeem(server, withdrawn["code"], "late")
    assert (status, error_code(body)) == (404, "bad_invite")
    status, body = await redeem(server, "hi_made_up", "late")
    assert (status, error_code(body)) == (404, "bad_invite")
    users = await server.hub.catalog.read(
        lambda db: db.execute("SELECT count(*) FROM users WHERE username = 'late'").fetchone()
    )
    assert users[0] == 0


async def test_a_taken_name_leaves_the_invite_unused(server: RunningServer) -> None:
    admin = await make_user(server.hub, "ada", "admin")
    made = await invite(server, admin)
    status, body = await redeem(server, made["code"], "ada")
    assert status == 400 and "already a user" in body["error"]["message"]
    status, body = await redeem(server, made["code"], "bea")
    assert status == 200 and body["user"]["libraries"] == [] and body["user"]["all_libraries"]
