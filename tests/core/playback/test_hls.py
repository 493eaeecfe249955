"""HLS end to end: real files, real ffmpeg, a real aiohttp app, every segment checked by ffprobe.

`Harness` (also used by test_sessions) serves `add_hls_routes` over a resolve function that maps
item ids to generated files; playlists are parsed by the small parser below.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import re
import shutil
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from multidict import MultiDict

from core.http.errors import ApiError, error_middleware
from core.http.routes import RouteTable
from core.media.probe import probe_blocking
from core.playback.hls import (
    TS_TIMESTAMP_OFFSET,
    KeyframeIndex,
    SegmentTimeline,
    keyframe_index_blocking,
    master_playlist,
    media_playlist,
    video_codec_tag,
    with_timestamp_map,
)
from core.playback.hls_api import ResolvedItem, add_hls_routes, parse_quality, plan_for_request
from core.playback.plan import AudioPlan, PlaybackPlan, SubtitlePlan, VideoPlan
from core.playback.sessions import TranscodeManager
from tests.core.media.mediagen import SubtitleTrack, make_video

FFMPEG = Path(shutil.which("ffmpeg") or "/usr/bin/ffmpeg")
FFPROBE = shutil.which("ffprobe") or "/usr/bin/ffprobe"


def encode_plan(max_height: int | None = None, **video: Any) -> PlaybackPlan:
    return PlaybackPlan(
        "transcode", ("test",), "hls", VideoPlan("encode", max_height=max_height, **video),
        AudioPlan("encode"),
    )  # fmt: skip


def copy_plan(subtitles: tuple[SubtitlePlan, ...] = ()) -> PlaybackPlan:
    return PlaybackPlan(
        "direct_stream", ("test",), "hls", VideoPlan("copy"), AudioPlan("copy"), subtitles
    )


def ffprobe(path: Path) -> dict[str, Any]:
    """Streams and format of a file as ffprobe sees them; fails the test if it cannot decode."""
    done = subprocess.run(
        [FFPROBE, "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr
    data: dict[str, Any] = json.loads(done.stdout)
    return data


def first_video_packet_is_key(path: Path) -> bool:
    done = subprocess.run(
        [FFPROBE, "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=flags",
         "-read_intervals", "%+#1", "-of", "csv=p=0", str(path)],
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    return done.stdout.strip().startswith("K")


def ffmpeg_children() -> list[psutil.Process]:
    return [p for p in psutil.Process().children(recursive=True) if "ffmpeg" in p.name()]


def parse_media(text: str) -> list[tuple[float, str]]:
    """A VOD media playlist as (duration, uri) pairs, checking the tags players need."""
    lines = text.strip().splitlines()
    assert lines[0] == "#EXTM3U" and lines[-1] == "#EXT-X-ENDLIST"
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in lines
    target = int(next(x for x in lines if x.startswith("#EXT-X-TARGETDURATION:")).split(":")[1])
    segments = []
    for line, uri in itertools.pairwise(lines):
        if line.startswith("#EXTINF:"):
            duration = float(line[8:].rstrip(","))
            assert round(duration) <= target
            segments.append((duration, uri))
    return segments


def parse_attributes(text: str) -> dict[str, str]:
    return {k: v.strip('"') for k, v in re.findall(r'([A-Z-]+)=("[^"]*"|[^,]*)', text)}


def parse_master(text: str) -> tuple[dict[str, str], str, list[dict[str, str]]]:
    """(variant attributes, variant uri, media renditions) of a one-variant master playlist."""
    lines = text.strip().splitlines()
    assert lines[0] == "#EXTM3U"
    index = next(i for i, x in enumerate(lines) if x.startswith("#EXT-X-STREAM-INF:"))
    media = [parse_attributes(x[13:]) for x in lines if x.startswith("#EXT-X-MEDIA:")]
    return parse_attributes(lines[index][18:]), lines[index + 1], media


@dataclass
class Harness:
    client: TestClient[web.Request, web.Application]
    manager: TranscodeManager
    items: dict[str, ResolvedItem] = field(default_factory=dict)

    def add(self, item_id: str, path: Path, plan: PlaybackPlan) -> None:
        probe = dataclasses.asdict(probe_blocking(path))
        self.items[item_id] = ResolvedItem(path, probe, True, plan)

    async def get(self, url: str, status: int = 200, **headers: str) -> bytes:
        async with self.client.get(url, headers=headers) as response:
            body = await response.read()
            assert response.status == status, body[:300]
            return body

    async def master(self, item_id: str, query: str = "", **headers: str) -> tuple[str, str]:
        """(session id, master text)."""
        text = (await self.get(f"/api/items/{item_id}/hls/master.m3u8{query}", **headers)).decode()
        return parse_master(text)[1].split("/")[0], text

    async def segments(self, item_id: str, session: str) -> list[tuple[float, str]]:
        url = f"/api/items/{item_id}/hls/{session}/index.m3u8"
        return parse_media((await self.get(url)).decode())

    async def fetch(self, item_id: str, session: str, n: int, folder: Path) -> dict[str, Any]:
        path = folder / f"{item_id}-{n}.ts"
        path.write_bytes(await self.get(f"/api/items/{item_id}/hls/{session}/{n}.ts"))
        return ffprobe(path)


MakeHarness = Callable[..., Awaitable[Harness]]


@pytest.fixture
async def make_harness(tmp_path: Path) -> AsyncIterator[MakeHarness]:
    made: list[Harness] = []

    async def make(**options: Any) -> Harness:
        options.setdefault("segment_seconds", 1.0)
        manager = TranscodeManager(FFMPEG, tmp_path / "scratch", preset="ultrafast", **options)
        harness_items: dict[str, ResolvedItem] = {}

        async def resolve(request: web.Request, item_id: str) -> ResolvedItem:
            if item_id not in harness_items:
                raise ApiError(404, "No such item.", "item_not_found")
            return harness_items[item_id]

        app = web.Application(middlewares=[error_middleware])
        add_hls_routes(RouteTable(app), resolve, manager)
        client = TestClient(TestServer(app))
        await client.start_server()
        made.append(Harness(client, manager, harness_items))
        return made[-1]

    yield make
    for harness in made:
        await harness.client.close()
        await harness.manager.close()


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Made once per run: a 1080p clip (15 fps to keep it quick), an 8 s 320x240 H.264/AAC
    Matroska file with keyframes at 0, 2.96 and 5.88 s, and one with a text subtitle."""
    folder = tmp_path_factory.getbasetemp() / "playback-media"  # shared by both test modules
    if folder.exists():
        return {path.stem: path for path in folder.iterdir()}
    folder.mkdir()
    return {
        "hd": make_video(folder / "hd.mp4", 2.0, size=(1920, 1080), fps=15),
        "small": make_video(folder / "small.mkv", 8.0, size=(320, 240)),
        "subbed": make_video(
            folder / "subbed.mkv", 2.0, size=(160, 120),
            subtitles=(SubtitleTrack("fre", "Bonjour", title="Français"),),
        ),
    }  # fmt: skip


