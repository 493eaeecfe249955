"""Setting the relay up inside a server: consent first, HTTPS required, and what is shown
before the link is up (the relay here is a closed port on loopback)."""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import StartServer
from tests.plugins.relay.test_admin_page import closed_port
from tests.plugins.relay.test_config import KEY


def block(port: int) -> str:
    return (
        f"relay:\n  server: localhost\n  ssh_port: {port}\n  name: smith\n  host_key: {KEY}\n"
        "  port: 20001\n"
    )


@pytest.mark.allow_errors
async def test_a_relay_the_owner_did_not_enable_fails_setup_and_says_where(
    start_server: StartServer,
) -> None:
    server = await start_server(
        f"relay:\n  server: relay.example.net\n  name: smith\n  host_key: {KEY}\n  port: 20001\n"
    )
    record = server.hub.records["relay"]
    assert record.state == "failed"
    assert record.error == (
        "relay.example.net is not enabled: add it under hearth: egress: relay: [relay.example.net]"
    )


@pytest.mark.allow_errors
async def test_without_https_the_relay_refuses_to_start_and_says_why(
    start_server: StartServer,
) -> None:
    server = await start_server(
        "  tls: {enabled: false}\n  egress: {relay: [localhost]}\n" + block(closed_port())
    )
    context = server.hub.records["relay"].context
    assert context is not None
    for _ in range(100):  # the link starts once the server listens
        if context.health_detail.get("state") == "refused":
            break
        await asyncio.sleep(0.02)
    assert context.health_detail["last_error"] == (
        "the relay carries HTTPS only, and HTTPS is off here: "
        "HTTPS is not serving (hearth: tls: enabled)"
    )
    assert server.hub.relays.values()[0].public_url() is None


async def test_a_relay_that_cannot_be_reached_is_retried_and_invites_carry_no_url(
    start_server: StartServer,
) -> None:
    server = await start_server("  egress: {relay: [localhost]}\n" + block(closed_port()))
    context = server.hub.records["relay"].context
    assert context is not None
    for _ in range(250):
        if context.health_detail.get("state") == "retrying":
            break
        await asyncio.sleep(0.02)
    detail = context.health_detail
    assert detail["state"] == "retrying" and detail["url"] == "https://smith.localhost"
    assert detail["last_error"].startswith("cannot connect to localhost:")
    async with server.session.post(server.url + "/api/invites", json={}) as response:
        assert response.status == 201
        assert (await response.json())["url"] is None  # not reachable from outside yet
    report = await server.get_json("/api/privacy")
    [relay] = [p for p in report["plugins"] if p["domain"] == "relay"]
    assert relay["hosts"] == ["localhost"] and relay["enabled_hosts"] == ["localhost"]
