"""Subsonic sign-in: app passwords (token and `p=`), device keys as `apiKey`, never the
account password; revocation takes effect on the next call; both envelopes are well formed."""

from __future__ import annotations

import asyncio
import hashlib
import xml.etree.ElementTree as ET
from typing import Any

import libsonic
import pytest
from libsonic import errors

from core.people.throttle import AttemptLimiter
from plugins.subsonic import auth as subsonic_auth
from tests.conftest import PASSWORD, RunningServer, StartServer, make_user

YAML = "subsonic:\n"
NS = "{http://subsonic.org/restapi}"


async def app_password(server: RunningServer, name: str = "Symfonium") -> tuple[int, str]:
    async with server.session.post(
        server.url + "/api/me/app-passwords", json={"name": name}
    ) as response:
        assert response.status == 201, await response.text()
        made = await response.json()
    return made["id"], made["password"]


async def device_key(server: RunningServer, scope: str = "read") -> tuple[int, str]:
    async with server.session.post(
        server.url + "/api/auth/keys", json={"name": "phone", "scope": scope}
    ) as response:
        assert response.status == 201, await response.text()
        made = await response.json()
    return made["id"], made["key"]


def client(server: RunningServer, password: str, **options: Any) -> libsonic.Connection:
    return libsonic.Connection(
        "http://127.0.0.1", "owner", password, port=server.hub.port, **options
    )


async def call(server: RunningServer, path: str, **params: str) -> Any:
    async with server.session.get(server.url + path, params=params) as response:
        assert response.status == 200
        if params.get("f") == "json":
            assert response.content_type == "application/json"
            return (await response.json())["subsonic-response"]
        assert response.content_type == "text/xml"
        return ET.fromstring(await response.text())


async def test_py_sonic_signs_in_with_an_app_password_by_token_and_by_form_post(
    start_server: StartServer,
) -> None:
    server = await start_server(YAML)
    _, secret = await app_password(server)
    loop = asyncio.get_running_loop()
    # py-sonic posts its parameters as a form (formPost) with t = md5(secret + salt); its
    # GET mode is broken (urllib2), and raw GETs are tested below
    assert await loop.run_in_executor(None, client(server, secret).ping)
    legacy = client(server, secret, legacyAuth=True)  # p=enc:HEX
    assert await loop.run_in_executor(None, legacy.ping)
    license = await loop.run_in_executor(None, client(server, secret).getLicense)
    assert license["license"]["valid"] is True
    assert license["openSubsonic"] is True and license["version"] == "1.16.1"


async def test_the_account_password_and_a_wrong_one_are_refused_with_code_40(
    start_server: StartServer,
) -> None:
    server = await start_server(YAML)
    await app_password(server)
    loop = asyncio.get_running_loop()
    for password in (PASSWORD, "not-the-password"):
        with pytest.raises(errors.CredentialError):
            await loop.run_in_executor(None, client(server, password).ping)
        with pytest.raises(errors.CredentialError):
            await loop.run_in_executor(None, client(server, password, legacyAuth=True).ping)
    salt = "c19b2d"
    token = hashlib.md5((PASSWORD + salt).encode()).hexdigest()
    answer = await call(server, "/rest/ping.view", u="owner", t=token, s=salt, f="json")
    assert answer["status"] == "failed" and answer["error"]["code"] == 40


async def test_a_revoked_app_password_fails_on_the_next_call(start_server: StartServer) -> None:
    server = await start_server(YAML)
    password_id, secret = await app_password(server)
    loop = asyncio.get_running_loop()
    connection = client(server, secret)
    assert await loop.run_in_executor(None, connection.ping)
    listed = await server.get_json("/api/me/app-passwords")
    assert [p["name"] for p in listed["app_passwords"]] == ["Symfonium"]  # type: ignore[index]
    assert "password" not in listed["app_passwords"][0]  # type: ignore[index]
    async with server.session.delete(
        f"{server.url}/api/me/app-passwords/{password_id}"
    ) as response:
        assert response.status == 200
    with pytest.raises(errors.CredentialError):
        await loop.run_in_executor(None, connection.ping)


