"""The core's own routes: health and the OpenAPI document.

Health answers anyone, so a TV, a monitoring script or the web app's sign-in page can see that
the server is up; to anyone else than an owner or admin it says only name, version and status
(the kernel, CPU, memory and paths are nobody else's business). Even then it never shows
configuration values or secrets. The OpenAPI document is for signed-in callers.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web

from core.http.openapi import build_document
from core.http.routes import RouteSpec, RouteTable

HealthSource = Callable[[], Mapping[str, Any]]
AdminCheck = Callable[[web.Request], bool]


def add_core_routes(
    table: RouteTable,
    name: str,
    version: str,
    health: HealthSource,
    is_admin: AdminCheck,
) -> None:
    """Register /api/health and /api/openapi.json."""
    started = time.monotonic()

    async def get_health(request: web.Request) -> web.Response:
        """Server name, version and status; for admins also uptime and every plugin's state."""
        detail = health()
        body: dict[str, Any] = {"name": name, "version": version, "status": detail["status"]}
        if is_admin(request):
            body["uptime_seconds"] = round(time.monotonic() - started, 1)
            body.update(detail)
        return web.json_response(body, headers={"Cache-Control": "no-store"})

    async def get_openapi(request: web.Request) -> web.Response:
        """The OpenAPI 3 document for every route registered now."""
        return web.json_response(build_document(table.specs(), f"{name} API", version))

    table.add(RouteSpec("GET", "/api/health", get_health, tags=("core",), access="anyone"), "core")
    table.add(RouteSpec("GET", "/api/openapi.json", get_openapi, tags=("core",)), "core")
