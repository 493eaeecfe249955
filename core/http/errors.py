"""JSON error bodies for every 4xx and 5xx, and the one catch-all for handler faults.

A full disk is 507 with a sentence saying what to do, and invalid text from the client a 400,
not an opaque 500.

XML error bodies (UPnP SOAP faults a TV must parse) are left as they are.

Clients (the web app, TVs, scripts) get `{"error": {"code", "message"}}` and never a traceback;
the traceback goes to the log once. This middleware never changes successful responses.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote_to_bytes

from aiohttp import web
from aiohttp.typedefs import Handler

from core.errors import DiskFullError

_LOGGER = logging.getLogger("hearth.http")


def error_code(status: int, reason: str) -> str:
    """`Not Found` -> `not_found`: a stable word for clients to switch on."""
    return re.sub(r"[^a-z0-9]+", "_", reason.lower()).strip("_") or f"http_{status}"


def json_error(
    status: int, message: str, code: str | None = None, headers: dict[str, str] | None = None
) -> web.Response:
    """The response every error takes."""
    reason = web.Response(status=status).reason
    body = {"error": {"code": code or error_code(status, reason), "message": message}}
    return web.json_response(body, status=status, headers=headers)


class ApiError(Exception):
    """Raise from a handler to answer with a JSON error, a specific code and extra headers."""

    def __init__(self, status: int, message: str, code: str | None = None, **headers: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = headers


DISK_FULL = (
    "The server's disk is full; free some space on it, then try again. "
    "Nothing saved before was lost."
)
BAD_URL_TEXT = "The address holds text that is not valid UTF-8; check the link or search words."
BAD_TEXT = "The request holds text that is not valid Unicode; check what was typed or sent."


def valid_url_text(raw: str) -> bool:
    """Whether a raw request target (path and query, as sent) decodes as strict UTF-8 once its
    %-escapes are undone. yarl would quietly turn `%ff` into U+FFFD in a query and keep it
    escaped in a path; strict UTF-8 also refuses encoded surrogates (`%ed%a0%80`)."""
    if raw.isascii() and "%" not in raw:
        return True
    try:
        unquote_to_bytes(raw.encode("utf-8", "surrogateescape")).decode("utf-8")
    except UnicodeError:
        return False
    return True


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn every HTTP error into JSON and every unexpected exception into a logged 500;
    invalid text anywhere in the request is the client's 400, never a 500."""
    if not valid_url_text(request.raw_path):
        return json_error(400, BAD_URL_TEXT, "bad_text")
    try:
        response = await handler(request)
    except ApiError as err:
        return json_error(err.status, err.message, err.code, err.headers)
    except DiskFullError:
        return json_error(507, DISK_FULL, "disk_full")  # the catalog has logged it once
    except UnicodeError as err:
        # what a handler could not encode came from the request (a header, a form field, a
        # body read by hand): the client sent it, so the client is told
        _LOGGER.info("Refused invalid text in %s %r: %s", request.method, request.path, err)
        return json_error(400, BAD_TEXT, "bad_text")
    except web.HTTPException as err:
        if err.status < 400:
            raise
        message = err.text if err.text and not err.text.startswith(f"{err.status}:") else err.reason
        keep = {"Allow", "Retry-After", "WWW-Authenticate", "Content-Range"}
        headers = {k: v for k, v in err.headers.items() if k in keep}
        return json_error(err.status, message or err.reason, None, headers)
    except Exception as err:
        if DiskFullError.describes(err):  # a file, or a store other than the catalog
            _LOGGER.warning("%s %r: the disk is full (%s)", request.method, request.path, err)
            return json_error(507, DISK_FULL, "disk_full")
        _LOGGER.exception("Unhandled error serving %s %s", request.method, request.path)
        return json_error(500, "Internal error; the server log has the details.")
    if (
        response.status >= 400
        and response.content_type not in ("application/json", "text/xml", "application/xml")
        and isinstance(response, web.Response)
        and not response.prepared
    ):
        return json_error(response.status, response.text or response.reason)
    return response
