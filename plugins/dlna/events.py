"""GENA eventing (UPnP Device Architecture 1.0, section 4): a TV subscribes to ContentDirectory
and is told when SystemUpdateID moves, so it re-reads the lists it shows instead of showing a
library as it was.

- SUBSCRIBE with CALLBACK and `NT: upnp:event` answers 200 with a SID and a TIMEOUT (what was
  asked, between MIN_TIMEOUT and MAX_TIMEOUT), then sends the initial event (SEQ 0) with every
  evented variable of the service. SUBSCRIBE with a SID renews; UNSUBSCRIBE with a SID ends.
  An unknown or expired SID is 412, a SID together with CALLBACK or NT is 400.
- Events go only to the device that subscribed: every callback must be a plain http URL whose
  host is the subscriber's own address (412 otherwise), at most MAX_CALLBACKS of them, at most
  PER_ADDRESS subscriptions per address and MAX_SUBSCRIPTIONS in all — the server cannot be
  used to send requests to a third party or to multiply traffic.
- SystemUpdateID is evented at most once every MODERATION seconds (the UPnP AV maximum rate).
  NOTIFYs go through the egress gate (LAN only) with a short time limit, to the callbacks in
  order until one answers 2xx; a subscriber that missed FAILURES_TO_DROP events in a row, or
  whose subscription lapsed, is forgotten. Subscriptions live in memory only (a TV subscribes
  again after a restart, as the spec expects): eventing never writes to disk.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from aiohttp import web
from yarl import URL

MIN_TIMEOUT, MAX_TIMEOUT = 300, 1800
MAX_CALLBACKS = 3
PER_ADDRESS = 8
MAX_SUBSCRIPTIONS = 64
MODERATION = 2.0
FAILURES_TO_DROP = 3
_CALLBACK = re.compile(r"<([^<>]{1,512})>")
_TIMEOUT = re.compile(r"^Second-(\d{1,10}|infinite)$", re.IGNORECASE)

# Sends one NOTIFY: (url, headers, body) -> HTTP status; raises OSError-like errors as Exception.
Sender = Callable[[URL, Mapping[str, str], bytes], Awaitable[int]]
Values = Callable[[str], list[tuple[str, str]]]


@dataclass(slots=True)
class Subscription:
    sid: str
    service: str  # the service's short name, as in /dlna/event/<short>
    address: str
    callbacks: tuple[URL, ...]
    expires: float
    seq: int = 0
    failures: int = 0


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    found = ipaddress.ip_address(text.split("%", 1)[0])
    mapped = found.ipv4_mapped if isinstance(found, ipaddress.IPv6Address) else None
    return mapped or found


def _same_address(host: str | None, address: str) -> bool:
    try:
        return host is not None and _address(host) == _address(address)
    except ValueError:
        return False


def parse_callbacks(header: str, address: str) -> tuple[URL, ...] | None:
    """The CALLBACK URLs, or None unless every one is http to the subscriber's own address."""
    found = _CALLBACK.findall(header)
    if not found or len(found) > MAX_CALLBACKS or _CALLBACK.sub("", header).strip():
        return None
    urls: list[URL] = []
    for text in found:
        try:
            url = URL(text.strip())
        except ValueError:
            return None
        if url.scheme != "http" or not _same_address(url.host, address) or url.user:
            return None
        urls.append(url)
    return tuple(urls)


def parse_timeout(header: str | None) -> int:
    """Seconds granted for a TIMEOUT header (missing, infinite or odd: the most we give)."""
    match = _TIMEOUT.match((header or "").strip())
    if match is None or match[1].lower() == "infinite":
        return MAX_TIMEOUT
    return min(max(int(match[1]), MIN_TIMEOUT), MAX_TIMEOUT)


def propertyset(values: list[tuple[str, str]]) -> bytes:
    properties = "".join(f"<e:property><{n}>{escape(v)}</{n}></e:property>" for n, v in values)
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<e:propertyset xmlns:e="urn:schemas-upnp-org:event-1-0">{properties}</e:propertyset>'
    ).encode()


