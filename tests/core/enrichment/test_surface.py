"""The helpers provider plugins build on: the response cache and how sure a match is."""

from __future__ import annotations

import os
import time
from pathlib import Path

from core.enrichment.surface import ResponseCache, title_confidence


def test_the_cache_answers_until_its_age_then_pruning_removes_it(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "cache", max_age=60)
    cache.put_blocking("/movie/603?language=en-US", {"answer": {"id": 603}})
    cache.put_blocking("/movie/604?language=en-US", {"answer": None})
    assert cache.get_blocking("/movie/603?language=en-US") == {"answer": {"id": 603}}
    assert cache.get_blocking("/movie/604?language=en-US") == {"answer": None}  # a 404 too
    (old,) = [p for p in (tmp_path / "cache").glob("*/*") if "603" not in p.read_text()]
    os.utime(old, (time.time() - 120, time.time() - 120))
    assert cache.get_blocking("/movie/604?language=en-US") is None
    assert cache.prune_blocking() == 1
    assert [p.read_text() for p in (tmp_path / "cache").glob("*/*")] == ['{"answer": {"id": 603}}']
    assert all("603" not in p.name for p in (tmp_path / "cache").glob("*/*"))  # keys are hashed


def test_confidence_weighs_the_title_and_lowers_it_for_another_year() -> None:
    assert title_confidence("The Matrix", 1999, ["The Matrix"], 1999) == 1.0
    assert title_confidence("the matrix", None, ["The Matrix!"], 1999) == 1.0
    assert title_confidence("The Matrix", 1999, ["The Matrix"], 2000) == 0.85
    assert title_confidence("The Matrix", 1999, ["The Matrix"], 2003) == 0.5
    assert title_confidence("The Matrix", 1999, ["Heat"], 1999) < 0.3
    assert (
        title_confidence("Amélie", 2001, ["Le Fabuleux Destin d'Amélie Poulain", "Amélie"], 2001)
        == 1.0
    )
