"""HTTPS on its own port: a certificate made once on first start, or the owner's own.

The made certificate is self-signed (ECDSA P-256, ten years) for the box's names and addresses
and kept under `data_dir/tls/` with its key readable by the server's user only. It is never
remade while it is readable and unexpired, so a phone that pinned its SHA-256 fingerprint (shown
by `hearth hw` and /api/health) keeps trusting the box. A plugin may have another certificate
presented to clients that ask for one name by SNI (the relay's public name, with a certificate
the relay plugin got by ACME). It never contacts a certificate authority itself and never writes
to the owner's own certificate files.
"""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import ipaddress
import json
import logging
import os
import socket
import ssl
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from core.configuration.core_schema import HearthConfig, TlsConfig
from core.http.server import HttpServer

_LOGGER = logging.getLogger("hearth.tls")
TLS_DIR = "tls"
CERT_FILE = "certificate.pem"
KEY_FILE = "key.pem"
VALID_DAYS = 3650
FIXED_NAMES = ("hearth.local", "localhost")


class TlsError(Exception):
    """A certificate or key that cannot be used; the message says which file and why."""


@dataclass(frozen=True, slots=True)
class Certificate:
    """The certificate the HTTPS port presents, and what clients may pin."""

    certificate: Path
    key: Path
    fingerprint_sha256: str
    not_after: str  # ISO 8601, UTC
    source: str  # "generated" or "provided"


def fingerprint(der: bytes) -> str:
    """`AB:CD:…`: the SHA-256 of the DER certificate, as browsers and `openssl x509` show it."""
    return ":".join(f"{byte:02X}" for byte in hashlib.sha256(der).digest())


def box_names_and_addresses() -> tuple[list[str], list[str]]:
    """DNS names and IP addresses a client on the home network may use to reach this box."""
    host = socket.gethostname().strip().rstrip(".")
    names = list(FIXED_NAMES)
    if host and host.isascii():
        names += [host, host.split(".")[0] + ".local"]
    addresses = ["127.0.0.1", "::1"]
    for entries in psutil.net_if_addrs().values():
        for entry in entries:
            if entry.family not in (socket.AF_INET, socket.AF_INET6):
                continue
            try:
                address = ipaddress.ip_address(entry.address.split("%")[0])
            except ValueError:
                continue
            if not address.is_link_local:  # fe80:: needs a scope, which a certificate cannot hold
                addresses.append(str(address))
    return sorted(set(names)), sorted(set(addresses))


def _describe_blocking(cert_path: Path, key_path: Path, source: str) -> Certificate:
    try:
        pem = cert_path.read_bytes()
        der = ssl.PEM_cert_to_DER_cert(pem.decode("ascii", "replace"))
        not_after = not_after_of(der)
    except (OSError, ValueError) as err:
        raise TlsError(f"{cert_path}: not a readable PEM certificate ({err})") from err
    return Certificate(cert_path, key_path, fingerprint(der), not_after, source)


def _der_element(der: bytes, at: int) -> tuple[int, int, int]:
    """(tag, where its content starts, where it ends) of the DER element at `at`."""
    if at + 2 > len(der):
        raise ValueError("the certificate is cut short")
    tag, length, at = der[at], der[at + 1], at + 2
    if length & 0x80:  # long form: the next (length & 0x7F) bytes hold the length
        count = length & 0x7F
        length, at = int.from_bytes(der[at : at + count], "big"), at + count
    if at + length > len(der):
        raise ValueError("the certificate is cut short")
    return tag, at, at + length


