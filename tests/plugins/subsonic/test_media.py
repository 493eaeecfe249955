"""stream, download and getCoverArt over HTTP on a real server with a scanned library, signed
with a device key (`apiKey`): the file byte for byte with Range, the cover resized, and a
member without the music library told "not found" (70)."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from pathlib import Path

from PIL import Image

from core.people.accounts import create_session_blocking, create_user_blocking
from tests.conftest import PASSWORD, RunningServer, StartServer
from tests.core.media.mediagen import make_photo
from tests.core.scan.library import build_library, library_yaml
from tests.core.scan.test_scanner import library_ids, settle
from tests.plugins.subsonic.test_auth import device_key

NS = "{http://subsonic.org/restapi}"

KIND_OF_BLUE = Path("Music") / "Miles Davis" / "Kind of Blue (1959)"


async def music_server(start_server: StartServer, base: Path) -> RunningServer:
    build_library(base)
    make_photo(base / KIND_OF_BLUE / "cover.jpg", size=(400, 400))
    server = await start_server(
        "subsonic:\n" + library_yaml(base) + "filename:\nembedded:\nlocal_artwork:\n"
    )
    await settle(server)
    return server


async def rest(server: RunningServer, key: str, method: str, **params: str) -> ET.Element:
    async with server.session.get(
        f"{server.url}/rest/{method}.view", params={"apiKey": key, **params}
    ) as response:
        assert response.status == 200
        return ET.fromstring(await response.text())


async def album_and_song(server: RunningServer, key: str) -> tuple[str, str]:
    artists = await rest(server, key, "getArtists")
    miles = next(a for a in artists.iter(NS + "artist") if a.get("name") == "Miles Davis")
    artist = await rest(server, key, "getArtist", id=miles.get("id", ""))
    album_id = next(artist.iter(NS + "album")).get("id", "")
    album = await rest(server, key, "getAlbum", id=album_id)
    return album_id, next(album.iter(NS + "song")).get("id", "")


async def test_stream_download_and_cover_art(start_server: StartServer, tmp_path: Path) -> None:
    server = await music_server(start_server, tmp_path / "media")
    _, key = await device_key(server)
    album_id, song_id = await album_and_song(server, key)
    data = (tmp_path / "media" / KIND_OF_BLUE / "01 - So What.mp3").read_bytes()
    url = f"{server.url}/rest/stream"
    async with server.session.get(url, params={"apiKey": key, "id": song_id}) as response:
        assert response.status == 200 and response.content_type == "audio/mpeg"
        assert await response.read() == data
    ranged = {"Range": "bytes=100-1099"}
    async with server.session.get(
        url, params={"apiKey": key, "id": song_id}, headers=ranged
    ) as response:
        assert response.status == 206
        assert response.headers["Content-Range"] == f"bytes 100-1099/{len(data)}"
        assert await response.read() == data[100:1100]
    async with server.session.get(
        f"{server.url}/rest/download.view", params={"apiKey": key, "id": song_id}
    ) as response:
        assert response.status == 200 and await response.read() == data
        assert response.headers["Content-Disposition"] == (
            "attachment; filename*=UTF-8''01%20-%20So%20What.mp3"
        )
    for item_id, size, box in [(album_id, "160", 160), (song_id, "", 400)]:
        params = {"apiKey": key, "id": item_id, **({"size": size} if size else {})}
        async with server.session.get(f"{server.url}/rest/getCoverArt", params=params) as response:
            assert response.status == 200 and response.content_type == "image/jpeg"
            image = Image.open(io.BytesIO(await response.read()))
            assert max(image.size) == box
    missing = await rest(server, key, "stream", id="no-such-song")
    assert missing.get("status") == "failed"
    assert missing.find(NS + "error").get("code") == "70"  # type: ignore[union-attr]


async def test_member_without_music_cannot_stream_or_see_covers(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = await music_server(start_server, tmp_path / "media")
    _, owner_key = await device_key(server)
    album_id, song_id = await album_and_song(server, owner_key)
    ids = await library_ids(server)

    def member(db: object) -> str:
        user = create_user_blocking(db, "kid", "member", PASSWORD, [ids["Movies"]], None)  # type: ignore[arg-type]
        return create_session_blocking(db, user, "api_key", "phone", None, None).token  # type: ignore[arg-type]

    key = await server.hub.catalog.write(member)
    for method, item_id in [
        ("stream", song_id),
        ("download", song_id),
        ("getCoverArt", album_id),
        ("getSong", song_id),
        ("getAlbum", album_id),
    ]:
        answer = await rest(server, key, method, id=item_id)
        assert answer.get("status") == "failed", method
        assert answer.find(NS + "error").get("code") == "70"  # type: ignore[union-attr]
    assert list((await rest(server, key, "getArtists")).iter(NS + "artist")) == []
