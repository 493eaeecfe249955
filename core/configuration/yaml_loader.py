"""Reads configuration YAML the Home Assistant way, remembering where every value came from.

Every mapping and list remembers the file and line of each of its entries, so a validation error
deep in the tree can name `configuration.yaml:14`. Supports `!secret`, `!include` and `!env_var`.
Duplicate keys are an error (YAML would silently keep the last one). It never validates meaning:
that is the schema's job.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

try:  # the C loader is several times faster on a Pi; both keep line marks
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]


class Secret:
    """Marks a value that came from secrets.yaml so that no message ever prints it."""

    __slots__ = ()


class SecretStr(str, Secret):
    """A string from secrets.yaml."""

    __slots__ = ()


class SecretInt(int, Secret):
    """A number from secrets.yaml."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Mark:
    """Where a value was written: the file as shown to the user, and the 1-based line."""

    file: str
    line: int


class NodeDict(dict[Any, Any]):
    """A mapping that knows its own position and the position of each key."""

    mark: Mark
    key_marks: dict[Any, Mark]


class NodeList(list[Any]):
    """A sequence that knows its own position and the position of each item."""

    mark: Mark
    item_marks: list[Mark]


@dataclass
class LoadContext:
    """State shared by one load: the config folder, the include stack and soft problems."""

    config_dir: Path
    problems: list[tuple[Mark, str]] = field(default_factory=list)
    stack: list[Path] = field(default_factory=list)
    secrets_cache: dict[Path, dict[str, Any]] = field(default_factory=dict)

    def shown(self, path: Path) -> str:
        """The name a user recognises: relative to the config folder when inside it."""
        try:
            return str(path.resolve().relative_to(self.config_dir.resolve()))
        except ValueError:
            return str(path)


class YamlLoadError(Exception):
    """A problem that stops reading one file; carries its position."""

    def __init__(self, mark: Mark, message: str) -> None:
        super().__init__(f"{mark.file}:{mark.line}: {message}")
        self.mark = mark
        self.message = message


def load_yaml(path: Path, ctx: LoadContext) -> Any:
    """Parse one file into Node containers; raises YamlLoadError for stopping problems."""
    resolved = path.resolve()
    shown = ctx.shown(path)
    if resolved in ctx.stack:
        chain = " -> ".join([ctx.shown(p) for p in ctx.stack] + [shown])
        raise YamlLoadError(Mark(ctx.shown(ctx.stack[-1]), 1), f"include loop: {chain}")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as err:
        raise YamlLoadError(Mark(shown, 1), f"file not found: {path}") from err
    except (OSError, UnicodeDecodeError) as err:
        raise YamlLoadError(Mark(shown, 1), f"cannot read {path}: {err}") from err
    ctx.stack.append(resolved)
    try:
        loader = _HearthLoader(text, shown, path, ctx)
        try:
            data = loader.get_single_data()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark is not None else 1
        hint = indentation_hint(text, line, str(err.problem))
        raise YamlLoadError(Mark(shown, line), f"invalid YAML: {err.problem}{hint}") from err
    finally:
        ctx.stack.pop()
    return NodeDict() if data is None else data


# What PyYAML says when a line is indented one space too many or too few (or with a tab).
_INDENTATION_PROBLEMS = (
    "mapping values are not allowed",
    "did not find expected key",
    "did not find expected '-' indicator",
    "expected <block end>",
    "found character that cannot start any token",
)


def indentation_hint(text: str, line: int, problem: str) -> str:
    """A hint such as "; the indentation of line 3 is the likely cause: ...", or ""."""
    if not problem.startswith(_INDENTATION_PROBLEMS):
        return ""
    lines = text.splitlines()
    if not 1 <= line <= len(lines):
        return ""
    here = lines[line - 1]
    if here[: len(here) - len(here.lstrip(" \t"))].count("\t"):
        return f"; line {line} is indented with a tab: YAML indents with spaces only"
    indent = len(here) - len(here.lstrip(" "))
    above = sorted(
        {
            len(row) - len(row.lstrip(" "))
            for row in lines[: line - 1]
            if row.strip() and not row.lstrip().startswith("#")
        }
    )
    if indent in above or not above:
        return f"; check the indentation of line {line} and of the lines just above it"
    columns = ", ".join(map(str, above[:-1])) + (" or " if len(above) > 1 else "") + str(above[-1])
    return (
        f"; the indentation of line {line} is the likely cause: it starts with {indent} "
        f"space{'s' if indent != 1 else ''}, the lines above it with {columns} "
        "(entries of one block must start in the same column)"
    )


