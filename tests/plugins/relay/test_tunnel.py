"""Remote access through a real OpenSSH relay, in two network namespaces (home and relay).

Hearth runs at home with a `relay:` block; the relay's sshd lets the box listen on one loopback
port, and HAProxy in front of it passes each phone's connection on after a PROXY v2 header; a
phone on the relay connects with TLS, naming `smith.relay.test` and trusting only the box's
certificate fingerprint. Shows: the phone signs in and streams a file byte-exactly; LAN-only
routes answer 403 through the tunnel; one stream cut leaves the other running; a connection
without the relay's header is closed unanswered and the owner is told why, and a header the
phone writes itself is never taken for the relay's; restarting the relay's sshd (sessions and
all) brings the tunnel back by itself; the egress ledger shows the link and its bytes; the
status command, the invite URL, the QR code and the remote bitrate ceiling; and a box pinned
to another host key refuses the relay and says why.
"""

from __future__ import annotations

import asyncio
import hashlib
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from core.catalog import Catalog
from core.people.accounts import create_session_blocking, create_user_blocking
from core.relay_identity import identity_blocking
from tests.conftest import PASSWORD, write_config
from tests.plugins.relay import relay_ns
from tests.plugins.relay.relay_ns import Box, Namespaces, Relay, visit

pytestmark = pytest.mark.skipif(
    relay_ns.unavailable_reason() is not None, reason=str(relay_ns.unavailable_reason())
)
HTTP_PORT, HTTPS_PORT, TUNNEL_PORT = 18470, 18471, 18443
PUBLIC = "smith.relay.test"
SONG_SECONDS = 60  # 11.5 MB of PCM: big enough to be mid-stream when one is cut


@dataclass
class Setup:
    spaces: Namespaces
    relay: Relay
    box: Box
    token: str
    fingerprint: str
    item: str
    song: Path

    def phone(self, step: str, *args: Any, timeout: float = 60) -> dict[str, Any]:
        """A visit from a phone on the relay, through the tunnel."""
        spec = {
            "step": step,
            "args": list(args),
            "base": f"https://127.0.0.1:{relay_ns.PHONE_PORT}",
            "host": PUBLIC,
            "fingerprint": self.fingerprint,
        }
        return visit(self.spaces.prefix(self.spaces.relay), spec, timeout)

    def home(self, step: str, *args: Any, timeout: float = 60) -> dict[str, Any]:
        """A visit from the box itself (loopback), the owner's view."""
        spec = {"step": step, "args": list(args), "base": f"http://127.0.0.1:{HTTP_PORT}"}
        return visit(self.spaces.prefix(self.spaces.home), spec, timeout)

    def relay_detail(self) -> dict[str, Any]:
        health = self.home("get", "/api/health", self.token)["body"]
        [plugin] = [p for p in health["plugins"] if p["domain"] == "relay"]
        return plugin["detail"]  # type: ignore[no-any-return]


async def make_owner(data_dir: Path) -> str:
    catalog = await Catalog.open(data_dir)
    try:

        def create(db: Any) -> str:
            user = create_user_blocking(db, "owner", "owner", PASSWORD, None, None)
            return create_session_blocking(db, user, "session", "tests", None, None).token

        token: str = await catalog.write(create)
        return token
    finally:
        await catalog.close()


def relay_block(host_key: str, extra: str = "") -> str:
    return (
        f"relay:\n  server: relay.test\n  ssh_port: {relay_ns.SSH_PORT}\n  name: smith\n"
        f'  host_key: "{host_key}"\n  port: {TUNNEL_PORT}\n  user: root\n{extra}'
    )


def make_song(path: Path) -> None:
    subprocess.run(
        [
            "ffmpeg",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            f"anoisesrc=d={SONG_SECONDS}:c=pink:r=48000:a=0.5",
            "-ac",
            "2",
            "-c:a",
            "pcm_s16le",
            str(path),
        ],
        check=True,
    )


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    tmp = tmp_path_factory.mktemp("relay")
    music = tmp / "Music"
    music.mkdir()
    song = music / "noise.wav"
    make_song(song)
    data = tmp / "data"
    token = asyncio.run(make_owner(data))
    box_key = identity_blocking(data).public_key
    with relay_ns.home_and_relay() as spaces:
        relay = Relay(spaces, tmp / "relay", box_key, TUNNEL_PORT)
        config = write_config(
            tmp / "config",
            f"hearth:\n  data_dir: {data}\n"
            f"  http: {{host: 127.0.0.1, port: {HTTP_PORT}, https_port: {HTTPS_PORT}}}\n"
            "  network: {mdns: false}\n  egress: {relay: [relay.test]}\n"
            "dlna: {ssdp: false}\nfilename:\n"
            f"folders:\n  watch: false\n  libraries:\n"
            f"    - {{name: Music, kind: music, paths: ['{music}']}}\n"
            + relay_block(relay.host_key, "  max_mbps: 1\n"),
        )
        box = Box(spaces, config)
        relay.start()
        relay.start_haproxy()
        box.start()
        try:
            ready = Setup(spaces, relay, box, token, "", "", song)
            found = ready.home(
                "until", "/api/health", token, "plugins.relay.detail.state", "connected", 30
            )
            assert "body" in found, found
            ready.fingerprint = found["body"]["tls"]["fingerprint_sha256"]
            items = ready.home("until", "/api/items?kind=track", token, "total", 1, 30)
            assert "body" in items, items
            ready.item = items["body"]["items"][0]["id"]
            yield ready
        finally:
            log = box.stop()
            relay.stop_haproxy()
            relay.stop()
            print(log)


