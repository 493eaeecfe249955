"""The core's own routes: health and the OpenAPI document.

Health is public so a TV, a monitoring script or the web app's sign-in page can see that the
server is up; it shows plugin states and errors but never configuration values or secrets.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web

from core.http.openapi import build_document
from core.http.routes import RouteSpec, RouteTable

HealthSource = Callable[[], Mapping[str, Any]]


def add_core_routes(
    table: RouteTable,
    name: str,
    version: str,
    health: HealthSource,
) -> None:
    """Register /api/health and /api/openapi.json."""
    started = time.monotonic()

    async def get_health(request: web.Request) -> web.Response:
        """Server version, uptime and the state of every plugin."""
        body = {
            "name": name,
            "version": version,
            "uptime_seconds": round(time.monotonic() - started, 1),
        }
        body.update(health())
        return web.json_response(body, headers={"Cache-Control": "no-store"})

    async def get_openapi(request: web.Request) -> web.Response:
        """The OpenAPI 3 document for every route registered now."""
        return web.json_response(build_document(table.specs(), f"{name} API", version))

    table.add(RouteSpec("GET", "/api/health", get_health, tags=("core",), public=True), "core")
    table.add(
        RouteSpec("GET", "/api/openapi.json", get_openapi, tags=("core",), public=True), "core"
    )
