"""Only library files leave the box through the music-app and download routes too: Subsonic's
stream, download, getCoverArt and getLyricsBySongId, and a device's offline download
(`/api/downloads/{id}/file`), on a real server with a scanned library.

Each file is served once while it is a plain library file; then the song, its cover, its `.lrc`
and the film are each replaced by a link pointing outside every library (the server's TLS key,
a secret, another film), without a rescan: each route opens, then checks, so none of them sends
a byte of what the link points at. `bytes=-0` asks for nothing and is 416 on the same routes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import RunningServer, StartServer
from tests.core.media.mediagen import make_photo, make_video
from tests.core.scan.library import build_library, library_yaml
from tests.core.scan.test_scanner import settle
from tests.core.test_data_folder import loose
from tests.plugins.subsonic.test_auth import device_key
from tests.plugins.subsonic.test_media import KIND_OF_BLUE

SECRET = "TOP-SECRET-OUTSIDE-THE-LIBRARY"
LRC = "[00:00.20]So\n[00:01.50]what\n"
FILM = Path("Movies") / "Small Film (2019)" / "Small Film (2019).mkv"


async def apps_server(start_server: StartServer, tmp_path: Path) -> RunningServer:
    base = tmp_path / "media"
    build_library(base)
    make_photo(base / KIND_OF_BLUE / "cover.jpg", size=(400, 400))
    (base / KIND_OF_BLUE / "01 - So What.lrc").write_text(LRC, encoding="utf-8")
    (base / FILM).parent.mkdir(parents=True)
    make_video(base / FILM)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.lrc").write_text(f"[00:00.00]{SECRET}\n", encoding="utf-8")
    make_photo(outside / "cover.jpg", size=(300, 300))
    make_video(outside / "film.mkv")
    server = await start_server(
        "subsonic:\n" + library_yaml(base) + "filename:\nembedded:\nlocal_artwork:\n"
    )
    await settle(server)
    return server


async def fetch(
    server: RunningServer, path: str, params: dict[str, str], **headers: str
) -> tuple[int, bytes]:
    async with server.session.get(server.url + path, params=params, headers=headers) as reply:
        return reply.status, await reply.read()


def turn_outside(tmp_path: Path) -> dict[str, bytes]:
    """Replace each served file by a link out of the library; what each link points at."""
    base, outside = tmp_path / "media", tmp_path / "outside"
    targets = {
        base / KIND_OF_BLUE / "01 - So What.mp3": tmp_path / "data" / "tls" / "key.pem",
        base / KIND_OF_BLUE / "cover.jpg": outside / "cover.jpg",
        base / KIND_OF_BLUE / "01 - So What.lrc": outside / "secret.lrc",
        base / FILM: outside / "film.mkv",
    }
    for path, target in targets.items():
        path.unlink()
        path.symlink_to(target)
    return {path.name: target.read_bytes() for path, target in targets.items()}


async def test_music_app_and_download_routes_open_only_library_files(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = await apps_server(start_server, tmp_path)
    _, key = await device_key(server)
    found: Any = await server.get_json("/rest/search3?f=json&query=so+what&apiKey=" + key)
    song = found["subsonic-response"]["searchResult3"]["song"][0]["id"]
    films: Any = (await server.get_json("/api/items?kind=movie"))["items"]
    film = next(i["id"] for i in films if i["title"] == "Small Film")
    async with server.session.post(
        server.url + "/api/downloads", json={"item": film, "quality": "original"}
    ) as reply:
        assert reply.status == 200, await reply.text()
        download = (await reply.json())["downloads"][0]["id"]
    signed = {"apiKey": key, "id": song}
    routes: dict[str, dict[str, str]] = {
        "/rest/stream": signed,
        "/rest/download": signed,
        "/rest/getCoverArt": {**signed, "size": "64"},
        f"/api/downloads/{download}/file": {},
    }
    for path, params in routes.items():
        status, body = await fetch(server, path, params)
        assert status == 200 and body[:40] != b"<?xml" and b"subsonic" not in body[:200], path
    lyrics = await fetch(server, "/rest/getLyricsBySongId", {**signed, "f": "json"})
    assert b'"value": "So"' in lyrics[1] or b'"value":"So"' in lyrics[1]
    for path in ("/rest/stream", "/rest/download", f"/api/downloads/{download}/file"):
        status, body = await fetch(server, path, routes[path], Range="bytes=-0")
        assert status == 416, (path, status, body[:200])

    outside = turn_outside(tmp_path)
    for path, params in routes.items():
        status, body = await fetch(server, path, {**params, "f": "json"})
        for leaked in outside.values():
            assert leaked[:64] not in body, path
        assert b"PRIVATE KEY" not in body, path
        if path.startswith("/rest/"):  # Subsonic says so in its envelope
            answer: Any = json.loads(body)["subsonic-response"]
            assert (status, answer["status"], answer["error"]["code"]) == (200, "failed", 70), path
        else:
            assert status == 404, (path, status)
    status, body = await fetch(server, "/rest/getLyricsBySongId", {**signed, "f": "json"})
    assert status == 200 and SECRET.encode() not in body and b'"So"' not in body
    assert loose(tmp_path / "data") == []  # thumbnails, downloads: born private (item 5)