async def test_api_key_auth_and_its_errors(start_server: StartServer) -> None:
    server = await start_server(YAML)
    key_id, key = await device_key(server)
    answer = await call(server, "/rest/ping", apiKey=key, f="json")
    assert answer["status"] == "ok" and answer["type"] == "hearth"
    user = await call(server, "/rest/getUser.view", apiKey=key, username="owner", f="json")
    assert user["user"]["username"] == "owner" and user["user"]["adminRole"] is True
    both = await call(server, "/rest/ping", apiKey=key, u="owner", f="json")
    assert both["error"]["code"] == 43
    wrong = await call(server, "/rest/ping", apiKey="hk_nope", f="json")
    assert wrong["error"] == {"code": 44, "message": "Invalid API key."}
    nothing = await call(server, "/rest/ping", f="json")
    assert nothing["error"]["code"] == 10
    # a read-only key may not start a scan
    scan = await call(server, "/rest/startScan", apiKey=key, f="json")
    assert scan["error"]["code"] == 50
    async with server.session.delete(f"{server.url}/api/auth/sessions/{key_id}") as response:
        assert response.status == 200
    revoked = await call(server, "/rest/ping", apiKey=key, f="json")
    assert revoked["error"]["code"] == 44


async def test_xml_and_json_envelopes_and_jsonp_refused(start_server: StartServer) -> None:
    server = await start_server(YAML)
    _, key = await device_key(server, "full")
    root = await call(server, "/rest/getOpenSubsonicExtensions.view")  # needs no sign-in
    assert root.tag == NS + "subsonic-response"
    assert root.attrib["status"] == "ok" and root.attrib["openSubsonic"] == "true"
    names = {e.attrib["name"] for e in root.iter(NS + "openSubsonicExtensions")}
    assert {"apiKeyAuthentication", "formPost"} <= names
    failed = await call(server, "/rest/ping", apiKey="hk_nope")
    assert failed.attrib["status"] == "failed"
    assert failed.find(NS + "error").attrib == {"code": "44", "message": "Invalid API key."}  # type: ignore[union-attr]
    info = await call(server, "/rest/tokenInfo", apiKey=key, f="json")
    assert info["tokenInfo"] == {"username": "owner"}
    unknown = await call(server, "/rest/getVideos", apiKey=key, f="json")
    assert unknown["error"] == {"code": 70, "message": "Unknown or unsupported endpoint: getVideos"}
    anonymous = await call(server, "/rest/getVideos", f="json")  # sign-in is checked first
    assert anonymous["error"]["code"] == 10
    status = await call(server, "/rest/getScanStatus", apiKey=key, f="json")
    assert status["scanStatus"] == {"scanning": False, "count": 0}
    async with server.session.get(
        server.url + "/rest/ping", params={"apiKey": key, "f": "jsonp", "callback": "x"}
    ) as response:
        root = ET.fromstring(await response.text())
    assert root.find(NS + "error").attrib["message"] == (  # type: ignore[union-attr]
        "JSONP is not supported; ask for f=json or f=xml."
    )


async def test_an_app_password_use_is_shown_on_the_list(start_server: StartServer) -> None:
    server = await start_server(YAML)
    _, secret = await app_password(server)
    listed = await server.get_json("/api/me/app-passwords")
    assert listed["app_passwords"][0]["last_used_at"] is None  # type: ignore[index]
    assert await asyncio.get_running_loop().run_in_executor(None, client(server, secret).ping)
    listed = await server.get_json("/api/me/app-passwords")
    assert listed["app_passwords"][0]["last_used_at"] is not None  # type: ignore[index]