def test_a_phone_signs_in_through_the_relay_and_streams_a_file_byte_exactly(
    setup: Setup,
) -> None:
    health = setup.phone("get", "/api/health", None)
    assert health["status"] == 200
    assert set(health["body"]) == {"name", "version", "status"}  # anonymous: remote or not
    login = setup.phone(
        "post", "/api/auth/login", None, {"username": "owner", "password": PASSWORD}
    )
    assert login["status"] == 200, login
    token = login["body"]["token"]
    streamed = setup.phone("stream", f"/api/items/{setup.item}/stream", token)
    expected = hashlib.sha256(setup.song.read_bytes()).hexdigest()
    assert streamed == {"status": 200, "size": setup.song.stat().st_size, "sha256": expected}
    me = setup.phone("get", "/api/auth/me", token)
    assert me["status"] == 200 and me["body"]["username"] == "owner"


def test_lan_only_routes_answer_403_through_the_relay_even_to_the_owner(setup: Setup) -> None:
    for path in ("/dlna/description.xml", "/api/setup"):
        answer = setup.phone("get", path, setup.token)
        assert answer["status"] == 403, (path, answer)
        assert answer["body"]["error"]["code"] == "home_network_only"
    at_home = setup.home("get", "/dlna/description.xml", None)
    assert at_home["status"] == 200  # the same route, from the home network


def test_cutting_one_remote_stream_leaves_the_other_running(setup: Setup) -> None:
    kept = setup.phone("two_streams", f"/api/items/{setup.item}/stream", setup.token, 1 << 20)
    expected = hashlib.sha256(setup.song.read_bytes()).hexdigest()
    assert kept == {"status": 200, "size": setup.song.stat().st_size, "sha256": expected}
    assert setup.phone("get", "/api/health", None)["status"] == 200


def test_a_connection_without_the_relays_header_is_closed_and_the_owner_told_why(
    setup: Setup,
) -> None:
    """Something on the relay other than HAProxy reaches the box's forwarded port."""
    for _ in range(2):
        answer = setup.phone("raw", "127.0.0.1", TUNNEL_PORT, "", PUBLIC)
        assert answer == {"answered": 0}  # not even a ServerHello
    detail = setup.relay_detail()
    assert detail["state"] == "connected"
    assert detail["last_error"] == (
        "a connection through the relay was refused: no PROXY header: the connection starts "
        "with TLS; the relay must name each phone in a PROXY v2 header (its operator re-runs "
        "scripts/relay/setup)"
    )
    log = setup.box.log.read_text(errors="replace")
    assert log.count("a connection through the relay was refused") == 1  # said once
    assert setup.phone("get", "/api/health", None)["status"] == 200  # the others go on


def test_a_proxy_header_a_phone_writes_itself_is_never_taken_for_the_relays(
    setup: Setup,
) -> None:
    """HAProxy's header comes first; the phone's own, after it, is only bytes to the box's
    TLS server, which refuses them: no phone names its own address."""
    forged = (
        b"\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00\x0c"
        + bytes([203, 0, 113, 9, 127, 0, 0, 1, 0x13, 0x88, 0x4E, 0x20])
    ).hex()
    honest = setup.phone("raw", "127.0.0.1", relay_ns.PHONE_PORT, "", PUBLIC)
    forging = setup.phone("raw", "127.0.0.1", relay_ns.PHONE_PORT, forged, PUBLIC)
    assert honest["answered"] > 200  # a ServerHello and the certificate
    assert forging["answered"] < 10  # at most a TLS alert
    assert "203.0.113.9" not in setup.box.log.read_text(errors="replace")


