"""The HTTP API: one aiohttp application; the core and each plugin register routes."""
