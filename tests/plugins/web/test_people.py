"""The web app end to end, about people: the owner's first run, two-step sign-in, a kid's
profile that cannot see or open an R-rated film, an invite redeemed in another browser, a
revoked session signed out — in headless Chromium against a real server."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pyotp

from core.configuration import load_configuration
from core.hub import Hub
from tests.conftest import PASSWORD, RunningServer, core_yaml, make_user, write_config
from tests.plugins.web.browser import ConsoleWatch, sign_in
from tests.plugins.web.conftest import NewPage


async def post(
    server: RunningServer, path: str, body: dict[str, Any], token: str | None = None
) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with server.session.post(server.url + path, json=body, headers=headers) as reply:
        assert reply.status < 300, await reply.text()
        return await reply.json()


async def item_id(server: RunningServer, title: str) -> str:
    found = await server.get_json(f"/api/items?q={title}&kind=movie")
    return str(found["items"][0]["id"])  # type: ignore[index]


async def test_first_run_makes_the_owner_in_the_browser(new_page: NewPage, tmp_path: Path) -> None:
    config = write_config(tmp_path / "config", core_yaml(tmp_path / "data") + "web:\n")
    hub = Hub(load_configuration(config))
    await hub.start()
    try:
        code = hub.auth_api.setup_code
        assert code
        page = await new_page()
        await page.goto(f"http://127.0.0.1:{hub.port}/")
        await page.locator("h1", has_text="Welcome to Hearth").wait_for()
        await page.get_by_label("Setup code").fill(code)
        await page.get_by_label("Your name").fill("Ada")
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Create owner account").click()
        await page.locator("h1", has_text="Home").wait_for()
        await page.get_by_text("No library is shared").wait_for()
        assert hub.auth_api.setup_code is None
        await page.reload()  # the cookie keeps Ada signed in
        await page.get_by_role("link", name="Account: Ada").wait_for()
    finally:
        await hub.stop()


async def test_sign_in_asks_for_the_authenticator_code_or_a_recovery_code(
    web: RunningServer, new_page: NewPage, console: ConsoleWatch
) -> None:
    token = await make_user(web.hub, "alice", "member")
    secret = (await post(web, "/api/auth/2fa/setup", {}, token))["secret"]
    enabled = await post(web, "/api/auth/2fa/enable", {"otp": pyotp.TOTP(secret).now()}, token)
    console.allow(401, "/api/auth/login")  # "otp_required" is how the server asks for step two
    later = time.time() + 30  # a code is accepted once: sign in with the next one
    web.hub.auth_api.clock = lambda: later

    page = await new_page()
    await page.goto(f"{web.url}/#/signin")
    await page.get_by_label("User name").fill("alice")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.locator("h1", has_text="Two-step verification").wait_for()
    await page.get_by_label("Code", exact=True).fill(pyotp.TOTP(secret).at(later))
    await page.get_by_role("button", name="Verify").click()
    await page.locator("h1", has_text="Home").wait_for()

    other = await new_page()
    await other.goto(f"{web.url}/#/signin")
    await other.get_by_label("User name").fill("alice")
    await other.get_by_label("Password").fill(PASSWORD)
    await other.get_by_role("button", name="Sign in").click()
    await other.get_by_role("button", name="Use a recovery code instead").click()
    await other.get_by_label("Recovery code", exact=True).fill(enabled["recovery_codes"][0])
    await other.get_by_role("button", name="Verify").click()
    await other.locator("h1", has_text="Home").wait_for()


async def test_kids_profile_cannot_see_or_open_an_r_rated_film(
    web: RunningServer, new_page: NewPage, console: ConsoleWatch
) -> None:
    kid = await post(web, "/api/users", {"username": "kid", "role": "managed", "max_rating": "PG"})
    async with web.session.put(f"{web.url}/api/users/{kid['id']}/pin", json={"pin": "1234"}) as r:
        assert r.status == 200
    rated = await item_id(web, "Big Test")
    console.allow(404, f"/api/items/{rated}")

    page = await new_page()
    await sign_in(page, web.url)
    await page.locator("h1", has_text="Who is watching?").wait_for()
    await page.locator("button.profile", has_text="kid").click()
    await page.get_by_label("PIN", exact=True).fill("1234")
    await page.get_by_role("button", name="Switch").click()
    await page.get_by_role("link", name="Account: kid").wait_for()

    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Movies").click()
    await page.locator("a.card", has_text="Alien").wait_for()
    assert await page.locator("a.card", has_text="Big Test").count() == 0
    await page.goto(f"{web.url}/#/search?q=big")
    await page.get_by_text("Nothing found").wait_for()
    for path in (f"/item/{rated}", f"/play/{rated}"):
        await page.goto(f"{web.url}/#{path}")
        await page.locator("h1", has_text="Not found").wait_for()
        assert await page.locator("video").count() == 0


async def test_an_invite_made_by_the_owner_is_redeemed_in_another_browser(
    web: RunningServer, new_page: NewPage
) -> None:
    owner = await new_page()
    await sign_in(owner, web.url)
    await owner.goto(f"{web.url}/#/admin/invites")
    await owner.get_by_label("Note").fill("for Bob")
    await owner.get_by_role("button", name="Create invite").click()
    link = await owner.get_by_label("Invite link").input_value()
    assert link.startswith(f"{web.url}/#/invite/hi_")

    guest = await new_page()
    await guest.goto(link)
    await guest.locator("h1", has_text="You are invited").wait_for()
    await guest.get_by_label("Your name").fill("bob")
    await guest.get_by_label("Password").fill(PASSWORD)
    await guest.get_by_role("button", name="Join").click()
    await guest.locator("h1", has_text="Home").wait_for()
    await guest.get_by_role("link", name="Account: bob").wait_for()
    users: Any = await web.get_json("/api/users")
    assert {u["username"]: u["role"] for u in users["users"]}["bob"] == "member"

    await owner.reload()
    await owner.locator("td", has_text="used").wait_for()


async def test_a_revoked_session_is_signed_out_in_the_other_browser(
    web: RunningServer, new_page: NewPage, console: ConsoleWatch
) -> None:
    laptop = await new_page()
    await sign_in(laptop, web.url)
    console.allow(401, "/api/")  # the revoked browser's next requests are refused: the point

    phone = await new_page()
    await sign_in(phone, web.url)
    await phone.goto(f"{web.url}/#/account")
    others = phone.locator("tr[data-session-id]", has_text="Chrome on Linux").filter(
        has_not_text="this device"
    )
    await others.first.wait_for()
    assert await others.count() == 1
    await others.get_by_role("button", name="Revoke").click()
    await phone.get_by_text("is signed out").wait_for()
    assert await others.count() == 0

    await laptop.get_by_role("navigation", name="Main").get_by_role("link", name="Movies").click()
    await laptop.locator("h1", has_text="Sign in to Hearth").wait_for()
    await phone.get_by_role("navigation", name="Main").get_by_role("link", name="Movies").click()
    await phone.locator("a.card", has_text="Alien").wait_for()
