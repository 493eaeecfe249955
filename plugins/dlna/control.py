"""The UPnP control endpoints: ContentDirectory, ConnectionManager and the Microsoft registrar.

Each POST is checked against the service's table in `scpd.py` (unknown action 401, missing or
malformed argument 402), then answered from the browse tree: Browse, Search, capabilities,
SystemUpdateID, Samsung's feature list, protocol info, and the registrar's "always allowed".
Counts are bounded (RequestedCount 0 means "as many as one response may carry"). Browse and
Search answers are kept for a while (pages.py) and given again only under the same visibility
and SystemUpdateID. It never changes anything: every action here is read-only.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Hashable

from aiohttp import web

from plugins.dlna import soap
from plugins.dlna.criteria import (
    SEARCH_CAPS,
    SORT_CAPS,
    CriteriaError,
    parse_criteria,
    sort_sql,
)
from plugins.dlna.didl import Filter, didl
from plugins.dlna.objects import Entry
from plugins.dlna.pages import Page
from plugins.dlna.profiles import SOURCE_PROTOCOLS
from plugins.dlna.scpd import CONNECTION_MANAGER, CONTENT_DIRECTORY, Service
from plugins.dlna.search import search_blocking
from plugins.dlna.service import DlnaService, base_url, check_host
from plugins.dlna.soap import SoapFault
from plugins.dlna.tree import BrowseTree

MAX_PAGE = 2000
MAX_OBJECT_ID = 512
_KEY_ARGUMENTS = (
    "ObjectID",
    "ContainerID",
    "BrowseFlag",
    "SearchCriteria",
    "Filter",
    "SortCriteria",
)
Outputs = list[tuple[str, str]]
_FEATURE_TYPES = {
    "movies": "object.item.videoItem",
    "shows": "object.item.videoItem",
    "videos": "object.item.videoItem",
    "music": "object.item.audioItem",
    "photos": "object.item.imageItem",
}


def _ui4(args: dict[str, str], name: str) -> int:
    value = args.get(name, "").strip()
    if not value.isdigit() or len(value) > 10 or int(value) >= 2**32:
        raise SoapFault(402, f"{name} must be a whole number from 0 to 4294967295")
    return int(value)


class DlnaControl:
    """Runs SOAP actions for the three services."""

    def __init__(self, service: DlnaService) -> None:
        self.service = service

    def handler(self, spec: Service) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def control(request: web.Request) -> web.StreamResponse:
            """UPnP control (SOAP) endpoint."""
            check_host(request)
            body = await soap.read_body(request)
            try:
                call = soap.parse_call(body, request.headers.get("SOAPACTION"))
                action = spec.action(call.action)
                if call.service_type != spec.service_type or action is None:
                    raise SoapFault(401)
                if any(name not in call.args for name, _ in action.inputs):
                    raise SoapFault(402, "missing argument")
                try:
                    outputs = await self.run(spec, call.action, call.args, base_url(request))
                except sqlite3.Error as err:  # a locked or damaged catalog: say so, keep serving
                    self.service.ctx.logger.warning("Cannot answer %s: %s", call.action, err)
                    raise SoapFault(720) from err
            except SoapFault as fault:
                return await soap.send_xml(request, soap.fault_xml(fault), fault.http_status)
            payload = soap.response_xml(spec.service_type, call.action, outputs)
            return web.Response(body=payload, headers={"Content-Type": soap.XML_TYPE, "EXT": ""})

        control.__name__ = f"control_{spec.short}"
        return control

    async def run(self, spec: Service, action: str, args: dict[str, str], base: str) -> Outputs:
        if spec is CONTENT_DIRECTORY:
            return await self.content_directory(action, args, base)
        if spec is CONNECTION_MANAGER:
            if action == "GetProtocolInfo":
                return [("Source", SOURCE_PROTOCOLS), ("Sink", "")]
            if action == "GetCurrentConnectionIDs":
                return [("ConnectionIDs", "0")]
            if args.get("ConnectionID", "").strip() != "0":
                raise SoapFault(706)
            return [
                ("RcsID", "-1"),
                ("AVTransportID", "-1"),
                ("ProtocolInfo", ""),
                ("PeerConnectionManager", ""),
                ("PeerConnectionID", "-1"),
                ("Direction", "Output"),
                ("Status", "OK"),
            ]
        if action == "RegisterDevice":  # Xbox and Windows Media Player: nothing to register
            return [("RegistrationRespMsg", "")]
        return [("Result", "1")]

    async def content_directory(self, action: str, args: dict[str, str], base: str) -> Outputs:
        if action == "GetSearchCapabilities":
            return [("SearchCaps", SEARCH_CAPS)]
        if action == "GetSortCapabilities":
            return [("SortCaps", SORT_CAPS)]
        if action == "GetSystemUpdateID":
            return [("Id", str(self.service.system_update_id))]
        if action == "X_GetFeatureList":
            return [("FeatureList", await self.service.read_tree(_features))]
        start, count = _ui4(args, "StartingIndex"), _ui4(args, "RequestedCount")
        count = min(count or MAX_PAGE, MAX_PAGE)
        try:
            keys = sort_sql(args["SortCriteria"])
        except CriteriaError as err:
            raise SoapFault(709, str(err)) from err
        wants = Filter(args["Filter"])
        asked = tuple(args.get(name) for name in _KEY_ARGUMENTS)
        key = (action, start, count, base, self.service.system_update_id, *asked)
        cached = self.service.pages.get(key)
        if action == "Browse":
            object_id, flag = args["ObjectID"], args["BrowseFlag"]
            if flag not in ("BrowseMetadata", "BrowseDirectChildren"):
                raise SoapFault(402, "BrowseFlag is BrowseMetadata or BrowseDirectChildren")

            def browse(tree: BrowseTree) -> tuple[list[Entry], int] | None:
                node = tree.node(object_id) if len(object_id) <= MAX_OBJECT_ID else None
                if node is None:
                    return None
                if flag == "BrowseMetadata":
                    return tree.with_subtitles([node.entry]), 1
                return tree.children(node, start, count, keys)

            found = await self.service.read_tree(_or_cached(cached, browse))
            if found is None:
                raise SoapFault(701)
        else:
            try:
                criteria = parse_criteria(args["SearchCriteria"])
            except CriteriaError as err:
                raise SoapFault(708, str(err)) from err
            container = args["ContainerID"]

            def search(tree: BrowseTree) -> tuple[list[Entry], int] | None:
                if len(container) > MAX_OBJECT_ID:
                    return None
                return search_blocking(tree, container, criteria, keys, start, count)

            found = await self.service.read_tree(_or_cached(cached, search))
            if found is None:
                raise SoapFault(710)
        if isinstance(found, Page):
            page = found
        else:
            visibility, entries, total = found
            result = didl(entries, wants, base)
            page = Page(visibility, result, len(entries), total)
            self.service.pages.put(key, page)
        return [
            ("Result", page.result),
            ("NumberReturned", str(page.returned)),
            ("TotalMatches", str(page.total)),
            ("UpdateID", str(self.service.system_update_id)),
        ]


Found = Page | tuple[Hashable, list[Entry], int] | None


def _or_cached(
    cached: Page | None, work: Callable[[BrowseTree], tuple[list[Entry], int] | None]
) -> Callable[[BrowseTree], Found]:
    """`work`, unless the cached page was made under the visibility TVs have now."""

    def run(tree: BrowseTree) -> Found:
        visibility = (tuple(sorted(tree.libraries)), tree.visible, tuple(tree.visible_args))
        if cached is not None and cached.visibility == visibility:
            return cached
        found = work(tree)
        return None if found is None else (visibility, *found)

    return run


def _features(tree: BrowseTree) -> str:
    """Samsung's BASICVIEW: where its Videos, Music and Photos tabs start browsing."""
    by_type: dict[str, list[int]] = {}
    for library in tree.libraries.values():
        by_type.setdefault(_FEATURE_TYPES[library.kind], []).append(library.id)
    containers = "".join(
        f'<container id="{f"lib:{ids[0]}" if len(ids) == 1 else "0"}" type="{kind}"/>'
        for kind, ids in sorted(by_type.items())
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Features xmlns="urn:schemas-upnp-org:av:avs" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:schemaLocation="urn:schemas-upnp-org:av:avs '
        'http://www.upnp.org/schemas/av/avs.xsd">'
        f'<Feature name="samsung.com_BASICVIEW" version="1">{containers}</Feature></Features>'
    )
