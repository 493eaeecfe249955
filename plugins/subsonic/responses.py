"""The Subsonic response envelope, in XML or JSON, and the API's error codes.

Every answer is `<subsonic-response status="ok" version="1.16.1" type="hearth"
serverVersion=… openSubsonic="true">` with the endpoint's payload inside (XML), or the same as
`{"subsonic-response": {...}}` (`f=json`). Payloads are plain dicts: a key whose value is a
dict or a list of dicts becomes child elements, anything else an attribute; in JSON they stay
as they are. JSONP (`f=jsonp`) is refused: it runs the answer as a script on another site's
page. Errors answer HTTP 200 with status "failed", as the apps expect. It never decides who
may see what.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from xml.sax.saxutils import quoteattr

from aiohttp import web

from core.plugin_api import __version__

API_VERSION = "1.16.1"
NAMESPACE = "http://subsonic.org/restapi"
# the spec's error codes
GENERIC = 0
MISSING_PARAMETER = 10
CLIENT_TOO_NEW = 20
SERVER_TOO_OLD = 30
WRONG_CREDENTIALS = 40
TOKEN_NOT_SUPPORTED = 41
AUTH_NOT_SUPPORTED = 42
CONFLICTING_AUTH = 43
INVALID_API_KEY = 44
NOT_AUTHORIZED = 50
NOT_FOUND = 70

Payload = Mapping[str, Any]
# characters XML 1.0 cannot carry at all, even escaped (a tag may hold any of them)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class SubsonicError(Exception):
    """An API failure answered as `status="failed"` with the spec's `code`."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def envelope(status: str = "ok") -> dict[str, Any]:
    return {
        "status": status,
        "version": API_VERSION,
        "type": "hearth",
        "serverVersion": __version__,
        "openSubsonic": True,
    }


def response_format(request: web.Request, params: Mapping[str, str]) -> str:
    """`xml` or `json`; `jsonp` is refused (answered as a failed XML response)."""
    wanted = params.get("f", "xml")
    return "json" if wanted == "json" else "xml"


def ok(fmt: str, payload: Payload | None = None) -> web.Response:
    """A successful answer; `payload` maps the element name to its content."""
    return _answer(fmt, {**envelope("ok"), **(payload or {})})


def failed(fmt: str, code: int, message: str) -> web.Response:
    body = {**envelope("failed"), "error": {"code": code, "message": message}}
    return _answer(fmt, body)


def ok_bytes(fmt: str, payload: Payload | None = None) -> bytes:
    """A successful answer's body, to keep: a big answer that does not change (the artist
    list) costs more to write out than to look up."""
    return _text(fmt, {**envelope("ok"), **(payload or {})}).encode()


def from_bytes(fmt: str, body: bytes) -> web.Response:
    """An answer whose body `ok_bytes` made."""
    kind = "application/json" if fmt == "json" else "text/xml"
    return web.Response(body=body, content_type=kind, charset="utf-8")


def _answer(fmt: str, body: dict[str, Any]) -> web.Response:
    kind = "application/json" if fmt == "json" else "text/xml"
    return web.Response(text=_text(fmt, body), content_type=kind, charset="utf-8")


def _text(fmt: str, body: dict[str, Any]) -> str:
    if fmt == "json":
        return json.dumps({"subsonic-response": body}, ensure_ascii=False, separators=(",", ":"))
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + _element(
        "subsonic-response", {"xmlns": NAMESPACE, **body}
    )


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("", str(value))


def _element(name: str, content: Payload) -> str:
    attributes: list[str] = []
    children: list[str] = []
    text: str | None = None
    for key, value in content.items():
        if value is None:
            continue
        if key == "value" and not isinstance(value, (dict, list)):
            text = _scalar(value)  # an element's text (e.g. lyrics), "value" in JSON
        elif isinstance(value, Mapping):
            children.append(_element(key, value))
        elif isinstance(value, list):
            for entry in value:
                if isinstance(entry, Mapping):
                    children.append(_element(key, entry))
                else:
                    children.append(f"<{key}>{_escape(_scalar(entry))}</{key}>")
        else:
            attributes.append(f" {key}={quoteattr(_scalar(value))}")
    head = f"<{name}{''.join(attributes)}"
    if not children and text is None:
        return head + "/>"
    return f"{head}>{_escape(text or '')}{''.join(children)}</{name}>"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
