"""Builds the OpenAPI 3 document from the route table, so every registered route appears.

Nothing is written by hand twice: summaries come from the route spec or the handler's docstring,
path parameters from the path itself. It never serves or validates requests.
"""

from __future__ import annotations

from typing import Any

from core.http.routes import RouteSpec

_ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
            "required": ["code", "message"],
        }
    },
}


def _summary(spec: RouteSpec) -> str:
    if spec.summary:
        return spec.summary
    doc = (getattr(spec.handler, "__doc__", None) or "").strip()
    return doc.splitlines()[0] if doc else f"{spec.method} {spec.path}"


def _operation(spec: RouteSpec, owner: str) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in spec.path_params
    ]
    parameters += [
        {
            "name": p.name,
            "in": "query",
            "required": p.required,
            "description": p.description,
            "schema": {"type": p.type},
        }
        for p in spec.query
    ]
    responses: dict[str, Any] = {
        code: {"description": text} for code, text in (spec.responses or {"200": "OK"}).items()
    }
    responses["default"] = {
        "description": "Error",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    operation: dict[str, Any] = {
        "summary": _summary(spec),
        "operationId": f"{spec.method.lower()}_{owner}_{spec.handler.__name__}",
        "tags": list(spec.tags) or [owner],
        "parameters": parameters,
        "responses": responses,
        "x-hearth-owner": owner,
        "x-hearth-access": spec.access,
    }
    if spec.request_body is not None:
        operation["requestBody"] = {
            "content": {"application/json": {"schema": dict(spec.request_body)}}
        }
    if spec.access == "signed_in":
        operation["security"] = [{"bearer": []}]
    else:  # no sign-in; `lan` routes answer only the home network
        operation["security"] = []
    return operation


OPENAPI_METHODS = frozenset({"get", "put", "post", "delete", "options", "patch", "trace"})


def build_document(
    routes: list[tuple[RouteSpec, str, bool]], title: str, version: str
) -> dict[str, Any]:
    """The whole document for the routes registered right now."""
    paths: dict[str, dict[str, Any]] = {}
    for spec, owner, _active in sorted(routes, key=lambda r: (r[0].openapi_path, r[0].method)):
        if spec.method.upper() == "HEAD":
            continue  # aiohttp answers HEAD for every GET; listing both would be noise
        if spec.method.lower() not in OPENAPI_METHODS:
            continue  # UPnP's SUBSCRIBE/UNSUBSCRIBE: OpenAPI 3.0 has no place for them
        paths.setdefault(spec.openapi_path, {})[spec.method.lower()] = _operation(spec, owner)
    return {
        "openapi": "3.0.3",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {
            "schemas": {"Error": _ERROR_SCHEMA},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
