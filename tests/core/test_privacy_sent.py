"""The privacy report's sum per plugin of what it sent: requests, refusals, bytes each way and
how many requests each purpose and host accounted for, from the ledger rows kept."""

from __future__ import annotations

from pathlib import Path

from core.catalog import Catalog
from core.egress_ledger import LedgerEntry, insert_entries_blocking
from core.privacy import render_text, sent_by_plugin_blocking


async def test_what_each_plugin_sent_is_summed_per_purpose_and_host(tmp_path: Path) -> None:
    at = "2026-12-03T12:00:00Z"
    entries = [
        LedgerEntry(at, "tmdb", "api.themoviedb.org", "details of a movie", True, 900, 0),
        LedgerEntry(at, "tmdb", "api.themoviedb.org", "details of a movie", True, 800, 0),
        LedgerEntry(at, "tmdb", "image.tmdb.org", "poster for a movie", True, 40_000, 0),
        LedgerEntry(at, "musicbrainz", "ia8.us.archive.org", "cover for an album", False),
    ]
    catalog = await Catalog.open(tmp_path)
    try:
        await catalog.write(lambda db: insert_entries_blocking(db, entries))
        sent = await catalog.read(sent_by_plugin_blocking)
    finally:
        await catalog.close()
    assert sent == {
        "musicbrainz": {
            "requests": 0,
            "refused": 1,
            "bytes_in": 0,
            "bytes_out": 0,
            "purposes": {"cover for an album (ia8.us.archive.org)": 1},
        },
        "tmdb": {
            "requests": 3,
            "refused": 0,
            "bytes_in": 41_700,
            "bytes_out": 0,
            "purposes": {
                "details of a movie (api.themoviedb.org)": 2,
                "poster for a movie (image.tmdb.org)": 1,
            },
        },
    }
    report = {
        "server": "Hearth",
        "generated_at": at,
        "plugins": [],
        "sent": sent,
        "ledger": {"total": 0, "entries": []},
        "people": [],
    }
    text = render_text(report)
    assert "  tmdb             3 requests, 0 refused, in 41700 B, out 0 B" in text
    assert "                   2 x details of a movie (api.themoviedb.org)" in text
