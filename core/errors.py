"""The one exception tree of the core.

Third-party errors are translated into these at the boundary (`raise ... from err`) so that callers
catch Hearth's meanings, never a library's.
"""


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
