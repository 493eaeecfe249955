"""Keeping the public name's certificate: when it is renewed (two thirds of its life), how a CA
that fails is retried (backoff with jitter), what is shown meanwhile (the box's own certificate
once the CA's has expired), where the keys live (0600) and what the relay's settings say.
The clock is faked: the CA here is a function; tests/relay/test_acme.py uses a real one."""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import logging
import ssl
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from core.relay_command import render_text
from plugins.relay import CONFIG_SCHEMA
from plugins.relay.acme_client import AcmeError
from plugins.relay.acme_files import Held, account_key_blocking, load_blocking, store_blocking
from plugins.relay.certificate import FIRST_RETRY, PublicCertificate
from plugins.relay.config import LETS_ENCRYPT
from plugins.relay.tls_alpn import ACME_IDENTIFIER, validation_certificate_blocking
from tests.conftest import StartServer
from tests.plugins.relay.test_admin_page import closed_port
from tests.plugins.relay.test_config import KEY

NAME = "smith.relay.example.net"
BLOCK = {"server": "relay.example.net", "name": "smith", "host_key": KEY, "port": 20001}
DAY = 86400.0
START = 1_900_000_000.0  # the fake clock's first reading (2030)


class FakeClock:
    """Wall-clock seconds that pass only when the keeper sleeps."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)


class FakeEgress:
    def __init__(self, hosts: tuple[str, ...]) -> None:
        self.hosts = hosts

    def enabled_hosts(self) -> tuple[str, ...]:
        return self.hosts


async def inline(func: Callable[..., Any], *args: Any) -> Any:
    return func(*args)


class Keeper(PublicCertificate):
    """The keeper with its CA replaced by `answers`: each attempt takes the next one (a
    lifetime in days to issue for, or an exception to raise) and notes the time it came."""

    def __init__(self, answers: list[float | Exception], **options: Any) -> None:
        self.clock = FakeClock()
        self.shown: list[str | None] = []
        self.answers = answers
        self.attempts: list[float] = []
        self.done = asyncio.Event()
        super().__init__(
            CONFIG_SCHEMA({**BLOCK, **options}),
            Path("/nonexistent"),  # nothing stored there: the keeper starts without one
            FakeEgress(("relay.example.net", "acme-v02.api.letsencrypt.org")),  # type: ignore[arg-type]
            lambda context: self.shown.append(getattr(context, "label", None)),
            inline,
            logging.getLogger("test.relay"),
            clock=self.clock,
            sleep=self.clock.sleep,
        )

    async def _obtain(self) -> Held:
        self.attempts.append(self.clock.now)
        if not self.answers:
            self.done.set()
            await asyncio.Event().wait()  # no more answers: stay here until cancelled
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.label = f"issued at {self.clock.now - START:.0f}"  # type: ignore[attr-defined]
        return Held(context, "Test CA", self.clock.now, self.clock.now + answer * DAY)


async def run_until_out_of_answers(keeper: Keeper) -> None:
    keeper.link_up.set()
    task = asyncio.create_task(keeper.run())
    try:
        await asyncio.wait_for(keeper.done.wait(), 5)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


@pytest.mark.parametrize("days", [90.0, 6.0])
async def test_a_certificate_is_renewed_at_two_thirds_of_its_life(days: float) -> None:
    keeper = Keeper([days, days])
    await run_until_out_of_answers(keeper)

    first = START
    assert keeper.attempts == [first, first + days * DAY * 2 / 3, first + days * DAY * 4 / 3]
    assert keeper.shown == ["issued at 0", f"issued at {days * DAY * 2 / 3:.0f}"]
    assert keeper.status()["source"] == "acme" and keeper.status()["state"] == "requesting"


async def test_a_failing_ca_is_retried_with_growing_delays_and_the_box_shows_its_own() -> None:
    keeper = Keeper([AcmeError("the CA answered 503: busy")] * 4)
    await run_until_out_of_answers(keeper)

    gaps = [b - a for a, b in zip(keeper.attempts, keeper.attempts[1:], strict=False)]
    for index, gap in enumerate(gaps):  # jitter: between half and all of 1, 2, 4, 8 minutes
        assert FIRST_RETRY * 2**index / 2 <= gap <= FIRST_RETRY * 2**index
    assert keeper.shown == []  # nothing issued: the name keeps the box's own certificate
    status = keeper.status()
    assert status["source"] == "own" and status["last_error"] == "the CA answered 503: busy"
    assert status["next_attempt"] is not None


async def test_a_certificate_whose_renewals_fail_is_withdrawn_when_it_expires() -> None:
    keeper = Keeper([0.25, *[AcmeError("no")] * 12])  # six hours: renewals from the 4th
    await run_until_out_of_answers(keeper)

    assert keeper.shown == ["issued at 0", None]  # None: back to the box's own at expiry
    assert keeper.held is None and keeper.status()["source"] == "own"
    expired = START + 0.25 * DAY
    assert any(a < expired for a in keeper.attempts[1:])  # it kept trying before...
    assert keeper.attempts[-1] > expired  # ...and after


async def test_nothing_is_asked_before_the_relay_link_is_up() -> None:
    keeper = Keeper([90.0])
    reported: list[dict[str, Any]] = []
    report = keeper.reporter(reported.append)
    task = asyncio.create_task(keeper.run())
    for _ in range(10):
        await asyncio.sleep(0)
    waiting = keeper.status()["state"]
    report({"state": "connected", "url": f"https://{NAME}"})
    await asyncio.wait_for(keeper.done.wait(), 5)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)

    assert waiting == "waiting" and keeper.attempts[0] == START
    # health shows the link's report with the certificate's beside it, after each change
    assert reported[0]["certificate"]["state"] == "waiting"
    assert reported[-1]["state"] == "connected" and reported[-1]["url"] == f"https://{NAME}"
    assert reported[-1]["certificate"]["state"] == "requesting"


def test_without_consent_for_the_cas_host_nothing_is_tried_and_the_status_says_where() -> None:
    keeper = Keeper([], acme_directory="https://acme.example.org/directory")

    assert not keeper.consented()
    assert keeper.status()["state"] == "off"
    assert keeper.status()["last_error"] == (
        "acme.example.org is not enabled: add it under hearth: egress: relay: "
        "[relay.example.net, acme.example.org] for a certificate phones trust; until then the "
        "box shows its own certificate, which phones must pin"
    )


def chain_for(name: str, key: ec.EllipticCurvePrivateKey, days: float = 90) -> bytes:
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test CA")]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


def key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def test_the_keys_stay_in_the_data_folder_readable_by_the_server_only(tmp_path: Path) -> None:
    folder = tmp_path / "acme"
    account = account_key_blocking(folder)
    again = account_key_blocking(folder)
    key = ec.generate_private_key(ec.SECP256R1())

    held = store_blocking(folder, NAME, key_pem(key), chain_for(NAME, key))
    loaded = load_blocking(folder, NAME)

    assert account.thumbprint() == again.thumbprint()  # made once: the account is tied to it
    assert sorted(p.name for p in folder.iterdir()) == [
        "account.key",
        f"{NAME}.key",
        f"{NAME}.pem",
    ]
    for path in folder.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert held.issuer == "Test CA" and loaded is not None
    assert loaded.not_after == held.not_after


def test_a_chain_for_another_name_or_key_is_refused_and_the_kept_one_stays(
    tmp_path: Path,
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    store_blocking(tmp_path, NAME, key_pem(key), chain_for(NAME, key))
    kept = (tmp_path / f"{NAME}.pem").read_bytes()
    other = ec.generate_private_key(ec.SECP256R1())

    with pytest.raises(ValueError, match=f"not a certificate for {NAME}"):
        store_blocking(tmp_path, NAME, key_pem(key), chain_for("jones.relay.example.net", key))
    with pytest.raises(Exception, match="cannot be used"):
        store_blocking(tmp_path, NAME, key_pem(other), chain_for(NAME, key))

    assert (tmp_path / f"{NAME}.pem").read_bytes() == kept
    assert (tmp_path / f"{NAME}.key").read_bytes() == key_pem(key)


def test_the_validation_certificate_carries_the_key_authorizations_digest() -> None:
    cert_pem, _ = validation_certificate_blocking(NAME, "tok3n.thumbpr1nt")
    cert = x509.load_pem_x509_certificate(cert_pem)

    extension = cert.extensions.get_extension_for_oid(ACME_IDENTIFIER)
    digest = hashlib.sha256(b"tok3n.thumbpr1nt").digest()
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value

    assert extension.critical
    assert extension.value.value == b"\x04\x20" + digest  # DER OCTET STRING of the SHA-256
    assert names.get_values_for_type(x509.DNSName) == [NAME]


def test_the_acme_settings_default_to_lets_encrypt_and_say_what_they_expect() -> None:
    config = CONFIG_SCHEMA(BLOCK)
    own = CONFIG_SCHEMA(
        {
            **BLOCK,
            "acme_directory": "https://ca.example.org:14000/dir",
            "acme_ca": "/etc/hearth/pebble.pem",
            "acme_email": "owner@example.net",
        }
    )

    assert config.acme_directory == LETS_ENCRYPT
    assert config.acme_host == "acme-v02.api.letsencrypt.org"
    assert config.acme_ca is None and config.acme_email is None
    assert own.acme_host == "ca.example.org" and str(own.acme_ca) == "/etc/hearth/pebble.pem"
    for key, value, expected in (
        ("acme_directory", "http://ca.example.org/dir", "the https:// URL of an ACME directory"),
        ("acme_ca", "pebble.pem", "an absolute path"),
        ("acme_email", "owner", "an email address such as owner@example.net"),
    ):
        with pytest.raises(Exception, match=expected):
            CONFIG_SCHEMA({**BLOCK, key: value})


async def test_in_a_server_the_box_keeps_its_own_certificate_when_the_ca_is_not_enabled(
    start_server: StartServer,
) -> None:
    port = closed_port()
    server = await start_server(
        "  egress: {relay: [localhost]}\n"
        f"relay:\n  server: localhost\n  ssh_port: {port}\n  name: smith\n  host_key: {KEY}\n"
        "  port: 20001\n"
    )
    context = server.hub.records["relay"].context
    assert context is not None
    for _ in range(250):  # the certificate's keeper starts once the server listens
        if context.health_detail.get("certificate", {}).get("state") == "off":
            break
        await asyncio.sleep(0.02)

    certificate = context.health_detail["certificate"]
    report = await server.get_json("/api/privacy")

    assert certificate["source"] == "own" and certificate["state"] == "off"
    assert certificate["last_error"].startswith(
        "acme-v02.api.letsencrypt.org is not enabled: add it under hearth: egress: relay: "
        "[localhost, acme-v02.api.letsencrypt.org]"
    )
    hosts = {row["host"] for row in report["ledger"]["entries"] if row["plugin"] == "relay"}
    assert "acme-v02.api.letsencrypt.org" not in hosts  # not even a refused attempt


def test_hearth_relay_status_says_which_certificate_the_name_shows_and_why() -> None:
    tls = {"source": "generated", "fingerprint_sha256": "AB:CD"}
    base = {"plugin_state": "running", "state": "connected", "server": "relay.example.net:22",
            "url": f"https://{NAME}", "tls": tls}  # fmt: skip
    issued = {"source": "acme", "state": "valid", "issuer": "R11", "last_error": None,
              "not_after": "2031-03-01T00:00:00Z", "renews_at": "2031-01-30T00:00:00Z"}  # fmt: skip
    failing = {"source": "own", "state": "retrying", "last_error": "the CA answered 503: busy"}

    with_acme = render_text({**base, "certificate": issued}).splitlines()
    without = render_text({**base, "certificate": failing}).splitlines()

    assert with_acme[-1] == (
        "Certificate: from R11 until 2031-03-01T00:00:00Z (renewed from 2031-01-30T00:00:00Z); "
        "phones trust it, nothing to pin"
    )
    assert without[-2:] == [
        "Certificate: self-signed; phones pin SHA-256 AB:CD",
        "ACME:        retrying: the CA answered 503: busy",
    ]
