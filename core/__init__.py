"""Hearth's core: the hub that owns the bus, the configuration, the catalog and the HTTP API.

The core never imports a plugin by name; plugins are discovered and handed a context.
"""

from importlib import metadata

try:
    __version__ = metadata.version("hearth-media")
except metadata.PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"
