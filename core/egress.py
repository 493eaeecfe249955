"""The egress gate: the core's one outbound HTTP client, and the only way a plugin leaves the LAN.

A plugin gets a `PluginEgress` bound to its manifest through `ctx.http`. Every request is
checked first (`egress_policy`: scope, listed and enabled hosts, local addresses) and then sent
only to the addresses that were checked, never to a name, so DNS rebinding cannot swap another
in. Every attempt, allowed or refused, is written to the ledger (`egress_ledger`). Responses are
read whole and bounded, so the ledger knows their size and a plugin cannot leave one open.

It never opens a session or a socket before a plugin's first allowed request, never follows
redirects (each hop must pass the gate again), never keeps cookies between requests, never
reuses the connection of a request that said `Connection: close` and never reads proxy settings
from the environment.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
import logging
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from yarl import URL

from core import __version__
from core.catalog import Catalog
from core.egress_ledger import EgressLedger
from core.egress_policy import (
    ANY_HOST,
    Destination,
    EgressError,
    EgressFailed,
    EgressRefused,
    Resolver,
    check_destination,
    check_host,
    enabled_hosts,
    is_local_address,
    system_resolver,
)
from core.egress_tcp import P, open_tcp
from core.manifest import Manifest

_LOGGER = logging.getLogger("hearth.egress")
LAN_RECORD_SECONDS = 3600.0
MAX_BODY = 16 * 1024 * 1024
__all__ = [
    "EgressError",
    "EgressFailed",
    "EgressGate",
    "EgressRefused",
    "EgressResponse",
    "PluginEgress",
    "enabled_hosts",
    "is_local_address",
]


@dataclass(frozen=True, slots=True)
class EgressResponse:
    """A whole response: read here, so the ledger knows its size and nothing is left open."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    url: str

    def text(self, encoding: str = "utf-8") -> str:
        return self.body.decode(encoding, errors="replace")

    def json(self) -> Any:
        return jsonlib.loads(self.body)


