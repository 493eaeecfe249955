"""The one SSH connection from the box to the relay: OpenSSH's client, started, watched, restarted.

The link is the system's `ssh` as a child process (openssh.py says why and how): it signs in
with the box's ed25519 key and believes the relay only if it shows the pinned host key (never
trust on first use: a different key is refused, said why, and retried slowly, never accepted).
It asks the relay to listen on the box's loopback port there and forwards every connection to
the plugin's Unix socket (forward.py), which hands it to the box's HTTPS server once the relay's
PROXY header has named the phone (a connection without one is refused, logged once per link).
Its TCP connection is opened by the box through the egress gate (dialer.py), so the ledger
shows the link and its bytes. Keepalives find a dead path within
`KEEPALIVE_SECONDS * (KEEPALIVE_MISSES + 1)` seconds; when ssh ends it is started again with
backoff and jitter from 1 s to 60 s, and its last words are the status's `last_error`. An outage
is logged once when it starts and once when it ends. It never opens a shell or a channel of its
own, and ssh reads no ~/.ssh file, agent or system configuration.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import os
import random
import signal
import ssl
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from core.plugin_api import BoxIdentity, EgressError, EgressRefused, PluginEgress, TunnelSocket
from plugins.relay.config import RelayConfig
from plugins.relay.dialer import GateDialer
from plugins.relay.forward import ForwardListener, Traffic
from plugins.relay.openssh import (
    LinkFailed,
    RelayRefused,
    SshReport,
    fingerprint,
    ssh_command,
    write_known_hosts_blocking,
)
from plugins.relay.quickack import QuickAck

KEEPALIVE_SECONDS = 9.0
KEEPALIVE_MISSES = 2  # a third silent interval ends the link: dead within 27 s
FIRST_DELAY, MAX_DELAY = 1.0, 60.0
REFUSED_DELAY = 300.0  # a wrong host key or an unknown box key will not mend itself soon
CONNECT_SECONDS = 20.0
REPORT_SECONDS = 1.0  # health's byte counts lag the traffic by at most this
STOP_SECONDS = 5.0  # ssh ends at SIGTERM at once; past this it is killed
# Measured here (200 MB through the tunnel): AES-GCM costs less CPU than ChaCha20-Poly1305
# on a CPU with AES instructions (x86 AES-NI, the Pi 5's ARMv8 crypto extensions); the Pi 4
# has none, and there ChaCha20 is the cheaper one.
WITH_AES = ("aes128-gcm@openssh.com", "chacha20-poly1305@openssh.com", "aes256-gcm@openssh.com")
WITHOUT_AES = ("chacha20-poly1305@openssh.com", "aes128-gcm@openssh.com", "aes256-gcm@openssh.com")
__all__ = ["LinkFailed", "RelayLink", "RelayRefused", "cipher_order_blocking"]


class RelayLink:
    """The relay the box registers (kind `relay`): its state, traffic and public URL."""

    name = "relay"

    def __init__(
        self,
        config: RelayConfig,
        egress: PluginEgress,
        identity: BoxIdentity,
        known_hosts: Path,
        ciphers: tuple[str, ...],
        report: Callable[[Mapping[str, Any]], None],
        logger: logging.Logger,
        validation: Callable[[], ssl.SSLContext | None] = lambda: None,
    ) -> None:
        self._config = config
        self._egress = egress
        self._identity = identity
        self._known_hosts = known_hosts
        self._validation = validation
        self._acking: QuickAck | None = None  # while the link is up
        self._ciphers = ciphers
        self._report = report
        self._logger = logger
        self._pinned = fingerprint(config.host_key)
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
            "relay_key": self._pinned,
        }

    def _set(self, state: str, error: str | None = None) -> None:
        if state != self.state:
            self.state, self.since = state, now_text()
        if error is not None:
            self.last_error = error
        self._report(self.status())

    def _changed(self) -> None:
        """Report traffic at most once a second, and always within a second of the last count."""
        if self._acking is not None:
            self._acking.poke()
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
        folder = tunnel.folder  # private to the box's user, short enough for a socket's path
        listener = ForwardListener(
            folder / "relay.sock", tunnel, self.traffic, validation=self._validation
        )
        dialer = GateDialer(folder / "relay-dial.sock", self._egress, *self._address)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, listener.open_blocking)
        await loop.run_in_executor(None, dialer.open_blocking)
        accepting = asyncio.create_task(listener.serve())
        try:
            await self._keep_up(listener.path, dialer)
        finally:
            accepting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await accepting
            listener.close()
            dialer.close()

    @property
    def _address(self) -> tuple[str, int]:
        return self._config.server, self._config.ssh_port

    async def _keep_up(self, target: Path, dialer: GateDialer) -> None:
        failures = 0
        while True:
            self._set("connecting")
            self._up_since = None
            try:
                error = await self._connect_and_serve(target, dialer)
            except RelayRefused as err:
                self._down("refused", str(err))
                await asyncio.sleep(random.uniform(REFUSED_DELAY / 2, REFUSED_DELAY))
                continue
            except (OSError, EgressError, LinkFailed, TimeoutError) as err:
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

    async def _connect_and_serve(self, target: Path, dialer: GateDialer) -> str:
        """Start ssh, see the forward granted, serve until ssh ends; return why it did.
        Raises RelayRefused or LinkFailed when it ended before the link was up."""
        config = self._config
        command = ssh_command(
            config,
            key=self._identity.private_key,
            known_hosts=self._known_hosts,
            target=target,
            control=dialer.path,
            ciphers=self._ciphers,
            keepalive=KEEPALIVE_SECONDS,
            misses=KEEPALIVE_MISSES,
        )
        await asyncio.get_running_loop().run_in_executor(
            None, write_known_hosts_blocking, self._known_hosts, config.host_key
        )
        environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "SHELL": "/bin/sh"}
        process = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            env=environment,
            start_new_session=True,  # a Ctrl-C meant for Hearth is Hearth's to pass on
        )
        report = SshReport()
        dialing = asyncio.create_task(dialer.dial(CONNECT_SECONDS))
        held: asyncio.BaseTransport | None = None
        acking: QuickAck | None = None
        try:
            assert process.stderr is not None
            async with asyncio.timeout(CONNECT_SECONDS * 2) as deadline:
                while not report.forwarded:
                    line = await process.stderr.readline()
                    if not line:
                        break
                    if report.feed(line.decode("utf-8", "replace")):
                        deadline.reschedule(None)
                        self._connected()
            if dialing.done() and not dialing.cancelled():
                if (failed := dialing.exception()) is not None:
                    raise _dial_failure(failed) from failed
                held = dialing.result()
                acking = self._acking = QuickAck(
                    held.get_extra_info("socket"), lambda: self.traffic.open > 0
                )
            while line := await process.stderr.readline():
                report.feed(line.decode("utf-8", "replace"))
            status = await process.wait()
        except TimeoutError as err:
            raise LinkFailed("the relay did not answer in time") from err
        finally:
            await _stop(process)
            if not dialing.done():
                dialing.cancel()
            with contextlib.suppress(BaseException):
                held = held or await dialing
            if acking is not None:
                self._acking = None
                acking.stop()
            if held is not None:
                held.close()  # the ledger's closing row, with the kernel's byte counts
        where = f"{config.server} port {config.ssh_port}"
        failure = report.failure(
            status, self._pinned, self._identity.fingerprint, config.port, where
        )
        if not report.forwarded:
            raise failure
        return str(failure)

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
    if isinstance(err, TimeoutError):
        return "the relay did not answer in time"
    return str(err) or type(err).__name__


def _dial_failure(err: BaseException) -> Exception:
    """The gate's refusal is the owner's to lift (consent); anything else may pass."""
    if isinstance(err, EgressRefused):
        return RelayRefused(str(err))
    return LinkFailed(str(err) or type(err).__name__)


async def _stop(process: asyncio.subprocess.Process) -> None:
    """End ssh (its session is its own: nothing else gets the signal) and reap it."""
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(STOP_SECONDS):
                await process.wait()
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
