"""Encrypted backups of a box: `hearth backup create|restore` and the server's nightly backup.

A backup is one file sealed with a key derived from the owner's passphrase (`envelope`): the
configuration folder's files, the catalog with everything about the people on the box, and the
data folder's keys (`contents`). Media files are never in it: they are rescanned. The catalog's
media rows are, because progress, history, playlists and stars point at items whose ids are
random (a rescan into an empty catalog would give every item a new id).
Nothing in this package ever sends a backup anywhere.
"""

from __future__ import annotations


class BackupError(Exception):
    """A backup cannot be written or read; the message is one sentence for the person."""


class WrongPassphraseError(BackupError):
    """The passphrase does not open the file."""
