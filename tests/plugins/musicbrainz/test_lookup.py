"""MusicBrainz answers as fields: the artist credit as printed, Lucene phrases escaped."""

from __future__ import annotations

from plugins.musicbrainz.lookup import _credit, _quoted


def test_the_artist_credit_reads_as_printed_and_names_the_first_artist() -> None:
    answer = {
        "artist-credit": [
            {"name": "Massive Attack", "joinphrase": " feat. ", "artist": {"id": "a1"}},
            {"name": "Elizabeth Fraser", "joinphrase": "", "artist": {"id": "a2"}},
        ]
    }
    assert _credit(answer) == ("Massive Attack feat. Elizabeth Fraser", "a1")
    assert _credit({}) == ("", None)


def test_search_words_are_one_phrase_whatever_they_hold() -> None:
    assert _quoted('Dummy "Live"') == '"Dummy \\"Live\\""'
    assert _quoted("AC\\DC") == '"AC\\\\DC"'
