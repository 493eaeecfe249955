"""parse_name and friends: what Plex/Jellyfin-style paths say, checked against whole results."""

from __future__ import annotations

import os
from datetime import date

import pytest

from core.media.music_naming import PlainName, TrackName, name_date
from core.media.naming import (
    EpisodeName,
    LibraryKind,
    MovieName,
    ParsedName,
    grouping_key,
    parse_episode,
    parse_movie,
    parse_name,
)


def ep(show: str, season: int | None, *episodes: int, **more: object) -> EpisodeName:
    return EpisodeName(show, grouping_key(show), season, episodes, **more)  # type: ignore[arg-type]


TABLE: list[tuple[LibraryKind, str, ParsedName]] = [
    # --- movies
    ("movies", "Blade Runner (1982)/Blade Runner (1982).mkv", MovieName("Blade Runner", 1982)),
    ("movies", "Movies/Heat (1995)/Heat (1995).mp4", MovieName("Heat", 1995)),
    (
        "movies",
        "Blade Runner (1982) {edition-Director's Cut}/"
        "Blade Runner (1982) {edition-Director's Cut}.mkv",
        MovieName("Blade Runner", 1982, edition="Director's Cut"),
    ),
    (
        "movies",
        "Aliens (1986)/Aliens (1986) - Special Edition.mkv",
        MovieName("Aliens", 1986, edition="Special Edition"),
    ),
    ("movies", "Kill Bill (2003)/Kill Bill (2003) - pt1.mkv", MovieName("Kill Bill", 2003, part=1)),
    ("movies", "Kill Bill (2003)/Kill Bill (2003) - cd2.avi", MovieName("Kill Bill", 2003, part=2)),
    (
        "movies",
        "Blade Runner (1982)/Blade.Runner.1982.Final.Cut.1080p.BluRay.x264-GRP.mkv",
        MovieName("Blade Runner", 1982),
    ),
    ("movies", "Dune Part Two (2024)/Dune Part Two (2024).mkv", MovieName("Dune Part Two", 2024)),
    (
        "movies",
        "Harry Potter and the Deathly Hallows Part 1 (2010).mkv",
        MovieName("Harry Potter and the Deathly Hallows Part 1", 2010),
    ),
    ("movies", "1917 (2019)/1917 (2019).mkv", MovieName("1917", 2019)),
    (
        "movies",
        "The Matrix (1999) [imdbid-tt0133093]/The Matrix (1999) [imdbid-tt0133093].mkv",
        MovieName("The Matrix", 1999, provider_ids=(("imdb", "tt0133093"),)),
    ),
    (
        "movies",
        "Alien (1979) {tmdb-348}/alien.mkv",
        MovieName("Alien", 1979, provider_ids=(("tmdb", "348"),)),
    ),
    (
        "movies",
        "Avatar (2009)/Avatar (2009)-trailer.mp4",
        MovieName("Avatar", 2009, extra="trailer"),
    ),
    (
        "movies",
        "Avatar (2009)/Behind The Scenes/Making Pandora.mkv",
        MovieName("Avatar", 2009, extra="behindthescenes", extra_title="Making Pandora"),
    ),
    ("movies", "The Interview (2014).mkv", MovieName("The Interview", 2014)),
    ("movies", "Collections/Batman.1989.1080p.BluRay.x264.mkv", MovieName("Batman", 1989)),
    ("movies", "Se7en.mkv", MovieName("Se7en")),
    # --- shows
    (
        "shows",
        "TV/The Office (US)/Season 02/The Office (US) - S02E01 - The Dundies.mkv",
        ep("The Office (US)", 2, 1, title="The Dundies"),
    ),
    ("shows", "The Office (US)/Season 01/S01E02.mkv", ep("The Office (US)", 1, 2)),
    (
        "shows",
        "Lost/Season 01/Lost - S01E02E03 - Pilot.mkv",
        ep("Lost", 1, 2, 3, title="Pilot"),
    ),
    (
        "shows",
        "Lost/Season 01/Lost - S01E02-E03 - Pilot.mkv",
        ep("Lost", 1, 2, 3, title="Pilot"),
    ),
    (
        "shows",
        "Doctor Who (2005)/Season 00/Doctor Who (2005) - S00E01 - The Christmas Invasion.mkv",
        ep("Doctor Who", 0, 1, title="The Christmas Invasion", show_year=2005),
    ),
    (
        "shows",
        "Doctor Who (2005)/Specials/Doctor Who - E02 - The Runaway Bride.mkv",
        ep("Doctor Who", 0, 2, title="The Runaway Bride", show_year=2005),
    ),
    (
        "shows",
        "The Daily Show/Season 2024/The Daily Show 2024-03-01.mkv",
        ep("The Daily Show", 2024, air_date=date(2024, 3, 1)),
    ),
    (
        "shows",
        "The.Daily.Show.2024.03.01.Guest.Name.720p.WEB.mkv",
        ep("The Daily Show", None, air_date=date(2024, 3, 1), title="Guest Name"),
    ),
    ("shows", "One Piece/One Piece - 1071.mkv", ep("One Piece", None, 1071)),
    ("shows", "Naruto/Naruto - 103 - Title.mkv", ep("Naruto", None, 103, title="Title")),
    ("shows", "[SubsPlease] Frieren - 12 (1080p) [ABCDEF12].mkv", ep("Frieren", None, 12)),
    (
        "shows",
        "Frieren/Season 1/02 - The Priest's Lie.mkv",
        ep("Frieren", 1, 2, title="The Priest's Lie"),
    ),
    ("shows", "Fargo/Season 3/3x04 - Name.mkv", ep("Fargo", 3, 4, title="Name")),
    (
        "shows",
        "Doctor Who (2005)/Season 01/Doctor.Who.2005.S01E01.Rose.720p.HDTV.mkv",
        ep("Doctor Who", 1, 1, title="Rose", show_year=2005),
    ),
    ("shows", "Grey's Anatomy/Season 01/greys.anatomy.s01e01.mkv", ep("Grey's Anatomy", 1, 1)),
    (
        "shows",
        "Breaking.Bad.S05E14.Ozymandias.1080p.WEB-DL.DD5.1.H.264.mkv",
        ep("Breaking Bad", 5, 14, title="Ozymandias"),
    ),
    (
        "shows",
        "Westworld {tvdb-296762}/Season 02/Westworld - S02E01.mkv",
        ep("Westworld", 2, 1, provider_ids=(("tvdb", "296762"),)),
    ),
    # --- music
    (
        "music",
        "Music/Pink Floyd/The Wall (1979)/CD2/01 - Hey You.flac",
        TrackName("Hey You", "Pink Floyd", "The Wall", 1979, disc=2, track=1),
    ),
    (
        "music",
        "Pink Floyd/The Wall/Disc 1/1-03 Another Brick in the Wall.flac",
        TrackName("Another Brick in the Wall", "Pink Floyd", "The Wall", disc=1, track=3),
    ),
    (
        "music",
        "Radiohead/OK Computer/01. Airbag.mp3",
        TrackName("Airbag", "Radiohead", "OK Computer", track=1),
    ),
    (
        "music",
        "Radiohead - OK Computer/04 - Radiohead - Exit Music (For a Film).mp3",
        TrackName("Exit Music (For a Film)", "Radiohead", "OK Computer", track=4),
    ),
    (
        "music",
        "Prince/1999 - 1999/01 - 1999.flac",
        TrackName("1999", "Prince", "1999", 1999, track=1),
    ),
    (
        "music",
        "U2/[1987] The Joshua Tree/2 Become 1.mp3",
        TrackName("2 Become 1", "U2", "The Joshua Tree", 1987),
    ),
    # --- home videos and photos
    (
        "videos",
        "Home Videos/Holidays/2019-07-04 Beach day.mp4",
        PlainName("2019-07-04 Beach day", date(2019, 7, 4), "Holidays"),
    ),
    ("videos", "VID_20190704_123456.mp4", PlainName("VID_20190704_123456", date(2019, 7, 4))),
    ("photos", "2023/IMG_0001.JPG", PlainName("IMG_0001", None, "2023")),
]


