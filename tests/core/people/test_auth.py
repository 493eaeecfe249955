"""Signing in and staying signed in, on a real server: passwords, lockouts and their expiry,
revocation that bites on the very next request, cookie sessions and their CSRF header, and the
first-run setup code. Two-factor is in test_two_factor.py."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from core.configuration import load_configuration
from core.hub import Hub
from core.people.credentials import token_hash
from core.people.middleware import CSRF_COOKIE, CSRF_HEADER
from core.people.throttle import AttemptLimiter
from tests.conftest import PASSWORD, RunningServer, StartServer, core_yaml, make_user, write_config
from tests.core.people.household import Clock, call, error_code, login, sign_in


@pytest.fixture
async def server(start_server: StartServer) -> RunningServer:
    return await start_server()


async def test_a_password_sign_in_answers_a_token_that_works(server: RunningServer) -> None:
    body = await login(server, "owner", device="Living room TV")
    assert body["token"].startswith("hs_") and body["user"]["role"] == "owner"
    status, me = await call(server, "GET", "/api/auth/me", body["token"])
    assert status == 200 and me["username"] == "owner"
    for username, password in (("owner", "wrong password"), ("nobody", PASSWORD)):
        status, failed = await call(
            server, "POST", "/api/auth/login", json={"username": username, "password": password}
        )
        assert (status, error_code(failed)) == (401, "bad_credentials")
        assert failed["error"]["message"] == "Wrong user name or password."  # no hint who exists


async def test_no_token_a_bad_token_and_a_malformed_header_are_all_refused(
    server: RunningServer,
) -> None:
    for headers in ({}, {"Authorization": "Bearer hs_forged"}, {"Authorization": "Basic eDp5"}):
        status, body = await call(server, "GET", "/api/auth/me", headers=headers)
        assert (status, error_code(body)) == (401, "unauthorized")


async def test_sign_out_ends_the_session_on_the_next_request(server: RunningServer) -> None:
    token = (await login(server, "owner"))["token"]
    assert (await call(server, "GET", "/api/auth/me", token))[0] == 200  # now cached
    assert (await call(server, "POST", "/api/auth/logout", token))[0] == 200
    assert (await call(server, "GET", "/api/auth/me", token))[0] == 401


async def test_revoking_a_session_or_all_others_bites_on_the_next_request(
    server: RunningServer,
) -> None:
    laptop, phone, tv = [(await login(server, "owner", device=d))["token"] for d in "LPT"]
    for token in (laptop, phone, tv):
        assert (await call(server, "GET", "/api/auth/me", token))[0] == 200
    _, listed = await call(server, "GET", "/api/auth/sessions", laptop)
    by_name = {s["name"]: s for s in listed["sessions"]}
    assert by_name["L"]["current"] is True and by_name["P"]["current"] is False
    status, _ = await call(server, "DELETE", f"/api/auth/sessions/{by_name['P']['id']}", laptop)
    assert status == 200
    assert (await call(server, "GET", "/api/auth/me", phone))[0] == 401
    assert (await call(server, "GET", "/api/auth/me", tv))[0] == 200
    assert (await call(server, "DELETE", "/api/auth/sessions", laptop))[0] == 200
    assert (await call(server, "GET", "/api/auth/me", tv))[0] == 401
    assert (await call(server, "GET", "/api/auth/me", laptop))[0] == 200


async def test_a_session_deleted_behind_the_servers_back_is_refused_at_once(
    server: RunningServer,
) -> None:
    """The principal cache follows the catalog's credential epoch, not a timer: a session row
    deleted by anything (here a bare SQL statement) stops working on the next request."""
    token = (await login(server, "owner"))["token"]
    assert (await call(server, "GET", "/api/auth/me", token))[0] == 200  # now cached
    await server.hub.catalog.write(
        lambda db: db.execute("DELETE FROM sessions WHERE token_hash = ?", [token_hash(token)])
    )
    assert (await call(server, "GET", "/api/auth/me", token))[0] == 401


async def test_device_keys_read_only_and_revocable(server: RunningServer) -> None:
    owner = (await login(server, "owner"))["token"]
    status, key = await call(server, "POST", "/api/auth/keys", owner, {"name": "Bedroom TV"})
    assert status == 201 and key["key"].startswith("hk_") and key["scope"] == "read"
    assert (await call(server, "GET", "/api/items", key["key"]))[0] == 200
    status, body = await call(server, "POST", "/api/auth/keys", key["key"], {"name": "more"})
    assert (status, error_code(body)) == (403, "forbidden")
    assert (await call(server, "DELETE", f"/api/auth/sessions/{key['id']}", owner))[0] == 200
    assert (await call(server, "GET", "/api/items", key["key"]))[0] == 401


async def test_a_new_password_or_deletion_ends_that_persons_sessions_at_once(
    server: RunningServer,
) -> None:
    member = await make_user(server.hub, "sam", "member")
    assert (await call(server, "GET", "/api/auth/me", member))[0] == 200
    _, users = await call(server, "GET", "/api/users", (await login(server, "owner"))["token"])
    sam = next(u["id"] for u in users["users"] if u["username"] == "sam")
    async with server.session.patch(
        f"{server.url}/api/users/{sam}", json={"password": "a brand new one"}
    ) as reply:
        assert reply.status == 200
    assert (await call(server, "GET", "/api/auth/me", member))[0] == 401
    again = (await login(server, "sam", "a brand new one"))["token"]
    assert (await call(server, "GET", "/api/auth/me", again))[0] == 200
    async with server.session.delete(f"{server.url}/api/users/{sam}") as reply:
        assert reply.status == 200
    assert (await call(server, "GET", "/api/auth/me", again))[0] == 401


async def test_failed_sign_ins_slow_that_address_down_more_and_more(
    server: RunningServer,
) -> None:
    """Five free failures, then 1 s, 2 s, 4 s ... before the next try (never a lockout from
    the box itself or the home network; the remote pause is in test_throttle.py)."""
    clock = Clock(1000.0)
    server.hub.auth_api.attempts = AttemptLimiter(clock=clock)
    for _ in range(5):
        assert await sign_in(server, password="guess") == (401, "bad_credentials")
    for delay in (1, 2, 4, 8):
        async with (
            aiohttp.ClientSession() as client,
            client.post(
                server.url + "/api/auth/login", json={"username": "owner", "password": PASSWORD}
            ) as reply,
        ):
            assert reply.status == 429  # even the right password, for now
            assert reply.headers["Retry-After"] == str(delay)
            body = await reply.json()
            assert body["error"] == {
                "code": "locked",
                "message": f"Too many failed attempts; try again in {delay} s.",
            }
        clock.now += delay - 0.5
        assert (await sign_in(server))[1] == "locked"
        clock.now += 0.5
        if delay < 8:
            assert await sign_in(server, password="guess") == (401, "bad_credentials")
    assert (await sign_in(server))[0] == 200
    assert await sign_in(server, password="guess") == (401, "bad_credentials")  # forgiven
    assert (await sign_in(server))[0] == 200


async def test_a_success_forgives_earlier_failures(server: RunningServer) -> None:
    server.hub.auth_api.attempts = AttemptLimiter(clock=Clock(0.0))
    for _ in range(4):
        assert (await sign_in(server, password="guess"))[0] == 401
    assert (await sign_in(server))[0] == 200
    for _ in range(4):
        assert (await sign_in(server, password="guess"))[0] == 401
    assert (await sign_in(server))[0] == 200


async def test_pin_switching_and_pin_lockout(server: RunningServer) -> None:
    clock = Clock(50.0)
    server.hub.auth_api.attempts = AttemptLimiter(clock=clock)
    owner = (await login(server, "owner"))["token"]
    status, kid = await call(
        server, "POST", "/api/users", owner, {"username": "kid", "role": "managed"}
    )
    assert status == 201
    assert (await call(server, "PUT", f"/api/users/{kid['id']}/pin", owner, {"pin": "4821"}))[
        0
    ] == 200
    for _ in range(5):
        status, body = await call(
            server, "POST", "/api/auth/switch", owner, {"user_id": kid["id"], "pin": "0000"}
        )
        assert (status, error_code(body)) == (401, "bad_pin")
    status, body = await call(
        server, "POST", "/api/auth/switch", owner, {"user_id": kid["id"], "pin": "4821"}
    )
    assert (status, error_code(body)) == (429, "locked")
    clock.now += 301
    status, body = await call(
        server, "POST", "/api/auth/switch", owner, {"user_id": kid["id"], "pin": "4821"}
    )
    assert status == 200 and body["user"]["username"] == "kid"
    status, me = await call(server, "GET", "/api/auth/me", body["token"])
    assert me["role"] == "managed"


async def test_cookie_sessions_need_the_csrf_header_to_change_anything(
    server: RunningServer,
) -> None:
    jar = aiohttp.CookieJar(unsafe=True)  # cookies for 127.0.0.1
    async with aiohttp.ClientSession(cookie_jar=jar) as browser:
        status, body = await call(
            server,
            "POST",
            "/api/auth/login",
            json={"username": "owner", "password": PASSWORD, "cookie": True},
            client=browser,
        )
        assert status == 200
        cookies = {c.key: c for c in jar}
        session = cookies["hearth_session"]
        assert session["httponly"] and session["samesite"] == "Strict"
        assert not cookies[CSRF_COOKIE]["httponly"]  # the web app must read it
        csrf = cookies[CSRF_COOKIE].value
        assert (await call(server, "GET", "/api/auth/me", client=browser))[0] == 200
        for method, path, json in (
            ("POST", "/api/auth/keys", {"name": "x"}),
            ("PUT", "/api/auth/pin", {"pin": "1234"}),
            ("DELETE", "/api/auth/sessions", None),
        ):
            status, body = await call(server, method, path, json=json, client=browser)
            assert (status, error_code(body)) == (403, "csrf"), path
            wrong = {CSRF_HEADER: csrf + "x"}
            status, body = await call(
                server, method, path, json=json, headers=wrong, client=browser
            )
            assert (status, error_code(body)) == (403, "csrf"), path
        right = {CSRF_HEADER: csrf}
        status, _ = await call(
            server, "POST", "/api/auth/keys", json={"name": "x"}, headers=right, client=browser
        )
        assert status == 201


@contextlib.asynccontextmanager
async def fresh_hub(tmp_path: Path) -> AsyncIterator[Hub]:
    """A first start: no accounts at all."""
    hub = Hub(load_configuration(write_config(tmp_path / "config", core_yaml(tmp_path / "data"))))
    await hub.start()
    try:
        yield hub
    finally:
        await hub.stop()


async def test_the_setup_code_creates_the_owner_once(tmp_path: Path) -> None:
    async with fresh_hub(tmp_path) as hub, aiohttp.ClientSession() as client:
        url = f"http://127.0.0.1:{hub.port}/api/setup"
        code = hub.auth_api.setup_code
        assert code is not None and len(code) == 8
        async with client.get(url) as reply:
            assert await reply.json() == {"needed": True}
        owner = {"username": "alex", "password": PASSWORD}
        async with client.post(url, json={**owner, "code": "00000000"}) as reply:
            assert reply.status == 403
        async with client.post(url, json={**owner, "code": code, "password": "short"}) as reply:
            assert reply.status == 400  # and the code still works:
        async with client.post(url, json={**owner, "code": code}) as reply:
            assert reply.status == 200
            body = await reply.json()
        assert body["user"]["role"] == "owner" and body["token"].startswith("hs_")
        async with client.post(url, json={**owner, "username": "mallory", "code": code}) as reply:
            assert reply.status == 403
        async with client.get(url) as reply:
            assert await reply.json() == {"needed": False}
        users = await hub.catalog.read(
            lambda db: db.execute("SELECT username FROM users").fetchall()
        )
        assert [u[0] for u in users] == ["alex"]


async def test_a_setup_code_is_dead_once_an_owner_exists(server: RunningServer) -> None:
    """The fixture's owner was made after start (as `hearth user add` would make one)."""
    code = server.hub.auth_api.setup_code
    assert code is not None
    status, body = await call(
        server, "POST", "/api/setup", json={"code": code, "username": "x", "password": PASSWORD}
    )
    assert status == 400 and "owner already" in body["error"]["message"]
