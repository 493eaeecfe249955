"""The relay's ACME keys and certificate, kept in `data_dir/plugins/relay/acme`.

The account key (EC P-256) is made once, with O_EXCL, and kept: the CA ties the account to it.
Each certificate gets a fresh key (EC P-256) and a CSR for the public name; the chain the CA
issued is checked (for that name, matching that key, loadable) before it and its key replace
the kept pair, so a bad answer never costs the certificate being served. Every file is 0600 in
a 0700 folder. Functions here block (files, key generation) and are called through
run_blocking. It never sends anything anywhere.
"""

from __future__ import annotations

import os
import ssl
import time
from dataclasses import dataclass
from pathlib import Path

from josepy.jwk import JWKEC

from core.plugin_api import TlsError, write_atomically_blocking
from plugins.relay.tls_alpn import issued_context_blocking

RENEW_FRACTION = 2 / 3
ACCOUNT_KEY = "account.key"


@dataclass(frozen=True, slots=True)
class Held:
    """A certificate the CA issued, loaded and ready to present."""

    context: ssl.SSLContext
    issuer: str
    not_before: float  # seconds since the epoch
    not_after: float

    @property
    def renews_at(self) -> float:
        return self.not_before + (self.not_after - self.not_before) * RENEW_FRACTION


def _paths(folder: Path, name: str) -> tuple[Path, Path]:
    return folder / f"{name}.pem", folder / f"{name}.key"


def account_key_blocking(folder: Path) -> JWKEC:
    """The ACME account's key (EC P-256), made once; a josepy JWK for signing."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / ACCOUNT_KEY
    if not path.exists():
        pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        try:  # O_EXCL: a key another start made first is kept (the account is tied to it)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as file:
                file.write(pem)
                file.flush()
                os.fsync(file.fileno())
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{path}: not an EC key")
    return JWKEC(key=key)


def key_and_csr_blocking(name: str) -> tuple[bytes, bytes]:
    """A fresh certificate key (EC P-256, PEM) and a CSR for `name` signed by it."""
    from acme.crypto_util import make_csr
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key_pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return key_pem, make_csr(key_pem, [name])


def trust_blocking(bundle: Path) -> ssl.SSLContext:
    """A client context that trusts only the owner's CA bundle (for the ACME directory)."""
    return ssl.create_default_context(cafile=str(bundle))


def store_blocking(folder: Path, name: str, key_pem: bytes, chain: bytes) -> Held:
    """Check the chain is for `name` and `key_pem`, then keep both (0600) and load them."""
    cert_path, key_path = _paths(folder, name)
    new_cert, new_key = (
        cert_path.with_name(cert_path.name + ".new"),
        key_path.with_name(key_path.name + ".new"),
    )
    write_atomically_blocking(new_key, key_pem, 0o600)
    write_atomically_blocking(new_cert, chain, 0o600)
    held = _held_blocking(new_cert, new_key, name)  # raises before the old pair is replaced
    os.replace(new_key, key_path)
    os.replace(new_cert, cert_path)
    return held


def load_blocking(folder: Path, name: str) -> Held | None:
    """The stored certificate for `name`, if there is one still in date."""
    cert_path, key_path = _paths(folder, name)
    if not cert_path.is_file() or not key_path.is_file():
        return None
    try:
        held = _held_blocking(cert_path, key_path, name)
    except (OSError, ValueError, ssl.SSLError, TlsError):
        return None  # another will be ordered
    return held if held.not_after > time.time() else None


def _held_blocking(cert_path: Path, key_path: Path, name: str) -> Held:
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    leaf = x509.load_pem_x509_certificates(cert_path.read_bytes())[0]
    try:
        names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        names = x509.SubjectAlternativeName([])
    if name not in names.get_values_for_type(x509.DNSName):
        raise ValueError(f"{cert_path}: not a certificate for {name}")
    issuers = leaf.issuer.get_attributes_for_oid(NameOID.COMMON_NAME)
    context = issued_context_blocking(cert_path, key_path)  # also checks the key matches
    return Held(
        context,
        str(issuers[0].value) if issuers else leaf.issuer.rfc4514_string(),
        leaf.not_valid_before_utc.timestamp(),
        leaf.not_valid_after_utc.timestamp(),
    )