def not_after_of(der: bytes) -> str:
    """A DER certificate's notAfter as ISO 8601 UTC (RFC 5280 4.1: tbsCertificate's version,
    serial, signature and issuer, then validity). Read here rather than with cryptography's
    x509, which costs ~8 MB of memory at every start for this one date."""
    _, tbs, _ = _der_element(der, 0)  # Certificate
    _, at, _ = _der_element(der, tbs)  # tbsCertificate: `at` is its first field
    if _der_element(der, at)[0] == 0xA0:  # [0] version, absent from v1 certificates
        at = _der_element(der, at)[2]
    for _ in range(3):  # serialNumber, signature, issuer
        at = _der_element(der, at)[2]
    tag, validity, _ = _der_element(der, at)
    if tag != 0x30:
        raise ValueError("no validity in the certificate")
    tag, start, end = _der_element(der, _der_element(der, validity)[2])
    text = der[start:end].decode("ascii")
    if tag == 0x17 and len(text) == 13:  # UTCTime YYMMDDHHMMSSZ: 50-99 are 1950-1999
        text = ("19" if text[:2] >= "50" else "20") + text
    elif tag != 0x18 or len(text) != 15:  # GeneralizedTime YYYYMMDDHHMMSSZ
        raise ValueError("the certificate's end date is not a time")
    return f"{text[:4]}-{text[4:6]}-{text[6:8]}T{text[8:10]}:{text[10:12]}:{text[12:14]}Z"


def generate_blocking(folder: Path, names: list[str], addresses: list[str]) -> Certificate:
    """Make a self-signed certificate and key in `folder` (key mode 0600, folder 0700)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, names[0] if names else "hearth.local"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Hearth home media server"),
        ]
    )
    alt_names: list[x509.GeneralName] = [x509.DNSName(n) for n in names]
    alt_names += [x509.IPAddress(ipaddress.ip_address(a)) for a in addresses]
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))  # a client clock a little behind
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    key_path, cert_path = folder / KEY_FILE, folder / CERT_FILE
    write_atomically_blocking(key_path, key_pem, 0o600)
    write_atomically_blocking(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return _describe_blocking(cert_path, key_path, "generated")


# generate_blocking run by a child Python: see generate_in_child_blocking
_CHILD = (
    "import json, sys; from pathlib import Path; from core.http.tls import generate_blocking; "
    "generate_blocking(Path(sys.argv[1]), json.loads(sys.argv[2]), json.loads(sys.argv[3]))"
)


def generate_in_child_blocking(folder: Path, names: list[str], addresses: list[str]) -> Certificate:
    """`generate_blocking` in a short-lived process: cryptography's x509 is needed once in ten
    years, and loaded into the server it would stay there (~8 MB) for as long as it runs."""
    arguments = [str(folder), json.dumps(names), json.dumps(addresses)]
    try:
        subprocess.run(
            [sys.executable, "-c", _CHILD, *arguments],
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        )
    except subprocess.CalledProcessError as err:
        last = (err.stderr or "").strip().splitlines()[-1:] or [f"exit status {err.returncode}"]
        raise TlsError(f"cannot make a certificate in {folder}: {last[0]}") from err
    except OSError as err:
        # the interpreter cannot be started again by this user (its path under a folder only
        # the user who installed it may enter): make it here, and carry the 8 MB until restart
        _LOGGER.info("Making the certificate in the server itself: %s", err)
        return generate_blocking(folder, names, addresses)
    except subprocess.TimeoutExpired as err:
        raise TlsError(f"cannot make a certificate in {folder}: {err}") from err
    return _describe_blocking(folder / CERT_FILE, folder / KEY_FILE, "generated")


def write_atomically_blocking(path: Path, data: bytes, mode: int) -> None:
    """Replace `path` with `data` (created with `mode`): a reader sees the old file or the new."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.unlink(missing_ok=True)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)


def certificate_blocking(settings: TlsConfig, data_dir: Path, create: bool = True) -> Certificate:
    """The owner's certificate, else the made one (made now when missing, unreadable or
    expired, if `create`). Raises TlsError when there is none to use."""
    if settings.certificate is not None and settings.key is not None:
        return _describe_blocking(settings.certificate, settings.key, "provided")
    folder = data_dir / TLS_DIR
    cert_path, key_path = folder / CERT_FILE, folder / KEY_FILE
    replacing = cert_path.is_file() and key_path.is_file()
    if replacing:
        try:
            existing = _describe_blocking(cert_path, key_path, "generated")
        except TlsError as err:
            _LOGGER.warning("Making a new certificate: %s", err)
        else:
            now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            if existing.not_after > now or not create:
                return existing
            _LOGGER.warning("The certificate expired on %s; making a new one", existing.not_after)
    if not create:
        raise TlsError("no certificate yet; the server makes one when it first starts")
    names, addresses = box_names_and_addresses()
    made = generate_in_child_blocking(folder, names, addresses)
    _LOGGER.log(
        logging.WARNING if replacing else logging.INFO,
        "Made a new HTTPS certificate; clients that pin it should trust SHA-256 %s",
        made.fingerprint_sha256,
    )
    return made


