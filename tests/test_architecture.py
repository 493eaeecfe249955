"""The dependency direction of docs/ARCHITECTURE.md, checked on the source itself.

core may import hardware but never a plugin; a plugin never imports another plugin, and imports
the core only through its written surface (core.plugin_api); hardware imports only the standard
library, psutil, pyudev and gpiozero. The page itself is held to the code: it names every module
the surface lends from and lists exactly the core's events.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HARDWARE_ALLOWED = {"hardware", "psutil", "pyudev", "gpiozero"}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


def sources(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def test_core_imports_no_plugin() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            i for i in imports_of(path) if i.split(".")[0] == "plugins"
        )
        for path in sources("core")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_core_source_never_names_the_plugin_package() -> None:
    """The issue's own check: `grep -r "plugins\\." core/` finds nothing."""
    result = subprocess.run(
        ["grep", "-rn", "--include=*.py", r"plugins\.", str(ROOT / "core")],
        capture_output=True,
        text=True,
    )
    assert result.stdout == ""


def test_no_plugin_imports_another_plugin() -> None:
    offenders = {}
    for path in sources("plugins"):
        parts = path.relative_to(ROOT / "plugins").parts
        if len(parts) < 2:
            continue
        own = parts[0]
        others = [
            i for i in imports_of(path) if i.startswith("plugins.") and i.split(".")[1] != own
        ]
        if others:
            offenders[str(path.relative_to(ROOT))] = others
    assert offenders == {}


def test_hardware_imports_only_the_standard_library_and_its_adapters() -> None:
    stdlib = set(sys.stdlib_module_names)
    offenders = {}
    for path in sources("hardware"):
        bad = [
            i
            for i in imports_of(path)
            if i.split(".")[0] not in stdlib and i.split(".")[0] not in HARDWARE_ALLOWED
        ]
        if bad:
            offenders[str(path.relative_to(ROOT))] = bad
    assert offenders == {}


SURFACE = "core.plugin_api"
ARCHITECTURE = ROOT / "docs" / "ARCHITECTURE.md"


def core_imports_of(path: Path) -> list[str]:
    """Every core module a file imports, TYPE_CHECKING imports included."""
    return sorted(i for i in imports_of(path) if i == "core" or i.startswith("core."))


def test_plugins_import_from_core_only_through_the_plugin_surface() -> None:
    offenders = {
        str(path.relative_to(ROOT)): bad
        for path in sources("plugins")
        if (bad := [i for i in core_imports_of(path) if i != SURFACE])
    }
    assert offenders == {}


def test_plugins_import_absolutely() -> None:
    """One idiom: `from plugins.nfo.reader import ...`, never `from .reader import ...`."""
    offenders = []
    for path in sources("plugins"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if any(isinstance(n, ast.ImportFrom) and n.level > 0 for n in ast.walk(tree)):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def surface_tables() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """The surface's lazily lent names (`_LAZY`) and its TYPE_CHECKING imports, by module."""
    tree = ast.parse((ROOT / "core" / "plugin_api.py").read_text(encoding="utf-8"))
    lazy: dict[str, set[str]] = {}
    typed: dict[str, set[str]] = {}
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "_LAZY":
            assert isinstance(node.value, ast.Dict)
            for key, value in zip(node.value.keys, node.value.values, strict=True):
                assert isinstance(key, ast.Constant) and isinstance(value, ast.Tuple)
                lazy[key.value] = {e.value for e in value.elts if isinstance(e, ast.Constant)}
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            for child in node.body:
                if isinstance(child, ast.ImportFrom) and child.module:
                    typed.setdefault(child.module, set()).update(a.name for a in child.names)
    return lazy, typed


def test_the_surface_lends_at_run_time_what_it_declares_for_type_checkers() -> None:
    import core.plugin_api as surface

    lazy, typed = surface_tables()
    typed.pop("core.configuration", None)  # `validators`, a whole module (_MODULES)
    assert lazy == typed
    assert sorted(surface.__all__) == sorted(set(surface.__all__))
    assert [name for name in surface.__all__ if getattr(surface, name, None) is None] == []


def test_the_surface_costs_a_plugin_only_what_it_asks_for() -> None:
    """Lent names load on first use: the context and a library helper bring no aiohttp, no
    SQLite layer and no playback engine (check-config imports every configured plugin)."""
    heavy = ("aiohttp", "sqlite_utils", "core.catalog", "core.playback.engine", "av", "PIL")
    code = (
        "import sys\n"
        "from core.plugin_api import LibraryRoots, PluginContext, no_options, validators\n"
        f"print([m for m in {heavy!r} if m in sys.modules])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert result.stdout.strip() == "[]"


def test_architecture_doc_names_every_module_of_the_plugin_surface() -> None:
    """docs/ARCHITECTURE.md describes the surface: each module it lends from is named there."""
    text = ARCHITECTURE.read_text(encoding="utf-8")
    lazy, _ = surface_tables()
    eager = {"core.context", "core.errors", "core.events", "core.kinds"}
    assert sorted(m for m in {*lazy, *eager} if f"`{m}`" not in text) == []


def test_architecture_doc_lists_exactly_the_core_events() -> None:
    """The events table of docs/ARCHITECTURE.md is core/events.py's list of classes."""
    tree = ast.parse((ROOT / "core" / "events.py").read_text(encoding="utf-8"))
    events = {n.name for n in tree.body if isinstance(n, ast.ClassDef) and n.name != "Event"}
    text = ARCHITECTURE.read_text(encoding="utf-8")
    section = text.split("\n## Events", 1)[1].split("\n## ", 1)[0]
    listed = {line.split("`")[1] for line in section.splitlines() if line.startswith("| `")}
    assert listed == events


# The hub is handed to plugin contexts and built by the command line; nothing else in core takes
# it, not even for types: everything else is built from the few objects it uses (issue 17).
HUB_HOLDERS = {"core/context.py", "core/cli.py"}


def test_only_the_context_and_the_command_line_know_the_hub() -> None:
    knowing = {
        str(path.relative_to(ROOT))
        for path in sources("core")
        if "core.hub" in imports_of(path) and path != ROOT / "core" / "hub.py"
    }
    assert knowing == HUB_HOLDERS


def _names_bound(tree: ast.Module) -> set[str]:
    """Names a module binds at its top level: assignments, definitions and imports."""
    bound: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Assign):
            bound.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            bound.add(node.target.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.ImportFrom):
            bound.update(a.asname or a.name for a in node.names)
    return bound


def test_every_plugin_declares_its_options_one_way() -> None:
    """Each plugin's package offers `CONFIG_SCHEMA` and `setup`; a plugin without options says
    so with `no_options(...)`, never with an empty schema of its own."""
    missing = {
        folder.name: sorted({"CONFIG_SCHEMA", "setup"} - _names_bound(tree))
        for folder in sorted((ROOT / "plugins").iterdir())
        if (folder / "__init__.py").is_file()
        and (tree := ast.parse((folder / "__init__.py").read_text(encoding="utf-8")))
    }
    assert {k: v for k, v in missing.items() if v} == {}
    empty = []
    for path in sources("plugins"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "attr", None) == "Schema"
                and node.args
                and (
                    (isinstance(node.args[0], ast.Dict) and not node.args[0].keys)
                    or (isinstance(node.args[0], ast.Constant) and node.args[0].value is None)
                )
            ):
                empty.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert empty == []
