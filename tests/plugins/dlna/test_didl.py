"""DIDL-Lite, profiles and criteria as pure functions: hostile titles stay well-formed XML,
the Filter decides what appears, profiles are named only when certain, criteria become SQL."""

from __future__ import annotations

import pytest
from defusedxml import ElementTree

from plugins.dlna.criteria import CriteriaError, search_sql, sort_sql
from plugins.dlna.didl import Filter, didl, duration_text
from plugins.dlna.objects import Container, MediaItem, parse_object_id
from plugins.dlna.profiles import media_profile, needs_transcode, screen_copy

DIDL = "{urn:schemas-upnp-org:metadata-1-0/DIDL-Lite/}"
H264_MP4 = {
    "container": "mov,mp4,m4a,3gp,3g2,mj2",
    "bit_rate": 800_000,
    "streams": [
        {"kind": "video", "codec": "h264", "profile": "Main", "width": 1280, "height": 720},
        {"kind": "audio", "codec": "aac", "sample_rate": 44100, "channels": 6},
    ],
}


def movie(title: str, **fields: object) -> MediaItem:
    values: dict[str, object] = {
        "object_id": "item:abc",
        "parent_id": "lib:1",
        "item_id": "abc",
        "kind": "movie",
        "title": title,
        "date": "1999-01-01",
        "artist": None,
        "album": None,
        "genres": (),
        "track": None,
        "duration": 5025.5,
        "size": 1234,
        "filename": "a.mp4",
        "probe": H264_MP4,
        "art": None,
    }
    return MediaItem(**{**values, **fields})  # type: ignore[arg-type]


def test_hostile_titles_stay_well_formed_and_urls_hold_only_ids() -> None:
    nasty = 'Tom & "Jerry" <script>\x01\x1b caf\udce9 ]]>'
    document = didl(
        [movie(nasty), Container("lib:1:f", "lib:1", nasty, "object.container", 2)],
        Filter("*"),
        "http://198.18.0.1:8440",
    )
    root = ElementTree.fromstring(document)
    item, container = list(root)
    assert item.findtext("{http://purl.org/dc/elements/1.1/}title") == (
        'Tom & "Jerry" <script>\ufffd\ufffd caf\ufffd ]]>'
    )
    assert container.get("childCount") == "2"
    res = item.find(f"{DIDL}res")
    assert res is not None and res.text == "http://198.18.0.1:8440/dlna/media/abc.mp4"
    assert res.get("duration") == "1:23:45.500" and res.get("resolution") == "1280x720"
    assert res.get("bitrate") == "100000" and res.get("nrAudioChannels") == "6"
    assert res.get("protocolInfo", "").startswith(
        "http-get:*:video/mp4:DLNA.ORG_PN=AVC_MP4_MP_HD_720p_AAC;DLNA.ORG_OP=01;DLNA.ORG_CI=0"
    )


def test_the_filter_decides_which_optional_properties_appear() -> None:
    minimal = ElementTree.fromstring(didl([movie("M")], Filter(""), "http://h"))
    assert [child.tag.split("}")[1] for child in minimal[0]] == ["title", "class"]
    some = ElementTree.fromstring(didl([movie("M")], Filter("res,res@size"), "http://h"))
    res = some[0].find(f"{DIDL}res")
    assert res is not None and res.get("size") == "1234" and res.get("duration") is None


def test_profiles_are_named_only_when_certain() -> None:
    assert media_profile("movie", "a.mp4", H264_MP4).pn == "AVC_MP4_MP_HD_720p_AAC"
    mkv = media_profile("movie", "a.mkv", {**H264_MP4, "container": "matroska,webm"})
    assert mkv.pn is None and mkv.mime == "video/x-matroska" and needs_transcode("movie", mkv)
    hevc = {"container": H264_MP4["container"], "streams": [{"kind": "video", "codec": "hevc"}]}
    assert media_profile("video", "a.mp4", hevc).pn is None
    assert media_profile("track", "a.mp3", {"streams": [{"kind": "audio", "codec": "mp3"}]}).pn == (
        "MP3"
    )
    big = {"photo": {"format": "jpeg", "width": 4000, "height": 3000}}
    assert media_profile("photo", "a.jpg", big).pn == "JPEG_LRG"
    assert media_profile("photo", "a.jpg", big).transfer_mode == "Interactive"
    assert not needs_transcode("track", media_profile("track", "a.flac", {}))
    assert duration_text(0.0004) == "0:00:00.000" and duration_text(3600) == "1:00:00.000"


