"""The certificate phones trust for the box's public name: got by ACME, kept at home, renewed.

Once the relay link is up, the box orders a certificate for `NAME.DOMAIN` from the configured
ACME directory (acme_client.py) and proves the name by TLS-ALPN-01: the CA connects to the
name, the relay passes the still-encrypted connection down the tunnel, and the box's own HTTPS
server shows the validation certificate (tls_alpn.py) only while the CA checks, and only to a
connection through the relay whose ClientHello offers exactly ALPN `acme-tls/1` (forward.py):
a phone that connects meanwhile gets the usual certificate. The
issued certificate is then presented to every client that asks for the public name (SNI);
every other name keeps the box's own certificate. The account key, the certificate's key and
the chain stay in the plugin's data folder (0600, acme_files.py). Renewal starts at two thirds
of the lifetime; a failed attempt is retried with backoff and jitter (1 min -> 6 h), and until
a certificate is held (or once it expired) the box's own is shown, whose SHA-256 phones can
pin. Nothing is tried when the owner has not enabled the directory's host under `hearth:
egress: relay:`; the status says so. It never sends a key anywhere and never touches the relay.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import random
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, Protocol, TypeVar

from core.plugin_api import EgressError, PluginEgress, TlsError
from plugins.relay.acme_errors import AcmeError
from plugins.relay.acme_files import (
    Held,
    account_key_blocking,
    key_and_csr_blocking,
    load_blocking,
    store_blocking,
    trust_blocking,
)
from plugins.relay.config import RelayConfig
from plugins.relay.tls_alpn import validation_context_blocking

T = TypeVar("T")
FIRST_RETRY, MAX_RETRY = 60.0, 6 * 3600.0
LONGEST_NAP = 3600.0  # wake at least hourly: a suspended box or a stepped clock is noticed
PURPOSE = "remote access: the certificate for the public name (ACME)"
FAILURES = (AcmeError, EgressError, TlsError, OSError, ssl.SSLError, ValueError, TimeoutError)


class BlockingRunner(Protocol):
    """`PluginContext.run_blocking`."""

    def __call__(self, func: Callable[..., T], *args: Any) -> Awaitable[T]: ...


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
        self.link_up = asyncio.Event()  # the CA reaches the box only through the relay
        self.held: Held | None = None
        self.validation: ssl.SSLContext | None = None  # while a CA checks TLS-ALPN-01
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

    def reporter(
        self, report: Callable[[Mapping[str, Any]], None]
    ) -> Callable[[Mapping[str, Any]], None]:
        """The link's report callback: notes whether the link is up, and passes its status on
        with this one beside it (and again, as last seen, whenever this one changes)."""
        last: dict[str, Any] = {}

        def joined(detail: Mapping[str, Any]) -> None:
            last.clear()
            last.update(detail)
            (self.link_up.set if detail.get("state") == "connected" else self.link_up.clear)()
            report({**detail, "certificate": self.status()})

        self.changed = lambda: joined(dict(last))
        return joined

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

    async def run(self) -> None:
        """Present a stored certificate, then get and renew one for as long as the plugin runs."""
        self.held = await self._run_blocking(load_blocking, self._folder, self.name)
        if self.held is not None:
            self._present(self.held.context)
            self._set("valid")
        while True:
            await self._sleep_until(self.held.renews_at if self.held else self._clock())
            if not self.link_up.is_set():
                self._set("waiting")
                await self.link_up.wait()
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
        from plugins.relay.acme_client import AcmeClient  # the ACME library, only to order

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
        """Only to a client that asks for it by ALPN (the CA: forward.py checks), never by
        name alone: a phone asking for the name meanwhile gets the usual certificate."""
        self.validation = await self._run_blocking(
            validation_context_blocking, self.name, key_authorization, self._folder
        )

    def hide_validation(self) -> None:
        self.validation = None


class _Responder:
    """What the ACME client calls around a TLS-ALPN-01 check: the validation certificate is
    offered only that long, and only to a client offering exactly ALPN acme-tls/1."""

    def __init__(self, keeper: PublicCertificate) -> None:
        self._keeper = keeper

    async def present(self, name: str, key_authorization: str) -> None:
        await self._keeper.show_validation(key_authorization)

    async def withdraw(self, name: str) -> None:
        self._keeper.hide_validation()
