"""Plain HTTP from outside the home goes to HTTPS when the owner asks; the home stays on HTTP.
Where a request comes from is core.network's classification (tests/core/http/test_origin.py)."""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from core.configuration import load_configuration
from core.http.origin import ORIGIN
from core.http.security import redirect_middleware
from core.hub import Hub
from tests.conftest import core_yaml, write_config


def request_from(remote: str, path: str = "/api/items?q=x", method: str = "GET") -> web.Request:
    transport = mock.Mock()
    transport.get_extra_info.side_effect = lambda name, default=None: {
        "peername": (remote, 50000),
    }.get(name, default)
    request = make_mocked_request(
        method, path, headers={"Host": "box.example.net:8440"}, transport=transport
    )
    request[ORIGIN] = "remote" if remote == "8.8.8.8" else "lan"  # as the origin middleware says
    return request


async def handled(request: web.Request) -> web.StreamResponse:
    return web.Response(text="handled")


async def test_outside_visitors_are_sent_to_https_keeping_path_and_method() -> None:
    middleware = redirect_middleware(lambda: 8443)
    with pytest.raises(web.HTTPPermanentRedirect) as caught:
        await middleware(request_from("8.8.8.8", method="POST"), handled)
    assert caught.value.status == 308
    assert caught.value.location == "https://box.example.net:8443/api/items?q=x"
    home = await middleware(request_from("192.168.1.20"), handled)
    assert isinstance(home, web.Response) and home.text == "handled"
    off = redirect_middleware(lambda: None)
    kept = await off(request_from("8.8.8.8"), handled)
    assert isinstance(kept, web.Response) and kept.text == "handled"


async def test_redirect_setting_keeps_home_clients_on_http(tmp_path: Path) -> None:
    yaml_text = core_yaml(tmp_path / "data").replace(
        "https_port: 0", "https_port: 0, redirect_non_lan: true"
    )
    hub = Hub(load_configuration(write_config(tmp_path / "config", yaml_text)))
    await hub.start()
    try:
        assert hub.https.redirect_port() == hub.https.port != 0
        url = f"http://127.0.0.1:{hub.port}/api/health"
        async with aiohttp.ClientSession() as client, client.get(url, allow_redirects=False) as r:
            assert r.status == 200
    finally:
        await hub.stop()
