"""A plugin's manifest.json: what it is, what it needs and what it may reach on the network.

The manifest is read without importing the plugin's code, so `check-config` and the privacy page
can list every plugin's network scope cheaply. Unknown keys are an error: a manifest that says
something we do not understand must not be half-believed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import ManifestError

KINDS = ("source", "metadata", "target", "relay", "hardware")
SCOPES = ("none", "lan", "internet")
_DOMAIN = re.compile(r"^[a-z][a-z0-9_]*$")
_KEYS = {"domain", "name", "version", "kind", "dependencies", "requirements", "network"}


@dataclass(frozen=True, slots=True)
class NetworkScope:
    """Where a plugin may connect: nowhere, the home network, or the listed internet hosts."""

    scope: str
    hosts: tuple[str, ...]
    reason: str


@dataclass(frozen=True, slots=True)
class Manifest:
    """The parsed, checked manifest."""

    domain: str
    name: str
    version: str
    kind: str
    dependencies: tuple[str, ...]
    requirements: tuple[str, ...]
    network: NetworkScope


def _text(data: dict[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ManifestError(f"{where}: '{key}' must be non-empty text")
    return value


def _texts(data: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ManifestError(f"{where}: '{key}' must be a list of text")
    return tuple(value)


def _network(data: Any, where: str) -> NetworkScope:
    if data is None:
        return NetworkScope("none", (), "")
    if not isinstance(data, dict) or set(data) - {"scope", "hosts", "reason"}:
        raise ManifestError(f"{where}: 'network' takes only scope, hosts and reason")
    scope = data.get("scope", "none")
    if scope not in SCOPES:
        raise ManifestError(f"{where}: network scope must be one of {', '.join(SCOPES)}")
    hosts = _texts(data, "hosts", where)
    reason = data.get("reason", "")
    if scope != "none" and (not isinstance(reason, str) or not reason.strip()):
        raise ManifestError(f"{where}: a plugin that uses the network must say why ('reason')")
    if scope == "internet" and not hosts:
        raise ManifestError(f"{where}: an internet plugin must list the exact hosts it calls")
    return NetworkScope(scope, hosts, str(reason))


def parse_manifest(data: Any, where: str) -> Manifest:
    """Check a decoded manifest; `where` names the file in every message."""
    if not isinstance(data, dict):
        raise ManifestError(f"{where}: expected a JSON object")
    unknown = set(data) - _KEYS
    if unknown:
        raise ManifestError(f"{where}: unknown keys {', '.join(sorted(unknown))}")
    domain = _text(data, "domain", where)
    if not _DOMAIN.match(domain):
        raise ManifestError(f"{where}: domain '{domain}' must be lower_snake_case")
    kind = _text(data, "kind", where)
    if kind not in KINDS:
        raise ManifestError(f"{where}: kind must be one of {', '.join(KINDS)}, got '{kind}'")
    return Manifest(
        domain=domain,
        name=_text(data, "name", where),
        version=str(data.get("version", "0")),
        kind=kind,
        dependencies=_texts(data, "dependencies", where),
        requirements=_texts(data, "requirements", where),
        network=_network(data.get("network"), where),
    )


def read_manifest(folder: Path, expected_domain: str | None = None) -> Manifest:
    """Read `folder/manifest.json`; the domain must equal the folder's name (or, for a
    package installed under another name, the entry point's name)."""
    file = folder / "manifest.json"
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise ManifestError(f"{file}: missing") from err
    except (OSError, ValueError) as err:
        raise ManifestError(f"{file}: cannot be read as JSON: {err}") from err
    manifest = parse_manifest(data, str(file))
    expected = expected_domain or folder.name
    if manifest.domain != expected:
        raise ManifestError(f"{file}: domain '{manifest.domain}' must be '{expected}'")
    return manifest
