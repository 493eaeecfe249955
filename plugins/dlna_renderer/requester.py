"""async_upnp_client's HTTP transport, routed through the core's egress gate.

Every request to a TV (its description, SOAP control, HEADs of our own media URLs) goes through
`ctx.http`, so the gate checks it is on the home network and the owner's ledger records it.
The gate's refusals and failures become async_upnp_client's own errors, which the profile code
already handles. It never opens a connection itself.
"""

from __future__ import annotations

from async_upnp_client.client import UpnpRequester
from async_upnp_client.const import HttpRequest, HttpResponse
from async_upnp_client.exceptions import UpnpCommunicationError, UpnpConnectionError
from multidict import CIMultiDict

from core.egress import EgressFailed, EgressRefused, PluginEgress

MAX_REPLY = 2 * 1024 * 1024  # descriptions and SOAP answers are a few KB


class EgressRequester(UpnpRequester):
    """A `UpnpRequester` over the plugin's egress-gated client."""

    def __init__(self, http: PluginEgress, timeout: float = 10.0) -> None:
        self._http = http
        self._timeout = timeout

    async def async_http_request(self, http_request: HttpRequest) -> HttpResponse:
        try:
            response = await self._http.request(
                http_request.method,
                http_request.url,
                purpose="Play to TV: find and control a TV on the home network",
                headers=dict(http_request.headers or {}),
                data=http_request.body,
                time_limit=http_request.timeout or self._timeout,
                max_bytes=MAX_REPLY,
            )
        except EgressRefused as err:
            raise UpnpCommunicationError(str(err)) from err
        except EgressFailed as err:
            raise UpnpConnectionError(str(err)) from err
        return HttpResponse(response.status, CIMultiDict(response.headers), response.text())
