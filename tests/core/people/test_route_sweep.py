"""The route sweep: every route in the OpenAPI document is either on the allowlist of routes that
need no account below (`anyone` and `lan` levels), or refuses a request without credentials;
and every item route refuses an item from a library the caller was not granted. A new route is
covered the day it is registered; a new open route fails here until someone adds it to the
allowlist on purpose. Where a request comes from: tests/core/http/test_origin_sweep.py."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunningServer, StartServer, make_user
from tests.core.people.household import call, household_server, item_by_title, library_ids

# (method, path, level) of the core's routes that need no account, each for a reason:
OPEN_CORE = {
    ("get", "/api/health", "anyone"),  # is the box up (TVs, monitoring, the sign-in page)
    ("post", "/api/auth/login", "anyone"),  # signing in
    ("get", "/api/setup", "lan"),  # is the first-run owner step open
    ("post", "/api/setup", "lan"),  # the first-run owner step (needs the code from the log)
    ("post", "/api/invites/redeem", "anyone"),  # the invite code is the permission
}


def allowed_open(method: str, path: str, owner: str, level: str) -> bool:
    """The allowlist: the core's routes above, the DLNA server on the home network only (TVs
    have no accounts; each library's `lan_visible` decides), and the web app's static files."""
    if owner == "core" and (method, path, level) in OPEN_CORE:
        return True
    if owner == "dlna" and path.startswith("/dlna/"):
        return level == "lan"
    return (
        owner == "web"
        and method == "get"
        and level == "anyone"
        and not path.startswith(("/api/", "/dlna/"))
    )


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, methods in doc["paths"].items()
        for method, operation in methods.items()
    ]


def fill(path: str, values: dict[str, str]) -> str:
    """Real values for path parameters; a segment's type one the route knows (the router
    answers 404 for any other before the access check runs); anything unknown gets "1"."""
    known = {"ext": "ts", **values}
    return re.sub(r"\{([^}]+)\}", lambda m: known.get(m.group(1), "1"), path)


def sample(schema: dict[str, Any]) -> Any:
    """A plausible value for a JSON schema, so body checks do not answer before access checks."""
    kind = schema.get("type")
    if kind == "object":
        return {name: sample(sub) for name, sub in schema.get("properties", {}).items()}
    return {"string": "x", "integer": 1, "number": 1.0, "boolean": True, "array": []}.get(kind)


def body_for(method: str, operation: dict[str, Any]) -> Any:
    schema = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    if "schema" in schema:
        return sample(schema["schema"])
    return {} if method in ("post", "put", "patch") else None


@pytest.fixture
async def server(start_server: StartServer, tmp_path: Path) -> RunningServer:
    plugins = "dlna: {ssdp: false}\nweb:\n"  # every shipped plugin that adds routes
    return await household_server(start_server, tmp_path / "media", plugins)


async def openapi(server: RunningServer) -> dict[str, Any]:
    return await server.get_json("/api/openapi.json")


async def test_the_open_routes_are_exactly_the_allowlist(server: RunningServer) -> None:
    doc = await openapi(server)
    open_routes = {
        (method, path, op["x-hearth-owner"], op["x-hearth-access"])
        for method, path, op in operations(doc)
        if op["x-hearth-access"] != "signed_in"
    }
    unexpected = sorted(p for p in open_routes if not allowed_open(*p))
    assert unexpected == [], "open routes missing from the allowlist (add them on purpose)"
    assert {(m, p, lv) for m, p, o, lv in open_routes if o == "core"} == OPEN_CORE
    assert {o for _, _, o, _ in open_routes} == {"core", "dlna", "web"}  # every rule exercised
    for method, path, operation in operations(doc):
        signed_in = operation["x-hearth-access"] == "signed_in"
        assert operation["security"] == ([{"bearer": []}] if signed_in else []), (method, path)


async def test_every_private_route_refuses_a_request_without_credentials(
    server: RunningServer,
) -> None:
    doc = await openapi(server)
    ids = await library_ids(server)
    item = await item_by_title(server, "Pilot", "episode")
    values = {
        "id": item["id"],
        "item": item["id"],
        "kind": "poster",
        "library": str(ids["TV"]),
        "user": "1",
        "n": "0",
        "index": "0",
    }
    swept = 0
    for method, path, operation in operations(doc):
        if operation["x-hearth-access"] != "signed_in":
            continue
        url = fill(path, values)
        for headers in ({}, {"Authorization": "Bearer hs_not_a_real_token"}):
            status, body = await call(
                server, method.upper(), url, json=body_for(method, operation), headers=headers
            )
            assert status == 401, (method, url, headers, body)
            assert body["error"]["code"] == "unauthorized", (method, url)
        if method == "get":
            assert (await call(server, "HEAD", url))[0] == 401, url
        swept += 1
    assert swept >= 30  # the sweep saw the whole API, not an empty document


async def test_item_routes_refuse_items_from_libraries_not_granted(server: RunningServer) -> None:
    doc = await openapi(server)
    ids = await library_ids(server)
    member = await make_user(server.hub, "guest", "member", libraries=[ids["Movies"]])
    other = await item_by_title(server, "Pilot", "episode")  # in TV: not granted
    own = await item_by_title(server, "Blade Runner", "movie")  # in Movies: granted
    item_routes = [
        (method, path, operation)
        for method, path, operation in operations(doc)
        if path.startswith("/api/items/{id}")
    ]
    paths = {path for _, path, _ in item_routes}
    assert {"/api/items/{id}", "/api/items/{id}/artwork/{kind}", "/api/items/{id}/stream"} <= paths
    for method, path, operation in item_routes:
        values = {"kind": "poster", "session": "1", "n": "0", "index": "0"}
        url = fill(path, {**values, "id": other["id"]})
        status, body = await call(
            server, method.upper(), url, member, json=body_for(method, operation)
        )
        assert status in (403, 404), (method, url, status, body)
    for path in ("/api/items/{id}", "/api/items/{id}/artwork/poster", "/api/items/{id}/stream"):
        status, _ = await call(server, "GET", fill(path, {"id": own["id"]}), member)
        assert status == 200, path  # the same routes answer for a granted item
