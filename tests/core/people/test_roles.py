"""What each role may do: owners everything, admins everything but touch an owner, members and
managed profiles nothing that manages people or the server; device keys only read."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import PASSWORD, RunningServer, StartServer, make_user
from tests.core.people.household import call, error_code, login


@pytest.fixture
async def server(start_server: StartServer) -> RunningServer:
    return await start_server()


def owner_token(server: RunningServer) -> str:
    return server.session.headers["Authorization"].removeprefix("Bearer ")


async def ids_by_name(server: RunningServer) -> dict[str, int]:
    _, body = await call(server, "GET", "/api/users", owner_token(server))
    return {u["username"]: u["id"] for u in body["users"]}


ADMIN_ONLY: list[tuple[str, str, Any]] = [
    ("GET", "/api/users", None),
    ("GET", "/api/invites", None),
    ("POST", "/api/invites", {"role": "member"}),
    ("GET", "/api/scan", None),
    ("POST", "/api/scan", None),
    ("POST", "/api/users", {"username": "new-{role}", "role": "managed"}),
]


@pytest.mark.parametrize("role", ["owner", "admin", "member", "managed"])
async def test_only_owners_and_admins_manage_people_and_the_server(
    server: RunningServer, role: str
) -> None:
    token = owner_token(server) if role == "owner" else await make_user(server.hub, role, role)
    for method, path, template in ADMIN_ONLY:
        body = template
        if isinstance(template, dict) and "username" in template:
            body = {**template, "username": template["username"].format(role=role)}
        status, answer = await call(server, method, path, token, body)
        if role in ("owner", "admin"):
            assert status in (200, 201, 202), (method, path, answer)
        else:
            assert (status, error_code(answer)) == (403, "forbidden"), (method, path)
    status, me = await call(server, "GET", "/api/auth/me", token)
    assert status == 200 and me["role"] == role


async def test_admins_cannot_touch_owners(server: RunningServer) -> None:
    admin = await make_user(server.hub, "ada", "admin")
    await make_user(server.hub, "sam", "member")
    ids = await ids_by_name(server)
    owner, sam = ids["owner"], ids["sam"]
    owner_session = await server.hub.catalog.read(
        lambda db: db.execute("SELECT id FROM sessions WHERE user_id = ?", [owner]).fetchone()[0]
    )
    for method, path, body in (
        ("POST", "/api/users", {"username": "boss", "role": "owner", "password": PASSWORD}),
        ("PATCH", f"/api/users/{owner}", {"max_rating": "PG"}),
        ("PATCH", f"/api/users/{owner}", {"password": "taken over now"}),
        ("PATCH", f"/api/users/{sam}", {"role": "owner"}),
        ("DELETE", f"/api/users/{owner}", None),
        ("PUT", f"/api/users/{owner}/pin", {"pin": "1234"}),  # then switch to the owner by PIN
        ("DELETE", f"/api/auth/sessions/{owner_session}", None),
    ):
        status, answer = await call(server, method, path, admin, body)
        assert (status, error_code(answer)) == (403, "forbidden"), (method, path)
    assert (await call(server, "GET", "/api/auth/me", owner_token(server)))[0] == 200
    status, body = await call(server, "POST", "/api/auth/switch", admin, {"user_id": owner})
    assert (status, error_code(body)) == (401, "pin_required")
    assert body["error"]["message"] == "Enter the password of owner."
    status, body = await call(
        server, "POST", "/api/auth/switch", admin, {"user_id": owner, "pin": "1234"}
    )
    assert (status, error_code(body)) == (401, "bad_pin")
    # but members are theirs to manage
    assert (await call(server, "PATCH", f"/api/users/{sam}", admin, {"role": "admin"}))[0] == 200
    assert (await call(server, "DELETE", f"/api/users/{sam}", admin))[0] == 200


async def test_owners_can_make_owners_but_never_lose_the_last(server: RunningServer) -> None:
    owner = owner_token(server)
    status, body = await call(
        server,
        "POST",
        "/api/users",
        owner,
        {"username": "co", "role": "owner", "password": PASSWORD},
    )
    assert status == 201
    ids = await ids_by_name(server)
    assert (await call(server, "PATCH", f"/api/users/{ids['co']}", owner, {"role": "admin"}))[
        0
    ] == 200
    for method, body in (("PATCH", {"role": "member"}), ("DELETE", None)):
        status, answer = await call(server, method, f"/api/users/{ids['owner']}", owner, body)
        assert status == 400 and "last owner" in answer["error"]["message"]
    assert (await call(server, "GET", "/api/auth/me", owner))[0] == 200


async def test_managed_profiles_are_made_with_a_valid_rating_limit(server: RunningServer) -> None:
    owner = owner_token(server)
    status, kid = await call(
        server,
        "POST",
        "/api/users",
        owner,
        {"username": "kid", "role": "managed", "max_rating": "PG"},
    )
    assert status == 201 and kid["max_rating"] == "PG" and kid["role"] == "managed"
    status, body = await call(
        server,
        "POST",
        "/api/users",
        owner,
        {"username": "k2", "role": "managed", "max_rating": "Q"},
    )
    assert status == 400 and "unknown rating" in body["error"]["message"]
    status, body = await call(
        server, "POST", "/api/users", owner, {"username": "k3", "role": "member"}
    )
    assert status == 400  # members need a password
    status, body = await call(
        server,
        "POST",
        "/api/users",
        owner,
        {"username": "k4", "role": "member", "password": PASSWORD, "libraries": [999]},
    )
    assert (status, body["error"]["message"]) == (400, "no library with id 999")
    status, body = await call(server, "PATCH", f"/api/users/{kid['id']}", owner, {"libraries": [7]})
    assert (status, body["error"]["message"]) == (400, "no library with id 7")


async def test_a_managed_profile_signs_in_and_is_limited(server: RunningServer) -> None:
    owner = owner_token(server)
    status, kid = await call(
        server,
        "POST",
        "/api/users",
        owner,
        {"username": "kid", "role": "managed", "password": PASSWORD, "max_rating": "PG"},
    )
    assert status == 201
    token = (await login(server, "kid"))["token"]
    status, me = await call(server, "GET", "/api/auth/me", token)
    assert (me["role"], me["max_rating"]) == ("managed", "PG")
    status, body = await call(
        server, "PATCH", f"/api/users/{kid['id']}", token, {"max_rating": None}
    )
    assert (status, error_code(body)) == (403, "forbidden")  # not their own limit either
    _, profiles = await call(server, "GET", "/api/auth/profiles", token)
    assert [p["username"] for p in profiles["profiles"]] == ["kid"]


async def test_read_only_device_keys_cannot_change_anything(server: RunningServer) -> None:
    owner = owner_token(server)
    _, key = await call(server, "POST", "/api/auth/keys", owner, {"name": "TV", "scope": "read"})
    assert (await call(server, "GET", "/api/users", key["key"]))[0] == 200  # an owner's key
    for method, path, body in (
        ("POST", "/api/users", {"username": "x", "role": "managed"}),
        ("POST", "/api/scan", None),
        ("PUT", "/api/auth/pin", {"pin": "1234"}),
        ("DELETE", "/api/auth/sessions", None),
    ):
        status, answer = await call(server, method, path, key["key"], body)
        assert (status, error_code(answer)) == (403, "forbidden"), path
    _, full = await call(server, "POST", "/api/auth/keys", owner, {"name": "App", "scope": "full"})
    assert (await call(server, "POST", "/api/scan", full["key"]))[0] == 202
