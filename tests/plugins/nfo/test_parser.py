"""Kodi-style .nfo files, realistic and hostile, read from real files through `NfoReader`."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from core.kinds import MetadataRequest
from plugins.nfo.parser import content_rating
from plugins.nfo.reader import NfoReader

LOGGER = logging.getLogger("hearth.nfo")

MOVIE_NFO = """<?xml version="1.0" encoding="UTF-8" standalone="yes" ?>
<movie>
    <title>Blade Runner</title>
    <originaltitle>Blade Runner</originaltitle>
    <sorttitle>Blade Runner 1</sorttitle>
    <ratings>
        <rating name="themoviedb" max="10">
            <value>7.9</value>
            <votes>12000</votes>
        </rating>
        <rating name="imdb" max="10" default="true">
            <value>8.1</value>
            <votes>780000</votes>
        </rating>
    </ratings>
    <userrating>0</userrating>
    <outline>A blade runner must pursue replicants.</outline>
    <plot>In the early 21st century, the Tyrell Corporation...</plot>
    <tagline>Man has made his match... now it's his problem.</tagline>
    <runtime>117</runtime>
    <thumb aspect="poster">https://image.tmdb.org/t/p/original/poster.jpg</thumb>
    <mpaa>Rated R</mpaa>
    <uniqueid type="imdb" default="true">tt0083658</uniqueid>
    <uniqueid type="tmdb">78</uniqueid>
    <genre>Science Fiction</genre>
    <genre>Drama</genre>
    <tag>cyberpunk</tag>
    <credits>Hampton Fancher</credits>
    <credits>David Peoples</credits>
    <director>Ridley Scott</director>
    <premiered>1982-06-25</premiered>
    <studio>Warner Bros.</studio>
    <actor>
        <name>Sean Young</name>
        <role>Rachael</role>
        <order>2</order>
        <thumb>https://image.tmdb.org/t/p/original/sean.jpg</thumb>
    </actor>
    <actor>
        <name>Harrison Ford</name>
        <role>Rick Deckard</role>
        <order>0</order>
    </actor>
    <actor>
        <name>Rutger Hauer</name>
        <role>Roy Batty</role>
        <order>1</order>
    </actor>
</movie>
"""

TVSHOW_NFO = """<?xml version="1.0" encoding="UTF-8" standalone="yes" ?>
<tvshow>
    <title>The Expanse</title>
    <showtitle>The Expanse</showtitle>
    <rating>8.4</rating>
    <year>2015</year>
    <plot>Hundreds of years in the future...</plot>
    <mpaa>US:TV-14 / GB:15</mpaa>
    <uniqueid type="tvdb" default="true">280619</uniqueid>
    <uniqueid type="imdb">tt3230854</uniqueid>
    <genre>Sci-Fi &amp; Fantasy / Drama</genre>
    <premiered>2015-12-14</premiered>
    <studio>Syfy</studio>
    <actor><name>Steven Strait</name><role>James Holden</role></actor>
</tvshow>
"""

EPISODE_NFO = """<?xml version="1.0" encoding="UTF-8" standalone="yes" ?>
<episodedetails>
    <title>Dulcinea</title>
    <season>1</season>
    <episode>1</episode>
    <rating>7.9</rating>
    <plot>In the asteroid belt, an ice freighter crew...</plot>
    <uniqueid type="tvdb" default="true">5316585</uniqueid>
    <credits>Mark Fergus</credits>
    <director>Terry McDonough</director>
    <aired>2015-12-14</aired>
</episodedetails>
"""

ALBUM_NFO = """<?xml version="1.0" encoding="UTF-8" standalone="yes" ?>
<album>
    <title>OK Computer</title>
    <musicbrainzalbumid>0B6B4BA0-D8B4-4E45-A5C5-3BBBD6D6B6D1</musicbrainzalbumid>
    <musicbrainzreleasegroupid>b1392450-e666-3926-a536-22c65f834433</musicbrainzreleasegroupid>
    <artistdesc>Radiohead</artistdesc>
    <genre>Alternative Rock</genre>
    <style>Art Rock</style>
    <mood>Melancholy</mood>
    <review>Radiohead's third album...</review>
    <label>Parlophone</label>
    <releasedate>1997-05-21</releasedate>
    <year>1997</year>
    <rating max="10">9.2</rating>
    <albumArtistCredits>
        <artist>Radiohead</artist>
        <musicBrainzArtistID>a74b1b7f-71a5-4011-9441-d0b5e4122711</musicBrainzArtistID>
    </albumArtistCredits>
