"""TLS-ALPN-01 (RFC 8737): the certificate the box shows a CA that asks "is this name yours?".

The CA connects to the public name on port 443 (the relay, which passes the connection down the
tunnel still encrypted) with SNI = the name and ALPN `acme-tls/1` only. The box answers with a
self-signed certificate for that name carrying, in the critical `id-pe-acmeIdentifier`
extension, the SHA-256 of the challenge's key authorization: only the holder of the ACME
account key can make it, and only the box's HTTPS server presents it, so the relay never holds
a key. PyPI `acme` no longer makes this certificate, so it is built here with `cryptography`.
Only a client whose ClientHello offers exactly `acme-tls/1` is shown it (asks_for_validation,
read from the bytes the relay passes down the tunnel before TLS starts): a phone asking for
the name during the check gets the usual certificate.
Also the server context for a certificate the CA issued. It never contacts anything and keeps
the validation key only in the context (its files are removed once loaded).
"""

from __future__ import annotations

import datetime
import hashlib
import os
import ssl
import tempfile
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID, ObjectIdentifier

from core.plugin_api import Certificate, server_context_blocking

ACME_TLS_ALPN = "acme-tls/1"
ACME_IDENTIFIER = ObjectIdentifier("1.3.6.1.5.5.7.1.31")  # id-pe-acmeIdentifier
_DER_OCTET_STRING, _SHA256_SIZE = 0x04, 32
_HANDSHAKE, _CLIENT_HELLO, _ALPN_EXTENSION = 0x16, 0x01, 16


def acme_identifier_value(key_authorization: str) -> bytes:
    """The extension's value: SHA-256 of the key authorization as a DER OCTET STRING."""
    digest = hashlib.sha256(key_authorization.encode("ascii")).digest()
    return bytes([_DER_OCTET_STRING, _SHA256_SIZE]) + digest


def validation_certificate_blocking(name: str, key_authorization: str) -> tuple[bytes, bytes]:
    """(certificate PEM, key PEM): self-signed for `name` with the critical acmeIdentifier."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    extension = x509.UnrecognizedExtension(
        ACME_IDENTIFIER, acme_identifier_value(key_authorization)
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=7))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(extension, critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def validation_context_blocking(name: str, key_authorization: str, scratch: Path) -> ssl.SSLContext:
    """A server context that shows the validation certificate and speaks only `acme-tls/1`.
    `scratch` is a private folder: Python loads keys only from files, removed at once."""
    cert_pem, key_pem = validation_certificate_blocking(name, key_authorization)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols([ACME_TLS_ALPN])
    with tempfile.TemporaryDirectory(dir=scratch) as folder:
        cert_path, key_path = Path(folder) / "validation.pem", Path(folder) / "validation.key"
        cert_path.write_bytes(cert_pem)
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as file:
            file.write(key_pem)
        context.load_cert_chain(cert_path, key_path)
    return context


def issued_context_blocking(fullchain: Path, key: Path) -> ssl.SSLContext:
    """The server context for the certificate the CA issued: the same settings as the box's
    own (core.http.tls), so a client sees no difference but the certificate."""
    described = Certificate(fullchain, key, "", "", "acme")
    return server_context_blocking(described)


def asks_for_validation(hello: bytes) -> bool:
    """Whether a TLS ClientHello record (its first bytes, as peeked) offers exactly ALPN
    `acme-tls/1`: what a CA checking TLS-ALPN-01 sends (RFC 8737 section 3), and no browser
    or app does. Only such a client is shown the validation certificate, so during the check
    a phone asking for the name still gets the usual one. False for anything it cannot read."""
    return _offered_alpn(hello) == (ACME_TLS_ALPN.encode(),)


def _offered_alpn(hello: bytes) -> tuple[bytes, ...] | None:
    """The ALPN names in the ClientHello at the start of `hello`, or None."""
    try:
        if hello[0] != _HANDSHAKE or hello[5] != _CLIENT_HELLO:
            return None
        end = 5 + int.from_bytes(hello[3:5], "big")
        at = 5 + 4 + 2 + 32  # record header, handshake header, version, random
        at += 1 + hello[at]  # session id
        at += 2 + int.from_bytes(hello[at : at + 2], "big")  # cipher suites
        at += 1 + hello[at]  # compression methods
        extensions_end = min(end, at + 2 + int.from_bytes(hello[at : at + 2], "big"))
        at += 2
        while at + 4 <= extensions_end:
            kind = int.from_bytes(hello[at : at + 2], "big")
            size = int.from_bytes(hello[at + 2 : at + 4], "big")
            at += 4
            if kind == _ALPN_EXTENSION:
                names, cursor, stop = [], at + 2, at + 2 + int.from_bytes(hello[at : at + 2], "big")
                while cursor < stop:
                    length = hello[cursor]
                    names.append(bytes(hello[cursor + 1 : cursor + 1 + length]))
                    cursor += 1 + length
                return tuple(names) if stop <= at + size else None
            at += size
    except IndexError:
        return None
    return ()
