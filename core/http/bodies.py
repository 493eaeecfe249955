"""Reading JSON request bodies the same way everywhere: small, an object, or a clear 400.

Handlers of every module (people, library, plugins) use these, so a malformed or oversized body,
or one holding text that is not valid Unicode, gets the same answer wherever it is sent. It never
interprets the fields beyond their type.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from core.http.errors import ApiError

BODY_LIMIT = 16 * 1024


async def json_body(request: web.Request, limit: int | None = BODY_LIMIT) -> dict[str, Any]:
    """A JSON object body, or a 400 that says what is wrong. `limit=None` leaves only the
    server's own request size limit."""
    if limit is not None and request.content_length is not None and request.content_length > limit:
        raise ApiError(413, "The request body is too large.", "too_large")
    try:
        body = await request.json()
    except (ValueError, RecursionError) as err:  # RecursionError: nested beyond the parser
        raise ApiError(400, "The body must be JSON.", "bad_body") from err
    if not isinstance(body, dict):
        raise ApiError(400, "The body must be a JSON object.", "bad_body")
    if not _valid_text(body):
        raise ApiError(400, BAD_TEXT, "bad_text")
    return body


BAD_TEXT = "The body holds text that is not valid Unicode (a lone surrogate such as \\ud800)."


def _valid_text(value: object) -> bool:
    """Whether every string in a parsed JSON value (keys too) can be stored: JSON may escape
    a lone surrogate (`"\\ud800"`), which Python parses but SQLite and argon2 cannot encode.
    A loop, not recursion: a body nested as deep as the parser allows must not overflow here."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if not item.isascii() and any("\ud800" <= c <= "\udfff" for c in item):
                return False
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return True


def text_field(body: dict[str, Any], name: str, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value):
        raise ApiError(400, f"'{name}' is required and must be text.", "bad_body")
    return value
