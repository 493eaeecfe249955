"""Which SSDP messages about TVs are believed: real datagrams decoded by async_upnp_client and
fed to the plugin's device tracker, with a home network of one subnet (198.18.0.0/24) so the
machine's own interfaces do not matter. Nothing is resolved: any DNS lookup fails the test.
The same rules over real sockets, with a real server, are in test_hostile_ssdp.py."""

from __future__ import annotations

import ipaddress
import logging
import socket
from typing import Any

import pytest
from async_upnp_client.const import HttpRequest, SsdpSource
from async_upnp_client.exceptions import UpnpCommunicationError
from async_upnp_client.ssdp import decode_ssdp_packet

from core.network import HomeNetwork
from plugins.dlna_renderer.discovery import RENDERER, HomeTracker, SsdpDiscovery
from plugins.dlna_renderer.requester import EgressRequester
from plugins.dlna_renderer.trust import location_refusal

HOME = HomeNetwork(("no-such-interface",), [ipaddress.ip_network("198.18.0.0/24")])
ON, OFF = "198.18.0.2", "100.64.0.2"
LISTED = "http://tv.lan:9197/dmr"
LOG = logging.getLogger("test")


@pytest.fixture(autouse=True)
def no_dns(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every name lookup is a failure: these rules must decide without one."""
    asked: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        asked.append(args)
        raise AssertionError(f"a DNS lookup was made: {args}")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "gethostbyname", refuse)
    return asked


def notify(location: str, udn: str = "uuid:tv-1", nts: str = "ssdp:alive") -> bytes:
    lines = [
        "NOTIFY * HTTP/1.1",
        "HOST: 239.255.255.250:1900",
        "CACHE-CONTROL: max-age=1800",
        f"LOCATION: {location}",
        f"NT: {RENDERER}",
        f"NTS: {nts}",
        f"USN: {udn}::{RENDERER}",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def answer(location: str, udn: str = "uuid:tv-1") -> bytes:
    lines = [
        "HTTP/1.1 200 OK",
        "CACHE-CONTROL: max-age=1800",
        "EXT:",
        f"LOCATION: {location}",
        f"ST: {RENDERER}",
        f"USN: {udn}::{RENDERER}",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


class Heard:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []
        self.gone: list[str] = []
        self.tracker = HomeTracker(HOME, (LISTED,), LOG)
        self.discovery = SsdpDiscovery(
            [], self.tracker, lambda u, loc: self.seen.append((u, loc)), self.gone.append, LOG
        )

    def alive(self, data: bytes, sender: str) -> None:
        _, headers = decode_ssdp_packet(data, ("198.18.0.1", 1900), (sender, 1900))
        propagate, device, kind = self.tracker.see_advertisement(headers)
        if propagate and device and kind:
            self.discovery.heard(device, kind, SsdpSource.ADVERTISEMENT_ALIVE)

    def searched(self, data: bytes, sender: str) -> None:
        _, headers = decode_ssdp_packet(data, ("198.18.0.1", 40000), (sender, 1900))
        propagate, device, kind, source = self.tracker.see_search(headers)
        if propagate and device and kind and source:
            self.discovery.heard(device, kind, source)

    def byebye(self, udn: str, sender: str) -> None:
        data = notify("", udn, "ssdp:byebye").replace(b"LOCATION: \r\n", b"")
        _, headers = decode_ssdp_packet(data, ("198.18.0.1", 1900), (sender, 1900))
        propagate, device, kind = self.tracker.unsee_advertisement(headers)
        if propagate and device and kind:
            self.discovery.heard(device, kind, SsdpSource.ADVERTISEMENT_BYEBYE)


def test_a_tv_on_the_home_subnet_is_believed_by_notify_and_by_search_answer() -> None:
    heard = Heard()
    heard.alive(notify(f"http://{ON}:49152/description.xml"), ON)
    heard.searched(answer("http://198.18.0.3:8080/dmr.xml", "uuid:tv-2"), "198.18.0.3")
    assert heard.seen == [
        ("uuid:tv-1", f"http://{ON}:49152/description.xml"),
        ("uuid:tv-2", "http://198.18.0.3:8080/dmr.xml"),
    ]
    # A TV may name another address of its own subnet (a second network card, say).
    heard.alive(notify("http://198.18.0.9:1400/d.xml", "uuid:tv-3"), ON)
    assert heard.seen[-1] == ("uuid:tv-3", "http://198.18.0.9:1400/d.xml")
    heard.byebye("uuid:tv-1", ON)
    assert heard.gone == ["uuid:tv-1"]


def test_messages_from_outside_the_home_subnet_are_ignored(caplog: Any) -> None:
    heard = Heard()
    with caplog.at_level(logging.INFO, "test"):
        heard.alive(notify(f"http://{ON}:49152/description.xml"), OFF)
        heard.searched(answer(f"http://{ON}:49152/description.xml"), OFF)
        heard.alive(notify(f"http://{ON}:49152/description.xml"), "127.0.0.1")
    assert heard.seen == [] and heard.tracker.devices == {}
    assert (
        f"Ignored SSDP from {OFF} (http://{ON}:49152/description.xml): "
        "it was sent from outside the home network"
    ) in caplog.messages
    # Nor can a stranger make us forget a TV.
    heard.alive(notify(f"http://{ON}:49152/description.xml"), ON)
    heard.byebye("uuid:tv-1", OFF)
    assert heard.gone == [] and "uuid:tv-1" in heard.tracker.devices


@pytest.mark.parametrize(
    ("location", "reason"),
    [
        ("http://evil.example:80/d.xml", "names a host instead of an address"),
        ("http://tv.local:9197/dmr", "names a host instead of an address"),
        ("http://127.1:8440/d.xml", "names a host instead of an address"),
        ("http://0x7f.0.0.1:8440/d.xml", "names a host instead of an address"),
        ("http://127.0.0.1:8440/api/health", "is not a device's address"),
        ("http://[::1]:8440/d.xml", "is not a device's address"),
        ("http://[::ffff:127.0.0.1]:8440/d.xml", "is not a device's address"),
        ("http://0.0.0.0:8440/d.xml", "is not a device's address"),
        ("http://100.64.0.2:49152/d.xml", "is not on the sender's subnet"),
        ("http://192.168.1.20:49152/d.xml", "is not on the sender's subnet"),
        ("https://198.18.0.2:49152/d.xml", "is not an http:// URL"),
        ("http://198.18.0.2:port/d.xml", "is not a URL"),
    ],
)
def test_a_location_that_is_a_name_loopback_or_another_subnet_is_ignored(
    location: str, reason: str, no_dns: list[Any]
) -> None:
    refusal = location_refusal(HOME, ON, location)
    assert refusal is not None and reason in refusal
    heard = Heard()
    heard.alive(notify(location), ON)
    heard.searched(answer(location), ON)
    assert heard.seen == [] and heard.tracker.devices == {}
    assert no_dns == []


def test_a_location_the_owner_listed_is_believed_as_written() -> None:
    heard = Heard()
    heard.alive(notify(LISTED), ON)
    assert heard.seen == [("uuid:tv-1", LISTED)]
    # ...but only from the home network.
    assert location_refusal(HOME, OFF, LISTED, (LISTED,)) is not None


async def test_a_device_cannot_point_its_control_calls_at_another_host() -> None:
    requester = EgressRequester(http=None, host=ON)  # type: ignore[arg-type]
    request = HttpRequest("POST", "http://127.0.0.1:8440/api/users", {}, "")
    with pytest.raises(UpnpCommunicationError, match="is not on the device's own host"):
        await requester.async_http_request(request)
