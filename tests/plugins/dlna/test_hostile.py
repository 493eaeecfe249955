"""Hostile control requests: XML bombs, external entities, huge or malformed bodies and absurd
arguments get a UPnP fault or a 4xx, quickly, and the server keeps answering afterwards."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

from defusedxml import ElementTree

from tests.conftest import RunningServer, StartServer
from tests.plugins.dlna.dms import browse_args, envelope, soap

BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{n} "{("&lol" + (str(n - 1) if n > 1 else "") + ";") * 10}">'
        for n in range(1, 10)
    )
    + "]>"
    + envelope("Browse", browse_args("&lol9;"))[len('<?xml version="1.0"?>') :]
)
EXTERNAL_ENTITY = (
    '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY passwd SYSTEM "file:///etc/passwd">]>'
    + envelope("Browse", browse_args("&passwd;"))[len('<?xml version="1.0"?>') :]
)


def error_code(text: str) -> int:
    code = ElementTree.fromstring(text).findtext(".//{urn:schemas-upnp-org:control-1-0}errorCode")
    assert code is not None, text
    return int(code)


async def still_answers(server: RunningServer) -> None:
    status, text = await soap(server, envelope("Browse", browse_args("0")))
    assert status == 200 and "<TotalMatches>0</TotalMatches>" in text


async def test_hostile_control_requests_are_refused_and_the_server_carries_on(
    start_server: StartServer,
) -> None:
    server = await start_server("dlna: {ssdp: false}\n")
    began = time.monotonic()
    for hostile in (BILLION_LAUGHS, EXTERNAL_ENTITY):
        status, text = await soap(server, hostile)
        assert status == 400 and error_code(text) == 402
        assert "root:" not in text and "lollol" not in text
    assert time.monotonic() - began < 2

    status, _ = await soap(server, b"<a>" * (10 * 1024 * 1024 // 3))
    assert status == 413

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(100):
            yield b"x" * 4096

    async with server.session.post(
        f"{server.url}/dlna/control/ContentDirectory", data=chunks()
    ) as response:
        assert response.status == 413

    for malformed in (
        "<not xml",
        "",
        "<a/>",
        '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body/></s:Envelope>',
    ):
        status, text = await soap(server, malformed)
        assert status == 400 and error_code(text) == 402, malformed

    cases = {
        envelope("Browse", browse_args("lib:999")): 701,
        envelope("Browse", browse_args("../../etc/passwd")): 701,
        envelope("Browse", browse_args("item:' OR 1=1 --")): 701,
        envelope("Browse", browse_args("item:" + "a" * 5000)): 701,
        envelope("Browse", browse_args("0", RequestedCount="-1")): 402,
        envelope("Browse", browse_args("0", StartingIndex="-5")): 402,
        envelope("Browse", browse_args("0", RequestedCount="99999999999")): 402,
        envelope("Browse", browse_args("0", RequestedCount="ten")): 402,
        envelope("Browse", browse_args("0", BrowseFlag="BrowseEverything")): 402,
        envelope("Browse", {"ObjectID": "0"}): 402,
        envelope("Browse", browse_args("0", SortCriteria="+dc:title;DROP")): 709,
        envelope("DeleteObject", {"ObjectID": "0"}): 401,
        envelope("Browse", browse_args("0"), service="AVTransport"): 401,
    }
    for body, code in cases.items():
        status, text = await soap(server, body)
        assert status == 500 and error_code(text) == code, (body[-200:], text)

    status, text = await soap(server, envelope("Browse", browse_args("0")), action="Search")
    assert status == 500 and error_code(text) == 401  # SOAPAction disagrees with the body
    status, text = await soap(
        server,
        envelope("GetCurrentConnectionInfo", {"ConnectionID": "7"}, "ConnectionManager"),
        action="GetCurrentConnectionInfo",
        service="ConnectionManager",
    )
    assert status == 500 and error_code(text) == 706
    await still_answers(server)


async def test_microsoft_registrar_and_samsung_feature_list_answer(
    start_server: StartServer,
) -> None:
    server = await start_server("dlna: {ssdp: false}\n")
    ms = "urn:microsoft.com:service:X_MS_MediaReceiverRegistrar:1"
    body = envelope("IsAuthorized", {"DeviceID": ""}).replace(
        "urn:schemas-upnp-org:service:ContentDirectory:1", ms
    )
    async with server.session.post(
        f"{server.url}/dlna/control/MediaReceiverRegistrar",
        data=body,
        headers={"SOAPAction": f'"{ms}#IsAuthorized"'},
    ) as response:
        assert response.status == 200 and "<Result>1</Result>" in await response.text()
    status, text = await soap(server, envelope("X_GetFeatureList", {}), action="X_GetFeatureList")
    assert status == 200
    features = ElementTree.fromstring(text).findtext(".//FeatureList") or ""
    assert 'name="samsung.com_BASICVIEW"' in features