</album>
"""

ARTIST_NFO = """<?xml version="1.0" encoding="UTF-8"?>
<artist>
    <name>Radiohead</name>
    <sortname>Radiohead</sortname>
    <musicBrainzArtistID>a74b1b7f-71a5-4011-9441-d0b5e4122711</musicBrainzArtistID>
    <genre>Rock</genre>
    <biography>English rock band formed in Abingdon.</biography>
</artist>
"""


def lookup(kind: str, path: Path, **known: Any) -> dict[str, Any] | None:
    return NfoReader(LOGGER).lookup_blocking(MetadataRequest(kind, path, known))


def movie_with_nfo(folder: Path, content: str | bytes, name: str = "Film (2010).nfo") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    video = folder / "Film (2010).mkv"
    video.write_bytes(b"\x1a\x45\xdf\xa3")
    nfo = folder / name
    if isinstance(content, str):
        nfo.write_text(content, encoding="utf-8")
    else:
        nfo.write_bytes(content)
    return video


def warnings_in(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def test_movie_nfo_maps_every_kodi_field_to_the_canonical_names(tmp_path: Path) -> None:
    fields = lookup("movie", movie_with_nfo(tmp_path, MOVIE_NFO))
    assert fields == {
        "title": "Blade Runner",
        "original_title": "Blade Runner",
        "sort_title": "Blade Runner 1",
        "year": 1982,
        "premiered": "1982-06-25",
        "plot": "In the early 21st century, the Tyrell Corporation...",
        "tagline": "Man has made his match... now it's his problem.",
        "rating": 8.1,
        "content_rating": "R",
        "genres": ["Science Fiction", "Drama"],
        "studios": ["Warner Bros."],
        "tags": ["cyberpunk"],
        "people": [
            {"name": "Harrison Ford", "role": "actor", "character": "Rick Deckard"},
            {"name": "Rutger Hauer", "role": "actor", "character": "Roy Batty"},
            {"name": "Sean Young", "role": "actor", "character": "Rachael"},
            {"name": "Ridley Scott", "role": "director"},
            {"name": "Hampton Fancher", "role": "writer"},
            {"name": "David Peoples", "role": "writer"},
        ],
        "external_ids": {"imdb": "tt0083658", "tmdb": "78"},
    }


def test_movie_nfo_in_the_folder_is_used_when_none_is_named_after_the_file(
    tmp_path: Path,
) -> None:
    video = movie_with_nfo(tmp_path, MOVIE_NFO, name="movie.nfo")
    assert (lookup("movie", video) or {})["title"] == "Blade Runner"


def test_a_movie_without_any_nfo_is_nothing_found_without_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    video = tmp_path / "Film.mkv"
    video.write_bytes(b"x")
    assert lookup("movie", video) is None
    assert warnings_in(caplog) == []


def test_tvshow_nfo_is_read_from_the_show_folder(tmp_path: Path) -> None:
    (tmp_path / "tvshow.nfo").write_text(TVSHOW_NFO, encoding="utf-8")
    fields = lookup("show", tmp_path)
    assert fields is not None
    assert fields["title"] == "The Expanse"
    assert fields["year"] == 2015
    assert fields["rating"] == 8.4
    assert fields["content_rating"] == "TV-14"
    assert fields["genres"] == ["Sci-Fi & Fantasy", "Drama"]
    assert fields["external_ids"] == {"tvdb": "280619", "imdb": "tt3230854"}
    assert fields["people"] == [
        {"name": "Steven Strait", "role": "actor", "character": "James Holden"}
    ]


def test_episode_nfo_gives_aired_date_as_premiered(tmp_path: Path) -> None:
    episode = tmp_path / "The Expanse - S01E01.mkv"
    episode.write_bytes(b"x")
    episode.with_suffix(".nfo").write_text(EPISODE_NFO, encoding="utf-8")
    fields = lookup("episode", episode)
    assert fields is not None
    assert fields["title"] == "Dulcinea"
    assert fields["premiered"] == "2015-12-14"
    assert fields["year"] == 2015
    assert fields["external_ids"] == {"tvdb": "5316585"}
    assert {"name": "Terry McDonough", "role": "director"} in fields["people"]


def test_multi_episode_nfo_gives_the_episode_asked_about(tmp_path: Path) -> None:
    second = EPISODE_NFO.replace("Dulcinea", "The Big Empty").replace(
        "<episode>1</episode>", "<episode>2</episode>"
    )
    body = second.split("?>", 1)[1]
    episode = tmp_path / "The Expanse - S01E01-E02.mkv"
    episode.write_bytes(b"x")
    episode.with_suffix(".nfo").write_text(EPISODE_NFO + body, encoding="utf-8")
    assert (lookup("episode", episode, index_number=2) or {})["title"] == "The Big Empty"
    assert (lookup("episode", episode, index_number=1) or {})["title"] == "Dulcinea"
    assert (lookup("episode", episode) or {})["title"] == "Dulcinea"


def test_album_nfo_gives_artist_ids_and_styles(tmp_path: Path) -> None:
    (tmp_path / "album.nfo").write_text(ALBUM_NFO, encoding="utf-8")
    track = tmp_path / "01 - Airbag.flac"
    track.write_bytes(b"fLaC")
    for path in (tmp_path, track):  # the album folder, or a track inside it
        assert lookup("album", path) == {
            "title": "OK Computer",
            "album": "OK Computer",
            "artist": "Radiohead",
            "album_artist": "Radiohead",
            "year": 1997,
            "premiered": "1997-05-21",
            "plot": "Radiohead's third album...",
            "rating": 9.2,
            "genres": ["Alternative Rock"],
            "tags": ["Art Rock", "Melancholy"],
            "studios": ["Parlophone"],
            "external_ids": {
                "musicbrainz_album": "0b6b4ba0-d8b4-4e45-a5c5-3bbbd6d6b6d1",
                "musicbrainz_release_group": "b1392450-e666-3926-a536-22c65f834433",
                "musicbrainz_album_artist": "a74b1b7f-71a5-4011-9441-d0b5e4122711",
            },
        }


def test_artist_nfo_gives_name_biography_and_musicbrainz_id(tmp_path: Path) -> None:
    (tmp_path / "artist.nfo").write_text(ARTIST_NFO, encoding="utf-8")
    assert lookup("artist", tmp_path) == {
        "title": "Radiohead",
        "sort_title": "Radiohead",
        "plot": "English rock band formed in Abingdon.",
        "genres": ["Rock"],
        "external_ids": {"musicbrainz_artist": "a74b1b7f-71a5-4011-9441-d0b5e4122711"},
    }


def test_older_nfo_tags_still_give_rating_and_imdb_id(tmp_path: Path) -> None:
    nfo = "<movie><title>Old</title><rating>6,5</rating><id>tt0111161</id><year>1994</year></movie>"
    fields = lookup("movie", movie_with_nfo(tmp_path, nfo))
    assert fields == {
        "title": "Old",
        "rating": 6.5,
        "year": 1994,
        "external_ids": {"imdb": "tt0111161"},
    }


def test_ratings_out_of_a_hundred_are_scaled_to_ten(tmp_path: Path) -> None:
    nfo = (
        '<movie><ratings><rating name="metacritic" max="100" default="true">'
        "<value>84</value></rating></ratings></movie>"
    )
    assert lookup("movie", movie_with_nfo(tmp_path, nfo)) == {"rating": 8.4}


@pytest.mark.parametrize(
    ("written", "normalized"),
    [
        ("Rated PG-13", "PG-13"),
        ("US:PG-13 / UK:12A", "PG-13"),
        ("de:FSK 12", "FSK 12"),
        ("TV-MA", "TV-MA"),
        ("", None),
    ],
)
def test_certifications_are_normalized_to_what_people_say(
    written: str, normalized: str | None
) -> None:
    assert content_rating(written) == normalized


def test_url_only_nfo_gives_the_imdb_id(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    video = movie_with_nfo(tmp_path, "https://www.imdb.com/title/tt0083658/\n")
    assert lookup("movie", video) == {"external_ids": {"imdb": "tt0083658"}}
    assert warnings_in(caplog) == []


def test_xml_followed_by_a_link_keeps_both(tmp_path: Path) -> None:
    nfo = "<movie><title>Blade Runner</title></movie>\nhttps://www.themoviedb.org/movie/78\n"
    assert lookup("movie", movie_with_nfo(tmp_path, nfo)) == {
        "title": "Blade Runner",
        "external_ids": {"tmdb": "78"},
    }


def test_latin1_nfo_with_an_encoding_declaration_is_decoded(tmp_path: Path) -> None:
    nfo = '<?xml version="1.0" encoding="ISO-8859-1"?>\n<movie><title>Amélie</title></movie>'
    video = movie_with_nfo(tmp_path, nfo.encode("latin-1"))
    assert lookup("movie", video) == {"title": "Amélie"}


def test_utf16_nfo_with_a_byte_order_mark_is_decoded(tmp_path: Path) -> None:
    nfo = '<?xml version="1.0" encoding="UTF-16"?>\n<movie><title>Léon</title></movie>'
    video = movie_with_nfo(tmp_path, nfo.encode("utf-16"))
    assert lookup("movie", video) == {"title": "Léon"}


HOSTILE = {
    "malformed": ("<movie><title>Broken</movie>", "is not well-formed XML (mismatched tag"),
    "empty": ("", "is empty"),
    "blank": ("  \n\n ", "is empty"),
    "latin1_undeclared": ("<movie><title>Amélie</title></movie>".encode("latin-1"), "UTF-8"),
    "unknown_encoding": (
        '<?xml version="1.0" encoding="klingon"?><movie/>',
        "declares a text encoding that is not known",
    ),
    "billion_laughs": (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
        "<movie><title>&lol3;</title></movie>",
        "declares XML entities",
    ),
    "text_not_a_link": ("my favourite film!", "holds neither XML nor"),
    "wrong_root": (TVSHOW_NFO, "is a <tvshow> nfo where <movie> was expected"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_unusable_nfo_is_nothing_found_with_one_clear_warning(
    case: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    content, problem = HOSTILE[case]
    video = movie_with_nfo(tmp_path, content)
    reader = NfoReader(LOGGER)
    request = MetadataRequest("movie", video)
    assert reader.lookup_blocking(request) is None
    assert reader.lookup_blocking(request) is None  # a rescan asks again
    warnings = warnings_in(caplog)
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith(f"Ignoring {video.with_suffix('.nfo')}: it ")
    assert problem in warnings[0]


def test_external_entity_is_refused_and_the_file_it_names_is_never_read(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET", encoding="utf-8")
    nfo = (
        f'<?xml version="1.0"?><!DOCTYPE movie [<!ENTITY xxe SYSTEM "file://{secret}">]>'
        "<movie><title>&xxe;</title><plot>x</plot></movie>"
    )
    video = movie_with_nfo(tmp_path / "films", nfo)
    before = secret.stat().st_atime_ns
    assert lookup("movie", video) is None
    assert "declares XML entities" in warnings_in(caplog)[0]
    assert "TOP-SECRET" not in caplog.text
    assert secret.stat().st_atime_ns == before


def test_passwd_external_entity_gives_no_field(tmp_path: Path) -> None:
    nfo = (
        '<?xml version="1.0"?><!DOCTYPE movie [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        "<movie><title>&xxe;</title></movie>"
    )
    assert lookup("movie", movie_with_nfo(tmp_path, nfo)) is None


def test_nfo_over_one_mebibyte_is_not_read(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    padding = "<tag>x</tag>" * (5 * 1024 * 1024 // 12)
    video = movie_with_nfo(tmp_path, f"<movie><title>Huge</title>{padding}</movie>")
    assert lookup("movie", video) is None
    assert "nfo files over 1 MiB are not read" in warnings_in(caplog)[0]


def test_an_edited_nfo_is_judged_again(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    video = movie_with_nfo(tmp_path, "<movie><title>Broken</movie>")
    reader = NfoReader(LOGGER)
    assert reader.lookup_blocking(MetadataRequest("movie", video)) is None
    video.with_suffix(".nfo").write_text("<movie><title>Fixed</title></movie>", encoding="utf-8")
    assert reader.lookup_blocking(MetadataRequest("movie", video)) == {"title": "Fixed"}
    assert len(warnings_in(caplog)) == 1


def test_a_broken_named_nfo_falls_back_to_movie_nfo(tmp_path: Path) -> None:
    video = movie_with_nfo(tmp_path, "<movie><title>Broken</movie>")
    (tmp_path / "movie.nfo").write_text(MOVIE_NFO, encoding="utf-8")
    assert (lookup("movie", video) or {})["title"] == "Blade Runner"


def test_a_fifo_named_like_an_nfo_is_not_opened(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    video = tmp_path / "Film.mkv"
    video.write_bytes(b"x")
    import os

    os.mkfifo(tmp_path / "Film.nfo")
    assert lookup("movie", video) is None
    assert "is not a regular file" in warnings_in(caplog)[0]


def test_kinds_without_nfo_files_are_nothing_found(tmp_path: Path) -> None:
    photo = tmp_path / "beach.jpg"
    photo.write_bytes(b"x")
    assert lookup("photo", photo) is None
    assert NfoReader(LOGGER).lookup_blocking(MetadataRequest("movie", None)) is None