class Eventing:
    """Subscriptions to the server's services, and the events sent to them."""

    def __init__(
        self,
        values: Values,
        send: Sender,
        spawn: Callable[[Coroutine[Any, Any, None], str], object],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`values(short)` gives a service's evented variables now; `spawn(coro, name)` runs a
        tracked background task."""
        self._values = values
        self._send = send
        self._spawn = spawn
        self._clock = clock
        self.subscriptions: dict[str, Subscription] = {}
        self._last_event: dict[str, float] = {}
        self._scheduled: set[str] = set()

    def _sweep(self) -> None:
        now = self._clock()
        for sid in [s.sid for s in self.subscriptions.values() if s.expires <= now]:
            del self.subscriptions[sid]

    async def subscribe(self, request: web.Request, short: str) -> web.StreamResponse:
        """SUBSCRIBE: a new subscription or a renewal."""
        self._sweep()
        sid = request.headers.get("SID")
        callback, nt = request.headers.get("CALLBACK"), request.headers.get("NT")
        timeout = parse_timeout(request.headers.get("TIMEOUT"))
        if sid is not None:
            if callback is not None or nt is not None:
                return _status(400, "A renewal carries SID only.")
            found = self.subscriptions.get(sid.strip())
            if found is None or found.service != short:
                return _status(412, "No such subscription.")
            found.expires = self._clock() + timeout
            return await _granted(request, found.sid, timeout)
        address = request.remote or ""
        if nt is None or nt.strip() != "upnp:event" or callback is None:
            return _status(412, "A subscription needs NT: upnp:event and a CALLBACK.")
        callbacks = parse_callbacks(callback, address)
        if callbacks is None:
            return _status(412, "Events go only to http URLs on the subscribing device.")
        mine = sum(1 for s in self.subscriptions.values() if s.address == address)
        if mine >= PER_ADDRESS or len(self.subscriptions) >= MAX_SUBSCRIPTIONS:
            return _status(503, "Too many subscriptions.")
        subscription = Subscription(
            f"uuid:{uuid.uuid4()}", short, address, callbacks, self._clock() + timeout
        )
        self.subscriptions[subscription.sid] = subscription
        response = await _granted(request, subscription.sid, timeout)
        self._spawn(self._notify(subscription, self._values(short)), "gena-initial")
        return response

    async def unsubscribe(self, request: web.Request, short: str) -> web.StreamResponse:
        """UNSUBSCRIBE: end a subscription."""
        sid = request.headers.get("SID")
        if sid is None:
            return _status(412, "UNSUBSCRIBE needs a SID.")
        if "CALLBACK" in request.headers or "NT" in request.headers:
            return _status(400, "UNSUBSCRIBE carries SID only.")
        found = self.subscriptions.get(sid.strip())
        if found is None or found.service != short:
            return _status(412, "No such subscription.")
        del self.subscriptions[found.sid]
        return web.Response(status=200)

    def changed(self, short: str) -> None:
        """A service's evented variables changed: event them, at most once per MODERATION."""
        if short in self._scheduled:
            return
        self._scheduled.add(short)
        wait = self._last_event.get(short, float("-inf")) + MODERATION - self._clock()
        self._spawn(self._event_later(short, max(wait, 0.0)), "gena-event")

    async def _event_later(self, short: str, wait: float) -> None:
        try:
            await asyncio.sleep(wait)
        finally:
            self._scheduled.discard(short)
        self._last_event[short] = self._clock()
        self._sweep()
        values = self._values(short)
        subscribers = [s for s in self.subscriptions.values() if s.service == short]
        await asyncio.gather(*(self._notify(s, values) for s in subscribers))

    async def _notify(self, subscription: Subscription, values: list[tuple[str, str]]) -> None:
        body = propertyset(values)
        headers = {
            "Content-Type": 'text/xml; charset="utf-8"',
            "NT": "upnp:event",
            "NTS": "upnp:propchange",
            "SID": subscription.sid,
            "SEQ": str(subscription.seq),
            "Connection": "close",  # events are rare: no idle socket held open to each TV
        }
        subscription.seq = subscription.seq + 1 if subscription.seq < 2**32 - 1 else 1
        for url in subscription.callbacks:
            try:
                status = await self._send(url, headers, body)
            except Exception:  # an unreachable TV is the normal case, not a fault
                continue
            if 200 <= status < 300:
                subscription.failures = 0
                return
        subscription.failures += 1
        if subscription.failures >= FAILURES_TO_DROP:
            self.subscriptions.pop(subscription.sid, None)


def _status(status: int, reason: str) -> web.Response:
    return web.Response(status=status, text=reason)


async def _granted(request: web.Request, sid: str, seconds: int) -> web.StreamResponse:
    """The 200 answer, written out now so the initial event cannot overtake it."""
    response = web.StreamResponse(
        status=200, headers={"SID": sid, "TIMEOUT": f"Second-{seconds}", "Content-Length": "0"}
    )
    await response.prepare(request)
    await response.write_eof()
    return response
