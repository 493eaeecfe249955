"""The admin page's Remote access section, in Chromium: the public URL as text, the QR code the
server draws, the state and the certificate fingerprint to pin. The relay here is a closed
port on loopback, so the link keeps retrying: the section shows the URL all the same."""

from __future__ import annotations

import socket

from tests.conftest import StartServer
from tests.plugins.relay.test_config import KEY
from tests.plugins.web.browser import sign_in, until
from tests.plugins.web.conftest import NewPage


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_the_system_tab_shows_the_public_url_qr_code_and_fingerprint(
    start_server: StartServer, new_page: NewPage
) -> None:
    server = await start_server(
        "  egress: {relay: [localhost]}\nweb:\n"
        f"relay:\n  server: localhost\n  ssh_port: {closed_port()}\n  name: smith\n"
        f"  host_key: {KEY}\n  port: 20001\n  max_mbps: 8\n"
    )
    certificate = server.hub.https.certificate
    assert certificate is not None
    page = await new_page()
    await sign_in(page, server.url)
    await page.goto(f"{server.url}/#/admin/system")
    section = page.locator("section.remote")
    await section.get_by_role("heading", name="Remote access").wait_for()
    assert await section.locator(".public-url").inner_text() == "https://smith.localhost"
    qr = section.get_by_role("img", name="QR code for https://smith.localhost")
    await until(page, "(img) => img.complete && img.naturalWidth > 0", await qr.element_handle())
    fingerprint = await section.locator(".fingerprint code").inner_text()
    assert fingerprint == certificate.fingerprint_sha256
    text = await section.inner_text()
    assert "Remote access is retrying" in text or "Remote access is connecting" in text
    assert "8 Mbit/s" in text
    # no certificate by ACME without consent for the CA's host: the section says what to add
    assert "off: acme-v02.api.letsencrypt.org is not enabled: add it under hearth: egress" in text
