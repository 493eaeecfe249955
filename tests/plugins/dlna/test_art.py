"""Which picture a TV is given for an item: the item's own before its season's or show's, so
every episode does not show the same season poster (since episodes got stills of their own)."""

from __future__ import annotations

import json

from plugins.dlna.objects import pick_art


def meta(**artwork: str) -> str:
    return json.dumps({"title": "x", "artwork": artwork})


def test_an_episode_shows_its_own_still_before_its_season_poster() -> None:
    episode, season = meta(thumb="still:ep1.jpg"), meta(poster="/m/Show/Season 1/poster.jpg")
    assert pick_art("episode", [episode, season, None]) == ("thumb", "still:ep1.jpg")


def test_an_episode_without_a_picture_falls_back_to_its_season_then_its_show() -> None:
    season, show = meta(poster="season.jpg"), meta(poster="show.jpg")
    assert pick_art("episode", [None, season, show]) == ("poster", "season.jpg")
    assert pick_art("episode", ['{"title": "x"}', None, show]) == ("poster", "show.jpg")


def test_a_film_prefers_its_poster_and_a_track_its_album_cover() -> None:
    assert pick_art("movie", [meta(thumb="t.jpg", poster="p.jpg")]) == ("poster", "p.jpg")
    assert pick_art("track", [None, meta(thumb="cover.jpg")]) == ("thumb", "cover.jpg")
    assert pick_art("movie", [None]) is None
