"""Hearth's core: the hub that owns the bus, the configuration, the catalog and the HTTP API.

The core never imports a plugin by name; plugins are discovered and handed a context.
"""

from __future__ import annotations


def __getattr__(name: str) -> str:
    """`__version__`, read on first use: importlib.metadata costs ~5 MB that a probe worker
    (which imports this package, and never asks for the version) should not pay."""
    if name != "__version__":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import metadata

    try:
        version = metadata.version("hearth-media")
    except metadata.PackageNotFoundError:  # running from a source tree that was never installed
        version = "0.0.0+source"
    globals()["__version__"] = version
    return version
