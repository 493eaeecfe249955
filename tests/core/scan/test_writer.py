"""The scan writer stores a file's probe as the JSON the readers of `files.probe` expect (DLNA
objects, Subsonic shapes, playback): `dataclasses.asdict` of the ProbeResult with sorted keys and
a datetime as its str(), whatever faster way the writer builds it."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime

from core.media.facts import AudioTags, PhotoInfo, ProbeResult, StreamInfo
from core.scan.analysis import Analysis
from core.scan.writer import _probe_json

PROBES = [
    ProbeResult(
        "video",
        123_456,
        "matroska,webm",
        duration=5400.25,
        bit_rate=4_000_000,
        streams=(
            StreamInfo(0, "video", "h264", "High", 1920, 1080, 23.976, "yuv420p", level=41),
            StreamInfo(1, "audio", "aac", channels=6, sample_rate=48000, language="fra"),
            StreamInfo(2, "subtitle", "subrip", title="Forced", forced=True, text_based=True),
        ),
    ),
    ProbeResult(
        "audio",
        8_000,
        "mp3",
        duration=30.0,
        streams=(StreamInfo(0, "audio", "mp3", channels=2, sample_rate=44100, default=True),),
        tags=AudioTags(
            title="Été",
            artists=("A", "B"),
            album="Album",
            album_artists=("A",),
            track_number=3,
            genres=("Rock", "Pop"),
            compilation=True,
            musicbrainz_album_id="0f0e",
        ),
        has_cover_art=True,
    ),
    ProbeResult(
        "photo",
        1_733_809,
        "JPEG",
        photo=PhotoInfo(2048, 1536, "JPEG", 6, datetime(2024, 5, 6, 7, 8, 9)),
    ),
]


def test_a_stored_probe_is_the_json_of_its_dataclasses() -> None:
    for probe in PROBES:
        stored = _probe_json(Analysis("/media", "a.mkv", probe, None, "ht:0-1", None))
        assert stored == json.dumps(asdict(probe), default=str, sort_keys=True)
    photo = _probe_json(Analysis("/m", "p.jpg", PROBES[2], None, None, None))
    assert json.loads(photo or "")["photo"]["taken_at"] == "2024-05-06 07:08:09"
    assert _probe_json(Analysis("/m", "x.mkv", None, None, None, "is empty (0 bytes)")) is None
    assert _probe_json(None) is None
