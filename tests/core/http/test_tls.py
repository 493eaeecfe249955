"""HTTPS on its own port: a certificate made once and pinned by fingerprint, the owner's own
certificate, turning HTTPS off, and sending outside visitors from HTTP to HTTPS."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import hashlib
import ipaddress
import json
import socket
import ssl
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from core.cli import main
from core.configuration import load_configuration
from core.errors import ConfigError
from core.http.tls import fingerprint
from core.hub import Hub
from tests.conftest import RunningServer, StartServer, core_yaml, make_user, write_config


def unverified_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


async def peer_certificate(port: int, context: ssl.SSLContext, hostname: str | None) -> bytes:
    """The DER certificate the server presents after a full handshake."""
    _, writer = await asyncio.open_connection(
        "127.0.0.1", port, ssl=context, server_hostname=hostname
    )
    try:
        der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
    finally:
        writer.close()
        await writer.wait_closed()
    assert isinstance(der, bytes)
    return der


@contextlib.asynccontextmanager
async def hub_with(tmp_path: Path, hearth_lines: str) -> AsyncIterator[Hub]:
    """A started hub whose `hearth:` section has these extra lines (two-space indented)."""
    yaml_text = core_yaml(tmp_path / "data") + hearth_lines
    hub = Hub(load_configuration(write_config(tmp_path / "config", yaml_text)))
    await hub.start()
    try:
        yield hub
    finally:
        await hub.stop()


async def tls_health(server: RunningServer) -> dict[str, Any]:
    health = await server.get_json("/api/health")
    tls = health["tls"]
    assert isinstance(tls, dict)
    return tls


async def test_the_made_certificate_is_the_one_served_and_pinnable(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = await start_server()
    tls = await tls_health(server)
    assert tls["state"] == "serving" and tls["source"] == "generated"
    assert tls["port"] == server.hub.https.port != server.hub.port
    # pinning: no CA checks at all, only the fingerprint the server advertised
    der = await peer_certificate(tls["port"], unverified_context(), None)
    assert fingerprint(der) == tls["fingerprint_sha256"]
    assert hashlib.sha256(der).hexdigest().upper() == tls["fingerprint_sha256"].replace(":", "")
    # trusting the certificate itself as the CA, with host-name checks on
    pem = (tmp_path / "data/tls/certificate.pem").read_text()
    trusting = ssl.create_default_context(cadata=pem)
    assert await peer_certificate(tls["port"], trusting, "localhost") == der
    assert await peer_certificate(tls["port"], trusting, "hearth.local") == der
    with pytest.raises(ssl.SSLCertVerificationError):
        await peer_certificate(tls["port"], ssl.create_default_context(), "localhost")


async def test_the_made_certificate_names_the_box_and_its_key_is_private(
    start_server: StartServer, tmp_path: Path
) -> None:
    await start_server()
    folder = tmp_path / "data/tls"
    assert stat.S_IMODE((folder / "key.pem").stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    cert = x509.load_pem_x509_certificate((folder / "certificate.pem").read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    dns = set(names.get_values_for_type(x509.DNSName))
    ips = {str(a) for a in names.get_values_for_type(x509.IPAddress)}
    host = socket.gethostname()
    assert {"hearth.local", "localhost", host, host.split(".")[0] + ".local"} <= dns
    assert {"127.0.0.1", "::1"} <= ips
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert datetime.timedelta(days=3650) <= lifetime <= datetime.timedelta(days=3652)
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False


async def test_the_certificate_survives_a_restart_unchanged(
    start_server: StartServer, tmp_path: Path
) -> None:
    first = await start_server()
    advertised = (await tls_health(first))["fingerprint_sha256"]
    folder = tmp_path / "data/tls"
    before = {f.name: (f.read_bytes(), f.stat().st_mtime_ns) for f in folder.iterdir()}
    await first.hub.stop()
    hub = Hub(load_configuration(tmp_path / "config0"))
    await hub.start()
    try:
        assert hub.health()["tls"]["fingerprint_sha256"] == advertised
        der = await peer_certificate(hub.https.port, unverified_context(), None)
        assert fingerprint(der) == advertised
    finally:
        await hub.stop()
    after = {f.name: (f.read_bytes(), f.stat().st_mtime_ns) for f in folder.iterdir()}
    assert after == before  # not rewritten, not even with the same bytes


def write_own_certificate(folder: Path) -> tuple[Path, Path, str]:
    """An RSA certificate such as an owner might bring from their own CA."""
    folder.mkdir(parents=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "media.home.arpa")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=90))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("media.home.arpa"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "fullchain.pem", folder / "privkey.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path, fingerprint(cert.public_bytes(serialization.Encoding.DER))


async def test_an_owners_own_certificate_is_served(tmp_path: Path) -> None:
    cert_path, key_path, expected = write_own_certificate(tmp_path / "own")
    async with hub_with(tmp_path, f"  tls: {{certificate: {cert_path}, key: {key_path}}}\n") as hub:
        tls = hub.health()["tls"]
        assert tls["source"] == "provided" and tls["fingerprint_sha256"] == expected
        trusting = ssl.create_default_context(cadata=cert_path.read_text())
        der = await peer_certificate(tls["port"], trusting, "media.home.arpa")
        assert fingerprint(der) == expected
    assert not (tmp_path / "data/tls").exists()  # nothing was made


@pytest.mark.allow_errors
async def test_an_unusable_certificate_leaves_plain_http_up_and_says_why(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cert_path, _, _ = write_own_certificate(tmp_path / "own")
    other_key, _, _ = write_own_certificate(tmp_path / "other")  # a certificate is not a key
    async with hub_with(
        tmp_path, f"  tls: {{certificate: {cert_path}, key: {other_key}}}\n"
    ) as hub:
        url = f"http://127.0.0.1:{hub.port}/api/health"
        owner = {"Authorization": f"Bearer {await make_user(hub, 'owner', 'owner')}"}
        async with aiohttp.ClientSession(headers=owner) as client, client.get(url) as reply:
            health = await reply.json()
    assert health["status"] == "degraded"
    tls = health["tls"]
    assert tls["enabled"] is True and tls["state"] == "failed"
    assert str(cert_path) in tls["error"]
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert errors == [f"HTTPS is off: {tls['error']}"]


async def test_https_can_be_turned_off(tmp_path: Path) -> None:
    async with hub_with(tmp_path, "  tls: {enabled: false}\n") as hub:
        assert hub.health()["tls"] == {"enabled": False}
        assert hub.https.port == 0
    assert not (tmp_path / "data/tls").exists()


def test_a_certificate_without_its_key_is_a_config_error(tmp_path: Path) -> None:
    yaml_text = core_yaml(tmp_path / "data") + "  tls: {certificate: /etc/c.pem}\n"
    folder = write_config(tmp_path / "config", yaml_text)
    with pytest.raises(ConfigError) as caught:
        load_configuration(folder)
    assert caught.value.problems == [
        "configuration.yaml:5: hearth -> tls -> key: needed with 'certificate' (give both, or "
        "neither for a made certificate)"
    ]


async def test_hearth_hw_shows_the_fingerprint_to_pin(
    start_server: StartServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = await start_server()
    await server.hub.machine.wait()  # the hardware report is cached: `hw` runs no test encodes
    advertised = (await tls_health(server))["fingerprint_sha256"]
    config = str(tmp_path / "config0")
    assert await asyncio.to_thread(main, ["hw", "-c", config]) == 0
    assert f"HTTPS:    certificate SHA-256 {advertised} (generated" in capsys.readouterr().out
    assert await asyncio.to_thread(main, ["hw", "-c", config, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["tls"]["fingerprint_sha256"] == advertised
    assert report["tls"]["certificate"] == str(tmp_path / "data/tls/certificate.pem")


async def test_hsts_only_on_https_answers(start_server: StartServer, tmp_path: Path) -> None:
    server = await start_server()
    pem = (tmp_path / "data/tls/certificate.pem").read_text()
    trusting = ssl.create_default_context(cadata=pem)
    https = f"https://127.0.0.1:{server.hub.https.port}/api/auth/me"
    async with server.session.get(https, ssl=trusting, server_hostname="localhost") as reply:
        assert reply.status == 200
        assert reply.headers["Strict-Transport-Security"] == "max-age=86400"
    async with server.session.get(server.url + "/api/auth/me") as reply:
        assert reply.status == 200
        assert "Strict-Transport-Security" not in reply.headers


async def test_an_https_client_that_checks_nothing_still_gets_headers_and_json(
    start_server: StartServer,
) -> None:
    server = await start_server()
    url = f"https://127.0.0.1:{server.hub.https.port}/api/nothing"
    async with aiohttp.ClientSession() as anonymous, anonymous.get(url, ssl=False) as reply:
        assert reply.status == 404
        assert (await reply.json())["error"]["code"] == "not_found"
        assert reply.headers["X-Frame-Options"] == "DENY"
