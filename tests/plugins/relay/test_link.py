"""The relay link's supervision of OpenSSH's client, with a stand-in `ssh` first on PATH.

The stand-in writes down how it was started and exits as a real ssh does when the relay goes
away (or shows another host key): the link must start it again after 1, 2, 4 … 60 s, each
delay jittered between half and all of it, and say ssh's last words in health; a host key that
is not the pinned one is refused with the key the relay showed, and retried only slowly. The
jitter's draw is replaced (no sleeping, no timing): what is asserted is the range asked for.
Also what reaches the HTTPS server through the link's Unix socket: a connection whose PROXY v2
header names an address, even a loopback or home one, is `remote` and logged as that address;
while a CA checks TLS-ALPN-01, only a client offering exactly ALPN acme-tls/1 is shown the
validation certificate, and a phone asking for the name meanwhile gets the box's own.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import socket
import ssl
import stat
import struct
from pathlib import Path

import pytest
from cryptography import x509

from plugins.relay import link as link_module
from plugins.relay.forward import ForwardListener, Traffic
from plugins.relay.openssh import fingerprint
from plugins.relay.tls_alpn import ACME_IDENTIFIER, validation_context_blocking
from tests.conftest import StartServer
from tests.plugins.relay.test_admin_page import closed_port
from tests.plugins.relay.test_config import KEY

CLOSED = "Connection closed by UNKNOWN port 65535"
WRONG_KEY = "SHA256:Fw9oGzPd3QnlaPj3rOj0cBgFX7AkBAvnOcSi8HrV8Hc"


class Draws:
    """Stands in for `random` in link.py: notes each jitter range, draws 0 for the first
    `count` (the loop runs on at once), then an hour (it rests), and says when it has them."""

    def __init__(self, count: int) -> None:
        self.ranges: list[tuple[float, float]] = []
        self.count = count
        self.done = asyncio.Event()

    def uniform(self, low: float, high: float) -> float:
        self.ranges.append((low, high))
        if len(self.ranges) >= self.count:
            self.done.set()
            return 3600.0
        return 0.0


def fake_ssh(folder: Path, *stderr: str) -> Path:
    """An `ssh` that notes its arguments (one run a line) and exits 255 saying `stderr`."""
    folder.mkdir()
    runs = folder / "runs"
    script = folder / "ssh"
    said = "".join(f"echo '{line}' >&2\n" for line in stderr)
    script.write_text(f'#!/bin/sh\necho "$*" >> {runs}\n{said}exit 255\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return runs


def block(extra: str = "") -> str:
    return (
        "  egress: {relay: [localhost]}\n"
        f"relay:\n  server: localhost\n  ssh_port: {closed_port()}\n  name: smith\n"
        f"  host_key: {KEY}\n  port: 20001\n{extra}"
    )


async def test_an_ssh_that_exits_is_started_again_with_backoff_and_jitter(
    start_server: StartServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = fake_ssh(tmp_path / "bin", "debug1: Executing proxy command", CLOSED)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:/usr/bin:/bin")
    draws = Draws(8)
    monkeypatch.setattr(link_module, "random", draws)
    server = await start_server(block())
    await asyncio.wait_for(draws.done.wait(), 60)
    assert draws.ranges == [
        (0.5, 1.0), (1.0, 2.0), (2.0, 4.0), (4.0, 8.0), (8.0, 16.0), (16.0, 32.0),
        (30.0, 60.0), (30.0, 60.0),
    ]  # fmt: skip
    context = server.hub.records["relay"].context
    assert context is not None
    detail = context.health_detail
    assert detail["state"] == "retrying"
    port = detail["server"].rsplit(":", 1)[1]
    assert detail["last_error"] == f"the link ended: Connection closed by localhost port {port}"
    started = runs.read_text().splitlines()
    assert len(started) == 8
    words = started[0].split()
    assert words[:3] == ["-N", "-F", "/dev/null"]
    for option in (
        "BatchMode=yes", "StrictHostKeyChecking=yes", "ExitOnForwardFailure=yes",
        "ServerAliveInterval=9", "ServerAliveCountMax=2", "IdentityAgent=none",
        "GlobalKnownHostsFile=/dev/null", "ProxyUseFdpass=yes", "HostKeyAlias=hearth-relay",
    ):  # fmt: skip
        assert option in words, option
    forward = words[words.index("-R") + 1]
    assert forward.startswith("127.0.0.1:20001:") and forward.endswith("/relay.sock")
    assert words[-5:] == ["-p", port, "-l", "hearth-relay", "localhost"]


@pytest.mark.allow_errors
async def test_a_relay_showing_another_host_key_is_refused_and_the_status_says_which(
    start_server: StartServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_ssh(
        tmp_path / "bin",
        f"debug1: Server host key: ssh-ed25519 {WRONG_KEY}",
        "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@",
        "@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @",
        "Host key verification failed.",
    )
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:/usr/bin:/bin")
    draws = Draws(1)
    monkeypatch.setattr(link_module, "random", draws)
    server = await start_server(block())
    await asyncio.wait_for(draws.done.wait(), 60)
    assert draws.ranges == [(150.0, 300.0)]  # not mended soon: tried again in minutes
    context = server.hub.records["relay"].context
    assert context is not None
    detail = context.health_detail
    assert detail["state"] == "refused"
    assert detail["relay_key"] == fingerprint(KEY)
    assert detail["last_error"] == (
        f"the relay showed host key {WRONG_KEY}, not the pinned {fingerprint(KEY)}; check "
        "relay: host_key with the relay's operator (a different key is never accepted)"
    )
    known_hosts = context.data_dir / "relay_known_hosts"
    assert known_hosts.read_text() == f"hearth-relay {KEY}\n"
    assert stat.S_IMODE(known_hosts.stat().st_mode) == 0o600


def proxy_v2(address: str, port: int) -> bytes:
    """The header HAProxy's send-proxy-v2 writes for a TCP/IPv4 client."""
    body = socket.inet_aton(address) + socket.inet_aton("127.0.0.1") + struct.pack("!HH", port, 443)
    return b"\r\n\r\n\x00\r\nQUIT\n" + bytes([0x21, 0x11]) + struct.pack("!H", len(body)) + body


