"""Browser hardening on every response, and sending remote visitors from HTTP to HTTPS.

The headers keep the web app from being framed, sniffed or made to load anything from another
origin; Strict-Transport-Security goes only on HTTPS answers, because a plain-HTTP answer cannot
be trusted to carry it. Handlers may set their own value for any of these headers. It never
decides who may see what (that is the people layer) and never touches response bodies.
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from core.http.origin import is_home

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}
# Not includeSubDomains: a box's name is not ours to speak for beyond itself.
# A day, not a year: HSTS covers the host, not the port, so a browser that once trusted the
# self-signed certificate would otherwise refuse plain http://box:8440 for a year.
STRICT_TRANSPORT = "max-age=86400"


async def add_security_headers(request: web.BaseRequest, response: web.StreamResponse) -> None:
    """`on_response_prepare`: runs for JSON, files, streams, errors and redirects alike."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.secure:
        response.headers.setdefault("Strict-Transport-Security", STRICT_TRANSPORT)


def https_url(request: web.BaseRequest, port: int) -> str:
    """The same URL on the HTTPS port (host from the request, path and query kept)."""
    return str(request.url.with_scheme("https").with_port(port))


def redirect_middleware(target_port: Callable[[], int | None]) -> Middleware:
    """308 to HTTPS for plain-HTTP requests from outside the home, when `target_port()` names
    a port (the owner enabled it and HTTPS is serving); 308 keeps the method and body."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        port = target_port()
        if port is not None and not request.secure and not is_home(request):
            raise web.HTTPPermanentRedirect(https_url(request, port))
        return await handler(request)

    return middleware