def video_of(info: dict[str, Any]) -> dict[str, Any]:
    return next(s for s in info["streams"] if s["codec_type"] == "video")


def codecs_of(info: dict[str, Any]) -> set[str]:
    return {s["codec_name"] for s in info["streams"]}


async def test_transcode_1080p_to_720p_every_segment_decodes(
    make_harness: MakeHarness, media: dict[str, Path], tmp_path: Path
) -> None:
    harness = await make_harness()
    harness.add("hd", media["hd"], encode_plan(max_height=720))
    session, text = await harness.master("hd")
    variant, uri, _ = parse_master(text)
    assert uri == f"{session}/index.m3u8"
    assert variant["RESOLUTION"] == "1280x720"
    assert variant["CODECS"].startswith("avc1.64") and variant["CODECS"].endswith(",mp4a.40.2")
    assert int(variant["BANDWIDTH"]) > 0
    segments = await harness.segments("hd", session)
    assert [uri for _, uri in segments] == [f"{n}.ts" for n in range(len(segments))]
    total = 0.0
    for n, (duration, _) in enumerate(segments):
        info = await harness.fetch("hd", session, n, tmp_path)
        assert codecs_of(info) == {"h264", "aac"}
        video = video_of(info)
        assert (video["width"], video["height"]) == (1280, 720)
        assert float(video["start_time"]) == pytest.approx(n + TS_TIMESTAMP_OFFSET, abs=0.05)
        assert float(video["duration"]) == pytest.approx(duration, abs=0.1)
        total += float(video["duration"])
    assert total == pytest.approx(harness.items["hd"].probe["duration"], abs=0.5)


