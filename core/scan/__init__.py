"""Scanning: walking sources, probing new and changed files, and writing the catalog.

The core, not the source plugins, writes the catalog; sources only say which files exist.
"""
