"""Who is behind a tunnel's connections: what the tunnel vouches for is the client's address
for sign-in throttling and the access log, on a real server's Unix socket; the origin stays
`remote`, and a connection nobody vouched for is `tunnel`, never its socket's path. The relay
end to end (HAProxy's PROXY header, two phones) is tests/relay/test_client_address.py."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from core.http.tunnel import TunnelSocket
from core.people.throttle import AttemptLimiter
from tests.conftest import PASSWORD, RunningServer, StartServer
from tests.core.people.household import Clock

GUESSER, OWNER = ("100.64.7.2", 50001), ("100.64.7.3", 50002)


@pytest.fixture
async def tunnel(start_server: StartServer, tmp_path: Path) -> tuple[RunningServer, TunnelSocket]:
    server = await start_server()
    path = tmp_path / "tunnel.sock"
    await server.hub.http.add_unix_site(str(path))
    return server, TunnelSocket(str(path), server.hub.tunnel_peers, tmp_path)


async def request(
    tunnel: TunnelSocket,
    client: tuple[str, int] | None,
    path: str,
    body: dict[str, str] | None = None,
) -> tuple[int, dict[str, object]]:
    """One request on a new tunnel connection, vouched for as `client` (or not at all)."""
    reader = asyncio.StreamReader()
    transport, protocol = await tunnel.connect(lambda: asyncio.StreamReaderProtocol(reader))
    forget = tunnel.vouch(transport, client) if client else (lambda: None)
    writer = asyncio.StreamWriter(transport, protocol, reader, asyncio.get_running_loop())
    payload = json.dumps(body).encode() if body is not None else b""
    method = "POST" if body is not None else "GET"
    writer.write(
        f"{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n".encode()
        + payload
    )
    answer = await reader.read()  # to the end: the access log line is written by then
    writer.close()
    forget()
    head, _, text = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(text)


def login(password: str) -> dict[str, str]:
    return {"username": "owner", "password": password}


async def test_a_guessing_phone_slows_itself_and_not_another_phone_on_the_same_tunnel(
    tunnel: tuple[RunningServer, TunnelSocket],
) -> None:
    server, socket = tunnel
    server.hub.auth_api.attempts = AttemptLimiter(clock=Clock(100.0))
    for _ in range(5):
        assert (await request(socket, GUESSER, "/api/auth/login", login("guess")))[0] == 401
    status, body = await request(socket, GUESSER, "/api/auth/login", login(PASSWORD))
    assert (status, body["error"]) == (  # type: ignore[index]
        429,
        {"code": "locked", "message": "Too many failed attempts; try again in 1 s."},
    )
    status, body = await request(socket, OWNER, "/api/auth/login", login(PASSWORD))
    assert status == 200 and "token" in body
    assert len(server.hub.tunnel_peers) == 0  # each connection's word ended with it


async def test_the_access_log_names_the_client_the_tunnel_vouched_for(
    tunnel: tuple[RunningServer, TunnelSocket], caplog: pytest.LogCaptureFixture
) -> None:
    _, socket = tunnel
    assert (await request(socket, GUESSER, "/api/health"))[0] == 200
    assert (await request(socket, None, "/api/health"))[0] == 200
    lines = [r.getMessage() for r in caplog.records if r.name == "hearth.access"]
    assert [line.split()[5] for line in lines] == [GUESSER[0], "tunnel"]
    assert all(str(socket.folder) not in line for line in lines)


async def test_a_vouched_client_on_the_home_network_is_still_remote(
    tunnel: tuple[RunningServer, TunnelSocket],
) -> None:
    _, socket = tunnel
    status, body = await request(socket, ("127.0.0.1", 1), "/api/setup")
    assert (status, body["error"]["code"]) == (403, "home_network_only")  # type: ignore[index]


async def test_only_a_connection_the_tunnel_made_can_be_vouched_for(
    tunnel: tuple[RunningServer, TunnelSocket], tmp_path: Path
) -> None:
    _, socket = tunnel
    other = TunnelSocket(socket.path, socket.peers, tmp_path / "elsewhere")
    (tmp_path / "elsewhere").mkdir()
    transport, _ = await other.connect(asyncio.Protocol)
    try:
        with pytest.raises(ValueError, match="only a connection made by this tunnel socket"):
            socket.vouch(transport, GUESSER)
    finally:
        transport.close()
    assert list((tmp_path / "elsewhere").iterdir()) == []  # no socket file left behind
