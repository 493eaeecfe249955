"""Facts the core publishes on the bus.

Events are frozen, slotted dataclasses named in the past tense; the class is the subscription key.
Plugins define their own events beside their code; only the core's own facts live here.
"""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Event:
    """Base class so the bus can type its handlers; carries nothing itself."""


@dataclass(frozen=True, slots=True)
class HubStarted(Event):
    """Every plugin has had its first setup attempt and the HTTP server is listening."""

    http_port: int


@dataclass(frozen=True, slots=True)
class HubStopping(Event):
    """Shutdown began; plugins are about to be torn down in reverse order."""


@dataclass(frozen=True, slots=True)
class PluginStateChanged(Event):
    """A plugin moved between states (set up, failed, retrying, stopped)."""

    domain: str
    state: str
    error: str | None = None


@dataclass(frozen=True, slots=True)
class ProvisionAdded(Event):
    """A plugin registered something (a source, provider, target or relay) with the hub."""

    registry: str
    name: str
    owner: str


@dataclass(frozen=True, slots=True)
class ProvisionRemoved(Event):
    """Something a plugin had registered was released (teardown or explicit removal)."""

    registry: str
    name: str
    owner: str


@dataclass(frozen=True, slots=True)
class ScanStarted(Event):
    """A library scan began (full, or limited to some folders)."""

    library_id: int
    library: str


@dataclass(frozen=True, slots=True)
class ScanFinished(Event):
    """A library scan ended; `changed` says whether anything was written."""

    library_id: int
    library: str
    changed: bool
    errors: int


@dataclass(frozen=True, slots=True)
class LibraryChanged(Event):
    """Items were added, changed, removed, or a library went on- or offline."""

    library_id: int


@dataclass(frozen=True, slots=True)
class PlaybackStarted(Event):
    """A stream began: an HLS session, a progressive transcode or a direct-play file.
    `kind` is "hls", "progressive" or "direct"; `stream_id` pairs it with its PlaybackStopped."""

    stream_id: str
    kind: str
    item_id: str | None = None


@dataclass(frozen=True, slots=True)
class PlaybackStopped(Event):
    """A stream ended (finished, cut by the client, stopped or idle)."""

    stream_id: str
    kind: str


@dataclass(frozen=True, slots=True)
class DriveEjected(Event):
    """A USB drive was unmounted and powered off on request: it is safe to pull out now."""

    device: str
    name: str
