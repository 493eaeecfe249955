"""Where a request comes from (loopback / lan / remote), the Host check, and route levels, on
a real server bound to loopback. The sweep from a real `remote` address is
test_origin_sweep.py (a network namespace)."""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path
from unittest import mock

import aiohttp
import pytest
from aiohttp import web

from core.configuration import ConfigError, load_configuration
from core.http.routes import RouteSpec
from core.network import Attached, HomeNetwork, parse_address
from tests.conftest import RunningServer, StartServer, core_yaml, write_config


def home_with(*attached: tuple[str, str, str], extra: tuple[str, ...] = ()) -> HomeNetwork:
    """A HomeNetwork over made-up interfaces (interface, address, subnet)."""
    home = HomeNetwork(("eth0", "wlan0"), [ipaddress.ip_network(n) for n in extra])
    fake = [
        Attached(name, ipaddress.ip_address(address), ipaddress.ip_network(net))
        for name, address, net in attached
    ]
    home._read = lambda: fake  # type: ignore[method-assign]
    return home


HOME = home_with(
    ("lo", "127.0.0.1", "127.0.0.0/8"),
    ("eth0", "198.18.0.1", "198.18.0.0/24"),
    ("eth0", "fe80::1", "fe80::/64"),
    ("docker0", "198.19.0.1", "198.19.0.0/16"),  # not a configured interface
    extra=("198.18.7.0/24",),
)


@pytest.mark.parametrize(
    ("address", "origin"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("198.18.0.20", "lan"),
        ("::ffff:198.18.0.20", "lan"),
        ("fe80::99%eth0", "lan"),
        ("198.18.7.5", "lan"),  # listed under lan_subnets
        ("198.19.0.5", "remote"),  # a subnet of an interface the owner did not configure
        ("192.168.1.20", "remote"),  # private, but not this home's
        ("10.1.2.3", "remote"),
        ("100.64.0.2", "remote"),  # carrier-grade NAT, VPNs
        ("8.8.8.8", "remote"),
        ("", "remote"),
        (None, "remote"),
        ("not an address", "remote"),
    ],
)
def test_addresses_are_classified_against_the_attached_subnets(
    address: str | None, origin: str
) -> None:
    assert HOME.classify(address) == origin


def test_a_device_may_point_only_into_its_own_subnet() -> None:
    sender = parse_address("198.18.0.20")
    assert sender is not None
    inside, loop, other = (parse_address(a) for a in ("198.18.0.30", "127.0.0.1", "198.18.7.5"))
    assert inside and loop and other
    assert HOME.same_subnet(sender, inside)
    assert not HOME.same_subnet(sender, loop)
    assert not HOME.same_subnet(sender, other)


def test_bad_lan_subnets_and_hosts_are_config_errors(tmp_path: Path) -> None:
    text = core_yaml(tmp_path / "data").replace(
        "mdns: false}", "mdns: false, lan_subnets: [198.18.7.1/24]}"
    )
    text = text.replace("https_port: 0}", "https_port: 0, hosts: ['http://box:8440']}")
    with pytest.raises(ConfigError) as caught:
        load_configuration(write_config(tmp_path / "config", text))
    message = str(caught.value)
    assert "lan_subnets -> 0: expected a subnet such as 192.168.2.0/24 (host bits zero)" in message
    assert "hosts -> 0: expected a host name such as media.home.arpa (no http://, no port)" in (
        message
    )


def test_a_route_level_must_be_known() -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response()

    with pytest.raises(ValueError, match="access must be one of"):
        RouteSpec("GET", "/x", handler, access="public")  # type: ignore[arg-type]


async def raw_get(server: RunningServer, path: str, host: str) -> tuple[int, dict[str, object]]:
    async with (
        aiohttp.ClientSession() as client,
        client.get(server.url + path, headers={"Host": host}) as response,
    ):
        return response.status, await response.json()


def test_listed_names_and_subnets_are_read(tmp_path: Path) -> None:
    text = core_yaml(tmp_path / "data").replace(
        "mdns: false}", "mdns: false, lan_subnets: [198.18.7.0/24]}"
    )
    text = text.replace("https_port: 0}", "https_port: 0, hosts: [Media.Home.Arpa.]}")
    hearth = load_configuration(write_config(tmp_path / "config", text)).hearth
    assert hearth.http.hosts == ("media.home.arpa",)
    assert hearth.network.lan_subnets == (ipaddress.ip_network("198.18.7.0/24"),)


