"""Which MIME types a TV takes: GetProtocolInfo sinks name one format many ways, and a file the
TV can play must not be transcoded because it lists it under another name."""

from __future__ import annotations

import pytest

from plugins.dlna_renderer.media import sink_takes

# What gmediarender (GStreamer) lists, in part: MP4 is video/quicktime there.
GSTREAMER = [
    "http-get:*:video/quicktime:*",
    "http-get:*:video/x-matroska:*",
    "http-get:*:video/x-msvideo:*",
    "http-get:*:video/mpeg:*",
    "http-get:*:audio/x-flac:*",
    "http-get:*:audio/x-m4a:*",
    "http-get:*:audio/mpeg:*",
]


@pytest.mark.parametrize(
    ("served", "listed"),
    [
        ("video/mp4", "video/quicktime"),
        ("video/quicktime", "video/mp4"),
        ("video/x-matroska", "video/x-mkv"),
        ("video/x-matroska", "video/matroska"),
        ("video/x-msvideo", "video/avi"),
        ("video/mp2t", "video/x-mpegts"),
        ("video/mp2t", "video/vnd.dlna.mpeg-tts"),
        ("audio/flac", "audio/x-flac"),
        ("audio/mp4", "audio/x-m4a"),
        ("audio/mpeg", "audio/mp3"),
        ("audio/wav", "audio/x-wav"),
    ],
)
def test_a_format_listed_under_another_name_is_taken(served: str, listed: str) -> None:
    assert sink_takes([f"http-get:*:{listed}:*"], served)
    assert sink_takes([f"http-get:*:{listed.upper()}:DLNA.ORG_PN=X"], served)


def test_what_gmediarender_lists_takes_mp4_but_not_other_formats() -> None:
    assert sink_takes(GSTREAMER, "video/mp4")
    assert sink_takes(GSTREAMER, "audio/flac") and sink_takes(GSTREAMER, "audio/mp4")
    assert not sink_takes(GSTREAMER, "video/webm")
    assert not sink_takes(["http-get:*:video/quicktime:*"], "video/x-matroska")
    assert not sink_takes(["rtsp-rtp-udp:*:video/mp4:*"], "video/mp4")
    assert sink_takes(["http-get:*:video/*:*"], "video/webm")
    assert sink_takes([], "video/webm")  # nothing listed: unknown, so try it
