"""The enrichment queue: online providers asked after scans, each at its own pace.

A finished scan marks its library for every provider; each provider has its own worker task,
which waits until no scan runs, then goes through the library kind by kind (a show before its
seasons, so they can use the show's match), at most `concurrency` lookups at once, each within
`time_limit`. A lookup that fails (an error answer, a timeout, the egress gate refusing) marks
the item to be tried again later and pauses that provider with growing backoff; the others go
on, and scans and browsing never wait for any of them. Items already matched, found in vain or
locked by the owner are not asked again until what the lookup depends on changes; what a
provider said is kept, so a rescan that rewrote an item gets it back without a request. It never
runs a lookup inside a scan and never writes when nothing changed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from core.bus import EventBus
from core.catalog import Catalog
from core.enrichment import images
from core.enrichment.images import PICTURE_URLS
from core.enrichment.merge import local_part, merge_online
from core.enrichment.provider_state import ProviderState
from core.enrichment.store import (
    Merger,
    Outcome,
    Subject,
    library_ids_blocking,
    save_blocking,
    subjects_blocking,
)
from core.events import LibraryChanged, ProvisionAdded, ProvisionRemoved, ScanFinished
from core.kinds import MetadataEnricher
from core.library.fields import clean_fields
from core.registry import Registry

_LOGGER = logging.getLogger("hearth.enrichment")
KIND = "enricher"
BACKOFF = (60.0, 6 * 3600.0)  # first retry, longest wait
MIN_CONFIDENCE = 0.6  # below it a match is kept for "Fix match" but not applied


class EnrichmentQueue:
    """Owned by the hub; started only when some provider registers."""

    def __init__(
        self,
        catalog: Catalog,
        bus: EventBus,
        enrichers: Registry[MetadataEnricher],
        cache_dir: Path,
        wait_for_scans: Callable[[], Awaitable[None]],
    ) -> None:
        self._catalog = catalog
        self._bus = bus
        self._enrichers = enrichers
        self.cache_dir = cache_dir
        self._wait_for_scans = wait_for_scans
        self.backoff = BACKOFF
        self.providers: dict[str, ProviderState] = {}
        self._unsubscribe = [
            bus.subscribe(ScanFinished, self._on_scan),
            bus.subscribe(ProvisionAdded, self._on_added),
            bus.subscribe(ProvisionRemoved, self._on_removed),
        ]

    async def close(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        tasks = [p.task for p in self.providers.values() if p.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.providers.clear()

    def status(self) -> dict[str, Any]:
        return {name: state.as_dict() for name, state in sorted(self.providers.items())}

    def request(self, library_id: int | None = None, provider: str | None = None) -> None:
        """Look at a library (None: all) again, for one provider or all."""
        for name, state in self.providers.items():
            if provider in (None, name):
                state.dirty.add(library_id)
                state.settled.clear()
                state.quiet.clear()
                state.wakeup.set()

    async def idle(self, through_backoff: bool = False) -> None:
        """Until every provider has nothing to do right now; `through_backoff`: and none is
        waiting to try again either (tests)."""
        while True:
            if through_backoff:
                waiting = [s.quiet for s in self.providers.values() if not s.quiet.is_set()]
            else:
                waiting = [s.settled for s in self.providers.values() if s.busy]
            if not waiting:
                return
            await waiting[0].wait()

    def _on_scan(self, event: ScanFinished) -> None:
        self.request(event.library_id)

    def _on_added(self, event: ProvisionAdded) -> None:
        if event.registry != KIND:
            return
        state = self.providers.setdefault(event.name, ProviderState())
        state.task = asyncio.get_running_loop().create_task(
            self._worker(event.name, state), name=f"enrichment:{event.name}"
        )
        state.dirty.add(None)
        state.wakeup.set()

    def _on_removed(self, event: ProvisionRemoved) -> None:
        if event.registry == KIND and event.name in self.providers:
            state = self.providers.pop(event.name)
            state.settled.set()
            state.quiet.set()
            task = state.task
            if task is not None:
                task.cancel()

    async def _worker(self, name: str, state: ProviderState) -> None:
        while True:
            if not state.busy:
                state.settled.set()
                if state.state != "backing off":
                    state.quiet.set()
            timeout = None if state.retry_at is None else max(0.0, state.retry_at - time.time())
            try:  # asyncio.timeout: 3.11's wait_for can lose a cancellation (core.stopping)
                async with asyncio.timeout(timeout):
                    await state.wakeup.wait()
            except TimeoutError:
                state.dirty.add(None)  # backoff over: everything due is tried again
            state.wakeup.clear()
            if state.retry_at is not None and time.time() < state.retry_at:
                continue  # still backing off: what was asked for waits in `dirty`
            state.retry_at = None
            enricher = self._enrichers.get(name)
            if enricher is None:
                return
            state.state = "waiting"
            await self._wait_for_scans()
            state.state = "working"
            libraries, state.dirty = state.dirty, set()
            try:
                healthy = await self._pass(name, enricher, state, libraries)
            except Exception:  # a bug, not an outage: say so, try again later
                _LOGGER.exception("Enrichment by %s failed", name)
                healthy = False
            if healthy:
                if state.failures:
                    _LOGGER.info("Metadata provider %s answers again", name)
                state.failures, state.state = 0, "idle"
            else:
                state.failures += 1
                delay = min(self.backoff[0] * 2 ** (state.failures - 1), self.backoff[1])
                state.retry_at, state.state = time.time() + delay, "backing off"
                state.dirty |= libraries

    async def _pass(
        self, name: str, enricher: MetadataEnricher, state: ProviderState, libraries: set[Any]
    ) -> bool:
        if None in libraries:
            libraries = set(await self._catalog.read(library_ids_blocking))
        changed: set[int] = set()
        try:
            for library_id in sorted(libraries):
                for kind in enricher.item_kinds:
                    await self._wait_for_scans()  # a scan that began meanwhile goes first
                    subjects = await self._catalog.read(
                        partial(subjects_blocking, library_id=library_id, provider=name, kind=kind)
                    )
                    changed |= await self._reapply(name, enricher, subjects)
                    due = [s for s in subjects if self._due(s)]
                    if not await self._lookups(name, enricher, state, due, changed):
                        return False
                    if not await self._restore_pictures(name, enricher, state, subjects):
                        return False
            return True
        finally:
            for library_id in changed:
                self._bus.publish(LibraryChanged(library_id))

    def _due(self, subject: Subject) -> bool:
        match = subject.match
        if match is None:
            return True
        if match.state == "local" or (match.locked and match.state == "matched"):
            return False
        if match.state == "failed":
            return match.retry_at is None or match.retry_at <= time.time()
        return not match.locked and match.query != subject.query

    async def _reapply(
        self, name: str, enricher: MetadataEnricher, subjects: Sequence[Subject]
    ) -> set[int]:
        """Put back what providers said into items a rescan rewrote (no request)."""
        stale = []
        for subject in subjects:
            match = subject.match
            if match is None or match.state != "matched" or not match.fields:
                continue
            merged, applied = merge_online(
                subject.kind, subject.metadata, match.applied, match.fields, enricher.override_local
            )
            if merged != subject.metadata or applied != match.applied:
                stale.append(subject)
        changed: set[int] = set()
        for subject in stale:
            match = subject.match
            assert match is not None
            outcome = Outcome("matched", match.match_id, match.confidence, match.fields)
            if await self.save(name, enricher, subject, outcome, match.locked):
                changed.add(subject.library_id)
        return changed

    async def _lookups(
        self,
        name: str,
        enricher: MetadataEnricher,
        state: ProviderState,
        due: Sequence[Subject],
        changed: set[int],
    ) -> bool:
        if not due:
            return True
        gate = asyncio.Semaphore(max(1, enricher.concurrency))
        faulted = False

        async def one(subject: Subject) -> None:
            nonlocal faulted
            async with gate:
                if faulted:  # the provider is failing: the rest wait for the backoff
                    return
                if not await self.lookup(name, enricher, state, subject, changed):
                    faulted = True

        await asyncio.gather(*(one(s) for s in due))
        return not faulted

    async def lookup(
        self,
        name: str,
        enricher: MetadataEnricher,
        state: ProviderState,
        subject: Subject,
        changed: set[int],
        lock: bool = False,
    ) -> bool:
        """Ask the provider about one item and keep the answer; False when it failed. `lock`:
        the owner picked this match (`subject.request.match_id`); it is kept from now on."""
        locked = lock or bool(subject.match and subject.match.locked)
        try:
            async with asyncio.timeout(enricher.time_limit):
                result = await enricher.enrich(subject.request)
                fields = clean_fields(dict(result.fields)) if result else {}
                if result is not None:
                    art = await images.fetch(
                        enricher, self.cache_dir, subject.kind, result.images, state.counts
                    )
                    if art:
                        fields["artwork"] = art
                    # what was kept, to fetch again if lost (not what was refused or missing)
                    fields[PICTURE_URLS] = {k: u for k, u in result.images.items() if k in art}
        except asyncio.CancelledError:
            raise
        except Exception as err:  # any fault of the provider: the item and it wait
            return await self._failed(name, enricher, state, subject, err)
        if result is None:
            outcome = Outcome("none")
            state.counts["not_found"] += 1
        elif result.confidence < MIN_CONFIDENCE and not locked:
            doubt = f"the best match is uncertain ({result.confidence:.2f})"
            outcome = Outcome("none", result.match_id, result.confidence, error=doubt)
            state.counts["not_found"] += 1
        else:  # the owner's own pick is certain, whatever the provider thinks
            confidence = 1.0 if lock else result.confidence
            outcome = Outcome("matched", result.match_id, confidence, fields)
            state.counts["matched"] += 1
        if await self.save(name, enricher, subject, outcome, locked):
            changed.add(subject.library_id)
        return True

    async def _failed(
        self,
        name: str,
        enricher: MetadataEnricher,
        state: ProviderState,
        subject: Subject,
        err: Exception,
    ) -> bool:
        text = str(err) or ("timed out" if isinstance(err, TimeoutError) else type(err).__name__)
        if state.last_error is None or state.failures == 0:
            _LOGGER.warning("Metadata provider %s failed (%s); trying again later", name, text)
        state.last_error = text
        state.counts["failed"] += 1
        before = subject.match
        failures = (before.failures if before and before.state == "failed" else 0) + 1
        delay = min(self.backoff[0] * 2 ** (failures - 1), self.backoff[1])
        outcome = Outcome("failed", failures=failures, retry_at=time.time() + delay, error=text)
        if before is not None and before.state == "matched":  # keep what it said before
            outcome.match_id, outcome.confidence, outcome.fields = (
                before.match_id,
                before.confidence,
                before.fields,
            )
        await self.save(name, enricher, subject, outcome, bool(before and before.locked))
        return False

    async def _restore_pictures(
        self, name: str, enricher: MetadataEnricher, state: ProviderState, subjects: list[Subject]
    ) -> bool:
        """Fetch again the pictures of matched items whose cached copy is gone (the thumbnail
        cache is not in a backup: a restored box has the matches, not the pictures)."""
        wanted = [
            (s, s.match.fields[PICTURE_URLS])
            for s in subjects
            if s.match and s.match.state == "matched" and s.match.fields.get(PICTURE_URLS)
        ]
        if not wanted:
            return True
        loop = asyncio.get_running_loop()
        lost = await loop.run_in_executor(
            None, images.missing_blocking, self.cache_dir, [urls for _, urls in wanted]
        )
        for (subject, _), missing in zip(wanted, lost, strict=True):
            if not missing:
                continue
            try:
                async with asyncio.timeout(enricher.time_limit):
                    await images.fetch(
                        enricher, self.cache_dir, subject.kind, missing, state.counts
                    )
            except asyncio.CancelledError:
                raise
            except Exception as err:
                return await self._failed(name, enricher, state, subject, err)
        return True

    async def save(
        self,
        name: str,
        enricher: MetadataEnricher,
        subject: Subject,
        outcome: Outcome,
        locked: bool,
    ) -> bool:
        """Write the outcome; True when the item's metadata changed."""
        override = enricher.override_local

        def merger(metadata: dict[str, Any], applied: dict[str, Any]) -> Any:
            if outcome.state == "matched":
                return merge_online(subject.kind, metadata, applied, outcome.fields, override)
            if outcome.state == "failed":
                return metadata, applied  # an outage changes nothing people see
            return local_part(metadata, applied), {}

        typed: Merger = merger
        return await self._catalog.write(
            lambda db: save_blocking(db, subject, name, outcome, locked, typed)
        )