def server_context_blocking(cert: Certificate) -> ssl.SSLContext:
    """A server-side context for `cert`: TLS 1.2 or newer, Python's default ciphers."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert.certificate, cert.key)
    except (OSError, ssl.SSLError) as err:
        raise TlsError(f"{cert.certificate} with {cert.key}: cannot be used ({err})") from err
    return context


def describe_blocking(hearth: HearthConfig) -> dict[str, Any]:
    """What `hearth hw` prints: never makes a certificate."""
    if not hearth.tls.enabled:
        return {"enabled": False}
    try:
        cert = certificate_blocking(hearth.tls, hearth.data_dir, create=False)
    except TlsError as err:
        return {"enabled": True, "error": str(err)}
    return {"enabled": True, **_public(cert), "certificate": str(cert.certificate)}


def _public(cert: Certificate) -> dict[str, Any]:
    return {
        "fingerprint_sha256": cert.fingerprint_sha256,
        "not_after": cert.not_after,
        "source": cert.source,
    }


class HttpsEndpoint:
    """The HTTPS port of the one application; a certificate problem leaves plain HTTP up."""

    def __init__(self, hearth: HearthConfig) -> None:
        self._hearth = hearth
        self.certificate: Certificate | None = None
        self.context: ssl.SSLContext | None = None  # also serves tunnels (PluginContext)
        self.port = 0
        self.error: str | None = None
        self._by_name: dict[str, ssl.SSLContext] = {}

    async def start(self, server: HttpServer) -> None:
        """Find or make the certificate (in the executor) and listen; errors are logged once."""
        settings = self._hearth.tls
        if not settings.enabled:
            return
        loop = asyncio.get_running_loop()
        try:
            cert = await loop.run_in_executor(
                None, certificate_blocking, settings, self._hearth.data_dir
            )
            context = await loop.run_in_executor(None, server_context_blocking, cert)
            http = self._hearth.http
            self.port = await server.add_tls_site(http.host, http.https_port, context)
        except (TlsError, OSError) as err:
            self.error = str(err)
            _LOGGER.error("HTTPS is off: %s", err)
            return
        context.sni_callback = self._pick_by_name
        self.certificate, self.context = cert, context
        _LOGGER.info("HTTPS on port %d; certificate SHA-256 %s", self.port, cert.fingerprint_sha256)

    def serve_name(self, name: str, context: ssl.SSLContext | None) -> None:
        """Clients that ask for `name` by SNI get `context` (its certificate, its ALPN) instead
        of the box's own; None gives them the box's own again. Takes effect for the next
        handshake, on every site that uses `self.context` (the port and the relay's tunnel)."""
        if context is None:
            self._by_name.pop(name.lower(), None)
        else:
            self._by_name[name.lower()] = context

    def _pick_by_name(
        self, connection: ssl.SSLObject | ssl.SSLSocket, name: str | None, _: ssl.SSLContext
    ) -> None:
        # OpenSSL calls this before it picks the certificate and negotiates ALPN, and both are
        # then taken from the context switched to (tests/core/http/test_tls_by_name.py)
        chosen = self._by_name.get(name.lower()) if name else None
        if chosen is not None:
            connection.context = chosen

    def redirect_port(self) -> int | None:
        """Where plain HTTP from outside the home goes, when the owner asked for that."""
        if self._hearth.http.redirect_non_lan and self.certificate is not None:
            return self.port
        return None

    @property
    def failed(self) -> bool:
        return self.error is not None

    def health(self) -> dict[str, Any]:
        """The `tls` section of /api/health: what a client needs to pin the certificate."""
        if not self._hearth.tls.enabled:
            return {"enabled": False}
        if self.certificate is None:
            return {
                "enabled": True,
                "state": "failed" if self.error else "starting",
                "error": self.error,
            }
        return {"enabled": True, "state": "serving", "port": self.port, **_public(self.certificate)}