async def test_seek_restarts_ffmpeg_at_the_requested_segment(
    make_harness: MakeHarness, media: dict[str, Path], tmp_path: Path
) -> None:
    harness = await make_harness(seek_gap_seconds=0)
    harness.add("small", media["small"], encode_plan())
    session_id, _ = await harness.master("small")
    info = await harness.fetch("small", session_id, 6, tmp_path)
    session = harness.manager.sessions[0]
    assert session.run_starts[:2] == [0, 6]
    assert float(video_of(info)["start_time"]) == pytest.approx(6 + TS_TIMESTAMP_OFFSET, abs=0.05)
    assert first_video_packet_is_key(tmp_path / "small-6.ts")
    earlier = await harness.fetch("small", session_id, 2, tmp_path)
    assert float(video_of(earlier)["start_time"]) == pytest.approx(
        2 + TS_TIMESTAMP_OFFSET, abs=0.05
    )


async def test_remux_of_h264_aac_mkv_cuts_on_source_keyframes(
    make_harness: MakeHarness, media: dict[str, Path], tmp_path: Path
) -> None:
    harness = await make_harness(seek_gap_seconds=0)
    harness.add("small", media["small"], copy_plan())
    index = keyframe_index_blocking(media["small"], None)
    assert index is not None and len(index.times) >= 2
    session_id, text = await harness.master("small")
    variant, _, _ = parse_master(text)
    assert variant["CODECS"].startswith("avc1.") and variant["RESOLUTION"] == "320x240"
    segments = await harness.segments("small", session_id)
    assert len(segments) >= 2
    starts = harness.manager.sessions[0].timeline.starts
    assert len(starts) == len(segments) and set(starts) <= set(index.times)
    order = [len(segments) - 1, *range(len(segments))]  # a seek first, then from the start
    for n in order:
        info = await harness.fetch("small", session_id, n, tmp_path)
        assert codecs_of(info) == {"h264", "aac"}
        start = float(video_of(info)["start_time"]) - TS_TIMESTAMP_OFFSET
        assert start == pytest.approx(starts[n], abs=0.045)  # within a frame
        assert first_video_packet_is_key(tmp_path / f"small-{n}.ts")
    assert harness.manager.sessions[0].run_starts[0:2] == [0, len(segments) - 1]


async def test_text_subtitles_become_a_webvtt_rendition(
    make_harness: MakeHarness, media: dict[str, Path]
) -> None:
    harness = await make_harness()
    harness.add("subbed", media["subbed"], copy_plan((SubtitlePlan(2, "fre", "Français"),)))
    session_id, text = await harness.master("subbed", "?subtitle=2")
    variant, _, renditions = parse_master(text)
    assert variant["SUBTITLES"] == "subs"
    assert renditions == [
        {
            "TYPE": "SUBTITLES", "GROUP-ID": "subs", "NAME": "Français", "LANGUAGE": "fr",
            "DEFAULT": "YES", "AUTOSELECT": "YES", "FORCED": "NO",
            "URI": f"{session_id}/subs2.m3u8",
        }
    ]  # fmt: skip
    base = f"/api/items/subbed/hls/{session_id}"
    playlist = parse_media((await harness.get(f"{base}/subs2.m3u8")).decode())
    assert [uri for _, uri in playlist] == ["subs2.vtt"]
    async with harness.client.get(f"{base}/subs2.vtt") as response:
        assert response.headers["Content-Type"].startswith("text/vtt")
        vtt = await response.text()
    assert vtt.startswith("WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:126000,LOCAL:00:00:00.000")
    assert "Bonjour" in vtt
    await harness.get(f"{base}/subs9.vtt", status=404)


