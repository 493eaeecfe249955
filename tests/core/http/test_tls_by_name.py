"""Another certificate for one name (SNI): how the relay's ACME certificate and its TLS-ALPN-01
validation certificate are shown by the box's own HTTPS server, and only to that name.

Python's ssl lets the SNI callback switch the connection to another context before OpenSSL
picks the certificate and negotiates ALPN; these tests hold it to that on a real server."""

from __future__ import annotations

import asyncio
import datetime
import ssl
from pathlib import Path

import aiohttp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from plugins.relay.tls_alpn import ACME_IDENTIFIER, issued_context_blocking
from plugins.relay.tls_alpn import validation_context_blocking as validation
from tests.conftest import StartServer

NAME = "smith.relay.example.net"


async def handshake(port: int, name: str, alpn: list[str] | None) -> tuple[x509.Certificate, str]:
    """(the certificate shown, the ALPN protocol agreed or '') for a client naming `name`."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    if alpn:
        context.set_alpn_protocols(alpn)
    _, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context, server_hostname=name)
    try:
        tls = writer.get_extra_info("ssl_object")
        der = tls.getpeercert(binary_form=True)
        agreed = tls.selected_alpn_protocol() or ""
    finally:
        writer.close()
        await writer.wait_closed()
    return x509.load_der_x509_certificate(der), agreed


def issued_pair(folder: Path, name: str) -> tuple[Path, Path, x509.Certificate]:
    """A certificate for `name` standing in for one a CA issued (self-signed: the client
    trusts it as its own root), and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    chain, key_path = folder / "issued.pem", folder / "issued.key"
    chain.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return chain, key_path, cert


async def test_a_name_gets_its_own_certificate_and_every_other_name_the_boxs(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = await start_server()
    https = server.hub.https
    port = https.port
    chain, key, issued = issued_pair(tmp_path, NAME)
    own_before, _ = await handshake(port, NAME, None)

    https.serve_name(NAME.upper(), issued_context_blocking(chain, key))  # names ignore case
    shown, _ = await handshake(port, NAME, ["http/1.1"])
    other, _ = await handshake(port, "hearth.local", None)
    # a client that reaches the API by that name gets it with the issued certificate
    connector = aiohttp.TCPConnector(ssl=ssl.create_default_context(cafile=str(chain)))
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        session.get(f"https://127.0.0.1:{port}/api/health", server_hostname=NAME) as response,
    ):
        assert response.status == 200
    https.serve_name(NAME, None)
    after, _ = await handshake(port, NAME, None)

    assert shown == issued
    assert other == own_before != issued
    assert after == own_before


async def test_the_validation_certificate_goes_with_alpn_acme_tls_1(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = await start_server()
    https = server.hub.https
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    https.serve_name(NAME, validation(NAME, "token.thumbprint", scratch))

    shown, agreed = await handshake(https.port, NAME, ["acme-tls/1"])
    other, other_agreed = await handshake(https.port, "hearth.local", ["acme-tls/1"])

    assert agreed == "acme-tls/1"  # negotiated by the context switched to
    assert shown.extensions.get_extension_for_oid(ACME_IDENTIFIER).critical
    assert other_agreed == ""  # the box's own context speaks no acme-tls/1
    assert other.subject != shown.subject
    assert list(scratch.iterdir()) == []  # the validation key's file was removed once loaded
