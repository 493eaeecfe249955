"""find_sidecar_subtitles: subtitle files beside a video, from a listing of names."""

from __future__ import annotations

from core.media.sidecars import SidecarSubtitle, find_sidecar_subtitles

LISTING = [
    "Movie (2010).mkv",
    "Movie (2010).srt",
    "Movie (2010).en.srt",
    "Movie (2010).eng.forced.srt",
    "Movie (2010).English.SDH.srt",
    "Movie (2010).de.hi.srt",
    "Movie (2010).hi.srt",
    "Movie (2010).pt-BR.default.srt",
    "Movie (2010).fr.vtt",
    "Movie (2010).ja.ass",
    "Movie (2010).ssa",
    "Movie (2010).es.sub",
    "Movie (2010).idx",
    "Movie (2010).sub",
    "Movie (2010).Commentary.en.srt",
    "movie (2010).IT.SRT",
    "Movie (2010)_eng.srt",
    "Movie (2010) - Français.srt",
    "Movie (2010) - Part 2.srt",
    "Movie (2010) Extended.mkv",
    "Movie (2010) Extended.en.srt",
    "Movie (2010).nfo",
    "Movie (2010)-poster.jpg",
    "Other Movie (2011).en.srt",
]


def _by_name() -> dict[str, SidecarSubtitle]:
    found = find_sidecar_subtitles("Movie (2010).mkv", LISTING)
    return {subtitle.name: subtitle for subtitle in found}


def test_plex_and_jellyfin_names_give_language_and_flags() -> None:
    found = _by_name()

    def facts(name: str) -> tuple[object, ...]:
        s = found[name]
        return (s.format, s.language, s.forced, s.sdh, s.default, s.label)

    assert facts("Movie (2010).srt") == ("srt", None, False, False, False, None)
    assert facts("Movie (2010).en.srt") == ("srt", "eng", False, False, False, None)
    assert facts("Movie (2010).eng.forced.srt") == ("srt", "eng", True, False, False, None)
    assert facts("Movie (2010).English.SDH.srt") == ("srt", "eng", False, True, False, None)
    assert facts("Movie (2010).de.hi.srt") == ("srt", "ger", False, True, False, None)
    assert facts("Movie (2010).pt-BR.default.srt") == ("srt", "por", False, False, True, None)
    assert facts("Movie (2010).fr.vtt") == ("vtt", "fre", False, False, False, None)
    assert facts("Movie (2010).ja.ass") == ("ass", "jpn", False, False, False, None)
    assert facts("Movie (2010).ssa") == ("ssa", None, False, False, False, None)
    assert facts("Movie (2010).es.sub") == ("sub", "spa", False, False, False, None)
    assert facts("Movie (2010).Commentary.en.srt") == (
        "srt",
        "eng",
        False,
        False,
        False,
        "Commentary",
    )
    assert facts("movie (2010).IT.SRT") == ("srt", "ita", False, False, False, None)
    assert facts("Movie (2010)_eng.srt") == ("srt", "eng", False, False, False, None)
    assert facts("Movie (2010) - Français.srt") == ("srt", "fre", False, False, False, None)


def test_hi_alone_is_hindi_but_beside_a_language_means_hearing_impaired() -> None:
    found = _by_name()

    assert (found["Movie (2010).hi.srt"].language, found["Movie (2010).hi.srt"].sdh) == (
        "hin",
        False,
    )
    assert (found["Movie (2010).de.hi.srt"].language, found["Movie (2010).de.hi.srt"].sdh) == (
        "ger",
        True,
    )


def test_idx_and_sub_pair_is_one_vobsub_track() -> None:
    found = _by_name()

    assert found["Movie (2010).idx"].format == "vobsub"
    assert found["Movie (2010).idx"].text_based is False
    assert "Movie (2010).sub" not in found
    assert found["Movie (2010).es.sub"].text_based is True


def test_names_that_belong_elsewhere_are_left_out() -> None:
    found = _by_name()

    assert "Movie (2010) - Part 2.srt" not in found  # unknown words after a non-dot separator
    assert "Movie (2010) Extended.en.srt" not in found  # that video's, the longer match
    assert "Other Movie (2011).en.srt" not in found
    assert "Movie (2010).nfo" not in found
    assert len(found) == 16


def test_the_longer_video_gets_its_own_subtitles() -> None:
    found = find_sidecar_subtitles("Movie (2010) Extended.mkv", LISTING)

    assert [s.name for s in found] == ["Movie (2010) Extended.en.srt"]
    assert found[0].language == "eng"


def test_no_subtitles_and_odd_names_do_not_fail() -> None:
    assert find_sidecar_subtitles("Lonely.mkv", ["Lonely.mkv", "Lonely.nfo"]) == ()
    odd = "Am\udce9lie"
    assert (
        find_sidecar_subtitles(f"{odd}.mkv", [f"{odd}.mkv", f"{odd}.fr.srt"])[0].language == "fre"
    )
    long_stem = "é" * 120
    assert find_sidecar_subtitles(f"{long_stem}.mkv", [f"{long_stem}.en.srt"])[0].language == "eng"
