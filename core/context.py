"""What a plugin gets from the hub: its logger, folder, bus, catalog, tasks, routes and registries.

Everything taken through the context is released in reverse order at teardown (subscriptions,
tasks, registrations, routes), so a plugin needs no teardown of its own unless it holds
something the hub cannot see. The context never hands out the hub itself.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import socket
import ssl
import tempfile
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from core.bus import Handler
from core.events import Event
from core.kinds import LibrarySource, MetadataEnricher, MetadataProvider, PlaybackTarget, Relay
from core.library.roots import LibraryRoots
from core.manifest import Manifest
from core.network import HomeNetwork
from core.relay_identity import BoxIdentity, identity_blocking
from core.secret_box import SecretBox
from core.ssdp import SSDP_PORT, Receiver, SsdpSubscription, sockets_of
from core.stopping import cancel_and_wait

if TYPE_CHECKING:  # aiohttp and the catalog: a plugin's module (and check-config) needs neither
    from core.catalog import Catalog
    from core.egress import PluginEgress
    from core.http.routes import RouteSpec
    from core.http.tunnel import TunnelSocket, Wrap
    from core.hub import Hub
    from core.playback.engine import PlaybackEngine

T = TypeVar("T")
E = TypeVar("E", bound=Event)
Cleanup = Callable[[], Awaitable[None] | None]
_LOGGER = logging.getLogger("hearth.context")
_UNIX_PATH_ROOM = 90  # 107 bytes for a socket's path, less "/tunnel.sock" (or a tunnel's
# client name, core.http.tunnel) and some margin


class PluginContext:
    """A plugin's handle on the hub; one per setup attempt."""

    def __init__(self, hub: Hub, manifest: Manifest) -> None:
        self._hub = hub
        self.manifest = manifest
        self.domain = manifest.domain
        self.logger = logging.getLogger(f"hearth.{manifest.domain}")
        self._cleanups: list[Cleanup] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._released = False
        self.health_detail: dict[str, Any] = {}
        self.state: Any = None
        """The plugin's own runtime object (like Home Assistant's hass.data[DOMAIN])."""

    @property
    def data_dir(self) -> Path:
        """A private folder for this plugin under the data folder, created on first use."""
        folder = self._hub.config.hearth.data_dir / "plugins" / self.domain
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    @property
    def catalog(self) -> Catalog:
        return self._hub.catalog

    @property
    def secret_box(self) -> SecretBox:
        """The box's sealing key (`core.secret_box`), for secrets a plugin must read back."""
        return self._hub.auth_api.secret_box

    @property
    def http(self) -> PluginEgress:
        """The egress-gated HTTP client, bound to this plugin's manifest: the only way out."""
        return self._hub.egress.for_plugin(self.manifest)

    @property
    def server_name(self) -> str:
        return self._hub.config.hearth.name

    @property
    def server_id(self) -> str:
        return self._hub.server_id

    def subscribe(self, event_type: type[E], handler: Handler[E]) -> None:
        """Listen for an event until teardown."""
        self._cleanups.append(self._hub.bus.subscribe(event_type, handler))

    def publish(self, event: Event) -> None:
        self._hub.bus.publish(event)

    def publish_threadsafe(self, event: Event) -> None:
        self._hub.bus.publish_threadsafe(event)

    def create_task(self, coro: Coroutine[Any, Any, T], name: str) -> asyncio.Task[T]:
        """A background task cancelled at teardown; its crash is logged, not swallowed."""
        task = asyncio.get_running_loop().create_task(coro, name=f"{self.domain}:{name}")
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.logger.error(
                "Background task %s failed", task.get_name(), exc_info=task.exception()
            )

    async def run_blocking(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a `_blocking` function in the executor so the loop stays responsive."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, functools.partial(func, *args, **kwargs))

    def add_routes(self, specs: Iterable[RouteSpec]) -> None:
        """Serve these routes while the plugin runs; they answer 503 after teardown."""
        for spec in specs:
            self._cleanups.append(self._hub.http.routes.add(spec, self.domain))

    def register_source(self, source: LibrarySource) -> None:
        self._cleanups.append(self._hub.sources.add(source.source_id, source, self.domain))

    def register_provider(self, provider: MetadataProvider) -> None:
        self._cleanups.append(self._hub.providers.add(provider.name, provider, self.domain))

    def register_enricher(self, enricher: MetadataEnricher) -> None:
        """An online provider, asked after scans by core.enrichment (never inside a scan)."""
        self._cleanups.append(self._hub.enrichers.add(enricher.name, enricher, self.domain))

    def register_target(self, target: PlaybackTarget) -> Callable[[], None]:
        """Register a target; the returned function withdraws it (a TV that left), and
        teardown withdraws whatever is left."""
        remove = self._hub.targets.add(target.name, target, self.domain)
        self._cleanups.append(remove)
        return remove

    def register_relay(self, relay: Relay) -> None:
        self._cleanups.append(self._hub.relays.add(relay.name, relay, self.domain))

    @property
    def network_interfaces(self) -> tuple[str, ...]:
        """Where the owner lets discovery announce (hearth.network.interfaces; empty = all)."""
        return self._hub.config.hearth.network.interfaces

    @property
    def home_network(self) -> HomeNetwork:
        """The attached subnets and the owner's `lan_subnets`: what counts as the home."""
        return self._hub.home

    async def ssdp_subscribe(
        self,
        receiver: Receiver,
        addresses: Iterable[str],
        *,
        port: int = SSDP_PORT,
        group: bool = True,
        direct: bool = True,
    ) -> SsdpSubscription:
        """Hear SSDP from the home network on the box's one shared listener (core.ssdp) until
        teardown: what is sent to the group on `addresses`' interfaces (`group`) and straight
        to `addresses` (`direct`, which also lets the subscription announce). OSError when
        the port cannot be bound."""
        shared = sockets_of(self._hub, self._hub.home)
        subscription = await shared.subscribe(receiver, addresses, port, group, direct)
        self._cleanups.append(subscription.close)
        return subscription

    def add_host_name(self, name: str) -> None:
        """Let requests call the box by `name` (the relay's public name) while the plugin runs."""
        self._cleanups.append(self._hub.host_names.add(name))

    def add_tunnel_listener(self, sockname: object) -> None:
        """Every connection to this listening address is `remote`, whatever its peer address
        (a tunnel hands connections in over loopback), while the plugin runs."""
        tunnels = self._hub.tunnels
        tunnels.add(sockname)
        self._cleanups.append(lambda: tunnels.discard(sockname))

    async def serve_tunnel(self) -> TunnelSocket:
        """A Unix socket whose connections reach the box's HTTPS server, `remote` whatever
        they say (a tunnel hands in there what it carries), until teardown. The tunnel
        connects through it and may vouch for who is behind each connection
        (core.http.tunnel). Call once the server listens (HubStarted); raises TlsError while
        HTTPS is not serving."""
        from core.http.tls import TlsError
        from core.http.tunnel import TunnelSocket

        https = self._hub.https
        if https.context is None:
            raise TlsError(https.error or "HTTPS is not serving (hearth: tls: enabled)")
        folder = self.data_dir
        if len(str(folder)) > _UNIX_PATH_ROOM:  # a socket's path must fit in 108 bytes
            folder = Path(await self.run_blocking(tempfile.mkdtemp, prefix="hearth-"))
        path = folder / "tunnel.sock"
        site = await self._hub.http.add_unix_site(str(path), https.context)

        async def close() -> None:
            await site.stop()
            path.unlink(missing_ok=True)
            if folder != self.data_dir:
                folder.rmdir()

        self._cleanups.append(close)
        http = self._hub.http

        async def hand_over(
            sock: socket.socket, wrap: Wrap, context: ssl.SSLContext | None
        ) -> None:
            context = context or https.context
            if context is None:
                raise OSError(https.error or "HTTPS is not serving")
            await http.take_socket(sock, context, wrap)

        return TunnelSocket(str(path), self._hub.tunnel_peers, folder, hand_over)

    def certificate_for(self, name: str) -> Callable[[ssl.SSLContext | None], None]:
        """A setter for what TLS clients asking for `name` (SNI) get from the box's HTTPS
        server, on its port and its tunnels: a context with the certificate for that name, or
        None for the box's own; the box's own again at teardown."""
        https = self._hub.https
        self._cleanups.append(lambda: https.serve_name(name, None))
        return functools.partial(https.serve_name, name)

    async def ssh_identity(self) -> BoxIdentity:
        """The box's SSH key (core.relay_identity), made once: how a relay knows the box."""
        return await self.run_blocking(identity_blocking, self._hub.config.hearth.data_dir)

    @property
    def http_port(self) -> int:
        """The port the API listens on; 0 until the server is listening (see HubStarted)."""
        return self._hub.port

    def library_roots(self) -> LibraryRoots:
        """Every registered library's folders now: open library files through it, so that
        only library files leave the box (core.library.roots). A snapshot; no I/O."""
        return LibraryRoots.of(self._hub.sources.values())

    @property
    def thumbnail_dir(self) -> Path:
        """The shared cache of resized artwork (core.library.artwork.thumbnail_blocking)."""
        return self._hub.config.hearth.data_dir / "thumbnails"

    @property
    def playback(self) -> PlaybackEngine:
        """The playback engine: decisions per device profile and the transcoder."""
        engine = self._hub.playback
        if engine is None:
            raise RuntimeError("the playback engine is not running")
        return engine

    @property
    def live(self) -> bool:
        """False in one-shot runs (`hearth scan` without a server): start no watchers."""
        return self._hub.live

    def request_scan(self, source: LibrarySource, folders: list[str] | None = None) -> None:
        """Ask for a scan of a registered source, or of some of its folders (absolute)."""
        self._hub.scans.request(source.source_id, folders)

    def scan_all(self) -> list[str]:
        """Queue a scan of every registered source (an admin asked, through a plugin's API)."""
        return self._hub.scans.request_all()

    def scan_status(self) -> dict[str, Any]:
        """What /api/scan shows: state, the current scan's counters, the queue."""
        return self._hub.scans.status()

    async def scans_idle(self) -> None:
        """Until no scan is queued or running: for background work that should not compete
        with a scan for the CPU or interleave its memory with the scan's."""
        await self._hub.scans.wait_idle()

    async def set_source_online(self, source: LibrarySource, online: bool) -> None:
        """A drive came or went: its library is shown or hidden, never deleted."""
        await self._hub.scans.set_online(source, online)

    def on_teardown(self, cleanup: Cleanup) -> None:
        """Something the hub cannot see (a socket, a subprocess) to close at teardown."""
        self._cleanups.append(cleanup)

    def report(self, detail: Mapping[str, Any]) -> None:
        """Facts shown under this plugin in /api/health (never secrets)."""
        self.health_detail = dict(detail)

    async def release(self) -> None:
        """Cancel tasks, then undo every registration in reverse order; safe to call twice."""
        if self._released:
            return
        self._released = True
        # bounded: a task that outlives its cancellation is named and left behind
        await cancel_and_wait(self._tasks, f"Plugin {self.domain}", self._hub.stop_grace)
        for cleanup in reversed(self._cleanups):
            try:
                result = cleanup()
                if result is not None:
                    await result
            except Exception:
                self.logger.exception("Cleanup %r failed", cleanup)
        self._cleanups.clear()
