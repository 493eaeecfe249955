"""The hub: the one object that owns the bus, the catalog, the registries and the HTTP server.

It sets plugins up in dependency order, keeps a failed plugin from taking the others down,
retries plugins that are not ready yet, and tears everything down in reverse order on stop.
It is handed to nothing but plugin contexts.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
import uuid
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from core import __version__
from core.bus import EventBus
from core.catalog import Catalog
from core.configuration import Configuration, PluginEntry
from core.context import PluginContext
from core.data_folder import make_private_blocking
from core.downloads.api import Downloads
from core.egress import EgressGate
from core.errors import PluginNotReady, PluginSetupError
from core.events import HubStarted, HubStopping, PluginStateChanged, ProvisionAdded
from core.http.api import CoreObjects, add_api
from core.http.core_api import add_core_routes
from core.http.origin import HostNames, origin_middleware
from core.http.routes import RouteSpec
from core.http.security import redirect_middleware
from core.http.server import HttpServer
from core.http.tls import HttpsEndpoint
from core.http.tunnel import TunnelPeers
from core.kinds import LibrarySource, MetadataEnricher, MetadataProvider, PlaybackTarget, Relay
from core.loader import missing_requirements
from core.machine import MachineInfo
from core.network import HomeNetwork
from core.people.auth_api import AuthApi
from core.people.middleware import PRINCIPAL, Authenticator, auth_middleware
from core.people.retention import keep_history
from core.playback.engine import PlaybackEngine
from core.playback.sendfile import PLAYBACK_EVENTS
from core.registry import Registry
from core.scan.manager import ScanManager
from core.stopping import GRACE, cancel_and_wait, within

if TYPE_CHECKING:
    from core.backup.nightly import NightlyBackup
    from core.enrichment.queue import EnrichmentQueue
    from core.library.stills import StillsJob

_LOGGER = logging.getLogger("hearth.hub")
SETUP_TIMEOUT = 60.0
STOP_BUDGET = 4.0
STEP_LIMIT = 15.0  # seconds one part has to close at stop before it is left behind, named
RETRY_DELAYS = (5.0, 10.0, 30.0, 60.0, 300.0)


@dataclass
class PluginRecord:
    """A configured plugin's state as health reports it."""

    entry: PluginEntry
    state: str = "pending"  # pending, waiting, running, retrying, failed, stopped
    error: str | None = None
    attempts: int = 0
    context: PluginContext | None = None
    retry: asyncio.TimerHandle | None = field(default=None, repr=False)


