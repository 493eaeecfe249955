"""async_upnp_client's HTTP transport, routed through the core's egress gate.

Every request to a TV (its description, SOAP control, HEADs of our own media URLs) goes through
`ctx.http`, so the gate checks it is on the home network and the owner's ledger records it.
A requester made for one TV (`for_host`) sends only to the host its LOCATION named: a device
description that points its control URLs at another address (loopback, another box) is refused
before anything is sent. No connection to a TV is reused (`Connection: close`): many close after
every answer without saying so. The gate's refusals and failures become async_upnp_client's
own errors, which the profile code already handles. It never opens a connection itself.
A connection the TV drops before answering (libupnp does when its worker threads are all busy,
as on a loaded box) is tried once more: every request sent here (a description, a SOAP action
such as SetAVTransportURI, Play, Seek, Stop) lands in the same state when sent twice.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import aiohttp
from async_upnp_client.client import UpnpRequester
from async_upnp_client.const import HttpRequest, HttpResponse
from async_upnp_client.exceptions import UpnpCommunicationError, UpnpConnectionError
from multidict import CIMultiDict

from core.plugin_api import EgressFailed, EgressRefused, PluginEgress

MAX_REPLY = 2 * 1024 * 1024  # descriptions and SOAP answers are a few KB
RETRY_PAUSE = 0.5  # seconds before the one retry of a dropped connection


class EgressRequester(UpnpRequester):
    """A `UpnpRequester` over the plugin's egress-gated client (for one host, when given)."""

    def __init__(self, http: PluginEgress, timeout: float = 10.0, host: str | None = None) -> None:
        self._http = http
        self._timeout = timeout
        self.host = host.lower() if host is not None else None

    def for_host(self, host: str) -> EgressRequester:
        """The same transport, confined to one device's host."""
        return EgressRequester(self._http, self._timeout, host)

    async def async_http_request(self, http_request: HttpRequest) -> HttpResponse:
        host = (urlsplit(http_request.url).hostname or "").lower()
        if self.host is not None and host != self.host:
            raise UpnpCommunicationError(
                f"{http_request.url} is not on the device's own host {self.host}"
            )
        for attempt in (1, 2):
            try:
                response = await self._http.request(
                    http_request.method,
                    http_request.url,
                    purpose="Play to TV: find and control a TV on the home network",
                    # libupnp (gmediarender, many TVs) closes after every answer without saying
                    # so; a pooled connection would be dead by the next SOAP call.
                    headers={**(http_request.headers or {}), "Connection": "close"},
                    data=http_request.body,
                    time_limit=http_request.timeout or self._timeout,
                    max_bytes=MAX_REPLY,
                )
            except EgressRefused as err:
                raise UpnpCommunicationError(str(err)) from err
            except EgressFailed as err:
                if attempt == 1 and _dropped_unanswered(err):
                    await asyncio.sleep(RETRY_PAUSE)
                    continue
                raise UpnpConnectionError(str(err)) from err
            return HttpResponse(response.status, CIMultiDict(response.headers), response.text())
        raise AssertionError("unreachable: the second attempt returns or raises")


def _dropped_unanswered(err: EgressFailed) -> bool:
    """The TV closed the connection without a word of answer (not a timeout, not a refusal)."""
    return isinstance(err.__cause__, aiohttp.ServerDisconnectedError)
