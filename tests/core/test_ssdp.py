"""The box's shared SSDP listener (core.ssdp) on loopback: every subscriber of a port hears what
is sent straight to an address it listens on, replies leave from the port asked, the sockets
close with the last subscriber, one subscriber's crash does not deafen the others, and
datagrams from outside the home network never reach a plugin (logged once). Multicast and two
real plugins together: tests/plugins/dlna/test_unicast_search.py, in a namespace."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from typing import Any

import pytest

from core.network import HomeNetwork
from core.ssdp import SsdpDatagram, SsdpPort, SsdpSockets, from_home


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Client(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.answers: asyncio.Queue[tuple[bytes, Any]] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.answers.put_nowait((data, addr))


class Heard:
    """A subscriber's receiver: the datagrams it was handed, awaitable one by one."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[SsdpDatagram] = asyncio.Queue()

    def __call__(self, datagram: SsdpDatagram) -> None:
        self.queue.put_nowait(datagram)

    async def next(self) -> SsdpDatagram:
        return await asyncio.wait_for(self.queue.get(), 5)


def bindable_alone(port: int) -> bool:
    """Whether nothing else holds 127.0.0.1:port (a bind without SO_REUSEADDR succeeds)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


async def test_subscribers_share_one_port_and_replies_leave_from_it() -> None:
    sockets, port = SsdpSockets(HomeNetwork()), free_udp_port()
    first, second = Heard(), Heard()
    one = await sockets.subscribe(first, ["127.0.0.1"], port, group=False, direct=True)
    two = await sockets.subscribe(second, ["127.0.0.1"], port, group=False, direct=True)
    assert one.addresses == two.addresses == ["127.0.0.1"]
    loop = asyncio.get_running_loop()
    transport, client = await loop.create_datagram_endpoint(Client, local_addr=("127.0.0.1", 0))
    try:
        transport.sendto(b"M-SEARCH * HTTP/1.1\r\n\r\n", ("127.0.0.1", port))
        heard = await first.next()
        assert heard == await second.next()
        assert heard.data == b"M-SEARCH * HTTP/1.1\r\n\r\n" and heard.to == "127.0.0.1"
        assert heard.sender == transport.get_extra_info("sockname")
        one.reply(heard, b"HTTP/1.1 200 OK\r\n\r\n")
        answer, source = await asyncio.wait_for(client.answers.get(), 5)
        assert answer == b"HTTP/1.1 200 OK\r\n\r\n" and source == ("127.0.0.1", port)

        two.close()
        two.close()  # safe twice
        transport.sendto(b"again", ("127.0.0.1", port))
        assert (await first.next()).data == b"again"
        assert second.queue.empty()
        assert not bindable_alone(port)
        one.close()
        for _ in range(5):  # asyncio closes a transport's socket on the loop's next turn
            await asyncio.sleep(0)
        assert bindable_alone(port)  # the last subscriber gone, the sockets are closed
    finally:
        transport.close()


async def test_a_port_that_cannot_be_bound_is_an_os_error() -> None:
    sockets, port = SsdpSockets(HomeNetwork()), free_udp_port()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", port))  # no SO_REUSEADDR: nobody may share it
        with pytest.raises(OSError):
            await sockets.subscribe(Heard(), ["127.0.0.1"], port, group=False, direct=True)
    subscription = await sockets.subscribe(Heard(), ["127.0.0.1"], port, group=False, direct=True)
    subscription.close()


@pytest.mark.allow_errors
async def test_strangers_never_reach_a_plugin_and_a_failing_plugin_deafens_no_other(
    caplog: pytest.LogCaptureFixture,
) -> None:
    home = HomeNetwork(("lo",), [ipaddress.ip_network("192.168.7.0/24")])
    assert from_home(home, "192.168.7.20") and from_home(home, "127.0.0.1")
    assert not from_home(home, "100.64.0.2") and not from_home(home, "not an address")
    port = SsdpPort(free_udp_port(), home, lambda closed: None)
    heard = Heard()

    def broken(datagram: SsdpDatagram) -> None:
        raise RuntimeError("a plugin's bug")

    await port.subscribe(broken, ["127.0.0.1"], group=False, direct=True)
    await port.subscribe(heard, ["127.0.0.1"], group=False, direct=True)
    caplog.set_level(logging.DEBUG, "hearth.ssdp")
    for _ in range(3):  # as if sent to 127.0.0.1 from a stranger
        port.deliver(SsdpDatagram(b"NOTIFY", ("100.64.0.2", 1900), "127.0.0.1"))
    assert heard.queue.empty()
    said = [(r.levelno, r.getMessage()) for r in caplog.records if "100.64.0.2" in r.getMessage()]
    message = "Ignored SSDP from 100.64.0.2: it was sent from outside the home network"
    assert said == [(logging.INFO, message), (logging.DEBUG, message), (logging.DEBUG, message)]
    port.deliver(SsdpDatagram(b"NOTIFY", ("192.168.7.20", 1900), "127.0.0.1"))
    assert (await heard.next()).sender == ("192.168.7.20", 1900)
    assert "An SSDP subscriber failed on a datagram from 192.168.7.20" in caplog.text
    port.close()
