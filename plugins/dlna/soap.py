"""SOAP for UPnP control: reading a bounded, defused request and writing responses and faults.

The body is read up to `MAX_BODY` bytes (more is 413, before parsing); it is parsed only with
defusedxml and any DTD is refused, so entity expansion (billion laughs) and external entities
(`file:///etc/passwd`) never happen. What cannot be understood becomes a `SoapFault`, answered
as a UPnP error; nothing here raises anything else. Faults are sent as already-written
responses so the core's JSON error middleware leaves their XML alone. It never runs an action.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.etree.ElementTree import Element, ParseError
from xml.sax.saxutils import escape

import defusedxml
from aiohttp import web
from defusedxml import ElementTree

from core.plugin_api import ApiError

MAX_BODY = 64 * 1024
MAX_ARGS = 32
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
XML_TYPE = 'text/xml; charset="utf-8"'
ERRORS = {
    401: "Invalid Action",
    402: "Invalid Args",
    501: "Action Failed",
    701: "No such object",
    706: "Invalid connection reference",
    708: "Unsupported or invalid search criteria",
    709: "Unsupported or invalid sort criteria",
    710: "No such container",
    720: "Cannot process the request",
}


class SoapFault(Exception):
    """A UPnP error to answer with (`http_status` 400 for a body that is not SOAP at all)."""

    def __init__(self, code: int, detail: str = "", http_status: int = 500) -> None:
        super().__init__(detail or ERRORS.get(code, "Error"))
        self.code = code
        self.http_status = http_status


@dataclass(frozen=True, slots=True)
class SoapCall:
    service_type: str
    action: str
    args: dict[str, str]


async def read_body(request: web.Request) -> bytes:
    """The request body, refusing more than MAX_BODY bytes (declared or actually sent)."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise ApiError(413, f"A control request is at most {MAX_BODY} bytes.", "too_large")
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.read(MAX_BODY + 1 - size):
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_BODY:
            raise ApiError(413, f"A control request is at most {MAX_BODY} bytes.", "too_large")
    return b"".join(chunks)


def _local(tag: str) -> tuple[str, str]:
    namespace, _, name = tag[1:].partition("}") if tag.startswith("{") else ("", "", tag)
    return namespace, name


def parse_call(body: bytes, soap_action: str | None) -> SoapCall:
    """The action and its arguments; raises SoapFault for anything that is not a plain call."""
    try:
        root: Element = ElementTree.fromstring(body, forbid_dtd=True)
    except (ParseError, defusedxml.DefusedXmlException, ValueError) as err:
        raise SoapFault(402, "malformed or forbidden XML", http_status=400) from err
    body_element = (
        root.find(f"{{{SOAP_ENV}}}Body") if root.tag == f"{{{SOAP_ENV}}}Envelope" else None
    )
    calls = list(body_element) if body_element is not None else []
    if len(calls) != 1:
        raise SoapFault(402, "expected one action in a SOAP envelope", http_status=400)
    service_type, action = _local(calls[0].tag)
    if soap_action:
        declared = soap_action.strip().strip('"')
        if declared != f"{service_type}#{action}":
            raise SoapFault(401, "SOAPAction header does not match the body")
    if len(calls[0]) > MAX_ARGS:
        raise SoapFault(402, "too many arguments")
    args = {_local(child.tag)[1]: (child.text or "") for child in calls[0]}
    return SoapCall(service_type, action, args)


def response_xml(service_type: str, action: str, outputs: list[tuple[str, str]]) -> bytes:
    values = "".join(f"<{name}>{escape(value)}</{name}>" for name, value in outputs)
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<s:Envelope xmlns:s="{SOAP_ENV}" '
        's:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body>'
        f'<u:{action}Response xmlns:u="{escape(service_type)}">{values}</u:{action}Response>'
        "</s:Body></s:Envelope>"
    ).encode()


def fault_xml(fault: SoapFault) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<s:Envelope xmlns:s="{SOAP_ENV}" '
        's:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body><s:Fault>'
        "<faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring><detail>"
        '<UPnPError xmlns="urn:schemas-upnp-org:control-1-0">'
        f"<errorCode>{fault.code}</errorCode>"
        f"<errorDescription>{escape(str(fault))}</errorDescription>"
        "</UPnPError></detail></s:Fault></s:Body></s:Envelope>"
    ).encode()


async def send_xml(request: web.Request, body: bytes, status: int = 200) -> web.StreamResponse:
    """Write an XML response now (a prepared response passes the error middleware untouched)."""
    response = web.StreamResponse(status=status, headers={"Content-Type": XML_TYPE, "EXT": ""})
    response.content_length = len(body)
    await response.prepare(request)
    await response.write(body)
    await response.write_eof()
    return response
