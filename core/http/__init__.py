"""The HTTP API: one aiohttp application whose routes are registered by the core and plugins."""