class EgressGate:
    """Owned by the hub: the policy, the lazily made client session and the ledger."""

    def __init__(
        self, enabled: Mapping[str, tuple[str, ...]], resolver: Resolver = system_resolver
    ) -> None:
        self._enabled = {d: frozenset(h.lower() for h in hosts) for d, hosts in enabled.items()}
        self._resolve = resolver
        self.ledger = EgressLedger()
        self._lan_recorded: dict[tuple[str, str, str], float] = {}
        self._session: aiohttp.ClientSession | None = None
        self._closing: aiohttp.ClientSession | None = None  # for `Connection: close` requests
        self._closed = False
        self._warned: set[tuple[str, str]] = set()

    def open(self, catalog: Catalog, manifests: Mapping[str, Manifest]) -> None:
        """Start recording; warn (once, at start) about consent that cannot take effect, so a
        typo in `hearth: egress:` is not silently ignored."""
        self.ledger.open(catalog)
        for domain, hosts in sorted(self._enabled.items()):
            manifest = manifests.get(domain)
            if manifest is None:
                _LOGGER.warning("hearth: egress: '%s' is not a configured plugin", domain)
                continue
            if manifest.network.scope != "internet":
                _LOGGER.warning(
                    "hearth: egress: %s has network scope '%s'; enabled hosts do not apply",
                    domain,
                    manifest.network.scope,
                )
                continue
            listed = {h.lower() for h in manifest.network.hosts}
            for host in sorted(hosts - listed if ANY_HOST not in listed else ()):
                _LOGGER.warning(
                    "hearth: egress: %s does not list %s in its manifest; it stays refused",
                    domain,
                    host,
                )

    def enabled_hosts(self, manifest: Manifest) -> tuple[str, ...]:
        return enabled_hosts(manifest, self._enabled)

    def for_plugin(self, manifest: Manifest) -> PluginEgress:
        return PluginEgress(self, manifest)

    async def check(self, manifest: Manifest, url: URL) -> Destination:
        """The checked destination, or EgressRefused saying why (nothing is sent)."""
        return await check_destination(manifest, url, self._enabled, self._resolve)

    async def check_host(self, manifest: Manifest, host: str, port: int) -> Destination:
        """The checked destination of a plugin's own TCP link (core.egress_tcp)."""
        return await check_host(manifest, host, port, self._enabled, self._resolve)

    @property
    def session_opened(self) -> bool:
        """Whether a client session exists, i.e. some plugin was let out since start."""
        return self._session is not None or self._closing is not None

    def refused(self, domain: str, host: str, reason: str) -> None:
        """Say so once per plugin and host (the ledger has every attempt), so a plugin that
        keeps trying is noticed without flooding the log."""
        if (domain, host) in self._warned:
            _LOGGER.debug("Refused %s for %s: %s", host, domain, reason)
            return
        self._warned.add((domain, host))
        _LOGGER.warning("Refused %s for the %s plugin: %s", host, domain, reason)

    def _client(self, closing: bool = False) -> aiohttp.ClientSession:
        """Made on the first allowed request: a server that never reaches out opens nothing.
        `closing`: the session whose connections are never reused, for requests that said
        `Connection: close` (aiohttp would pool them anyway when the answer did not say so)."""
        if self._closed:
            raise EgressFailed("the server is stopping")
        session = self._closing if closing else self._session
        if session is None or session.closed:
            session = aiohttp.ClientSession(
                cookie_jar=aiohttp.DummyCookieJar(),
                trust_env=False,
                headers={"User-Agent": f"Hearth/{__version__}"},
                connector=aiohttp.TCPConnector(limit=16, use_dns_cache=False, force_close=closing),
            )
            if closing:
                self._closing = session
            else:
                self._session = session
        return session

    async def send(
        self, url: URL, destination: Destination, method: str, options: dict[str, Any]
    ) -> tuple[EgressResponse, str, tuple[int, int]]:
        """Connect to the checked addresses in turn (never to a name) and read the answer.
        Also says how many bytes of HTTP went each way (heads and bodies): a GET's query and
        headers leave the home too, and the ledger must not call them nothing."""
        headers = {**options.pop("headers", {}), "Host": url.host_port_subcomponent or ""}
        session = self._client(closing=_says_close(headers))
        hostname = url.host if url.scheme == "https" else None
        max_bytes = options.pop("max_bytes")
        failure: aiohttp.ClientConnectorError | None = None
        for address in destination.addresses:
            target = url.with_host(address.split("%", 1)[0])
            try:
                async with session.request(
                    method,
                    target,
                    headers=headers,
                    allow_redirects=False,
                    server_hostname=hostname,
                    **options,
                ) as response:
                    body = await _read_bounded(response, max_bytes)
                    return (
                        EgressResponse(response.status, dict(response.headers), body, str(url)),
                        address,
                        _traffic(response, options.get("data"), body),
                    )
            except aiohttp.ClientConnectorError as err:  # nothing was sent: try the next one
                failure = err
            except (aiohttp.ClientError, TimeoutError) as err:
                raise EgressFailed(f"{destination.host} ({address}): {err or 'timed out'}") from err
        # the OS's words ("Connect call failed (address, port)"): aiohttp's also print the TLS
        # context's repr
        reason = (failure.os_error.strerror or str(failure)) if failure else "no address"
        raise EgressFailed(f"cannot connect to {destination.host}: {reason}") from failure

    def worth_recording(self, manifest: Manifest, host: str, purpose: str) -> bool:
        """Every internet request and every refusal is a ledger row; a LAN plugin's allowed
        requests (a TV polled every two seconds while it plays) are recorded once an hour per
        host and purpose, so they neither wear the SD card nor push real rows out."""
        if manifest.network.scope != "lan":
            return True
        key = (manifest.domain, host, purpose)
        now = time.monotonic()
        if now - self._lan_recorded.get(key, -LAN_RECORD_SECONDS) < LAN_RECORD_SECONDS:
            return False
        self._lan_recorded[key] = now
        return True

    async def close(self) -> None:
        """Close the session (if one was ever made) and write the pending ledger rows."""
        self._closed = True
        sessions, self._session, self._closing = (self._session, self._closing), None, None
        for session in sessions:
            if session is not None:
                await session.close()
        await self.ledger.close()


def _says_close(headers: Mapping[str, str]) -> bool:
    """Whether the request said `Connection: close`: a device that closes after every answer
    without saying so (libupnp) must not have its dead connection reused for the next one."""
    return any(k.lower() == "connection" and v.lower() == "close" for k, v in headers.items())


