"""Who wins between the disk and an online provider, field group by field group."""

from __future__ import annotations

from core.enrichment.merge import local_part, merge_online

ONLINE = {
    "title": "Heat",
    "plot": "TMDB's plot.",
    "tagline": "A Los Angeles crime saga",
    "artwork": {"poster": "online:" + "a" * 32 + ".jpg", "fanart": "online:" + "b" * 32 + ".jpg"},
    "external_ids": {"tmdb": "949", "imdb": "tt0113277"},
}


def test_what_is_on_disk_wins_and_online_fills_the_gaps() -> None:
    local = {
        "title": "Heat",
        "plot": "Our plot.",
        "artwork": {"poster": "/m/Heat/poster.jpg"},
        "external_ids": {"imdb": "tt0000001"},
    }
    merged, applied = merge_online("movie", local, {}, ONLINE)
    assert merged["plot"] == "Our plot."
    assert merged["tagline"] == "A Los Angeles crime saga"
    assert merged["artwork"] == {
        "poster": "/m/Heat/poster.jpg",
        "fanart": ONLINE["artwork"]["fanart"],
    }
    assert merged["external_ids"] == {"imdb": "tt0000001", "tmdb": "949"}
    assert applied == {
        "tagline": "A Los Angeles crime saga",
        "artwork": {"fanart": ONLINE["artwork"]["fanart"]},
        "external_ids": {"tmdb": "949"},
    }


def test_the_owner_can_let_a_provider_win_for_a_field_group() -> None:
    local = {"title": "Heat", "plot": "Our plot.", "artwork": {"poster": "/m/Heat/poster.jpg"}}
    merged, _ = merge_online("movie", local, {}, ONLINE, override={"artwork"})
    assert merged["artwork"]["poster"] == ONLINE["artwork"]["poster"]
    assert merged["plot"] == "Our plot."  # text was not named


def test_a_placeholder_title_and_a_video_still_count_as_missing_and_come_back_when_locked() -> None:
    still = "still:" + "c" * 32 + ".jpg"
    local = {"title": "Episode 2", "artwork": {"thumb": still}}
    online = {"title": "Second Shift", "artwork": {"thumb": "online:" + "d" * 32 + ".jpg"}}
    merged, applied = merge_online("episode", local, {}, online)
    assert merged["title"] == "Second Shift"
    assert merged["artwork"]["thumb"].startswith("online:")
    assert local_part(merged, applied) == local  # "lock to local metadata" puts them back


def test_a_rescan_that_rewrote_the_item_gets_the_same_merge_again() -> None:
    local = {"title": "Heat", "plot": "Our plot."}
    merged, applied = merge_online("movie", local, {}, ONLINE)
    again, applied_again = merge_online("movie", merged, applied, ONLINE)
    assert (again, applied_again) == (merged, applied)  # nothing to write
    rewritten, _ = merge_online("movie", {"title": "Heat", "plot": "New plot."}, applied, ONLINE)
    assert rewritten["plot"] == "New plot." and rewritten["tagline"] == ONLINE["tagline"]