@pytest.mark.parametrize(
    ("kind", "path", "expected"), TABLE, ids=[f"{kind}:{path}" for kind, path, _ in TABLE]
)
def test_parse_name(kind: LibraryKind, path: str, expected: ParsedName) -> None:
    assert parse_name(path, kind) == expected


def test_show_title_comes_from_the_folder_so_odd_file_names_group_together() -> None:
    names = [
        "Marvel's Agents of S.H.I.E.L.D/Season 01/Marvels.Agents.of.S.H.I.E.L.D.S01E01.mkv",
        "Marvel's Agents of S.H.I.E.L.D/Season 01/S01E02 - 0-8-4.mkv",
        "Marvel's Agents of S.H.I.E.L.D/Season 01/03 - The Asset.mkv",
    ]
    parsed = [parse_episode(name) for name in names]

    assert {p.show_key for p in parsed} == {"marvels agents of shield"}
    assert [(p.season, p.episodes) for p in parsed] == [(1, (1,)), (1, (2,)), (1, (3,))]


def test_show_title_comes_from_the_file_when_there_is_no_folder() -> None:
    parsed = parse_episode("the.office.us.s01e02.mkv")

    assert (parsed.show, parsed.season, parsed.episodes) == ("the office (US)", 1, (2,))
    assert parsed.show_key == grouping_key("The Office (US)")


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("Grey's Anatomy", "greys.anatomy"),
        ("Grey\u2019s Anatomy", "GREYS ANATOMY"),
        ("Law & Order", "Law and Order"),
        ("S.H.I.E.L.D.", "SHIELD"),
        ("Pokémon", "Pokemon"),
        ("Star Wars: The Clone Wars", "Star Wars - The Clone Wars"),
    ],
)
def test_grouping_key_ignores_case_accents_and_punctuation(left: str, right: str) -> None:
    assert grouping_key(left) == grouping_key(right)


