"""The catalog: Hearth's SQLite database of libraries, items and people's state."""

from core.catalog.store import DB_FILE, Catalog

__all__ = ["DB_FILE", "Catalog"]