class _HearthLoader(_BaseLoader):
    def __init__(self, text: str, shown: str, path: Path, ctx: LoadContext) -> None:
        super().__init__(text)
        self.shown = shown
        self.path = path
        self.ctx = ctx

    def mark_of(self, node: yaml.Node) -> Mark:
        return Mark(self.shown, node.start_mark.line + 1)


def _construct_mapping(loader: _HearthLoader, node: yaml.MappingNode) -> NodeDict:
    loader.flatten_mapping(node)
    result = NodeDict()
    result.mark = loader.mark_of(node)
    result.key_marks = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str | int | float | bool | None):
            raise YamlLoadError(loader.mark_of(key_node), "a key must be a plain value")
        if key in result:
            first = result.key_marks[key].line
            raise YamlLoadError(
                loader.mark_of(key_node), f"duplicate key '{key}' (first at line {first})"
            )
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_marks[key] = loader.mark_of(key_node)
    return result


def _construct_sequence(loader: _HearthLoader, node: yaml.SequenceNode) -> NodeList:
    result = NodeList(loader.construct_object(child, deep=True) for child in node.value)
    result.mark = loader.mark_of(node)
    result.item_marks = [loader.mark_of(child) for child in node.value]
    return result


def _construct_include(loader: _HearthLoader, node: yaml.ScalarNode) -> Any:
    name = str(loader.construct_scalar(node))
    target = (loader.path.parent / name).resolve()
    try:
        return load_yaml(target, loader.ctx)
    except YamlLoadError as err:  # report it with the rest and keep reading this file
        mark = err.mark if err.mark.file != loader.shown else loader.mark_of(node)
        loader.ctx.problems.append((mark, err.message))
        return None


def _secrets_for(loader: _HearthLoader) -> dict[str, Any]:
    """secrets.yaml beside the file, then in each parent up to the config folder."""
    merged: dict[str, Any] = {}
    folder = loader.path.parent.resolve()
    top = loader.ctx.config_dir.resolve()
    chain = [folder, *[p for p in folder.parents if p == top or top in p.parents]]
    for candidate in reversed(chain):
        file = candidate / "secrets.yaml"
        if file not in loader.ctx.secrets_cache:
            loaded = load_yaml(file, loader.ctx) if file.is_file() else {}
            loader.ctx.secrets_cache[file] = dict(loaded) if isinstance(loaded, dict) else {}
        merged.update(loader.ctx.secrets_cache[file])
    return merged


def _construct_secret(loader: _HearthLoader, node: yaml.ScalarNode) -> Any:
    name = str(loader.construct_scalar(node))
    secrets = _secrets_for(loader)
    if name not in secrets:
        loader.ctx.problems.append(
            (loader.mark_of(node), f"secret '{name}' is not defined in secrets.yaml")
        )
        return None
    value = secrets[name]
    if isinstance(value, str):
        return SecretStr(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return SecretInt(value)
    return value


def _construct_env_var(loader: _HearthLoader, node: yaml.ScalarNode) -> Any:
    parts = str(loader.construct_scalar(node)).split(maxsplit=1)
    if not parts:
        loader.ctx.problems.append((loader.mark_of(node), "!env_var needs a variable name"))
        return None
    if parts[0] in os.environ:
        return os.environ[parts[0]]
    if len(parts) == 2:
        return yaml.safe_load(parts[1])
    loader.ctx.problems.append(
        (loader.mark_of(node), f"environment variable '{parts[0]}' is not set and has no default")
    )
    return None


_HearthLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)
_HearthLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG,
    _construct_sequence,
)
_HearthLoader.add_constructor("!include", _construct_include)
_HearthLoader.add_constructor("!secret", _construct_secret)
_HearthLoader.add_constructor("!env_var", _construct_env_var)


def locate(root: Any, path: list[Any], fallback: Mark) -> Mark:
    """The most precise known position of `path` inside `root` (its deepest known ancestor)."""
    mark = getattr(root, "mark", fallback)
    node = root
    for step in path:
        if isinstance(node, NodeDict) and step in node:
            mark = node.key_marks.get(step, mark)
            node = node[step]
        elif isinstance(node, NodeList) and isinstance(step, int) and 0 <= step < len(node):
            mark = node.item_marks[step]
            node = node[step]
        else:
            break
    return mark


def value_at(root: Any, path: list[Any]) -> tuple[bool, Any]:
    """The raw value at `path`, and whether it exists at all."""
    node = root
    for step in path:
        in_dict = isinstance(node, dict) and step in node
        in_list = isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node)
        if in_dict or in_list:
            node = node[step]
        else:
            return False, None
    return True, node