def photo(filename: str, fmt: str, width: int, height: int) -> MediaItem:
    probe = {"container": fmt, "photo": {"format": fmt, "width": width, "height": height}}
    return movie("P", kind="photo", filename=filename, probe=probe, art="abc", duration=None)


def test_a_photo_tvs_cannot_show_leads_with_its_jpeg_copy() -> None:
    document = didl([photo("IMG_0001.HEIC", "heif", 4032, 3024)], Filter("*"), "http://h")
    resources = ElementTree.fromstring(document)[0].findall(f"{DIDL}res")

    assert [(r.text, r.get("protocolInfo", "").split(";")[0]) for r in resources] == [
        ("http://h/dlna/photo/abc.jpg", "http-get:*:image/jpeg:DLNA.ORG_PN=JPEG_LRG"),
        ("http://h/dlna/media/abc.heic", "http-get:*:image/heic:DLNA.ORG_OP=01"),
        ("http://h/dlna/art/abc.jpg", "http-get:*:image/jpeg:DLNA.ORG_PN=JPEG_TN"),
    ]
    assert "DLNA.ORG_CI=1" in resources[0].get("protocolInfo", "")
    assert resources[1].get("resolution") == "4032x3024" and resources[0].get("resolution") is None


@pytest.mark.parametrize(
    ("filename", "fmt", "size", "copy"),
    [
        ("a.jpg", "jpeg", (4000, 3000), None),  # a TV shows it as it is
        ("a.png", "png", (800, 600), None),
        ("a.jpg", "jpeg", (6000, 4000), "JPEG_LRG"),  # over JPEG_LRG's 4096
        ("a.heic", "heif", (4032, 3024), "JPEG_LRG"),
        ("a.webp", "webp", (640, 480), "JPEG_SM"),  # small: the copy is not enlarged
        ("a.tif", "tiff", (1024, 768), "JPEG_MED"),
        ("a.avif", "avif", (1000, 1000), "JPEG_LRG"),
        ("a.heic", "heif", (0, 0), "JPEG_LRG"),  # size unknown: at most 1920, still LRG
    ],
)
def test_the_copy_has_the_smallest_jpeg_profile_its_size_fits(
    filename: str, fmt: str, size: tuple[int, int], copy: str | None
) -> None:
    probe = {"photo": {"format": fmt, "width": size[0], "height": size[1]}}
    found = screen_copy("photo", media_profile("photo", filename, probe), probe)
    assert (found and found.pn) == copy
    assert screen_copy("movie", media_profile("movie", "a.mkv", {}), {}) is None


def test_criteria_become_parameterised_sql_or_are_refused() -> None:
    where, args = search_sql('dc:title contains "50%_off" and upnp:class derivedfrom "object.item"')
    assert args == ["%50\\%\\_off%", "object.item", "object.item.%"]
    assert "50" not in where
    assert search_sql("*") == ("1", [])
    assert [(p, d) for p, _, d in sort_sql("+dc:title,-dc:date")] == [
        ("dc:title", False),
        ("dc:date", True),
    ]
    for bad in ("+upnp:rating", "+dc:title;DROP TABLE items"):
        with pytest.raises(CriteriaError):
            sort_sql(bad)
    for bad in ('dc:title = "x" or', "(" * 40 + 'dc:title = "x"' + ")" * 40, 'res@size > "1"'):
        with pytest.raises(CriteriaError):
            search_sql(bad)


def test_object_ids_are_parsed_strictly() -> None:
    assert parse_object_id("0") is not None
    assert parse_object_id("lib:3:g:Hip%20Hop") is not None
    assert parse_object_id("lib:3:g:Hip%20Hop").value == "Hip Hop"  # type: ignore[union-attr]
    for bad in ("", "1", "lib:", "lib:x", "lib:3:nope", "lib:3:artists:x", "item:../..", "item:"):
        assert parse_object_id(bad) is None, bad
