"""The route sweep: every route in the OpenAPI document is either on the public allowlist below,
or refuses a request without credentials; and every item route refuses an item from a library
the caller was not granted. A new route is covered the day it is registered; a new public route
fails here until someone adds it to the allowlist on purpose."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunningServer, StartServer, make_user
from tests.core.people.household import call, household_server, item_by_title, library_ids

# (method, path) of the core's public routes, each for a reason:
PUBLIC_CORE = {
    ("get", "/api/health"),  # is the box up (TVs, monitoring, the sign-in page)
    ("get", "/api/openapi.json"),  # the API's shape, no data
    ("post", "/api/auth/login"),  # signing in
    ("get", "/api/setup"),  # is the first-run owner step open
    ("post", "/api/setup"),  # the first-run owner step (needs the code from the log)
    ("post", "/api/invites/redeem"),  # the invite code is the permission
}


def allowed_public(method: str, path: str, owner: str) -> bool:
    """The allowlist: the core's routes above, the DLNA server (TVs have no accounts; each
    library's `lan_visible` decides), and the web app's static files."""
    if owner == "core" and (method, path) in PUBLIC_CORE:
        return True
    if owner == "dlna" and path.startswith("/dlna/"):
        return True
    return owner == "web" and method == "get" and not path.startswith(("/api/", "/dlna/"))


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, methods in doc["paths"].items()
        for method, operation in methods.items()
    ]


def fill(path: str, values: dict[str, str]) -> str:
    """Real values for path parameters; anything unknown gets "1"."""
    return re.sub(r"\{([^}]+)\}", lambda m: values.get(m.group(1), "1"), path)


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


async def test_the_public_routes_are_exactly_the_allowlist(server: RunningServer) -> None:
    doc = await openapi(server)
    public = {
        (method, path, op["x-hearth-owner"])
        for method, path, op in operations(doc)
        if op["x-hearth-public"]
    }
    unexpected = sorted(p for p in public if not allowed_public(*p))
    assert unexpected == [], "public routes missing from the allowlist (add them on purpose)"
    assert {(m, p) for m, p, o in public if o == "core"} == PUBLIC_CORE
    assert {o for _, _, o in public} == {"core", "dlna", "web"}  # every rule is exercised
    for method, path, operation in operations(doc):
        if not operation["x-hearth-public"]:
            assert operation["security"] == [{"bearer": []}], (method, path)


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
        if operation["x-hearth-public"]:
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