def test_grouping_key_keeps_different_shows_apart() -> None:
    assert grouping_key("The Office (US)") != grouping_key("The Office")
    assert grouping_key("A Beautiful Mind") == "a beautiful mind"


HOSTILE = [
    os.fsdecode(b"Movies/Am\xe9lie (2001)/Am\xe9lie (2001).mkv"),
    os.fsdecode(b"TV/\xff\xfe Show/Season 01/\xff\xfe Show - S01E01.mkv"),
    os.fsdecode(b"Music/\xe9t\xe9/\xe9t\xe9/01 - \xe9t\xe9.flac"),
    "é" * 125 + "x.mkv",  # 255 bytes
    "Show/Season 01/" + "x" * 251 + ".mkv",
    "",
    "/",
    ".mkv",
    "Season 01/",
    "((((((((((.mkv",
    "{edition-}.mkv",
    "S99999E99999.mkv",
    "9999-99-99.mkv",
]


@pytest.mark.parametrize("path", HOSTILE, ids=range(len(HOSTILE)))
@pytest.mark.parametrize("kind", ["movies", "shows", "music", "videos", "photos"])
def test_odd_names_never_raise(path: str, kind: LibraryKind) -> None:
    parsed = parse_name(path, kind)

    assert isinstance(parsed, MovieName | EpisodeName | TrackName | PlainName)


def test_surrogate_escaped_names_keep_their_bytes() -> None:
    movie = parse_movie(os.fsdecode(b"Am\xe9lie (2001)/Am\xe9lie (2001).mkv"))

    assert os.fsencode(movie.title) == b"Am\xe9lie"
    assert movie.year == 2001


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2019-07-04 Beach", date(2019, 7, 4)),
        ("PXL_20230101_120000", date(2023, 1, 1)),
        ("2019-02-30 not a day", None),
        ("IMG_0001", None),
        ("Party 2019.12.31", date(2019, 12, 31)),
    ],
)
def test_name_date(text: str, expected: date | None) -> None:
    assert name_date(text) == expected
