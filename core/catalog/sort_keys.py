"""Sort keys for titles and names: how "Édith et Moi" lands under E and "The Matrix" under M.

A key is the title folded for comparison (NFKD, accents and other combining marks dropped,
casefolded) with a leading English article ("The", "A", "An") left out, as Plex does, so
SQLite's plain byte order sorts the way a person reads. Pure: no I/O, never touches the catalog;
the store registers `fold` as the SQL function `fold_sort_key` so a migration can re-fold keys
already written.
"""

from __future__ import annotations

import unicodedata

ARTICLES = ("the ", "a ", "an ")


def fold(text: str) -> str:
    """ "Édith" -> "edith", "Straße" -> "strasse"; idempotent, so folding a key again is safe."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", bare.casefold()).strip()


def sort_key(title: str) -> str:
    """The key a title sorts by: folded, a leading article left out (but never the whole title:
    a film called "The" stays "the")."""
    folded = fold(title)
    for article in ARTICLES:
        if folded.startswith(article) and len(folded) > len(article):
            return folded[len(article) :].lstrip()
    return folded