@pytest.mark.parametrize("address", ["127.0.0.1", "192.168.1.20"])
async def test_a_forwarded_connection_is_remote_and_comes_from_the_address_in_its_header(
    start_server: StartServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    address: str,
) -> None:
    fake_ssh(tmp_path / "bin", CLOSED)  # the plugin's own link stays down
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:/usr/bin:/bin")
    monkeypatch.setattr(link_module, "random", Draws(1))
    server = await start_server(block("  user: hearth-relay\n"))
    context = server.hub.records["relay"].context
    assert context is not None
    tunnel = await context.serve_tunnel()
    ended = asyncio.Event()  # the HTTPS server let go of the connection

    def changed() -> None:
        if traffic.connections and not traffic.open:
            ended.set()

    traffic = Traffic(changed=changed)
    listener = ForwardListener(tunnel.folder / "t.sock", tunnel, traffic)
    listener.open_blocking()
    assert stat.S_IMODE(listener.path.stat().st_mode) == 0o600
    serving = asyncio.create_task(listener.serve())
    client = ssl.create_default_context()
    client.check_hostname, client.verify_mode = False, ssl.CERT_NONE
    try:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(str(listener.path))
        sock.sendall(proxy_v2(address, 40123))  # what ssh passes on from the relay
        caplog.set_level(logging.INFO, "hearth.access")
        reader, writer = await asyncio.open_connection(
            sock=sock, ssl=client, server_hostname="smith.localhost"
        )
        request = b"GET /api/setup HTTP/1.1\r\nHost: smith.localhost\r\nConnection: close\r\n\r\n"
        writer.write(request)
        answer = await reader.read()
        writer.close()
        await asyncio.wait_for(ended.wait(), 10)
    finally:
        serving.cancel()
        await asyncio.gather(serving, return_exceptions=True)
        listener.close()
    assert answer.startswith(b"HTTP/1.1 403 ")
    assert b'"home_network_only"' in answer
    [line] = [r.getMessage() for r in caplog.records if "/api/setup" in r.getMessage()]
    assert f" {address} " in line
    assert traffic.connections == 1
    assert traffic.bytes_in == 28 + len(request)  # the header and the request, after TLS
    assert traffic.bytes_out == len(answer)


async def handshake(path: Path, alpn: list[str] | None) -> tuple[bytes, str | None]:
    """A phone's TLS through the link's socket: (the certificate shown, the ALPN agreed)."""
    client = ssl.create_default_context()
    client.check_hostname, client.verify_mode = False, ssl.CERT_NONE
    if alpn is not None:
        client.set_alpn_protocols(alpn)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(str(path))
    sock.sendall(proxy_v2("203.0.113.7", 40000))
    _, writer = await asyncio.open_connection(
        sock=sock, ssl=client, server_hostname="smith.localhost"
    )
    tls = writer.get_extra_info("ssl_object")
    shown, agreed = tls.getpeercert(binary_form=True), tls.selected_alpn_protocol()
    writer.close()
    return shown, agreed


async def test_only_a_client_offering_just_acme_tls_1_is_shown_the_validation_certificate(
    start_server: StartServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_ssh(tmp_path / "bin", CLOSED)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:/usr/bin:/bin")
    monkeypatch.setattr(link_module, "random", Draws(1))
    server = await start_server(block())
    context = server.hub.records["relay"].context
    assert context is not None and server.hub.https.certificate is not None
    own = server.hub.https.certificate.fingerprint_sha256.replace(":", "").lower()
    tunnel = await context.serve_tunnel()
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    window = validation_context_blocking("smith.localhost", "tok3n.thumbpr1nt", scratch)
    listener = ForwardListener(
        tunnel.folder / "t.sock", tunnel, Traffic(), validation=lambda: window
    )
    listener.open_blocking()
    serving = asyncio.create_task(listener.serve())
    try:
        shown = {
            str(alpn): await handshake(listener.path, alpn)
            for alpn in (["acme-tls/1"], ["h2", "http/1.1"], ["acme-tls/1", "http/1.1"], None)
        }
    finally:
        serving.cancel()
        await asyncio.gather(serving, return_exceptions=True)
        listener.close()
    ca_saw, agreed = shown["['acme-tls/1']"]
    assert agreed == "acme-tls/1"
    extension = x509.load_der_x509_certificate(ca_saw).extensions.get_extension_for_oid(
        ACME_IDENTIFIER
    )
    assert extension.critical
    for alpn in ("['h2', 'http/1.1']", "['acme-tls/1', 'http/1.1']", "None"):
        certificate, _ = shown[alpn]
        assert hashlib.sha256(certificate).hexdigest() == own, alpn
