"""The one exception tree of the core.

Third-party errors are translated into these at the boundary (`raise ... from err`) so that callers
catch Hearth's meanings, never a library's.
"""

import errno
import sqlite3


class HearthError(Exception):
    """Base of every error Hearth raises on purpose."""


class ConfigError(HearthError):
    """The configuration cannot be used; `problems` holds one `file:line: message` per fault."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class PluginError(HearthError):
    """Base for problems a plugin reports about itself."""


class PluginNotReady(PluginError):
    """Transient trouble (a drive not mounted yet): the hub retries setup with backoff."""


class PluginSetupError(PluginError):
    """Permanent trouble: the plugin stays failed until the configuration changes."""


class ManifestError(HearthError):
    """A plugin's manifest.json is missing, malformed or says something impossible."""


class CatalogError(HearthError):
    """The catalog database cannot be opened or migrated."""


class DiskFullError(HearthError):
    """A write found no space left on the disk; what was saved before is intact."""

    @staticmethod
    def describes(err: BaseException) -> bool:
        """Whether a third-party error means a full disk: SQLite's SQLITE_FULL or ENOSPC."""
        if isinstance(err, sqlite3.Error):
            return (getattr(err, "sqlite_errorcode", 0) & 0xFF) == sqlite3.SQLITE_FULL
        return isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT)
