"""The dependency direction of DESIGN.md, checked on the source itself.

core may import hardware but never a plugin; a plugin never imports another plugin; hardware
imports only the standard library, psutil, pyudev and gpiozero.
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
