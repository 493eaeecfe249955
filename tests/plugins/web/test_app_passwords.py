"""The account page makes an app password for a music app (shown once), lists it and revokes
it — in headless Chromium against a real server."""

from __future__ import annotations

from core.people import app_passwords
from tests.conftest import RunningServer
from tests.plugins.web.browser import sign_in
from tests.plugins.web.conftest import NewPage


async def test_an_app_password_is_made_shown_once_listed_and_revoked(
    web: RunningServer, new_page: NewPage
) -> None:
    page = await new_page()
    await sign_in(page, web.url)
    await page.goto(f"{web.url}/#/account")
    await page.get_by_text("Make an app password").click()
    await page.get_by_label("App", exact=True).fill("DSub")
    await page.get_by_role("button", name="Make app password").click()
    shown = await page.get_by_label("App password").input_value()
    box = web.hub.auth_api.secret_box
    found = await web.hub.catalog.read(lambda db: app_passwords.secrets_blocking(db, box, "owner"))
    assert found is not None and [s.secret for s in found[1]] == [shown]

    await page.reload()  # the list is read when the page opens
    row = page.locator("tr[data-app-password-id]", has_text="DSub")
    await row.wait_for()
    await row.get_by_role("button", name="Revoke").click()
    await page.get_by_text("DSub can no longer sign in.").wait_for()
    assert await page.locator("tr[data-app-password-id]").count() == 0
    listed = await web.get_json("/api/me/app-passwords")
    assert listed == {"app_passwords": []}
