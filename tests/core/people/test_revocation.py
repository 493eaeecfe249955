"""A new password ends every session and device key of that person at once: an admin's reset,
a self-service change, and `hearth user passwd` run in another process beside the running
server. "At once" means the very next request, cached token or not: the principal cache
follows the catalog's credential epoch, which triggers move in any process."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from tests.conftest import PASSWORD, RunningServer, StartServer, make_user
from tests.core.people.household import call, error_code, login, user_id

REPO = Path(__file__).resolve().parents[3]
NEW_PASSWORD = "a brand new passphrase"


async def sign_ins_of(server: RunningServer, token: str) -> dict[str, str]:
    """A session, a full device key and a read-only one, each used once (so cached)."""
    found = {"session": token}
    for scope in ("full", "read"):
        status, key = await call(
            server, "POST", "/api/auth/keys", token, {"name": f"tv {scope}", "scope": scope}
        )
        assert status == 201, key
        found[scope] = key["key"]
    for name, each in found.items():
        assert (await call(server, "GET", "/api/auth/me", each))[0] == 200, name
    return found


async def statuses(server: RunningServer, tokens: dict[str, str]) -> dict[str, int]:
    return {name: (await call(server, "GET", "/api/auth/me", t))[0] for name, t in tokens.items()}


async def test_an_admin_reset_ends_sessions_and_device_keys(start_server: StartServer) -> None:
    server = await start_server()
    sam = await sign_ins_of(server, await make_user(server.hub, "sam", "member"))
    other = await make_user(server.hub, "ada", "member")
    status, _ = await call(
        server,
        "PATCH",
        f"/api/users/{await user_id(server, 'sam')}",
        str(server.session.headers["Authorization"]).removeprefix("Bearer "),
        {"password": NEW_PASSWORD},
    )
    assert status == 200
    assert await statuses(server, sam) == {"session": 401, "full": 401, "read": 401}
    assert (await call(server, "GET", "/api/auth/me", other))[0] == 200  # only sam's
    assert (await login(server, "sam", NEW_PASSWORD))["token"].startswith("hs_")


async def test_changing_your_own_password_ends_every_sign_in_and_signs_this_device_in(
    start_server: StartServer,
) -> None:
    server = await start_server()
    before = await sign_ins_of(server, (await login(server, "owner"))["token"])
    status, body = await call(
        server,
        "POST",
        "/api/auth/password",
        before["session"],
        {"current_password": "not it", "new_password": NEW_PASSWORD},
    )
    assert (status, error_code(body)) == (401, "bad_credentials")
    status, body = await call(
        server,
        "POST",
        "/api/auth/password",
        before["session"],
        {"current_password": PASSWORD, "new_password": "short"},
    )
    assert (status, body["error"]["message"]) == (400, "a password needs at least 8 characters")
    assert await statuses(server, before) == {"session": 200, "full": 200, "read": 200}
    status, body = await call(
        server,
        "POST",
        "/api/auth/password",
        before["session"],
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert status == 200 and body["user"]["username"] == "owner"
    assert await statuses(server, before) == {"session": 401, "full": 401, "read": 401}
    assert (await call(server, "GET", "/api/auth/me", body["token"]))[0] == 200
    status, failed = await call(
        server, "POST", "/api/auth/login", json={"username": "owner", "password": PASSWORD}
    )
    assert (status, error_code(failed)) == (401, "bad_credentials")


async def passwd_from_cli(tmp_path: Path, name: str, password: str = NEW_PASSWORD) -> str:
    """`hearth user passwd NAME` in a process of its own, beside the running server (whose
    configuration is `config0`); what it printed."""
    command = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "core", "user", "passwd", name, "--password-stdin"),
        *("-c", str(tmp_path / "config0")),
        cwd=REPO,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await command.communicate(f"{password}\n".encode())
    assert command.returncode == 0, err.decode()
    return out.decode()


async def test_hearth_user_passwd_beside_a_running_server_bites_on_the_next_request(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = await start_server()
    owner = str(server.session.headers["Authorization"]).removeprefix("Bearer ")
    tokens = await sign_ins_of(server, owner)
    other = await sign_ins_of(server, await make_user(server.hub, "sam", "member"))
    out = await passwd_from_cli(tmp_path, "owner")
    assert await statuses(server, tokens) == {"session": 401, "full": 401, "read": 401}
    assert out == "password of owner changed; 3 session(s) and device key(s) ended\n"
    assert await statuses(server, other) == {"session": 200, "full": 200, "read": 200}
    assert (await login(server, "owner", NEW_PASSWORD))["token"].startswith("hs_")
