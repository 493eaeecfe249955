"""Where a request comes from, and whether it named this box: checked once, before anything else.

Every request is classified by its connection (`core.network.HomeNetwork`): `loopback`, `lan`
or `remote`; connections handed in by a tunnel (a Unix socket, a listener marked as a tunnel)
are remote whatever their addresses say. Routes declare who they are for (`RouteSpec.access`):
`lan` routes (DLNA, the first-run setup code) answer 403 to a remote source here, before any
handler or catalog read. Sign-in for `signed_in` routes is the people layer's middleware.

Each request also gets its client's address (`client_address`): the socket peer's, or, for a
connection a tunnel handed in and vouched for (core.http.tunnel), the address of the phone
at the far end, which sign-in throttling and the access log use. It changes no origin.

The Host header must name this box: one of its IP addresses, `localhost`, its mDNS name, its
host name, or a name the owner listed (`hearth: http: hosts:`) or a plugin added (the relay's
public name). Anything else is a page in a browser that a DNS-rebinding name points at us
(403), or a request meant for another server (421). It never authenticates anyone.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterable

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from core.http.errors import ApiError
from core.http.routes import RouteSpec
from core.http.tunnel import TunnelPeers
from core.network import HomeNetwork, Origin, parse_address

ORIGIN = web.RequestKey("origin", str)
CLIENT_ADDRESS = web.RequestKey("client_address", str)
UNNAMED_TUNNEL = "tunnel"  # a tunnel connection nobody vouched for: never a socket's path


def origin_of(request: web.Request) -> Origin:
    """The request's origin (set by the middleware; a request it did not see is remote)."""
    value = request.get(ORIGIN, "remote")
    return "loopback" if value == "loopback" else "lan" if value == "lan" else "remote"


def client_address(request: web.BaseRequest) -> str:
    """Who sent the request, for throttling and logs: the client's IP address (the phone's,
    through a tunnel that vouched for it), `tunnel`, or `?` when the connection is gone."""
    address = request.get(CLIENT_ADDRESS)
    if isinstance(address, str):
        return address
    return _address_of(request, None)


def _address_of(request: web.BaseRequest, peers: TunnelPeers | None) -> str:
    transport = request.transport
    if transport is None:
        return "?"
    peer = transport.get_extra_info("peername")
    if isinstance(peer, tuple) and peer:
        return str(peer[0])
    sock = transport.get_extra_info("socket")
    if getattr(sock, "family", None) == socket.AF_UNIX:
        client = peers.client_of(peer) if peers is not None else None
        return client[0] if client is not None else UNNAMED_TUNNEL
    return request.remote or "?"


def is_home(request: web.Request) -> bool:
    """From this box or the home network."""
    return origin_of(request) != "remote"


class HostNames:
    """The names a request may call this box by; plugins add theirs while they run."""

    def __init__(self, listed: Iterable[str] = ()) -> None:
        self._names: dict[str, int] = {}
        for name in ("localhost", socket.gethostname(), f"{socket.gethostname()}.local"):
            self.add(name)
        for name in listed:
            self.add(name)

    def add(self, name: str) -> Callable[[], None]:
        """Accept `name` (case-insensitive) until the returned remover is called."""
        key = name.lower().rstrip(".")
        self._names[key] = self._names.get(key, 0) + 1

        def remove() -> None:
            left = self._names.get(key, 0) - 1
            if left > 0:
                self._names[key] = left
            else:
                self._names.pop(key, None)

        return remove

    def __contains__(self, name: str) -> bool:
        return name.lower().rstrip(".") in self._names


def host_of(request: web.BaseRequest) -> str:
    """The host part of the Host header (no port, no brackets)."""
    host = request.host
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else ""
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def check_host(request: web.BaseRequest, home: HomeNetwork, names: HostNames) -> None:
    """Raise unless the Host header names this box."""
    host = host_of(request)
    address = parse_address(host)
    if address is not None:
        if address.is_loopback or address in home.own_addresses():
            return
        raise ApiError(421, "This server does not answer for that address.", "misdirected")
    if host in names:
        return
    raise ApiError(
        403,
        "This server does not answer for that name. Use its address, or add the name under "
        "hearth: http: hosts: in configuration.yaml.",
        "host_not_allowed",
    )


def classify(request: web.BaseRequest, home: HomeNetwork, tunnels: set[object]) -> Origin:
    """The connection's origin: tunnels and non-IP peers are remote."""
    transport = request.transport
    if transport is None:
        return "remote"
    if transport.get_extra_info("sockname") in tunnels:
        return "remote"
    sock = transport.get_extra_info("socket")
    if sock is not None and getattr(sock, "family", None) == socket.AF_UNIX:
        return "remote"
    peer = transport.get_extra_info("peername")
    if not isinstance(peer, tuple) or not peer:
        return "remote"
    return home.classify(str(peer[0]))


def origin_middleware(
    home: HomeNetwork,
    names: HostNames,
    tunnels: set[object],
    spec_for: Callable[[web.Request], RouteSpec | None],
    peers: TunnelPeers | None = None,
) -> Middleware:
    """Classify, note the client's address, check Host, and refuse `lan` routes to remote
    sources."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        origin = classify(request, home, tunnels)
        request[ORIGIN] = origin
        request[CLIENT_ADDRESS] = _address_of(request, peers)
        check_host(request, home, names)
        spec = spec_for(request)
        if spec is not None and spec.access == "lan" and origin == "remote":
            raise ApiError(403, "This is only available on the home network.", "home_network_only")
        return await handler(request)

    return middleware
