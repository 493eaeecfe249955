"""The certificate phones trust for the box's public name: got by ACME, kept at home, renewed.

Once the relay link is up, the box orders a certificate for `NAME.DOMAIN` from the configured
ACME directory (acme_client.py) and proves the name by TLS-ALPN-01: the CA connects to the
name, the relay passes the still-encrypted connection down the tunnel, and the box's own HTTPS
server shows the validation certificate (tls_alpn.py) to that ClientHello only while the CA
checks. The issued certificate is then presented to every client that asks for the public name
(SNI); everything else keeps the box's own certificate. The account key, the certificate's key
and the chain stay in the plugin's data folder (0600). Renewal starts at two thirds of the
lifetime; a failed attempt is retried with backoff and jitter (1 min -> 6 h), and until a
certificate is held (or once it expired) the box's own certificate is shown, whose SHA-256
phones can pin. Nothing is tried when the owner has not enabled the directory's host under
`hearth: egress: relay:`; the status says so. It never sends a key anywhere and never touches
the relay.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import os
import random
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from josepy.jwk import JWKEC

from core.egress import EgressError, PluginEgress
from core.http.tls import TlsError, write_atomically_blocking
from plugins.relay.acme_client import AcmeClient, AcmeError
from plugins.relay.config import RelayConfig
from plugins.relay.tls_alpn import issued_context_blocking, validation_context_blocking

T = TypeVar("T")
RENEW_FRACTION = 2 / 3
FIRST_RETRY, MAX_RETRY = 60.0, 6 * 3600.0
LONGEST_NAP = 3600.0  # wake at least hourly: a suspended box or a stepped clock is noticed
ACCOUNT_KEY = "account.key"
PURPOSE = "remote access: the certificate for the public name (ACME)"
FAILURES = (AcmeError, EgressError, TlsError, OSError, ssl.SSLError, ValueError, TimeoutError)


class BlockingRunner(Protocol):
    """`PluginContext.run_blocking`."""

    def __call__(self, func: Callable[..., T], *args: Any) -> Awaitable[T]: ...


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


def iso(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    moment = datetime.datetime.fromtimestamp(seconds, datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class PublicCertificate:
    """Keeps a CA-issued certificate for the public name presented, or says why not."""

    def __init__(
        self,
        config: RelayConfig,
        folder: Path,
        egress: PluginEgress,
        present: Callable[[ssl.SSLContext | None], None],
        run_blocking: BlockingRunner,
        logger: logging.Logger,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._config = config
        self.name = config.public_name
        self._folder = folder
        self._egress = egress
        self._present = present
        self._run_blocking = run_blocking
        self._logger = logger
        self._clock = clock
        self._sleep = sleep
        self.changed: Callable[[], None] = lambda: None
        self.held: Held | None = None
        self.state = "waiting"
        self.last_error: str | None = None
        self.next_attempt: float | None = None
        self._failures = 0

    def status(self) -> dict[str, Any]:
        """The `certificate` part of the relay's health: which certificate the name shows."""
        held = self.held
        return {
            "source": "acme" if held else "own",
            "state": self.state,
            "name": self.name,
            "directory": self._config.acme_directory,
            "issuer": held.issuer if held else None,
            "not_after": iso(held.not_after) if held else None,
            "renews_at": iso(held.renews_at) if held else None,
            "next_attempt": iso(self.next_attempt),
            "last_error": self.last_error,
        }

    def consented(self) -> bool:
        """Whether the owner enabled the directory's host; if not, says so (once) and stays off."""
        host = self._config.acme_host
        if host in self._egress.enabled_hosts():
            return True
        self.state = "off"
        self.last_error = (
            f"{host} is not enabled: add it under hearth: egress: relay: "
            f"[{self._config.server}, {host}] for a certificate phones trust; until then "
            "the box shows its own certificate, which phones must pin"
        )
        self._logger.warning("No certificate for %s: %s", self.name, self.last_error)
        self.changed()
        return False

    async def run(self, link_up: asyncio.Event) -> None:
        """Present a stored certificate, then get and renew one for as long as the plugin runs."""
        self.held = await self._run_blocking(load_blocking, self._folder, self.name)
        if self.held is not None:
            self._present(self.held.context)
            self._set("valid")
        while True:
            await self._sleep_until(self.held.renews_at if self.held else self._clock())
            if not link_up.is_set():  # the CA reaches the box only through the relay
                self._set("waiting")
                await link_up.wait()
            self._set("requesting")
            began = time.monotonic()
            try:
                held = await self._obtain()
            except FAILURES as err:
                await self._sleep_until(self._failed(err))
                continue
            self.held, self._failures, self.last_error, self.next_attempt = held, 0, None, None
            self._present(held.context)
            self._set("valid")
            self._logger.info(
                "Got a certificate for %s from %s in %.1f s, valid until %s; renewing from %s",
                self.name,
                held.issuer,
                time.monotonic() - began,
                iso(held.not_after),
                iso(held.renews_at),
            )

    def _set(self, state: str) -> None:
        self.state = state
        self.changed()

    def _failed(self, err: BaseException) -> float:
        """Say why (the log once per run of failures) and return when to try again."""
        self._failures += 1
        delay = min(MAX_RETRY, FIRST_RETRY * 2 ** (self._failures - 1))
        # jitter: boxes that failed together (a CA outage) do not all return in one second
        self.next_attempt = self._clock() + random.uniform(delay / 2, delay)
        self.last_error = str(err) or type(err).__name__
        if self._failures == 1:
            shown = "keeps the one it has" if self.held else "shows its own certificate"
            self._logger.warning(
                "No certificate for %s from %s yet (%s); the name %s; trying again at %s",
                self.name,
                self._config.acme_directory,
                self.last_error,
                shown,
                iso(self.next_attempt),
            )
        self._set("retrying")
        return self.next_attempt

    async def _sleep_until(self, when: float) -> None:
        """Until `when` (wall clock); a held certificate that expires meanwhile is withdrawn."""
        while True:
            now = self._clock()
            if self.held is not None and self.held.not_after <= now:
                self._logger.warning(
                    "The certificate for %s expired; showing the box's own until a new one comes",
                    self.name,
                )
                self.held = None
                self._present(None)
                self.changed()
            if now >= when:
                return
            wake = min(when, self.held.not_after) if self.held else when
            await self._sleep(min(max(wake - now, 0.0), LONGEST_NAP))

    async def _obtain(self) -> Held:
        config = self._config
        account_key = await self._run_blocking(account_key_blocking, self._folder)
        key_pem, csr_pem = await self._run_blocking(key_and_csr_blocking, self.name)
        trust = None
        if config.acme_ca is not None:
            trust = await self._run_blocking(trust_blocking, config.acme_ca)
        client = AcmeClient(
            self._egress,
            config.acme_directory,
            account_key,
            trust=trust,
            email=config.acme_email,
            purpose=PURPOSE,
        )
        chain = await client.issue(self.name, csr_pem, _Responder(self))
        return await self._run_blocking(store_blocking, self._folder, self.name, key_pem, chain)

    async def show_validation(self, key_authorization: str) -> None:
        context = await self._run_blocking(
            validation_context_blocking, self.name, key_authorization, self._folder
        )
        self._present(context)

    def hide_validation(self) -> None:
        self._present(self.held.context if self.held else None)


class _Responder:
    """What the ACME client calls around a TLS-ALPN-01 check: the window is only that long,
    since a phone asking for the name meanwhile would get the validation certificate too."""

    def __init__(self, keeper: PublicCertificate) -> None:
        self._keeper = keeper

    async def present(self, name: str, key_authorization: str) -> None:
        await self._keeper.show_validation(key_authorization)

    async def withdraw(self, name: str) -> None:
        self._keeper.hide_validation()


# --- files (the plugin's data folder; keys 0600) --------------------------------------------


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