def test_remote_streams_are_held_under_the_owners_ceiling(setup: Setup) -> None:
    path = f"/api/items/{setup.item}/playback?profile=chromium"
    remote = setup.phone("get", path, setup.token)["body"]
    home = setup.home("get", path, setup.token)["body"]
    assert any("above the requested 1 Mbit/s" in r for r in remote["reasons"]), remote
    assert not any("requested" in r for r in home["reasons"]), home


def test_the_owner_sees_the_public_url_as_status_invite_and_qr_code(setup: Setup) -> None:
    detail = setup.relay_detail()
    assert detail["state"] == "connected"
    assert detail["url"] == f"https://{PUBLIC}"
    assert detail["max_mbps"] == 1
    status = setup.box.command("relay", "status")
    assert status.returncode == 0, status.stderr
    lines = status.stdout.splitlines()
    assert lines[0] == f"Relay:       connected (relay.test:{relay_ns.SSH_PORT})"
    assert lines[1] == f"Public URL:  https://{PUBLIC}"
    assert f"phones pin SHA-256 {setup.fingerprint}" in status.stdout
    invite = setup.home("post", "/api/invites", setup.token, {"role": "member"})
    code = invite["body"]["code"]
    assert invite["body"]["url"] == f"https://{PUBLIC}/#/invite/{code}"
    qr = setup.phone("get", "/api/relay/qr.svg", setup.token)
    assert qr["status"] == 200 and qr["type"] == "image/svg+xml"
    assert qr["body"].startswith("<svg") and f"<title>https://{PUBLIC}</title>" in qr["body"]
    assert setup.phone("get", "/api/relay/qr.svg", None)["status"] == 401


def test_the_tunnel_comes_back_by_itself_when_the_relays_sshd_restarts(setup: Setup) -> None:
    # a stream of its own before the cut: the module's tests may run on other workers (xdist),
    # so what the link carried must not depend on which of them ran first
    streamed = setup.phone("stream", f"/api/items/{setup.item}/stream", setup.token)
    assert streamed["status"] == 200 and streamed["size"] == setup.song.stat().st_size
    before = setup.relay_detail()
    setup.relay.stop()  # the listener and the session holding the tunnel
    setup.relay.start()
    back = setup.home(
        "until", "/api/health", setup.token, "plugins.relay.detail.state", "connected", 30
    )
    assert "body" in back, back
    [relay] = [p for p in back["body"]["plugins"] if p["domain"] == "relay"]
    assert relay["detail"]["last_error"] is not None  # why it was down, kept for the owner
    assert relay["detail"]["connections"] >= before["connections"]  # counted since start
    assert setup.phone("get", "/api/health", None)["status"] == 200
    ledger = setup.home("get", "/api/privacy", setup.token)["body"]["ledger"]["entries"]
    rows = [r for r in ledger if r["plugin"] == "relay"]
    assert all(r["host"] == "relay.test" and r["allowed"] for r in rows)
    where = f"{relay_ns.RELAY_ADDRESS}:{relay_ns.SSH_PORT}"
    assert [r["detail"] for r in rows if r["detail"].endswith("connected")][:2] == [
        f"TCP {where} connected"
    ] * 2
    [closed] = [r for r in rows if "closed" in r["detail"]]
    assert closed["detail"].startswith(f"TCP {where} closed after ")
    # what the box sent (the streams) and received (requests, keepalive answers)
    assert closed["bytes_out"] > setup.song.stat().st_size and closed["bytes_in"] > 0


def test_a_box_pinned_to_another_host_key_refuses_the_relay_and_says_why(
    setup: Setup, tmp_path: Path
) -> None:
    wrong = relay_ns.host_key_pair(tmp_path, "wrong")
    data = tmp_path / "data"
    token = asyncio.run(make_owner(data))
    config = write_config(
        tmp_path / "config",
        f"hearth:\n  data_dir: {data}\n  http: {{host: 127.0.0.1, port: 18480, https_port: 0}}\n"
        "  network: {mdns: false}\n  egress: {relay: [relay.test]}\n" + relay_block(wrong),
    )
    box = Box(setup.spaces, config)
    box.start()
    try:
        spec = {
            "step": "until",
            "args": ["/api/health", token, "plugins.relay.detail.state", "refused", 30],
            "base": "http://127.0.0.1:18480",
        }
        found = visit(setup.spaces.prefix(setup.spaces.home), spec)
    finally:
        log = box.stop()
    assert "body" in found, (found, log)
    [relay] = [p for p in found["body"]["plugins"] if p["domain"] == "relay"]
    pinned = relay["detail"]["relay_key"]
    offered = setup.relay_detail()["relay_key"]  # what the well-configured box pinned
    assert relay["detail"]["last_error"] == (
        f"the relay showed host key {offered}, not the pinned {pinned}; check relay: host_key "
        "with the relay's operator (a different key is never accepted)"
    )
    assert "The relay refused this box" in log
