"""The kinds of thing a plugin can provide, as Protocols the hub's registries hold.

A plugin implements one of these and registers it through its context; the core talks to the
object only through the Protocol, so no plugin is ever imported by name. Records exchanged with
the core are frozen dataclasses defined here too.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from core.library.roots import LibraryRoots

LIBRARY_KINDS = ("movies", "shows", "music", "photos", "videos")


@dataclass(frozen=True, slots=True)
class LibraryInfo:
    """What a source contributes: a named library of one kind, and which symbolic links its
    walk may follow (`core.library.roots.FOLLOW_SYMLINKS`)."""

    name: str
    kind: str
    follow_symlinks: str = "inside"


@dataclass(frozen=True, slots=True)
class FileRecord:
    """One file a source found: where it is relative to a root, and what stat said."""

    root: Path
    relpath: str
    size: int
    mtime_ns: int
    inode: int


@dataclass(frozen=True, slots=True)
class WalkProblem:
    """Something under a root that could not be read (a folder without permission, a loop)."""

    root: Path
    relpath: str
    error: str


@runtime_checkable
class LibrarySource(Protocol):
    """Yields the files of one library and says whether they can be read right now."""

    @property
    def source_id(self) -> str:
        """Stable across restarts (a folder library's name, a drive's filesystem UUID)."""
        ...

    @property
    def library(self) -> LibraryInfo: ...

    def roots(self) -> Sequence[Path]:
        """The folders this source reads; never written to."""
        ...

    def is_online(self) -> bool:
        """False while the drive or mount is absent: its items are kept, hidden, not deleted."""
        ...

    def walk_blocking(self, roots: LibraryRoots) -> Iterator[FileRecord | WalkProblem]:
        """Every file under the roots, and what could not be read; runs in an executor.
        `roots` (every library's folders) says which links may be followed."""
        ...


@dataclass(frozen=True, slots=True)
class MetadataRequest:
    """What a provider is asked about: an item's kind, its file and what is known so far.
    `roots` (set by a scan) says which links a provider reading beside the file may follow."""

    item_kind: str
    path: Path | None
    known: Mapping[str, Any] = field(default_factory=dict)
    roots: LibraryRoots | None = None


@dataclass(frozen=True, slots=True)
class MetadataResult:
    """Fields a provider could fill; the core merges results in the configured order."""

    fields: Mapping[str, Any]
    provider: str


@runtime_checkable
class MetadataProvider(Protocol):
    """Answers a lookup with a result, or None for "nothing found" (final, not an error)."""

    @property
    def name(self) -> str: ...

    async def lookup(self, request: MetadataRequest) -> MetadataResult | None: ...


@runtime_checkable
class PlaybackTarget(Protocol):
    """Something that plays an item for a person: a TV, a browser session, a music app."""

    @property
    def name(self) -> str: ...

    async def play(self, item_id: str, position_seconds: float = 0.0) -> None: ...

    async def stop(self) -> None: ...

    def status(self) -> Mapping[str, Any]: ...


@runtime_checkable
class Relay(Protocol):
    """Remote access for the people the owner chose; at most one is active."""

    @property
    def name(self) -> str: ...

    def status(self) -> Mapping[str, Any]: ...

    def public_url(self) -> str | None:
        """`https://NAME.DOMAIN` while people outside can reach the box through it, else None."""
        ...

    @property
    def max_bitrate(self) -> int | None:
        """The owner's ceiling for streams to remote clients, bits per second; None: none."""
        ...


@dataclass(frozen=True, slots=True)
class EnrichmentRequest:
    """What an online provider is told about an item: its kind, title, year, ids and numbers,
    never its file path, who watches it or from where. `parent_match` is the provider's id of
    the show (for a season or episode) or artist; `season`/`number` place a season or episode;
    `artist` names an album's artist; `match_id` is a match the owner picked (search skipped)."""

    item_kind: str
    title: str
    year: int | None = None
    external_ids: Mapping[str, str] = field(default_factory=dict)
    parent_match: str | None = None
    season: int | None = None
    number: int | None = None
    artist: str | None = None
    match_id: str | None = None


@dataclass(frozen=True, slots=True)
class EnrichmentResult:
    """What an online provider found: metadata fields (`core.library.fields`), artwork as
    image URLs per kind (fetched once by the core, through the provider's `fetch_image`), the
    provider's id of the match and how sure it is (0 to 1)."""

    match_id: str
    confidence: float
    fields: Mapping[str, Any] = field(default_factory=dict)
    images: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MatchCandidate:
    """One search answer the owner can pick in "Fix match"."""

    match_id: str
    title: str
    year: int | None
    confidence: float
    overview: str = ""


@runtime_checkable
class MetadataEnricher(Protocol):
    """An online provider, asked after scans (never inside one) by `core.enrichment`: its
    `enrich` answers a result, or None for "nothing found" (final until the item changes); an
    exception is a fault retried later with backoff. `item_kinds` are the kinds it enriches,
    in the order they are asked (a show before its seasons); `fields` the fields it may fill;
    `concurrency` how many of its lookups may run at once; `time_limit` seconds per lookup."""

    @property
    def name(self) -> str: ...

    @property
    def item_kinds(self) -> tuple[str, ...]: ...

    @property
    def fields(self) -> tuple[str, ...]: ...

    @property
    def concurrency(self) -> int: ...

    @property
    def time_limit(self) -> float: ...

    @property
    def override_local(self) -> frozenset[str]:
        """Field groups (`core.enrichment.merge.FIELD_GROUPS`) where this provider's values
        win over what is on disk; empty by default: local metadata wins."""
        ...

    async def enrich(self, request: EnrichmentRequest) -> EnrichmentResult | None: ...

    async def search(
        self, item_kind: str, title: str, year: int | None
    ) -> Sequence[MatchCandidate]: ...

    async def fetch_image(self, url: str, purpose: str) -> bytes:
        """The image at `url` (one of its result's `images`), through its egress gate."""
        ...
