"""TMDB's answers as Hearth's fields: the owner's country's certification, cast then crew."""

from __future__ import annotations

from plugins.tmdb import shapes

RELEASES = {
    "results": [
        {"iso_3166_1": "DE", "release_dates": [{"certification": "16", "type": 3}]},
        {
            "iso_3166_1": "GB",
            "release_dates": [
                {"certification": "", "type": 1},
                {"certification": "18", "type": 4},
                {"certification": "15", "type": 3},
            ],
        },
    ]
}


def test_the_certification_is_the_owners_countrys_theatrical_one() -> None:
    answer = {"release_dates": RELEASES}
    assert shapes.movie_certification(answer, "GB") == "15"
    assert shapes.movie_certification(answer, "DE") == "16"
    assert shapes.movie_certification(answer, "US") is None
    ratings = {"content_ratings": {"results": [{"iso_3166_1": "DE", "rating": "12"}]}}
    assert shapes.show_certification(ratings, "DE") == "12"


def test_people_are_billed_actors_then_directors_and_writers() -> None:
    credits = {
        "cast": [{"name": f"Actor {n}", "character": f"Part {n}"} for n in range(20)],
        "crew": [
            {"name": "Ann", "job": "Director"},
            {"name": "Bo", "job": "Screenplay"},
            {"name": "Cy", "job": "Gaffer"},
        ],
    }
    found = shapes.people(credits)
    assert len(found) == shapes.CAST_KEPT + 2
    assert found[0] == {"name": "Actor 0", "role": "actor", "character": "Part 0"}
    assert found[-2:] == [{"name": "Ann", "role": "director"}, {"name": "Bo", "role": "writer"}]


def test_pictures_are_sized_for_a_tv_and_missing_ones_are_left_out() -> None:
    base = "https://image.tmdb.org/t/p"
    answer = {"poster_path": "/p.jpg", "backdrop_path": None, "still_path": ""}
    assert shapes.artwork(base, answer) == {"poster": "https://image.tmdb.org/t/p/w780/p.jpg"}
