"""The one SSH connection from the box to the relay: opened, watched, reopened, reported.

The box dials out through the egress gate (so the ledger shows the link and its bytes), signs
in with its own ed25519 key, and believes the relay only if it shows the pinned host key (never
trust on first use: a different key is refused, said why, and retried slowly, never accepted).
It then asks the relay to listen on its loopback port for this box and joins every connection
the relay hands back to the box's HTTPS socket (forward.py), once the relay's PROXY header
has named the phone (a connection without one is refused, logged once per link). Keepalives
find a dead path within `KEEPALIVE_SECONDS * (KEEPALIVE_MISSES + 1)` seconds; a lost link is
reopened with backoff and jitter from 1 s to 60 s. An outage is logged once when it starts
and once when it ends. It never opens a shell or any channel of its own, and reads no ~/.ssh
file or agent.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import random
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import asyncssh

from core.egress import EgressError, EgressRefused, PluginEgress
from core.http.tunnel import TunnelSocket
from core.relay_identity import BoxIdentity
from plugins.relay.config import RelayConfig
from plugins.relay.forward import Traffic, session_factory

KEEPALIVE_SECONDS = 9.0
KEEPALIVE_MISSES = 2  # a third silent interval ends the link: dead within 27 s
FIRST_DELAY, MAX_DELAY = 1.0, 60.0
REFUSED_DELAY = 300.0  # a wrong host key or an unknown box key will not mend itself soon
CONNECT_SECONDS = 20.0
REPORT_SECONDS = 1.0  # health's byte counts lag the traffic by at most this
PURPOSE = "remote access: the SSH link to the relay"
# Measured here (asyncssh, 200 MB through the tunnel): AES-GCM costs 0.8 CPU s where
# ChaCha20-Poly1305 costs 1.4-2.3 s, on a CPU with AES instructions (x86 AES-NI, the Pi 5's
# ARMv8 crypto extensions); the Pi 4 has none, and there ChaCha20 is the cheaper one.
WITH_AES = ("aes128-gcm@openssh.com", "chacha20-poly1305@openssh.com", "aes256-gcm@openssh.com")
WITHOUT_AES = ("chacha20-poly1305@openssh.com", "aes128-gcm@openssh.com", "aes256-gcm@openssh.com")


class RelayRefused(Exception):
    """The relay answered but this box may not use it (host key, box key, consent): said why."""


class LinkFailed(Exception):
    """The link could not be made or kept this time; worth trying again soon."""


class _PinnedClient(asyncssh.SSHClient):
    """Remembers the host key a relay offered that was not the pinned one, for the message."""

    def __init__(self) -> None:
        self.offered: str | None = None
        self.lost: Exception | None = None

    def validate_host_public_key(
        self, host: str, addr: str, port: int, key: asyncssh.SSHKey
    ) -> bool:
        self.offered = key.get_fingerprint("sha256")
        return False  # only the pinned key (known_hosts below) is ever trusted

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = exc


class _GateTunnel:
    """asyncssh's `tunnel`: the link's TCP connection, opened through the egress gate."""

    def __init__(self, egress: PluginEgress) -> None:
        self._egress = egress

    async def create_connection(
        self, session_factory: Callable[[], Any], remote_host: str, remote_port: int
    ) -> tuple[asyncio.Transport, Any]:
        return await self._egress.connect(
            remote_host, remote_port, session_factory, purpose=PURPOSE, time_limit=CONNECT_SECONDS
        )

    def close(self) -> None:
        """Nothing of its own to close: the connection closes its transport."""

    async def wait_closed(self) -> None:
        """Nothing to wait for."""


class RelayLink:
    """The relay the box registers (kind `relay`): its state, traffic and public URL."""

    name = "relay"

    def __init__(
        self,
        config: RelayConfig,
        egress: PluginEgress,
        identity: BoxIdentity,
        client_key: asyncssh.SSHKey,
        ciphers: tuple[str, ...],
        report: Callable[[Mapping[str, Any]], None],
        logger: logging.Logger,
    ) -> None:
        self._config = config
        self._egress = egress
        self._identity = identity
        self._client_key = client_key
        self._ciphers = ciphers
        self._report = report
        self._logger = logger
        self._pinned = asyncssh.import_public_key(config.host_key)
        self.state = "connecting"
        self.since = now_text()
        self.last_error: str | None = None
        self.traffic = Traffic(changed=self._changed, refused=self._refused_connection)
        self._told_refusal = False  # once per link: a relay without the header refuses all
        self._reported_at = 0.0
        self._pending: asyncio.TimerHandle | None = None
        self._outage: str | None = None  # the state of the outage the log has told of
        self._up_since: float | None = None

    @property
    def max_bitrate(self) -> int | None:
        return self._config.max_bitrate

    def public_url(self) -> str | None:
        return self._config.public_url if self.state == "connected" else None

    def status(self) -> dict[str, Any]:
        traffic = self.traffic
        return {
            "state": self.state,
            "since": self.since,
            "url": self._config.public_url,
            "server": f"{self._config.server}:{self._config.ssh_port}",
            "relay_port": self._config.port,
            "bytes_in": traffic.bytes_in,
            "bytes_out": traffic.bytes_out,
            "connections": traffic.connections,
            "open": traffic.open,
            "last_error": self.last_error,
            "max_mbps": self._config.max_mbps,
            "box_key": self._identity.fingerprint,
            "relay_key": self._pinned.get_fingerprint("sha256"),
        }

    def _set(self, state: str, error: str | None = None) -> None:
        if state != self.state:
            self.state, self.since = state, now_text()
        if error is not None:
            self.last_error = error
        self._report(self.status())

    def _changed(self) -> None:
        """Report traffic at most once a second, and always within a second of the last count."""
        now = time.monotonic()
        if now - self._reported_at >= REPORT_SECONDS:
            self._reported_at = now
            self._report(self.status())
        elif self._pending is None:
            self._pending = asyncio.get_running_loop().call_later(
                REPORT_SECONDS, self._report_pending
            )

    def _report_pending(self) -> None:
        self._pending = None
        self._reported_at = time.monotonic()
        self._report(self.status())

    def refuse(self, error: str) -> None:
        """The link cannot start at all (HTTPS is off): say so in health, and once in the log."""
        self._logger.error("No remote access: %s", error)
        self._set("refused", error)

    def close(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None

    def _refused_connection(self, reason: str) -> None:
        """A connection the relay handed over without a valid PROXY header was closed."""
        error = (
            f"a connection through the relay was refused: {reason}; the relay must name each "
            "phone in a PROXY v2 header (its operator re-runs scripts/relay/setup)"
        )
        if not self._told_refusal:
            self._told_refusal = True
            self._logger.error("%s (said once per link)", error)
        self._set(self.state, error)

    async def run(self, tunnel: TunnelSocket) -> None:
        """Keep the link up until cancelled (at teardown)."""
        failures = 0
        while True:
            self._set("connecting")
            self._up_since = None
            try:
                error = await self._connect_and_serve(tunnel)
            except RelayRefused as err:
                self._down("refused", str(err))
                await asyncio.sleep(random.uniform(REFUSED_DELAY / 2, REFUSED_DELAY))
                continue
            except (OSError, EgressError, asyncssh.Error, LinkFailed, TimeoutError) as err:
                error = _describe(err)
            # a link that stayed up a while starts the backoff afresh; one that flaps does not
            if self._up_since is not None and time.monotonic() - self._up_since >= MAX_DELAY:
                failures = 0
            failures += 1
            delay = min(MAX_DELAY, FIRST_DELAY * 2 ** (failures - 1))
            self._down("retrying", error)
            # jitter: a relay that restarts is not met by every box in the same second
            await asyncio.sleep(random.uniform(delay / 2, delay))

    def _down(self, state: str, error: str) -> None:
        self._set(state, error)
        if self._outage == state:  # said once when it starts
            return
        self._outage = state
        if state == "refused":
            self._logger.error(
                "The relay refused this box: %s; trying again every %.0f min",
                error,
                REFUSED_DELAY / 60,
            )
        else:
            self._logger.warning("The relay link is down (%s); retrying", error)

    async def _connect_and_serve(self, tunnel: TunnelSocket) -> str:
        """Open the link, ask for the forward, serve until the link ends; return why it did."""
        client = _PinnedClient()
        config = self._config
        try:
            connection = await asyncssh.connect(
                config.server,
                config.ssh_port,
                tunnel=_GateTunnel(self._egress),
                config=None,  # no ~/.ssh/config
                client_factory=lambda: client,
                username=config.user,
                client_keys=[self._client_key],
                agent_path=None,
                known_hosts=([self._pinned], [], []),
                server_host_key_algs=[self._pinned.get_algorithm()],
                encryption_algs=list(self._ciphers),
                x509_trusted_certs=None,
                preferred_auth="publickey",
                gss_host=None,
                keepalive_interval=KEEPALIVE_SECONDS,
                keepalive_count_max=KEEPALIVE_MISSES,
                connect_timeout=CONNECT_SECONDS,
                login_timeout=CONNECT_SECONDS,
            )
        except asyncssh.HostKeyNotVerifiable as err:
            raise RelayRefused(
                f"the relay showed host key {client.offered or '(unknown)'}, not the pinned "
                f"{self._pinned.get_fingerprint('sha256')}; check relay: host_key with the "
                "relay's operator (a different key is never accepted)"
            ) from err
        except asyncssh.PermissionDenied as err:
            raise RelayRefused(
                f"the relay does not accept this box's key {self._identity.fingerprint}: "
                "ask its operator to enrol it (hearth relay key prints it)"
            ) from err
        except EgressRefused as err:
            raise RelayRefused(str(err)) from err
        async with connection:
            try:
                await connection.create_server(
                    session_factory(tunnel, self.traffic), "127.0.0.1", config.port
                )
            except asyncssh.ChannelListenError as err:
                # not refused for good: an older link of this box that the relay has not yet
                # seen die may still hold the port
                raise LinkFailed(
                    f"the relay did not listen on 127.0.0.1:{config.port} for this box (an older "
                    "link may still hold it; else check relay: port against what enrol printed)"
                ) from err
            self._connected()
            await connection.wait_closed()
        return _describe(client.lost) if client.lost else "the relay closed the link"

    def _connected(self) -> None:
        self._up_since = time.monotonic()
        self._told_refusal = False
        if self._outage is not None:
            self._outage = None
            self._logger.info("The relay link is back: %s", self._config.public_url)
        else:
            self._logger.info("Reachable from outside the home at %s", self._config.public_url)
        self._set("connected")


def cipher_order_blocking(cpuinfo: Path = Path("/proc/cpuinfo")) -> tuple[str, ...]:
    """The ciphers to offer, cheapest first for this CPU (the relay's sshd takes our order)."""
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return WITHOUT_AES
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features") and "aes" in value.split():
            return WITH_AES
    return WITHOUT_AES


def now_text() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _describe(err: BaseException) -> str:
    """One line for a person: what went wrong with the link."""
    if isinstance(err, asyncssh.DisconnectError):
        return f"the link ended: {err.reason}"
    if isinstance(err, TimeoutError):
        return "the relay did not answer in time"
    return str(err) or type(err).__name__
