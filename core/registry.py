"""Typed registries where plugins put what they provide, each entry owned by one plugin.

Adding returns the way to remove, which the plugin context calls at teardown, so nothing a
stopped plugin provided lingers. The registries never call into what they hold.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from core.bus import EventBus
from core.errors import PluginSetupError
from core.events import ProvisionAdded, ProvisionRemoved

T = TypeVar("T")


class Registry(Generic[T]):
    """Named entries of one kind; `limit` caps how many may be active (one relay)."""

    def __init__(self, kind: str, bus: EventBus, limit: int | None = None) -> None:
        self.kind = kind
        self._bus = bus
        self._limit = limit
        self._entries: dict[str, tuple[T, str]] = {}

    def add(self, name: str, value: T, owner: str) -> Callable[[], None]:
        """Register `value` under `name`; a name may be registered once."""
        if name in self._entries:
            holder = self._entries[name][1]
            raise PluginSetupError(f"{self.kind} '{name}' is already registered by '{holder}'")
        if self._limit is not None and len(self._entries) >= self._limit:
            holders = ", ".join(owner for _, owner in self._entries.values())
            raise PluginSetupError(f"only {self._limit} {self.kind} may be active (has: {holders})")
        self._entries[name] = (value, owner)
        self._bus.publish(ProvisionAdded(self.kind, name, owner))

        def remove() -> None:
            if self._entries.get(name, (None, None))[0] is value:
                del self._entries[name]
                self._bus.publish(ProvisionRemoved(self.kind, name, owner))

        return remove

    def get(self, name: str) -> T | None:
        entry = self._entries.get(name)
        return entry[0] if entry else None

    def owner_of(self, name: str) -> str | None:
        entry = self._entries.get(name)
        return entry[1] if entry else None

    def names(self) -> list[str]:
        return list(self._entries)

    def values(self) -> list[T]:
        return [value for value, _ in self._entries.values()]

    def __iter__(self) -> Iterator[tuple[str, T]]:
        return iter([(name, value) for name, (value, _) in self._entries.items()])

    def __len__(self) -> int:
        return len(self._entries)
