"""Loads and validates `configuration.yaml`: the core's section, then each plugin's block.

All problems are collected before anything is reported, one `file:line: path: message` line each,
sorted by file and line. A plugin is enabled by its key being present: being listed is consent.
Nothing here starts anything.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import voluptuous as vol

from core.configuration.core_schema import HEARTH_SCHEMA, HearthConfig
from core.configuration.problems import describe_all
from core.configuration.yaml_loader import LoadContext, Mark, NodeDict, YamlLoadError, load_yaml
from core.errors import ConfigError, PluginSetupError
from core.loader import (
    DependencyCycleError,
    FoundPlugins,
    PluginSpec,
    find_plugins,
    import_plugin,
    missing_requirements,
    setup_order,
)

CONFIG_FILE = "configuration.yaml"
CORE_KEY = "hearth"


@dataclass(frozen=True, slots=True)
class PluginEntry:
    """A configured plugin: where it was enabled, its spec, module and validated settings.

    A plugin whose Python requirements are not installed is never imported: its module is
    None, its settings are the block as written, and the hub reports it failed at setup."""

    spec: PluginSpec
    module: ModuleType | None
    config: Any
    mark: Mark


@dataclass(frozen=True, slots=True)
class Configuration:
    """Everything the hub needs to start, already valid."""

    config_dir: Path
    hearth: HearthConfig
    plugins: dict[str, PluginEntry]
    order: tuple[str, ...]
    found: FoundPlugins


def _validate_plugin(
    spec: PluginSpec, raw: Any, mark: Mark, problems: list[tuple[Mark, str]]
) -> PluginEntry | None:
    if missing_requirements(spec.manifest):  # importing it would only fail, or half-load
        return PluginEntry(spec, None, raw, mark)
    try:
        module = import_plugin(spec)
    except PluginSetupError as err:
        problems.append((mark, f"{spec.domain}: {err}"))
        return None
    schema = getattr(module, "CONFIG_SCHEMA", None)
    if schema is None or not callable(getattr(module, "setup", None)):
        problems.append((mark, f"{spec.domain}: plugin has no CONFIG_SCHEMA or setup()"))
        return None
    value = NodeDict() if raw is None else raw
    if raw is None:
        value.mark = mark
        value.key_marks = {}
    try:
        return PluginEntry(spec, module, schema(value), mark)
    except vol.Invalid as err:
        problems.extend(describe_all(err, value, [spec.domain], schema, mark))
        return None


def load_configuration(config_dir: Path) -> Configuration:
    """Read, validate and order everything; raises ConfigError listing every problem."""
    ctx = LoadContext(config_dir=config_dir)
    problems: list[tuple[Mark, str]] = []
    try:
        raw = load_yaml(config_dir / CONFIG_FILE, ctx)
    except YamlLoadError as err:
        raise ConfigError([str(err)]) from err
    problems.extend(ctx.problems)
    if not isinstance(raw, dict):
        raise ConfigError([f"{CONFIG_FILE}:1: expected a mapping of sections at the top level"])
    hearth = None
    try:
        hearth = HEARTH_SCHEMA(raw.get(CORE_KEY) or {})
    except vol.Invalid as err:
        section = raw.get(CORE_KEY)
        problems.extend(describe_all(err, section, [CORE_KEY], HEARTH_SCHEMA, _mark(raw, CORE_KEY)))
    found = find_plugins(config_dir)
    entries: dict[str, PluginEntry] = {}
    for domain, block in raw.items():
        if domain == CORE_KEY:
            continue
        mark = _mark(raw, domain)
        spec = found.specs.get(str(domain))
        if spec is None:
            problems.append((mark, _unknown_plugin(str(domain), found)))
            continue
        entry = _validate_plugin(spec, block, mark, problems)
        if entry is not None:
            entries[spec.domain] = entry
    order = _order(raw, found, entries, problems)
    # a missing secret also fails the schema at the same line; the first message says it all
    load_lines = {mark for mark, _ in ctx.problems}
    problems = ctx.problems + [p for p in problems[len(ctx.problems) :] if p[0] not in load_lines]
    if problems or hearth is None:
        raise ConfigError(format_problems(problems))
    return Configuration(config_dir, hearth, entries, tuple(order), found)


def _mark(raw: Any, key: str) -> Mark:
    if isinstance(raw, NodeDict):
        return raw.key_marks.get(key, raw.mark)
    return Mark(CONFIG_FILE, 1)


def _unknown_plugin(domain: str, found: FoundPlugins) -> str:
    if domain in found.broken:
        return f"{domain}: the plugin cannot be loaded: {found.broken[domain]}"
    text = f"'{domain}' is not a known plugin"
    close = difflib.get_close_matches(domain, [*found.specs, CORE_KEY], n=1)
    return text + (f"; did you mean '{close[0]}'?" if close else "")


def _order(
    raw: Any, found: FoundPlugins, entries: dict[str, PluginEntry], problems: list[tuple[Mark, str]]
) -> list[str]:
    manifests = {domain: spec.manifest for domain, spec in found.specs.items()}
    configured = [str(d) for d in raw if d != CORE_KEY and str(d) in found.specs]
    for domain in configured:
        for dependency in manifests[domain].dependencies:
            if dependency not in configured:
                problems.append(
                    (
                        _mark(raw, domain),
                        f"{domain}: needs the '{dependency}' plugin; add '{dependency}:' "
                        "to enable it",
                    )
                )
    try:
        return [d for d in setup_order(manifests, configured) if d in entries]
    except DependencyCycleError as err:
        problems.append((_mark(raw, err.cycle[0]), f"dependency cycle: {err}"))
        return []


def format_problems(problems: list[tuple[Mark, str]]) -> list[str]:
    """`file:line: message`, sorted by file then line, each once."""
    unique = sorted(set(problems), key=lambda p: (p[0].file != CONFIG_FILE, p[0].file, p[0].line))
    return [f"{mark.file}:{mark.line}: {message}" for mark, message in unique]
