"""`GET /api/relay/qr.svg`: the box's public URL as a QR code, for a phone's camera.

Made here as SVG by segno (no script, no image library in the browser), for owners and admins:
the admin page shows it beside the URL. It never encodes anything but the public URL.
"""

from __future__ import annotations

import io

from aiohttp import web

from core.plugin_api import RouteSpec


def qr_svg(text: str) -> bytes:
    import segno  # only when someone asks for the code

    buffer = io.BytesIO()
    code = segno.make(text, error="m")
    code.save(buffer, kind="svg", scale=6, border=2, light="#fff", xmldecl=False, title=text)
    return buffer.getvalue()


def qr_routes(url: str) -> list[RouteSpec]:
    async def get_qr(request: web.Request) -> web.Response:
        return web.Response(
            body=qr_svg(url),
            content_type="image/svg+xml",
            headers={"Cache-Control": "no-store"},
        )

    return [
        RouteSpec(
            "GET",
            "/api/relay/qr.svg",
            get_qr,
            summary="The public URL (through the relay) as a QR code, SVG",
            tags=("relay",),
            admin=True,
            responses={"200": "image/svg+xml"},
        )
    ]
