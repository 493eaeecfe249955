"""A new password ends a music app's sign-ins too: after a change through the API, an admin's
reset, or `hearth user passwd` beside the running server, the person's app passwords (token and
`p=`) and device keys (`apiKey`) fail on the very next Subsonic call, not after a cache's
timer; someone else's keep working (issue 11 item 4: whoever stole the old password may have
made them)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from tests.conftest import PASSWORD, RunningServer, StartServer, make_user
from tests.core.people.household import call
from tests.core.people.test_revocation import passwd_from_cli
from tests.plugins.subsonic.test_auth import YAML

NEW_PASSWORD = "a new and longer passphrase"
REPO = Path(__file__).resolve().parents[3]


async def app_sign_ins(server: RunningServer, token: str, user: str) -> dict[str, dict[str, str]]:
    """An app password (as token+salt and as p=) and a device key, each used once."""
    status, made = await call(server, "POST", "/api/me/app-passwords", token, {"name": "Sonic"})
    assert status == 201, made
    status, key = await call(server, "POST", "/api/auth/keys", token, {"name": "phone"})
    assert status == 201, key
    salt = "c19b2d"
    digest = hashlib.md5((made["password"] + salt).encode()).hexdigest()  # Subsonic's token scheme
    found = {
        "token": {"u": user, "t": digest, "s": salt},
        "plain": {"u": user, "p": made["password"]},
        "api_key": {"apiKey": key["key"]},
    }
    assert await answers(server, found) == dict.fromkeys(found, "ok")
    return found


async def answers(server: RunningServer, sign_ins: dict[str, dict[str, str]]) -> dict[str, Any]:
    """What `ping` says to each sign-in: "ok" or the Subsonic error code."""
    found: dict[str, Any] = {}
    for name, params in sign_ins.items():
        query = {"f": "json", "v": "1.16.1", "c": "test", **params}
        async with server.session.get(f"{server.url}/rest/ping", params=query) as reply:
            body = (await reply.json())["subsonic-response"]
        found[name] = "ok" if body["status"] == "ok" else body["error"]["code"]
    return found


ENDED = {"token": 40, "plain": 40, "api_key": 44}


async def test_a_changed_or_reset_password_ends_app_passwords_and_keys_at_once(
    start_server: StartServer,
) -> None:
    server = await start_server(YAML)
    owner = str(server.session.headers["Authorization"]).removeprefix("Bearer ")
    mine = await app_sign_ins(server, owner, "owner")
    sams = await app_sign_ins(server, await make_user(server.hub, "sam", "member"), "sam")
    users: Any = (await server.get_json("/api/users"))["users"]
    sam = next(u["id"] for u in users if u["username"] == "sam")

    status, _ = await call(server, "PATCH", f"/api/users/{sam}", owner, {"password": NEW_PASSWORD})
    assert status == 200  # an admin's reset
    assert await answers(server, sams) == ENDED
    assert await answers(server, mine) == dict.fromkeys(mine, "ok")  # only sam's

    status, _ = await call(
        server,
        "POST",
        "/api/auth/password",
        owner,
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert status == 200  # the owner's own change
    assert await answers(server, mine) == ENDED


async def test_hearth_user_passwd_ends_app_passwords_and_keys_on_the_next_call(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = await start_server(YAML)
    sam_token = await make_user(server.hub, "sam", "member")
    sams = await app_sign_ins(server, sam_token, "sam")
    out = await passwd_from_cli(tmp_path, "sam", NEW_PASSWORD)
    assert out == "password of sam changed; 3 session(s) and device key(s) ended\n"
    assert await answers(server, sams) == ENDED