@pytest.fixture
async def server(start_server: StartServer) -> RunningServer:
    started = await start_server("dlna: {ssdp: false}\nweb:\n")
    started.hub.host_names.add("media.home.arpa")  # as `hearth: http: hosts:` would
    return started


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "localhost", "LOCALHOST", "[::1]", socket.gethostname(), "media.home.arpa"],
)
async def test_the_box_answers_to_its_own_names(server: RunningServer, host: str) -> None:
    port = server.hub.port
    assert (await raw_get(server, "/api/health", f"{host}:{port}"))[0] == 200


async def test_its_mdns_name_is_one_of_them(server: RunningServer) -> None:
    name = f"hearth-{server.hub.server_id[:8]}.local"
    assert (await raw_get(server, "/api/health", name))[0] == 200


@pytest.mark.parametrize("path", ["/api/health", "/", "/dlna/description.xml", "/api/items"])
async def test_a_rebinding_name_is_refused_on_every_route(server: RunningServer, path: str) -> None:
    status, body = await raw_get(server, path, "attacker.example:8440")
    assert status == 403
    assert body["error"] == {
        "code": "host_not_allowed",
        "message": "This server does not answer for that name. Use its address, or add the "
        "name under hearth: http: hosts: in configuration.yaml.",
    }


async def test_an_address_that_is_not_the_box_is_misdirected(server: RunningServer) -> None:
    status, body = await raw_get(server, "/api/health", "203.0.113.9")
    assert status == 421
    assert body["error"]["code"] == "misdirected"


async def test_anonymous_health_says_only_name_version_and_status(server: RunningServer) -> None:
    async with (
        aiohttp.ClientSession() as client,
        client.get(server.url + "/api/health") as response,
    ):
        anonymous = await response.json()
    assert set(anonymous) == {"name", "version", "status"}
    full = await server.get_json("/api/health")  # the owner's session
    assert {"plugins", "hardware", "uptime_seconds", "tls"} <= set(full)


async def test_a_tunnel_socket_is_remote_whatever_its_address(
    server: RunningServer, tmp_path: Path
) -> None:
    """What the relay hands in over a Unix socket reaches `anyone` and signed-in routes, and
    never the home-only ones, even with the owner's token."""
    path = str(tmp_path / "tunnel.sock")
    await server.hub.http.add_unix_site(path)
    token = server.session.headers["Authorization"]
    connector = aiohttp.UnixConnector(path=path)
    async with aiohttp.ClientSession(connector=connector) as client:

        async def get(route: str, headers: dict[str, str]) -> tuple[int, str]:
            async with client.get(f"http://127.0.0.1{route}", headers=headers) as response:
                body = await response.json()
                return response.status, body.get("error", {}).get("code", "")

        assert await get("/dlna/description.xml", {"Authorization": token}) == (
            403,
            "home_network_only",
        )
        assert await get("/api/setup", {}) == (403, "home_network_only")
        assert (await get("/api/health", {}))[0] == 200
        assert await get("/api/items", {}) == (401, "unauthorized")
        assert (await get("/api/items", {"Authorization": token}))[0] == 200


async def test_a_tagged_tunnel_listener_is_remote(server: RunningServer) -> None:
    """A tunnel that hands connections in over loopback TCP: its listener is marked."""
    sockname = ("127.0.0.1", server.hub.port)
    server.hub.tunnels.add(sockname)
    try:
        async with (
            aiohttp.ClientSession() as client,
            client.get(server.url + "/dlna/description.xml") as response,
        ):
            assert response.status == 403
    finally:
        server.hub.tunnels.discard(sockname)


async def test_lan_routes_refuse_remote_before_their_handler_runs(tmp_path: Path) -> None:
    """`lan` routes answer 403 to remote sources without running any handler code (so no
    catalog read), and serve the home."""
    from core.http.errors import ApiError
    from core.http.origin import HostNames, origin_middleware

    called: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        called.append(request.path)
        return web.Response(text="served")

    spec = RouteSpec("GET", "/dlna/x", handler, access="lan")
    middleware = origin_middleware(HOME, HostNames(), set(), lambda request: spec)

    def request_from(peer: str) -> web.Request:
        from aiohttp.test_utils import make_mocked_request

        transport = mock.Mock()
        transport.get_extra_info.side_effect = lambda name, default=None: {
            "peername": (peer, 50000),
            "sockname": ("198.18.0.1", 8440),
        }.get(name, default)
        return make_mocked_request(
            "GET", "/dlna/x", headers={"Host": "localhost"}, transport=transport
        )

    with pytest.raises(ApiError) as caught:
        await middleware(request_from("100.64.0.2"), handler)
    assert caught.value.status == 403 and called == []
    answer = await middleware(request_from("198.18.0.20"), handler)
    assert isinstance(answer, web.Response) and answer.text == "served"
