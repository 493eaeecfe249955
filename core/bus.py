"""The event bus: plugins and the core tell each other facts without knowing each other.

Publishing never blocks and never raises: each handler runs as its own task, and a handler's
error is logged with its name. Threads (udev, GPIO) publish only through `publish_threadsafe`.
The bus never queues events for later subscribers; it is not a message broker.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from core.events import Event

_LOGGER = logging.getLogger("hearth.bus")

E = TypeVar("E", bound=Event)
Handler = Callable[[E], Awaitable[None] | None]
Unsubscribe = Callable[[], None]


class EventBus:
    """Dispatches events by exact class to handlers, each in its own tracked task."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._handlers: dict[type[Event], list[Callable[[Any], Awaitable[None] | None]]] = {}
        self._pending: set[asyncio.Task[None]] = set()
        self._loop = loop

    def bind_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """Remember the loop that `publish_threadsafe` must hand events to."""
        self._loop = loop

    def subscribe(self, event_type: type[E], handler: Handler[E]) -> Unsubscribe:
        """Call `handler` for every event of exactly `event_type`; returns the way to stop."""
        handlers = self._handlers.setdefault(event_type, [])
        handlers.append(handler)

        def unsubscribe() -> None:
            if handler in handlers:
                handlers.remove(handler)

        return unsubscribe

    def subscriber_count(self, event_type: type[Event]) -> int:
        """How many handlers listen for `event_type` (the hub checks teardown released them)."""
        return len(self._handlers.get(event_type, []))

    def publish(self, event: Event) -> None:
        """Schedule every handler of this event's class; must be called on the loop's thread."""
        for handler in list(self._handlers.get(type(event), [])):
            task = asyncio.get_running_loop().create_task(
                self._dispatch(handler, event), name=f"event:{type(event).__name__}"
            )
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    def publish_threadsafe(self, event: Event) -> None:
        """Publish from a foreign thread (udev monitor, GPIO callback)."""
        if self._loop is None or self._loop.is_closed():
            _LOGGER.warning("Dropped %s: the bus has no running loop", type(event).__name__)
            return
        self._loop.call_soon_threadsafe(self.publish, event)

    async def drain(self) -> None:
        """Wait until every handler scheduled so far (and any they publish) has finished."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    @staticmethod
    async def _dispatch(handler: Callable[[Any], Awaitable[None] | None], event: Event) -> None:
        name = getattr(handler, "__qualname__", repr(handler))
        try:
            result = handler(event)
            if result is not None:
                await result
        except asyncio.CancelledError:
            raise
        except Exception:
            _LOGGER.exception("Event handler %s failed on %s", name, type(event).__name__)