def _traffic(response: aiohttp.ClientResponse, sent: bytes | None, body: bytes) -> tuple[int, int]:
    """(bytes in, bytes out) of one exchange as HTTP/1.1 puts them on the wire: request line,
    headers and body out; status line, headers and body in (TLS framing is not counted; a
    compressed answer counts as its Content-Length said)."""
    info = response.request_info
    head_out = len(f"{info.method} {info.real_url.raw_path_qs} HTTP/1.1\r\n") + 2
    head_out += sum(len(k) + len(v) + 4 for k, v in info.headers.items())
    version = response.version or aiohttp.HttpVersion11
    status = f"HTTP/{version.major}.{version.minor} {response.status} {response.reason or ''}"
    head_in = len(status.encode()) + 4 + sum(len(k) + len(v) + 4 for k, v in response.raw_headers)
    length = response.headers.get("Content-Length", "")
    body_in = int(length) if length.isdigit() else len(body)
    return head_in + body_in, head_out + len(sent or b"")


async def _read_bounded(response: aiohttp.ClientResponse, limit: int) -> bytes:
    chunks: list[bytes] = []
    total = 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        total += len(chunk)
        if total > limit:
            raise EgressFailed(f"the response is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


class PluginEgress:
    """`ctx.http`: one plugin's way out, bound to what its manifest declares."""

    def __init__(self, gate: EgressGate, manifest: Manifest) -> None:
        self._gate = gate
        self.manifest = manifest

    async def request(
        self,
        method: str,
        url: str | URL,
        *,
        purpose: str,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        data: bytes | str | None = None,
        time_limit: float = 30.0,
        max_bytes: int = MAX_BODY,
        tls: ssl.SSLContext | None = None,
    ) -> EgressResponse:
        """Send one request if the gate allows it; `purpose` (one phrase, shown to the owner)
        is required. `tls` replaces the system's trust for an https URL (a CA bundle the owner
        named for their own CA). Raises EgressRefused or EgressFailed; both are in the ledger."""
        if json is not None and data is not None:
            raise TypeError("pass json or data, not both")
        target = URL(url) if isinstance(url, str) else url
        domain = self.manifest.domain
        host = (target.host or str(target))[:255]
        why = purpose.strip() if isinstance(purpose, str) else ""
        body = jsonlib.dumps(json).encode() if json is not None else data
        if isinstance(body, str):
            body = body.encode()
        sent = len(body or b"")
        ledger = self._gate.ledger
        try:
            if not why:
                raise EgressRefused("every request must say its purpose")
            destination = await self._gate.check(self.manifest, target)
        except EgressRefused as err:
            ledger.record(domain, host, why, False, detail=f"refused: {err}")
            self._gate.refused(domain, host, str(err))
            raise
        except EgressFailed as err:
            ledger.record(domain, host, why, True, bytes_out=0, detail=f"failed: {err}")
            raise
        sending = dict(headers or {})
        if json is not None:
            sending["Content-Type"] = "application/json"
        options: dict[str, Any] = {
            "params": params,
            "headers": sending,
            "data": body,
            "timeout": aiohttp.ClientTimeout(total=time_limit),
            "max_bytes": max_bytes,
        }
        if tls is not None:
            options["ssl"] = tls
        try:
            response, address, (received, sent) = await self._gate.send(
                target, destination, method, options
            )
        except EgressFailed as err:
            ledger.record(domain, destination.host, why, True, 0, sent, f"failed: {err}")
            raise
        except asyncio.CancelledError:  # the plugin stopped waiting; the attempt still counts
            ledger.record(domain, destination.host, why, True, 0, sent, "cancelled")
            raise
        if self._gate.worth_recording(self.manifest, destination.host, why):
            ledger.record(
                domain,
                destination.host,
                why,
                True,
                received,
                sent,
                f"{method.upper()} -> {response.status} via {address}",
            )
        return response

    def enabled_hosts(self) -> tuple[str, ...]:
        """Where this plugin may go: its manifest's hosts that the owner enabled."""
        return self._gate.enabled_hosts(self.manifest)

    async def connect(
        self,
        host: str,
        port: int,
        protocol_factory: Callable[[], P],
        *,
        purpose: str,
        time_limit: float = 30.0,
    ) -> tuple[asyncio.Transport, P]:
        """Open a TCP connection of the plugin's own (the relay's SSH link) if the gate allows
        it; the ledger records the attempt and, at close, the bytes each way. Raises
        EgressRefused or EgressFailed."""
        return await open_tcp(
            self._gate, self.manifest, host, port, protocol_factory, purpose, time_limit
        )

    async def get(self, url: str | URL, *, purpose: str, **options: Any) -> EgressResponse:
        return await self.request("GET", url, purpose=purpose, **options)

    async def post(self, url: str | URL, *, purpose: str, **options: Any) -> EgressResponse:
        return await self.request("POST", url, purpose=purpose, **options)
