"""Turns voluptuous errors into one `file:line: key -> path: message` line each.

People edit YAML by hand; a message must say where, what was expected and what was found, and
suggest the key they probably meant. Secret values are printed as `***`. It never decides
whether something is valid; it only explains a verdict.
"""

from __future__ import annotations

import difflib
from typing import Any

import voluptuous as vol

from core.configuration.yaml_loader import Mark, Secret, locate, value_at


def key_path(parts: list[Any]) -> str:
    """`folders -> libraries -> 0 -> paths`."""
    return " -> ".join(str(part) for part in parts)


def _shown_value(value: Any) -> str:
    if isinstance(value, Secret):
        return "***"
    if isinstance(value, dict | list):
        return "a " + ("mapping" if isinstance(value, dict) else "list")
    if value is None:
        return "nothing"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _unwrap(node: Any) -> Any:
    """Look through Schema/All/Any wrappers to the first dict or list inside."""
    for _ in range(20):
        if isinstance(node, vol.Schema):
            node = node.schema
        elif isinstance(node, vol.All | vol.Any):
            inner = [v for v in node.validators if isinstance(v, dict | list | vol.Schema)]
            if not inner:
                return node
            node = inner[0]
        else:
            return node
    return node


def _key_name(key: Any) -> Any:
    return key.schema if isinstance(key, vol.Marker) else key


def allowed_keys(schema: Any, path: list[Any]) -> list[str]:
    """The keys a mapping at `path` accepts, found by walking the schema alongside the data."""
    node = _unwrap(schema)
    for step in path:
        if isinstance(node, dict):
            node = next((v for k, v in node.items() if _key_name(k) == step), None)
        elif isinstance(node, list) and isinstance(step, int):
            node = node[0] if node else None
        else:
            return []
        node = _unwrap(node)
    if isinstance(node, dict):
        return [str(_key_name(k)) for k in node if isinstance(_key_name(k), str)]
    return []


def describe(
    error: vol.Invalid, raw: Any, prefix: list[Any], schema: Any, fallback: Mark
) -> tuple[Mark, str]:
    """One problem: its position and its sentence (without the position)."""
    path = list(error.path)
    full = prefix + path
    mark = locate(raw, path, fallback)
    message = error.error_message
    if message == "extra keys not allowed" and path:
        key = path[-1]
        text = f"'{key}' is not an option here"
        close = difflib.get_close_matches(str(key), allowed_keys(schema, path[:-1]), n=1)
        if close:
            text += f"; did you mean '{close[0]}'?"
        else:
            options = allowed_keys(schema, path[:-1])
            if options:
                text += " (options: " + ", ".join(sorted(options)) + ")"
        return mark, f"{key_path(full[:-1])}: {text}" if full[:-1] else text
    if message == "required key not provided" and path:
        where = key_path(full[:-1])
        text = f"'{path[-1]}' is required"
        return mark, f"{where}: {text}" if where else text
    exists, value = value_at(raw, path)
    if message.startswith("expected a dictionary"):
        message = "expected a mapping of options"
    elif message.startswith("expected a list"):
        message = "expected a list"
    if exists:
        message += f", got {_shown_value(value)}"
    return mark, f"{key_path(full)}: {message}" if full else message


def describe_all(
    error: vol.Invalid, raw: Any, prefix: list[Any], schema: Any, fallback: Mark
) -> list[tuple[Mark, str]]:
    """Every problem inside a MultipleInvalid, each once."""
    errors = error.errors if isinstance(error, vol.MultipleInvalid) else [error]
    seen: set[tuple[Mark, str]] = set()
    result: list[tuple[Mark, str]] = []
    for item in errors:
        described = describe(item, raw, prefix, schema, fallback)
        if described not in seen:
            seen.add(described)
            result.append(described)
    return result
