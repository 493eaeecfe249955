"""Validators with messages a person can act on, for the core's and plugins' schemas.

voluptuous's own messages ("expected int for dictionary value") name Python types; these name
what to write instead. Each raises `vol.Invalid` with a message that reads well after
`file:line: key -> path:` — the value found is appended by the problem formatter.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import voluptuous as vol

Validator = Callable[[Any], Any]


def integer(
    minimum: int | None = None, maximum: int | None = None, expected: str | None = None
) -> Validator:
    """A whole number, optionally bounded; numeric strings are accepted (env vars are text)."""
    if expected is None:
        if minimum is not None and maximum is not None:
            expected = f"expected an integer from {minimum} to {maximum}"
        elif minimum is not None:
            expected = f"expected an integer of at least {minimum}"
        else:
            expected = "expected an integer"

    def validate(value: Any) -> int:
        if isinstance(value, bool):
            raise vol.Invalid(expected)
        try:
            number = int(str(value).strip()) if not isinstance(value, int) else int(value)
        except ValueError as err:
            raise vol.Invalid(expected) from err
        if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
            raise vol.Invalid(expected)
        return number

    return validate


port = integer(1, 65535)
"""A TCP/UDP port."""

port_or_zero = integer(0, 65535, "expected a port from 1 to 65535, or 0 for any free port")
"""A port, where 0 asks the system for any free one (tests, several instances on one box)."""


def string(value: Any) -> str:
    """Text; numbers are turned into text because YAML reads `name: 1984` as a number."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise vol.Invalid("expected text")


def non_empty_string(value: Any) -> str:
    """Text that is not blank."""
    text = string(value).strip()
    if not text:
        raise vol.Invalid("expected text, got an empty value")
    return text


def boolean(value: Any) -> bool:
    """true/false, yes/no, on/off, 1/0 — what people write in YAML by hand."""
    if isinstance(value, bool):
        return value
    words = {"true": True, "yes": True, "on": True, "1": True}
    words |= {"false": False, "no": False, "off": False, "0": False}
    key = str(value).strip().lower()
    if key in words:
        return words[key]
    raise vol.Invalid("expected true or false")


def one_of(*choices: str) -> Validator:
    """One of a fixed set of words, compared without case."""

    def validate(value: Any) -> str:
        word = str(value).strip().lower() if value is not None else ""
        if word in choices:
            return word
        raise vol.Invalid("expected one of " + ", ".join(choices))

    return validate


def path(value: Any) -> Path:
    """A file system path; relative paths are resolved later from the working directory."""
    return Path(non_empty_string(value)).expanduser()


def absolute_path(value: Any) -> Path:
    """A path that must not depend on the working directory."""
    result = path(value)
    if not result.is_absolute():
        raise vol.Invalid("expected an absolute path")
    return result


def ip_address(value: Any) -> str:
    """An IPv4 or IPv6 address, kept as text."""
    try:
        return str(ipaddress.ip_address(string(value).strip()))
    except ValueError as err:
        raise vol.Invalid("expected an IP address") from err


def ip_network(value: Any) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """A subnet in CIDR form (198.18.7.0/24); host bits must be zero."""
    text = string(value).strip()
    try:
        return ipaddress.ip_network(text, strict=True)
    except ValueError as err:
        raise vol.Invalid("expected a subnet such as 192.168.2.0/24 (host bits zero)") from err


_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")


def host_name(value: Any) -> str:
    """A DNS name this box may be called by (no scheme, no port), kept in lower case."""
    text = string(value).strip().lower().rstrip(".")
    if not text or len(text) > 253 or not all(_LABEL.fullmatch(p) for p in text.split(".")):
        raise vol.Invalid("expected a host name such as media.home.arpa (no http://, no port)")
    return text


def ensure_list(value: Any) -> list[Any]:
    """A single value where a list is expected becomes a list of one."""
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def no_options(build: Callable[[], Any]) -> vol.Schema:
    """The one spelling of a block that takes no options: empty or absent (`web:`), then
    `build()`; any key is "not an option here"."""
    return vol.Schema(vol.All(lambda value: {} if value is None else value, {}, lambda _: build()))
