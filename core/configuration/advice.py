"""Advice on a configuration that is valid but probably not what its writer meant.

`hearth check-config` prints these as warnings after the problems (which stop the server) are
gone: a library folder that does not exist, a relative folder the server would create empty (a
typo there makes the old files look moved), an `ffmpeg:` that is not an executable file. Each is
one `file:line: path: message` line, like a problem. The core's own advice lives here; a plugin
may add its own with a module-level `advise(config) -> list[(path inside its block, message)]`.
It only looks (stat calls): it never creates, fixes or starts anything.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from core.configuration import CONFIG_FILE, CORE_KEY, Configuration, format_problems
from core.configuration.problems import key_path
from core.configuration.yaml_loader import LoadContext, Mark, YamlLoadError, load_yaml, locate

Advice = tuple[list[Any], str]
"""Where (keys and list indexes inside a block) and what to say."""


def ffmpeg_advice(configured: Path | None) -> list[Advice]:
    """`ffmpeg:` names something that cannot be run."""
    if configured is None or (configured.is_file() and os.access(configured, os.X_OK)):
        return []
    return [
        (
            ["ffmpeg"],
            f"{configured} is not an executable file; fix the path, or leave ffmpeg: out "
            "to use the ffmpeg on the PATH",
        )
    ]


def folder_advice(path: Path, library: str) -> str | None:
    """What to say about one library folder, or None when it is there."""
    if path.is_absolute():
        if path.is_dir():
            return None
        return (
            f"the folder {path} does not exist; the library {library!r} stays offline "
            "until it does (a drive not mounted?)"
        )
    if path.is_dir():
        return None
    return (
        f"{str(path)!r} is relative and does not exist: the server would create it empty "
        f"as {Path.cwd() / path} (relative to the folder it is started in); check the "
        "spelling, or write the folder's absolute path"
    )


def advise(config: Configuration) -> list[str]:
    """Every warning about `config`, as `file:line: path: message` lines in file order."""
    found: list[tuple[list[Any], str]] = [
        ([CORE_KEY, *path], text) for path, text in ffmpeg_advice(config.hearth.ffmpeg)
    ]
    configured = config.plugins
    for domain, entry in configured.items():
        hook = getattr(entry.module, "advise", None)
        if callable(hook):
            found.extend(([domain, *path], text) for path, text in hook(entry.config))
    if not found:
        return []
    raw: Any = None
    with contextlib.suppress(YamlLoadError):  # it loaded a moment ago; else line 1 it is
        raw = load_yaml(config.config_dir / CONFIG_FILE, LoadContext(config.config_dir))
    top = Mark(CONFIG_FILE, 1)
    lines = [(locate(raw, path, top), f"{key_path(path)}: {text}") for path, text in found]
    return format_problems(lines)
