"""Telling a TV to play an item, and turning what TVs say back into errors people can read.

Playing is: find the item as the asker may see it, pick the TV's device profile from its name
and maker, choose the file or the transcode (media.py), build the URL on the server's address
facing the TV, HEAD it ourselves (so a URL the TV would be refused is never handed over, and so
the resource is described with the DLNA plugin's own MIME type and contentFeatures), then
SetAVTransportURI with DIDL-Lite, Play, an optional Seek, and follow the TV while it plays.
When a signed-in person presses Play, the URL carries a capability link made on their session
(core.people.links): the TV gets what that person may watch, not only what TVs are shown, for
as long as they stay signed in. It never serves media and writes only that link.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from multidict import CIMultiDict

from core.plugin_api import (
    ApiError,
    EgressFailed,
    EgressRefused,
    PluginContext,
    Principal,
    detect_profile,
    item_link,
    lan_principal_blocking,
)
from plugins.dlna_renderer.media import (
    PlayableItem,
    choose_route,
    didl_item,
    media_url,
    playable_item_blocking,
)
from plugins.dlna_renderer.network import address_facing_blocking
from plugins.dlna_renderer.renderer import DlnaRenderer

DEFAULT_PROFILE = "dlna-generic"
NOT_ON_LAN = (
    "TVs on the home network are not shown this: its library is not visible on the LAN, or it "
    "is rated above the DLNA plugin's max_rating."
)


@contextlib.contextmanager
def talking_to(renderer: DlnaRenderer) -> Iterator[None]:
    """Turn a TV's refusal or silence into an API error naming the TV."""
    # loaded already: a renderer is made only by fleet.py, with async_upnp_client
    from async_upnp_client.exceptions import (
        UpnpActionError,
        UpnpCommunicationError,
        UpnpError,
    )

    name = renderer.info.name
    try:
        yield
    except UpnpActionError as err:
        raise ApiError(502, f"{name} refused: {err}", "renderer_refused") from err
    except UpnpCommunicationError as err:
        raise ApiError(504, f"{name} does not answer: {err}", "renderer_unreachable") from err
    except UpnpError as err:
        raise ApiError(502, f"{name} answered something odd: {err}", "renderer_error") from err


class Player:
    """Plays items on renderers for the API and for the core's PlaybackTarget calls."""

    def __init__(self, ctx: PluginContext, poll_interval: float) -> None:
        self.ctx = ctx
        self.poll_interval = poll_interval

    def follow(self, renderer: DlnaRenderer) -> None:
        renderer.follow(self.ctx.create_task, self.poll_interval)

    async def _item(self, item_id: str, principal: Principal | None) -> PlayableItem:
        def find(db: object) -> PlayableItem | None:
            who = principal if principal is not None else lan_principal_blocking(db)
            return playable_item_blocking(db, item_id, who)  # type: ignore[arg-type]

        item = await self.ctx.catalog.read(find)
        if item is None:
            raise ApiError(404, "No such item, or nothing to play.", "item_not_found")
        if not await self.ctx.run_blocking(os.path.isfile, item.path):
            raise ApiError(
                404, "The file is gone from disk; a rescan will tidy up.", "file_missing"
            )
        return item

    async def _describe(self, url: str, fallback: str) -> tuple[str, str]:
        """HEAD our own URL as the TV will see it: (MIME type, contentFeatures)."""
        shown = url.split("?", 1)[0]  # a capability link is never shown
        try:
            response = await self.ctx.http.request(
                "HEAD",
                url,
                purpose="Play to TV: check the address handed to the TV",
                headers={"getcontentFeatures.dlna.org": "1"},
                time_limit=10,
            )
        except (EgressRefused, EgressFailed) as err:
            raise ApiError(502, f"{shown} cannot be reached: {err}", "media_unreachable") from err
        if response.status == 404:
            raise ApiError(403, NOT_ON_LAN, "not_shown_to_tvs")
        if response.status == 410:
            raise ApiError(410, "The drive holding this is not connected.", "library_offline")
        if response.status >= 400:
            raise ApiError(
                502, f"The DLNA plugin answered {response.status} for {shown}.", "dlna_unavailable"
            )
        headers = CIMultiDict(response.headers)
        mime = headers.get("Content-Type", fallback).split(";", 1)[0].strip()
        return mime, headers.get("contentFeatures.dlna.org", "*")

    async def play(
        self,
        renderer: DlnaRenderer,
        item_id: str,
        position: float,
        principal: Principal | None,
    ) -> None:
        """Put the item on the TV and start it (`principal` None: as any TV on the LAN may)."""
        item = await self._item(item_id, principal)
        port = self.ctx.http_port
        if not port:
            raise ApiError(503, "The server is still starting.", **{"Retry-After": "2"})
        try:
            address = await self.ctx.run_blocking(address_facing_blocking, renderer.info.host)
        except OSError as err:
            raise ApiError(
                502, f"No address of this server reaches {renderer.info.name}.", "no_route"
            ) from err
        base = f"http://{address}:{port}"
        headers = {
            "User-Agent": f"{renderer.info.manufacturer} {renderer.info.model}",
            "FriendlyName.DLNA.ORG": renderer.info.name,
        }
        profile = detect_profile(self.ctx.playback.profiles, headers, DEFAULT_PROFILE)
        route = choose_route(item, profile, renderer.sink)
        url = media_url(base, item, route)
        query = ""  # TVs may not be shown it; its person may watch it (and see its picture)
        if principal is not None:
            token = await item_link(self.ctx.catalog, principal, item.item_id)
            query = f"?link={token}" if token else ""
        url += query
        mime, features = await self._describe(url, "video/mpeg")
        metadata = didl_item(item, url, f"http-get:*:{mime}:{features}", base, query)
        self.ctx.logger.info(
            "Playing %s on %s (%s, profile %s)", item.title, renderer.info.name, route, profile.name
        )
        from async_upnp_client.exceptions import UpnpError  # loaded with the renderer

        with talking_to(renderer):
            await renderer.load(url, metadata, item.item_id, item.title, item.duration)
            await renderer.play()
            if position > 0:
                try:
                    await renderer.seek(position)
                except UpnpError as err:  # many TVs refuse to seek until they play
                    self.ctx.logger.info("%s did not seek: %s", renderer.info.name, err)
            await renderer.refresh()
        self.follow(renderer)

    async def resume(self, renderer: DlnaRenderer) -> None:
        """Play again what is on the TV: a paused item goes on from where it was."""
        if renderer.state == "playing":
            return
        if renderer.state != "paused" and not renderer.loaded:
            raise ApiError(409, f"Nothing to resume on {renderer.info.name}.", "nothing_loaded")
        with talking_to(renderer):
            await renderer.play()
            await renderer.refresh()
        self.follow(renderer)