async def test_wrong_passwords_are_slowed_down_like_sign_in(
    start_server: StartServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow = lambda: AttemptLimiter(base_delay=600.0)  # noqa: E731  (no clock to wait out)
    monkeypatch.setattr(subsonic_auth, "AttemptLimiter", slow)
    server = await start_server(YAML)
    _, secret = await app_password(server)
    loop = asyncio.get_running_loop()
    for _ in range(5):
        with pytest.raises(errors.CredentialError):
            await loop.run_in_executor(None, client(server, "guess-guess").ping)
    with pytest.raises(
        errors.CredentialError, match=r"^Too many failed attempts; try again in 600 s\.$"
    ):
        await loop.run_in_executor(None, client(server, secret).ping)
    # the same guessing at device keys slows down the address as well
    for _ in range(20):
        await call(server, "/rest/ping", apiKey="hk_guess", f="json")
    _, key = await device_key(server)
    answer = await call(server, "/rest/ping", apiKey=key, f="json")
    assert answer["error"]["message"].startswith("Too many failed attempts")


async def test_a_new_account_password_ends_every_app_password(start_server: StartServer) -> None:
    server = await start_server(YAML)
    _, secret = await app_password(server)
    loop = asyncio.get_running_loop()
    assert await loop.run_in_executor(None, client(server, secret).ping)
    body = {"current_password": PASSWORD, "new_password": "a brand new passphrase"}
    async with server.session.post(server.url + "/api/auth/password", json=body) as response:
        assert response.status == 200, await response.text()
    with pytest.raises(errors.CredentialError):
        await loop.run_in_executor(None, client(server, secret).ping)


async def test_a_member_signs_in_as_themselves_with_their_grants(
    start_server: StartServer,
) -> None:
    server = await start_server(YAML)
    token = await make_user(server.hub, "kid", "member", libraries=[])
    headers = {"Authorization": f"Bearer {token}"}
    async with server.session.post(
        server.url + "/api/me/app-passwords", json={"name": "Tempo"}, headers=headers
    ) as response:
        secret = (await response.json())["password"]
    salt = "a1b2c3"
    signed = {"u": "kid", "t": hashlib.md5((secret + salt).encode()).hexdigest(), "s": salt}
    user = await call(server, "/rest/getUser", username="kid", f="json", **signed)
    assert user["user"]["username"] == "kid" and user["user"]["adminRole"] is False
    owner = await call(server, "/rest/getUser", username="owner", f="json", **signed)
    assert owner["error"]["code"] == 50
    scan = await call(server, "/rest/getScanStatus", f="json", **signed)
    assert scan["error"] == {"code": 50, "message": "Only the owner or an admin may do this."}
    folders = await call(server, "/rest/getMusicFolders", f="json", **signed)
    assert folders["status"] == "ok" and not folders["musicFolders"].get("musicFolder")
    # the owner's app password is not the kid's, and a sign-in token is not an API key
    _, owners = await app_password(server)
    wrong = {"u": "kid", "t": hashlib.md5((owners + salt).encode()).hexdigest(), "s": salt}
    assert (await call(server, "/rest/ping", f="json", **wrong))["error"]["code"] == 40
    assert (await call(server, "/rest/ping", apiKey=token, f="json"))["error"]["code"] == 44


async def test_a_key_used_by_a_music_app_is_seen_on_the_sessions_list(
    start_server: StartServer,
) -> None:
    server = await start_server(YAML)
    key_id, key = await device_key(server)
    old = "2024-01-01T00:00:00Z"
    await server.hub.catalog.write(
        lambda db: db.execute("UPDATE sessions SET last_seen_at = ? WHERE id = ?", [old, key_id])
    )
    assert (await call(server, "/rest/ping", apiKey=key, f="json"))["status"] == "ok"
    listed = await server.get_json("/api/auth/sessions")
    seen = {s["id"]: s["last_seen_at"] for s in listed["sessions"]}  # type: ignore[attr-defined]
    assert seen[key_id] > old
