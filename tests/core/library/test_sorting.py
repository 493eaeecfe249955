"""Titles sort the way a person reads them: accents with their letter ("Édith" under E, not
after Z), a leading "The"/"A"/"An" left out as Plex does, whatever the case; keys written before
accents were folded are re-folded by migration 0009."""

from __future__ import annotations

from pathlib import Path

from core.catalog import Catalog
from core.catalog.migrations import available
from core.catalog.sort_keys import fold, sort_key
from tests.conftest import StartServer
from tests.core.scan.library import video
from tests.core.scan.test_scanner import items, library_ids, settle


def test_sort_keys_fold_accents_case_and_leading_articles() -> None:
    assert sort_key("Édith et Moi") == "edith et moi"
    assert sort_key("The Matrix") == sort_key("the matrix") == "matrix"
    assert sort_key("A Beautiful Mind") == "beautiful mind"
    assert sort_key("An Elephant") == "elephant"
    assert sort_key("The") == "the"  # a title that is only an article keeps it
    assert sort_key("Theremin") == "theremin"
    assert sort_key("Straße") == "strasse"
    assert fold(fold("Ça Ira")) == fold("Ça Ira") == "ca ira"


async def test_a_movie_library_sorts_accents_with_their_letter_and_ignores_the(
    start_server: StartServer, tmp_path: Path
) -> None:
    base = tmp_path / "media"
    for name in (
        "Zephyr (2001)",
        "Édith et Moi (2003)",
        "The Abyss (1989)",
        "An Elephant (2000)",
        "bear (2002)",
        "Ångström (1999)",
    ):
        video(base, f"Movies/{name}/{name}.mp4")
    server = await start_server(
        f"folders:\n  watch: false\n  libraries:\n"
        f"    - {{name: Movies, kind: movies, paths: ['{base}/Movies']}}\nfilename:\n"
    )
    await settle(server)
    movies = (await library_ids(server))["Movies"]
    found = await items(server, library=movies, kind="movie", sort="title")
    assert [i["title"] for i in found] == [
        "The Abyss",
        "Ångström",
        "bear",
        "Édith et Moi",
        "An Elephant",
        "Zephyr",
    ]


async def test_keys_written_before_accents_were_folded_are_refolded(tmp_path: Path) -> None:
    before = [m for m in available() if m.version < 9]
    catalog = await Catalog.open(tmp_path, before)
    await catalog.write(
        lambda db: db.execute(
            "INSERT INTO libraries (id, source_id, name, kind, created_at) "
            "VALUES (1, 'folders:Movies', 'Movies', 'movies', '2026-01-01')"
        )
    )
    for pk, title, key in ((1, "Édith et Moi", "édith et moi"), (2, "Zephyr", "zephyr")):
        await catalog.write(
            lambda db, pk=pk, title=title, key=key: db.execute(
                "INSERT INTO items (pk, id, library_id, kind, title, sort_title, added_at) "
                "VALUES (?, ?, 1, 'movie', ?, ?, '2026-01-01')",
                [pk, f"i{pk}", title, key],
            )
        )
    await catalog.close()
    catalog = await Catalog.open(tmp_path)
    try:
        keys = await catalog.read(
            lambda db: [
                row[0] for row in db.execute("SELECT sort_title FROM items ORDER BY sort_title")
            ]
        )
    finally:
        await catalog.close()
    assert keys == ["edith et moi", "zephyr"]