class Hub:
    """Owns everything that lives as long as the server."""

    def __init__(self, config: Configuration, live: bool = True) -> None:
        self.config = config
        self.live = live
        self.bus = EventBus()
        self.sources: Registry[LibrarySource] = Registry("source", self.bus)
        self.providers: Registry[MetadataProvider] = Registry("provider", self.bus)
        self.enrichers: Registry[MetadataEnricher] = Registry("enricher", self.bus)
        self.targets: Registry[PlaybackTarget] = Registry("target", self.bus)
        self.relays: Registry[Relay] = Registry("relay", self.bus, limit=1)
        self.authenticator = Authenticator(lambda: self.catalog)
        self.egress = EgressGate(config.hearth.egress)  # the only way out; no socket until used
        self.https = HttpsEndpoint(config.hearth)
        network = config.hearth.network
        self.home = HomeNetwork(network.interfaces, network.lan_subnets)
        self.host_names = HostNames(config.hearth.http.hosts)
        self.tunnels: set[object] = set()  # listening addresses whose connections are remote
        self.tunnel_peers = TunnelPeers()  # who is behind each tunnel connection (the relay's)
        origin = origin_middleware(
            self.home, self.host_names, self.tunnels, self._spec_for, self.tunnel_peers
        )
        redirect = redirect_middleware(self.https.redirect_port)
        signed_in = auth_middleware(self._spec_for, self.authenticator)
        self.http = HttpServer([origin, redirect, signed_in])
        self.http.app[PLAYBACK_EVENTS] = self.bus.publish  # direct play's start and end
        self.records = {d: PluginRecord(config.plugins[d]) for d in config.order}
        self.server_id = ""
        self.port = 0
        self._catalog: Catalog | None = None
        self._scans: ScanManager | None = None
        self.playback: PlaybackEngine | None = None
        self.downloads: Downloads | None = None
        self.stills: StillsJob | None = None
        self.enrichment: EnrichmentQueue | None = None  # online metadata, after scans
        self.backups: NightlyBackup | None = None
        self._announcer: Any = None
        self._setups: set[asyncio.Task[Any]] = set()
        self.machine = MachineInfo(config.hearth.data_dir, config.hearth.ffmpeg)
        self._stopping = False
        self.retry_delays = RETRY_DELAYS
        self.stop_grace, self.stop_limit = GRACE, STEP_LIMIT  # core.stopping
        # sources registered before the server answers: scanned once it does (a no-change
        # rescan of 100k files is seconds of a core that the start needs more)
        self._held_scans: list[str] | None = []

    def _spec_for(self, request: web.Request) -> RouteSpec | None:
        return self.http.routes.spec_for(request)

    @property
    def catalog(self) -> Catalog:
        if self._catalog is None:
            raise RuntimeError("the catalog is not open")
        return self._catalog

    @property
    def scans(self) -> ScanManager:
        if self._scans is None:
            raise RuntimeError("the hub has not started")
        return self._scans

    def _on_provision(self, event: ProvisionAdded) -> None:
        if event.registry == "source" and self.live:
            if self._held_scans is not None:
                self._held_scans.append(event.name)
                return
            self.scans.request(event.name)  # incremental: costs only stats when nothing changed

    async def start(self) -> None:
        """Open the catalog, set up plugins, listen, announce."""
        begun = time.monotonic()
        self.bus.bind_loop(asyncio.get_running_loop())
        hearth = self.config.hearth
        await asyncio.to_thread(make_private_blocking, hearth.data_dir)  # 0700/0600, umask 077
        self._catalog = await Catalog.open(hearth.data_dir)
        self.server_id = await self.catalog.ensure_setting("server_id", lambda: uuid.uuid4().hex)
        self.host_names.add(f"hearth-{self.server_id[:8]}.local")  # the mDNS name we announce
        if self.live:  # test encodes cost a second of CPU and 150 MB; a one-shot scan needs none
            self._track(self.machine.detect(), "hardware-detect")
        self._scans = ScanManager(
            self.catalog, self.bus, self.sources, self.providers, hearth.scan_workers
        )
        self._scans.start()
        self.bus.subscribe(ProvisionAdded, self._on_provision)
        add_core_routes(self.http.routes, hearth.name, __version__, self.health, _is_admin)
        self.playback = PlaybackEngine(
            self.config,
            self.catalog,
            self.bus,
            self.sources,
            self.relays,
            self.scans,
            self.machine,
        )
        if self.live:  # pictures for videos without artwork, made after each scan
            from core.library.stills import StillsJob  # Pillow only when serving

            self.stills = StillsJob(
                self.catalog,
                self.bus,
                self.sources,
                self.scans,
                self.playback,
                hearth.data_dir / "thumbnails",
            )
            self.stills.start()
        if self.live:  # online metadata after scans; a one-shot command never sends anything
            from core.enrichment.queue import EnrichmentQueue

            thumbnails = hearth.data_dir / "thumbnails"
            self.enrichment = EnrichmentQueue(
                self.catalog, self.bus, self.enrichers, thumbnails, self.scans.wait_idle
            )
        downloads = Downloads(self.catalog, self.sources, self.playback, hearth)
        if self.live:  # offline copies, held per device: unwanted ones swept hourly
            downloads.start()
        self.downloads = downloads
        if self.live:
            self._track(self.playback.calibrate(), "transcode-calibration")
        self._add_api(self.playback, downloads)  # core.http.api: every core route but health
        self.egress.open(self.catalog, {d: r.entry.spec.manifest for d, r in self.records.items()})
        if self.live:
            await self.auth_api.prepare()  # seals old plain TOTP secrets, then the first run
        for domain in self.config.order:
            kind = self.records[domain].entry.spec.manifest.kind
            if self.live or kind in ("source", "metadata"):
                await self._setup(domain)
        if not self.live:
            return
        self._start_jobs()
        self.port = await self.http.start(hearth.http.host, hearth.http.port)
        await self.https.start(self.http)
        if hearth.network.mdns:
            from core.discovery import MdnsAnnouncer  # zeroconf costs 14 MB; only when used

            self._announcer = MdnsAnnouncer(
                hearth.name, self.server_id, __version__, self.port, hearth.network.interfaces
            )
            await self._announcer.start()
        self.bus.publish(HubStarted(self.port))
        held, self._held_scans = self._held_scans or [], None
        for name in held:  # every plugin is set up: the metadata providers are there too
            self.scans.request(name)
        _LOGGER.info(
            "Hearth %s serving on port %d (%d plugin(s), started in %.2f s)",
            __version__,
            self.port,
            len(self.records),
            time.monotonic() - begun,
        )

    def _add_api(self, playback: PlaybackEngine, downloads: Downloads) -> None:
        """The core's routes (core.http.api), built from the objects the hub owns."""
        self.auth_api = AuthApi(self.catalog, self.authenticator, self.config.hearth.data_dir)
        objects = CoreObjects(
            self.config,
            self.catalog,
            self.bus,
            self.authenticator,
            self.auth_api,
            self.sources,
            self.relays,
            self.scans,
            playback,
            self.stills,
            self.egress.ledger,
            self._running_details,
            self.enrichers,
            self.enrichment,
            downloads,
        )
        add_api(self.http.routes, objects)

    def _running_details(self) -> list[Mapping[str, Any]]:
        """What the running plugins reported (`ctx.report`): the LAN settings list TV services."""
        return [
            record.context.health_detail
            for record in self.records.values()
            if record.state == "running" and record.context is not None
        ]

    def _start_jobs(self) -> None:
        """The serving hub's own background work: history retention, the nightly backup."""
        hearth = self.config.hearth
        self._track(keep_history(self.catalog, hearth.history_days), "history-retention")
        if hearth.backup is not None:  # the owner's nightly encrypted backup (core.backup)
            from core.backup.nightly import NightlyBackup  # argon2 and AES only when set

            self.backups = NightlyBackup(
                self.config.config_dir, hearth.data_dir, self.catalog, hearth.backup
            )
            self._track(self.backups.run(), "nightly-backup")

    def _set_state(self, record: PluginRecord, state: str, error: str | None = None) -> None:
        record.state, record.error = state, error
        self.bus.publish(PluginStateChanged(record.entry.spec.domain, state, error))

    async def _setup(self, domain: str) -> None:
        record = self.records[domain]
        spec = record.entry.spec
        blockers = [d for d in spec.manifest.dependencies if d in self.records]
        failed = [d for d in blockers if self.records[d].state == "failed"]
        if failed:
            self._set_state(record, "failed", f"needs '{failed[0]}', which failed")
            _LOGGER.error("Plugin %s not set up: needs %s, which failed", domain, failed[0])
            return
        if any(self.records[d].state != "running" for d in blockers):
            self._set_state(record, "waiting", "waiting for " + ", ".join(blockers))
            return
        missing = missing_requirements(spec.manifest)
        module = record.entry.module  # None: not imported, its requirements were missing
        if missing or module is None:
            self._set_state(record, "failed", "missing Python packages: " + ", ".join(missing))
            _LOGGER.error("Plugin %s needs %s installed", domain, ", ".join(missing))
            return
        record.attempts += 1
        context = PluginContext(self, spec.manifest)
        try:
            await asyncio.wait_for(module.setup(context, record.entry.config), SETUP_TIMEOUT)
        except PluginNotReady as err:
            await context.release()
            self._schedule_retry(record, str(err))
            return
        except (PluginSetupError, TimeoutError) as err:
            await context.release()
            message = str(err) or f"setup took longer than {SETUP_TIMEOUT:.0f} s"
            self._set_state(record, "failed", message)
            _LOGGER.error("Plugin %s failed to set up: %s", domain, message)
            return
        except Exception as err:
            await context.release()
            self._set_state(record, "failed", f"{type(err).__name__}: {err}")
            _LOGGER.exception("Plugin %s crashed during setup", domain)
            return
        record.context = context
        self._set_state(record, "running")
        for other, waiting in self.records.items():
            if waiting.state == "waiting" and domain in waiting.entry.spec.manifest.dependencies:
                await self._setup(other)

    def _schedule_retry(self, record: PluginRecord, reason: str) -> None:
        delay = self.retry_delays[min(record.attempts - 1, len(self.retry_delays) - 1)]
        domain = record.entry.spec.domain
        if record.state != "retrying":  # an outage is logged once when it starts
            _LOGGER.warning(
                "Plugin %s is not ready (%s); retrying in %.0f s", domain, reason, delay
            )
        self._set_state(record, "retrying", reason)

        def fire() -> None:
            if not self._stopping:
                self._track(self._setup(domain), f"setup-{domain}")

        record.retry = asyncio.get_running_loop().call_later(delay, fire)

    def _track(self, coro: Coroutine[Any, Any, Any], name: str) -> None:
        """A hub-owned background task, cancelled at stop; a crash is logged."""
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._setups.add(task)

        def done(finished: asyncio.Task[Any]) -> None:
            self._setups.discard(finished)
            if not finished.cancelled() and finished.exception() is not None:
                _LOGGER.error("%s failed", name, exc_info=finished.exception())

        task.add_done_callback(done)

    def health(self) -> dict[str, Any]:
        """What /api/health adds to version and uptime."""
        entries = []
        for domain, record in self.records.items():
            manifest = record.entry.spec.manifest
            item: dict[str, Any] = {
                "domain": domain,
                "name": manifest.name,
                "kind": manifest.kind,
                "state": record.state,
                "error": record.error,
                "origin": record.entry.spec.origin,
                "network": manifest.network.scope,
            }
            if record.context is not None and record.context.health_detail:
                item["detail"] = record.context.health_detail
            entries.append(item)
        ok = all(p["state"] == "running" for p in entries) and not self.https.failed
        ok = ok and not (self.backups is not None and self.backups.failed)
        return {
            "status": "ok" if ok else "degraded",
            "server_id": self.server_id,
            "plugins": entries,
            "hardware": self.machine.health(),
            "playback": self.playback.health() if self.playback else None,
            "tls": self.https.health(),
            "backup": self.backups.health() if self.backups is not None else None,
        }

    async def stop(self) -> None:
        """Withdraw, tear plugins down in reverse order within the budget, close everything."""
        if self._stopping:
            return
        self._stopping = True
        deadline = time.monotonic() + STOP_BUDGET
        self.bus.publish(HubStopping())
        if self._announcer is not None:
            await self._announcer.stop()
        for record in self.records.values():
            if record.retry is not None:
                record.retry.cancel()
        await cancel_and_wait(self._setups, "Stopping the hub's tasks", self.stop_grace)
        # Every part gets a bounded time to close: a stuck one is named and left behind.
        limit = self.stop_limit
        if self._scans is not None:
            await within(self._scans.close(), "scans", limit)
        if self.stills is not None:
            await within(self.stills.close(), "stills", limit)
        if self.enrichment is not None:
            await within(self.enrichment.close(), "online metadata", limit)
        for domain in reversed(self.config.order):
            await within(self._teardown(self.records[domain], deadline), f"plugin {domain}", limit)
        await within(self.http.stop(), "HTTP", limit)
        if self.downloads is not None:
            await within(self.downloads.close(), "downloads", limit)
        if self.playback is not None:
            await within(self.playback.close(), "playback", limit)
        await within(self.authenticator.close(), "sign-in", limit)
        await within(self.bus.drain(), "event handlers", limit)
        await within(self.egress.close(), "egress", limit)  # writes the last ledger rows
        if self._catalog is not None:
            await within(self._catalog.close(), "catalog", limit)
        _LOGGER.info("Hearth stopped")

    async def _teardown(self, record: PluginRecord, deadline: float) -> None:
        context, record.context = record.context, None
        if context is None:
            return
        domain = record.entry.spec.domain
        teardown = getattr(record.entry.module, "teardown", None)
        try:
            if teardown is not None:
                remaining = max(0.1, deadline - time.monotonic())
                await asyncio.wait_for(teardown(context), remaining)
        except TimeoutError:
            _LOGGER.error("Plugin %s did not tear down in time", domain)
        except Exception:
            _LOGGER.exception("Plugin %s failed to tear down", domain)
        await context.release()
        self._set_state(record, "stopped")

    async def run(self) -> None:
        """Start, serve until SIGTERM or SIGINT, stop."""
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        try:
            await self.start()
            await stop.wait()
            _LOGGER.info("Stopping on signal")
        finally:
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(signum)
            await self.stop()


def _is_admin(request: web.Request) -> bool:
    """Whether the caller of an `anyone` route signed in as an owner or admin."""
    principal = request.get(PRINCIPAL)
    return principal is not None and principal.is_admin
