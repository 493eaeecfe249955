"""stream re-encodes through the playback engine when an app asks: `format=mp3` and
`maxBitRate` turn a FLAC into MP3 at that rate, `timeOffset` starts at that second (ffprobe
reads what came out), `format=raw` and a rate above the file's send the file itself."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from core.media.tags import AudioTags
from plugins.subsonic.transcode import transcode_output
from tests.conftest import RunningServer, StartServer
from tests.core.media.mediagen import make_audio
from tests.core.scan.library import build_library, library_yaml
from tests.core.scan.test_scanner import settle
from tests.plugins.subsonic.test_auth import device_key


def test_only_what_the_app_asks_for_is_transcoded() -> None:
    assert transcode_output(None, 0, 0.0, "flac", 900) is None
    assert transcode_output("raw", 96, 5.0, "flac", 900) is None
    assert transcode_output("mp3", 0, 0.0, "mp3", 320) is None
    assert transcode_output(None, 320, 0.0, "mp3", 192) is None
    wanted = transcode_output(None, 96, 0.0, "flac", 900)
    assert wanted is not None and wanted[0].kbps == 96 and wanted[0].codec == "libmp3lame"
    opus = transcode_output("opus", 0, 12.5, "flac", 900)
    assert opus is not None and opus[1:] == ("audio/ogg", 12.5) and opus[0].kbps == 128


async def probe(data: bytes, tmp_path: Path) -> dict[str, Any]:
    target = tmp_path / "out.bin"
    target.write_bytes(data)
    process = await asyncio.create_subprocess_exec(
        "ffprobe",
        "-v",
        "error",
        "-print_format",
        "json",
        "-show_format",
        "-show_streams",
        str(target),
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await process.communicate()
    found: dict[str, Any] = json.loads(out)
    return found


async def fetch(server: RunningServer, key: str, **params: str) -> tuple[str, bytes]:
    async with server.session.get(
        f"{server.url}/rest/stream", params={"apiKey": key, **params}
    ) as response:
        assert response.status == 200
        return response.content_type, await response.read()


async def test_stream_transcodes_when_asked(start_server: StartServer, tmp_path: Path) -> None:
    base = tmp_path / "media"
    build_library(base)
    tags = AudioTags(title="Long", artists=("Tone",), album="Tones", album_artists=("Tone",))
    (base / "Music" / "Tone" / "Tones").mkdir(parents=True)
    long = make_audio(base / "Music" / "Tone" / "Tones" / "01 - Long.flac", 4.0, tags=tags)
    server = await start_server("subsonic:\n" + library_yaml(base) + "filename:\nembedded:\n")
    await settle(server)
    _, key = await device_key(server)
    found = await server.get_json(f"/rest/search3?f=json&apiKey={key}&query=long")
    song = found["subsonic-response"]["searchResult3"]["song"][0]  # type: ignore[index]
    assert song["suffix"] == "flac"

    kind, data = await fetch(server, key, id=song["id"])
    assert kind == "audio/flac" and data == long.read_bytes()
    kind, data = await fetch(server, key, id=song["id"], format="raw", maxBitRate="64")
    assert data == long.read_bytes()
    kind, data = await fetch(server, key, id=song["id"], format="mp3", maxBitRate="96")
    assert kind == "audio/mpeg"
    facts = await probe(data, tmp_path)
    assert facts["streams"][0]["codec_name"] == "mp3"
    assert facts["streams"][0]["bit_rate"] == "96000"
    assert 3.8 < float(facts["format"]["duration"]) < 4.2
    kind, data = await fetch(server, key, id=song["id"], timeOffset="3")
    facts = await probe(data, tmp_path)
    assert kind == "audio/mpeg" and 0.8 < float(facts["format"]["duration"]) < 1.2