async def test_content_types_and_unknown_session(
    make_harness: MakeHarness, media: dict[str, Path]
) -> None:
    harness = await make_harness()
    harness.add("small", media["small"], copy_plan())
    async with harness.client.get("/api/items/small/hls/master.m3u8") as response:
        assert response.headers["Content-Type"].startswith("application/vnd.apple.mpegurl")
        session_id = parse_master(await response.text())[1].split("/")[0]
    async with harness.client.get(f"/api/items/small/hls/{session_id}/0.ts") as response:
        assert response.headers["Content-Type"] == "video/mp2t"
    async with harness.client.get("/api/items/small/hls/nope/index.m3u8") as response:
        assert response.status == 404
        assert (await response.json())["error"]["code"] == "session_ended"
    await harness.get("/api/items/missing/hls/master.m3u8", status=404)
    again, _ = await harness.master("small")
    assert again == session_id  # the same client rejoins its session


def test_uniform_timeline_folds_a_tiny_tail() -> None:
    timeline = SegmentTimeline.uniform(12.021, 2.0)
    assert timeline.starts == (0.0, 2.0, 4.0, 6.0, 8.0, 10.0)
    assert timeline.length_of(5) == pytest.approx(2.021)
    assert timeline.target_duration == 3
    assert SegmentTimeline.uniform(0.5, 4.0).starts == (0.0,)


def test_keyframe_timeline_starts_on_keyframes_near_the_grid() -> None:
    keyframes = (0.0, 0.5, 1.48, 2.96, 3.1, 4.44, 5.92, 7.4, 9.9)
    timeline = SegmentTimeline.from_keyframes(KeyframeIndex(keyframes, 10.0), 2.0)
    assert timeline.starts == (0.0, 2.96, 4.44, 7.4)
    shifted = SegmentTimeline.from_keyframes(KeyframeIndex((10.5, 11.0, 12.6, 14.6), 15.0), 2.0)
    assert shifted.starts == (10.5, 12.6) and shifted.duration == pytest.approx(4.5)


def test_media_playlist_lists_every_segment() -> None:
    text = media_playlist(SegmentTimeline((0.0, 4.0), 6.5))
    assert text.splitlines() == [
        "#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-PLAYLIST-TYPE:VOD", "#EXT-X-TARGETDURATION:4",
        "#EXT-X-MEDIA-SEQUENCE:0", "#EXTINF:4.000000,", "0.ts", "#EXTINF:2.500000,", "1.ts",
        "#EXT-X-ENDLIST",
    ]  # fmt: skip


def test_master_without_subtitles_has_no_group() -> None:
    from core.playback.hls import Variant

    text = master_playlist(Variant("s/index.m3u8", 3_000_000, (1280, 720), "avc1.640028"))
    assert "SUBTITLES" not in text and "#EXT-X-MEDIA" not in text
    assert 'CODECS="avc1.640028"' in text


def test_codec_tags_and_timestamp_map() -> None:
    assert video_codec_tag("h264", "High", 1080, 25.0) == "avc1.640028"
    assert video_codec_tag("h264", "Constrained Baseline", 480, 30.0) == "avc1.42e01e"
    assert video_codec_tag("mpeg2video", None, 576, 25.0) is None
    assert with_timestamp_map("WEBVTT\n\n1\n00:00.000 --> 00:01.000\nHi\n").startswith(
        "WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:126000,LOCAL:00:00:00.000\n\n1\n"
    )


def test_keyframe_index_missing_for_mpegts(tmp_path: Path) -> None:
    assert keyframe_index_blocking(make_video(tmp_path / "a.ts", 1.0), None) is None


def test_request_narrows_the_plan(media: dict[str, Path]) -> None:
    probe = dataclasses.asdict(probe_blocking(media["hd"]))
    plan, default = plan_for_request(copy_plan(), probe, MultiDict(quality="720p"))
    assert (plan.video.action, plan.video.max_height, plan.method) == ("encode", 720, "transcode")
    assert default is None
    kept, _ = plan_for_request(copy_plan(), probe, MultiDict(quality="2160"))
    assert kept.video.action == "copy"
    assert parse_quality("3M") == (None, 3_000_000)
    with pytest.raises(ApiError):
        plan_for_request(copy_plan(), probe, MultiDict(audio="7"))
