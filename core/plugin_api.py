"""The plugin surface: everything a plugin may import from the core, and nothing else.

A plugin writes `from core.plugin_api import PluginContext, RouteSpec, ...`; anything else in
`core` may change without notice. tests/test_architecture.py fails when a plugin imports past
this module, and docs/ARCHITECTURE.md names each group below. The context, kinds, events and
errors are imported here at once (they are cheap); every other name is imported from its home
module the first time a plugin asks for it, so that a metadata plugin pays for no aiohttp, no
playback engine and no SQLite (`hearth check-config` imports every configured plugin). For type
checkers the same names are imported under TYPE_CHECKING; the architecture test keeps that list
and `_LAZY` equal. This module defines nothing of its own and starts nothing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from core import __version__
from core.context import PluginContext
from core.errors import HearthError, PluginNotReady, PluginSetupError
from core.events import (
    DriveEjected,
    Event,
    HubStarted,
    HubStopping,
    LibraryChanged,
    PlaybackStarted,
    PlaybackStopped,
    PluginStateChanged,
    ProvisionAdded,
    ProvisionRemoved,
    ScanFinished,
    ScanStarted,
)
from core.kinds import (
    LIBRARY_KINDS,
    EnrichmentRequest,
    EnrichmentResult,
    FileRecord,
    LibraryInfo,
    LibrarySource,
    MatchCandidate,
    MetadataEnricher,
    MetadataProvider,
    MetadataRequest,
    MetadataResult,
    PlaybackTarget,
    Relay,
    WalkProblem,
)

if TYPE_CHECKING:  # the names of _LAZY, for type checkers
    from core.catalog import Catalog
    from core.catalog.database import Database
    from core.catalog.sort_keys import sort_key
    from core.configuration import validators
    from core.configuration.advice import Advice, folder_advice
    from core.configuration.validators import no_options
    from core.egress import EgressError, EgressFailed, EgressRefused, EgressResponse, PluginEgress
    from core.enrichment.client import ProviderClient
    from core.enrichment.surface import (
        RateLimiter,
        ResponseCache,
        egress_advice,
        missing_hosts,
        override_option,
        title_confidence,
        year_of,
    )
    from core.heap import trim_blocking
    from core.http.bodies import json_body, text_field
    from core.http.errors import ApiError
    from core.http.origin import client_address, origin_of
    from core.http.routes import HandlerFn, Param, RouteSpec
    from core.http.tls import (
        Certificate,
        TlsError,
        server_context_blocking,
        write_atomically_blocking,
    )
    from core.http.tunnel import TunnelSocket
    from core.library.artwork import ArtworkError, fitted_jpeg_blocking, thumbnail_blocking
    from core.library.fields import EMBEDDED_PREFIX, clean_fields
    from core.library.queries import fts_query
    from core.library.roots import DEFAULT_FOLLOW, FOLLOW_SYMLINKS, LibraryRoots
    from core.media.classify import AUDIO_EXTENSIONS, FileKind, classify, is_ignored_directory
    from core.media.probe import ProbeError, extract_cover_blocking
    from core.media.sidecars import find_sidecar_subtitles
    from core.media.tags import tagged_cover_blocking
    from core.network import HomeNetwork, parse_address
    from core.people.access import Principal, lan_principal_blocking
    from core.people.accounts import now_text, principal_blocking, session_for_token_blocking
    from core.people.app_passwords import (
        AppSecret,
        due_for_touch,
        secrets_blocking,
        touch_blocking,
    )
    from core.people.links import item_link, linked_principal
    from core.people.middleware import TOUCH_EVERY, principal_of
    from core.people.playlists_api import MAX_ITEMS, MAX_NAME
    from core.people.ratings import LEVELS, limit_rank
    from core.people.throttle import AttemptLimiter
    from core.people.watch import (
        WATCHED_AT,
        Report,
        history_paused_blocking,
        playable_item_blocking,
        stamp,
        store_progress_blocking,
    )
    from core.playback.constant_rate import ConstantRate, constant_rate, exact_window
    from core.playback.decision import UnplayableError, decide
    from core.playback.engine import PlaybackEngine
    from core.playback.hls_api import plan_for_request, send_progressive
    from core.playback.now_playing import PlayStarted
    from core.playback.plan import PlaybackPlan
    from core.playback.profiles import DeviceProfile, detect_profile, load_profiles
    from core.playback.seek import stream_start_blocking
    from core.playback.sendfile import RangeNotSatisfiable, byte_range, send_file, send_server_file
    from core.playback.sessions import AudioOutput
    from core.playback.stream import content_type, item_file_blocking
    from core.relay_identity import BoxIdentity, IdentityError
    from core.scan.walk import walk_tree_blocking
    from core.ssdp import Receiver, SsdpDatagram, SsdpSubscription

_LAZY: dict[str, tuple[str, ...]] = {
    # configuration: validators with readable messages, one spelling of "no options", advice
    "core.configuration.advice": ("Advice", "folder_advice"),
    "core.configuration.validators": ("no_options",),
    # HTTP: declared routes, their errors, request bodies, who asks from where
    "core.http.bodies": ("json_body", "text_field"),
    "core.http.errors": ("ApiError",),
    "core.http.origin": ("client_address", "origin_of"),
    "core.http.routes": ("HandlerFn", "Param", "RouteSpec"),
    # the library: the catalog, the folders files may be read from, files and their fields
    "core.catalog": ("Catalog",),
    "core.catalog.database": ("Database",),  # what a `*_blocking` catalog function is given
    "core.catalog.sort_keys": ("sort_key",),
    "core.library.artwork": ("ArtworkError", "fitted_jpeg_blocking", "thumbnail_blocking"),
    "core.heap": ("trim_blocking",),  # after a big job: its freed heap back to the system
    "core.library.fields": ("EMBEDDED_PREFIX", "clean_fields"),
    "core.library.queries": ("fts_query",),
    "core.library.roots": ("DEFAULT_FOLLOW", "FOLLOW_SYMLINKS", "LibraryRoots"),
    "core.media.classify": ("AUDIO_EXTENSIONS", "FileKind", "classify", "is_ignored_directory"),
    "core.media.probe": ("ProbeError", "extract_cover_blocking"),
    "core.media.tags": ("tagged_cover_blocking",),  # mutagen only: no PyAV in the server
    "core.media.sidecars": ("find_sidecar_subtitles",),
    "core.scan.walk": ("walk_tree_blocking",),
    # people and access: who is asking, what they may see, what they watched
    "core.people.access": ("Principal", "lan_principal_blocking"),
    "core.people.accounts": ("now_text", "principal_blocking", "session_for_token_blocking"),
    "core.people.app_passwords": (
        "AppSecret",
        "due_for_touch",
        "secrets_blocking",
        "touch_blocking",
    ),
    "core.people.links": ("item_link", "linked_principal"),  # cast targets (play-to-TV)
    "core.people.middleware": ("TOUCH_EVERY", "principal_of"),
    "core.people.playlists_api": ("MAX_ITEMS", "MAX_NAME"),
    "core.people.ratings": ("LEVELS", "limit_rank"),
    "core.people.throttle": ("AttemptLimiter",),
    "core.people.watch": (
        "WATCHED_AT",
        "Report",
        "history_paused_blocking",
        "playable_item_blocking",
        "stamp",
        "store_progress_blocking",
    ),
    # the playback facade: decisions per device, files, ranges, progressive and HLS
    "core.playback.constant_rate": ("ConstantRate", "constant_rate", "exact_window"),
    "core.playback.decision": ("UnplayableError", "decide"),
    "core.playback.engine": ("PlaybackEngine",),
    "core.playback.hls_api": ("plan_for_request", "send_progressive"),
    "core.playback.now_playing": ("PlayStarted",),
    "core.playback.plan": ("PlaybackPlan",),
    "core.playback.profiles": ("DeviceProfile", "detect_profile", "load_profiles"),
    "core.playback.seek": ("stream_start_blocking",),
    "core.playback.sendfile": (
        "RangeNotSatisfiable",
        "byte_range",
        "send_file",
        "send_server_file",
    ),
    "core.playback.sessions": ("AudioOutput",),
    "core.playback.stream": ("content_type", "item_file_blocking"),
    # the network: the egress gate's client and errors, the home, SSDP, TLS, tunnels
    "core.egress": (
        "EgressError",
        "EgressFailed",
        "EgressRefused",
        "EgressResponse",
        "PluginEgress",
    ),
    "core.http.tls": (
        "Certificate",
        "TlsError",
        "server_context_blocking",
        "write_atomically_blocking",
    ),
    "core.http.tunnel": ("TunnelSocket",),
    "core.network": ("HomeNetwork", "parse_address"),
    "core.relay_identity": ("BoxIdentity", "IdentityError"),
    "core.ssdp": ("Receiver", "SsdpDatagram", "SsdpSubscription"),
    # online metadata providers: the shared client, pacing, cache and options
    "core.enrichment.client": ("ProviderClient",),
    "core.enrichment.surface": (
        "RateLimiter",
        "ResponseCache",
        "egress_advice",
        "missing_hosts",
        "override_option",
        "title_confidence",
        "year_of",
    ),
}
"""Home module -> the names it lends to plugins, imported on first use."""

_MODULES = {"validators": "core.configuration.validators"}
"""Whole modules lent to plugins (`cv.integer(...)`)."""

_HOME = {name: module for module, names in _LAZY.items() for name in names}


def __getattr__(name: str) -> Any:
    """Import a lazily lent name from its home module (PEP 562) and keep it here."""
    if name in _MODULES:
        value: Any = importlib.import_module(_MODULES[name])
    elif name in _HOME:
        value = getattr(importlib.import_module(_HOME[name]), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "AUDIO_EXTENSIONS",
    "DEFAULT_FOLLOW",
    "EMBEDDED_PREFIX",
    "FOLLOW_SYMLINKS",
    "LEVELS",
    "LIBRARY_KINDS",
    "MAX_ITEMS",
    "MAX_NAME",
    "TOUCH_EVERY",
    "WATCHED_AT",
    "Advice",
    "ApiError",
    "AppSecret",
    "ArtworkError",
    "AttemptLimiter",
    "AudioOutput",
    "BoxIdentity",
    "Catalog",
    "Certificate",
    "ConstantRate",
    "Database",
    "DeviceProfile",
    "DriveEjected",
    "EgressError",
    "EgressFailed",
    "EgressRefused",
    "EgressResponse",
    "EnrichmentRequest",
    "EnrichmentResult",
    "Event",
    "FileKind",
    "FileRecord",
    "HandlerFn",
    "HearthError",
    "HomeNetwork",
    "HubStarted",
    "HubStopping",
    "IdentityError",
    "LibraryChanged",
    "LibraryInfo",
    "LibraryRoots",
    "LibrarySource",
    "MatchCandidate",
    "MetadataEnricher",
    "MetadataProvider",
    "MetadataRequest",
    "MetadataResult",
    "Param",
    "PlayStarted",
    "PlaybackEngine",
    "PlaybackPlan",
    "PlaybackStarted",
    "PlaybackStopped",
    "PlaybackTarget",
    "PluginContext",
    "PluginEgress",
    "PluginNotReady",
    "PluginSetupError",
    "PluginStateChanged",
    "Principal",
    "ProbeError",
    "ProviderClient",
    "ProvisionAdded",
    "ProvisionRemoved",
    "RangeNotSatisfiable",
    "RateLimiter",
    "Receiver",
    "Relay",
    "Report",
    "ResponseCache",
    "RouteSpec",
    "ScanFinished",
    "ScanStarted",
    "SsdpDatagram",
    "SsdpSubscription",
    "TlsError",
    "TunnelSocket",
    "UnplayableError",
    "WalkProblem",
    "__version__",
    "byte_range",
    "classify",
    "clean_fields",
    "client_address",
    "constant_rate",
    "content_type",
    "decide",
    "detect_profile",
    "due_for_touch",
    "egress_advice",
    "exact_window",
    "extract_cover_blocking",
    "find_sidecar_subtitles",
    "fitted_jpeg_blocking",
    "folder_advice",
    "fts_query",
    "history_paused_blocking",
    "is_ignored_directory",
    "item_file_blocking",
    "item_link",
    "json_body",
    "lan_principal_blocking",
    "limit_rank",
    "linked_principal",
    "load_profiles",
    "missing_hosts",
    "no_options",
    "now_text",
    "origin_of",
    "override_option",
    "parse_address",
    "plan_for_request",
    "playable_item_blocking",
    "principal_blocking",
    "principal_of",
    "secrets_blocking",
    "send_file",
    "send_progressive",
    "send_server_file",
    "server_context_blocking",
    "session_for_token_blocking",
    "sort_key",
    "stamp",
    "store_progress_blocking",
    "stream_start_blocking",
    "tagged_cover_blocking",
    "text_field",
    "thumbnail_blocking",
    "title_confidence",
    "touch_blocking",
    "trim_blocking",
    "validators",
    "walk_tree_blocking",
    "write_atomically_blocking",
    "year_of",
]
