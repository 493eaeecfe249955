"""Finds plugins and orders them: built-in ones, the config folder's custom_plugins/, and
third-party packages that declare a `hearth.plugins` entry point.

Finding reads manifests only; a plugin's code is imported when it is configured. The core never
names a plugin: the built-in package is walked like any other folder.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import importlib.util
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from core.errors import ManifestError, PluginSetupError
from core.manifest import Manifest, read_manifest

_LOGGER = logging.getLogger("hearth.loader")
ENTRY_POINT_GROUP = "hearth.plugins"
BUILTIN_PACKAGE = "plugins"


@dataclass(frozen=True, slots=True)
class PluginSpec:
    """A found plugin: its manifest, its folder and how to import it."""

    manifest: Manifest
    folder: Path
    origin: str  # "built-in", "custom" or "entry point <dist>"
    module_name: str

    @property
    def domain(self) -> str:
        return self.manifest.domain


@dataclass(frozen=True, slots=True)
class FoundPlugins:
    """Everything found, plus manifests that could not be read (reported, not fatal)."""

    specs: dict[str, PluginSpec]
    broken: dict[str, str]


def _scan_folder(folder: Path, origin: str, module_prefix: str, found: FoundPlugins) -> None:
    if not folder.is_dir():
        return
    for child in sorted(folder.iterdir()):
        if not (child / "manifest.json").is_file():
            continue
        try:
            manifest = read_manifest(child)
        except ManifestError as err:
            found.broken[child.name] = str(err)
            continue
        if manifest.domain in found.specs:
            _LOGGER.warning("%s plugin '%s' overrides the earlier one", origin, manifest.domain)
        found.specs[manifest.domain] = PluginSpec(
            manifest, child, origin, f"{module_prefix}{manifest.domain}"
        )


def find_plugins(config_dir: Path | None) -> FoundPlugins:
    """Every plugin available to this installation, later sources overriding earlier ones."""
    found = FoundPlugins({}, {})
    builtin = importlib.import_module(BUILTIN_PACKAGE)
    for location in builtin.__path__:
        _scan_folder(Path(location), "built-in", BUILTIN_PACKAGE + ".", found)
    for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        spec = importlib.util.find_spec(entry.value)
        if spec is None or not spec.submodule_search_locations:
            found.broken[entry.name] = f"entry point {entry.value!r} is not an importable package"
            continue
        folder = Path(next(iter(spec.submodule_search_locations)))
        try:
            manifest = read_manifest(folder, entry.name)
        except ManifestError as err:
            found.broken[entry.name] = str(err)
            continue
        dist = entry.dist.name if entry.dist is not None else "unknown"
        found.specs[manifest.domain] = PluginSpec(
            manifest, folder, f"entry point of {dist}", entry.value
        )
    if config_dir is not None:
        custom = config_dir / "custom_plugins"
        tag = hashlib.sha1(str(custom.resolve()).encode(), usedforsecurity=False).hexdigest()[:8]
        _scan_folder(custom, "custom", f"hearth_custom_{tag}_", found)
    return found


def import_plugin(spec: PluginSpec) -> ModuleType:
    """Import a plugin's package; custom plugins are loaded from their folder by file location."""
    if spec.module_name in sys.modules:
        return sys.modules[spec.module_name]
    try:
        if spec.origin == "custom":
            init = spec.folder / "__init__.py"
            module_spec = importlib.util.spec_from_file_location(
                spec.module_name, init, submodule_search_locations=[str(spec.folder)]
            )
            if module_spec is None or module_spec.loader is None:
                raise PluginSetupError(f"{spec.folder} has no __init__.py")
            module = importlib.util.module_from_spec(module_spec)
            sys.modules[spec.module_name] = module
            try:
                module_spec.loader.exec_module(module)
            except BaseException:
                del sys.modules[spec.module_name]
                raise
            return module
        return importlib.import_module(spec.module_name)
    except PluginSetupError:
        raise
    except Exception as err:
        raise PluginSetupError(f"cannot import plugin '{spec.domain}': {err}") from err


def missing_requirements(manifest: Manifest) -> list[str]:
    """Requirements not installed; Hearth never installs them itself (that would go online)."""
    missing = []
    for requirement in manifest.requirements:
        name = requirement.split(";")[0]
        for sep in ("==", ">=", "<=", "~=", "!=", ">", "<", "["):
            name = name.split(sep)[0]
        try:
            importlib.metadata.version(name.strip())
        except importlib.metadata.PackageNotFoundError:
            missing.append(requirement)
    return missing


class DependencyCycleError(Exception):
    """Plugins that depend on each other in a loop; `cycle` lists it closed (a -> b -> a)."""

    def __init__(self, cycle: list[str]) -> None:
        super().__init__(" -> ".join(cycle))
        self.cycle = cycle


def setup_order(manifests: dict[str, Manifest], enabled: list[str]) -> list[str]:
    """Enabled domains with every dependency before its dependents; stable otherwise.

    Dependencies that are not enabled are skipped here; the configuration reports them.
    """
    order: list[str] = []
    state: dict[str, str] = {}

    def visit(domain: str, trail: list[str]) -> None:
        if state.get(domain) == "done":
            return
        if state.get(domain) == "visiting":
            raise DependencyCycleError([*trail[trail.index(domain) :], domain])
        state[domain] = "visiting"
        for dependency in manifests[domain].dependencies:
            if dependency in manifests and dependency in enabled:
                visit(dependency, [*trail, domain])
        state[domain] = "done"
        order.append(domain)

    for domain in enabled:
        visit(domain, [])
    return order
