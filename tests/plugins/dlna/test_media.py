"""What a TV downloads: the file with byte ranges and DLNA headers, album art, sidecar
subtitles — found through real Browse results, compared byte for byte with the files."""

from __future__ import annotations

import asyncio
import io
from datetime import datetime
from pathlib import Path

from defusedxml import ElementTree
from didl_lite import didl_lite
from PIL import Image

from tests.conftest import RunningServer, StartServer
from tests.core.media.mediagen import make_photo
from tests.core.scan.library import library_yaml
from tests.core.scan.test_scanner import settle
from tests.plugins.dlna.dms import (
    PROVIDERS,
    SUBTITLE,
    browse_args,
    dms,
    envelope,
    library_server,
    make_library,
    show_every_library_to_tvs,
    soap,
)


async def find(server: RunningServer, *titles: str) -> didl_lite.DidlObject:
    """Follow titles down from the root."""
    device = await dms(server)
    object_id = "0"
    found: didl_lite.DidlObject | None = None
    for title in titles:
        result = await device.async_browse_direct_children(object_id)
        found = next(o for o in result.result if getattr(o, "title", None) == title)  # type: ignore[misc]
        object_id = found.id
    assert found is not None
    return found


async def test_files_are_served_with_ranges_and_dlna_headers(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = await library_server(start_server, tmp_path / "media")
    alien = await find(server, "Movies", "Alien")
    url = alien.res[0].uri
    original = (tmp_path / "media" / "Movies" / "Alien (1979).mp4").read_bytes()
    features = alien.res[0].protocol_info.split(":", 3)[3]
    headers = {
        "Range": "bytes=100-1099",
        "getcontentFeatures.dlna.org": "1",
        "realTimeInfo.dlna.org": "DLNA.ORG_TLAG=*",
        "transferMode.dlna.org": "Streaming",
        "getMediaInfo.sec": "1",
    }
    async with server.session.get(url, headers=headers) as response:
        assert response.status == 206
        assert await response.read() == original[100:1100]
        assert response.headers["Content-Range"] == f"bytes 100-1099/{len(original)}"
        assert response.headers["Content-Type"] == "video/mp4"
        assert response.headers["contentFeatures.dlna.org"] == features
        assert features.startswith("DLNA.ORG_PN=AVC_MP4_HP_HD_AAC;DLNA.ORG_OP=01;DLNA.ORG_CI=0;")
        assert response.headers["transferMode.dlna.org"] == "Streaming"
        assert response.headers["realTimeInfo.dlna.org"] == "DLNA.ORG_TLAG=*"
        assert response.headers["MediaInfo.sec"] == "SEC_Duration=2000;"
    async with server.session.head(url, headers={"getcontentFeatures.dlna.org": "1"}) as response:
        assert response.status == 200 and await response.read() == b""
        assert response.headers["Content-Length"] == str(len(original))
        assert response.headers["Accept-Ranges"] == "bytes"
        assert response.headers["contentFeatures.dlna.org"] == features
    async with server.session.get(url) as response:
        assert await response.read() == original
        assert "contentFeatures.dlna.org" not in response.headers
    for refused in ({"TimeSeekRange.dlna.org": "npt=10-"}, {"PlaySpeed.dlna.org": "speed=2"}):
        async with server.session.get(url, headers=refused) as response:
            assert response.status == 406
    async with server.session.get(url, headers={"Range": "bytes=999999-"}) as response:
        assert response.status == 416

    beach = await find(server, "Photos", "2024", "July", "beach")
    async with server.session.get(beach.res[0].uri) as response:
        assert response.headers["transferMode.dlna.org"] == "Interactive"
        assert await response.read() == (tmp_path / "media/Photos/2024/beach.jpg").read_bytes()
    streaming = {"transferMode.dlna.org": "Streaming"}
    async with server.session.get(beach.res[0].uri, headers=streaming) as response:
        assert response.status == 406

    await server.hub.catalog.write(
        lambda db: db.execute("UPDATE libraries SET online = 0 WHERE name = 'Movies'")
    )
    async with server.session.get(url) as response:
        assert response.status == 410
    async with server.session.get(f"{server.url}/dlna/media/nosuchitem.mkv") as response:
        assert response.status == 404


async def test_album_art_and_subtitles_are_served_by_item_id(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = await library_server(start_server, tmp_path / "media")
    alien = await find(server, "Movies", "Alien")
    album = await find(server, "Music", "Albums", "Kind of Blue")
    for art in (alien.album_art_uri, album.album_art_uri):
        async with server.session.get(art) as response:
            assert response.status == 200 and response.headers["Content-Type"] == "image/jpeg"
            assert response.headers["transferMode.dlna.org"] == "Interactive"
            image = Image.open(io.BytesIO(await response.read()))
            assert image.format == "JPEG" and max(image.size) <= 160

    subtitle = next(r for r in alien.res if "text/srt" in r.protocol_info)
    assert subtitle.uri.endswith("/Alien%20%281979%29.en.srt")
    async with server.session.get(subtitle.uri) as response:
        assert response.status == 200 and response.headers["Content-Type"].startswith("text/srt")
        assert await response.text() == SUBTITLE
    async with server.session.get(alien.res[0].uri, headers={"getCaptionInfo.sec": "1"}) as r:
        assert r.headers["CaptionInfo.sec"] == subtitle.uri
    status, text = await soap(
        server, envelope("Browse", browse_args(alien.id, BrowseFlag="BrowseMetadata"))
    )
    assert status == 200
    result = ElementTree.fromstring(text).findtext(".//Result") or ""
    caption = ElementTree.fromstring(result).find(".//{http://www.sec.co.kr/dlna}CaptionInfoEx")
    assert caption is not None and caption.text == subtitle.uri
    assert caption.get("{http://www.sec.co.kr/dlna}type") == "srt"
    item_id = alien.id.removeprefix("item:")
    for name in ("other.srt", "..%2F..%2F..%2Fetc%2Fpasswd", "Alien%20%281979%29.mp4"):
        async with server.session.get(f"{server.url}/dlna/subtitle/{item_id}/{name}") as response:
            assert response.status == 404, name

    # Names, not addresses, in Host are how DNS-rebinding pages reach a LAN server.
    async with server.session.get(alien.res[0].uri, headers={"Host": "evil.example"}) as response:
        assert response.status == 403


async def test_a_heic_photo_is_offered_to_tvs_first_as_a_jpeg(
    start_server: StartServer, tmp_path: Path
) -> None:
    base = tmp_path / "media"
    make_library(base)
    (base / "Photos" / "2023").mkdir()
    make_photo(  # an iPhone photo, stored turned: seen 1800x2400
        base / "Photos" / "2023" / "IMG_0042.HEIC",
        (2400, 1800),
        exif_date=datetime(2023, 9, 1, 8, 15),
        orientation=6,
    )
    server = await start_server("dlna: {ssdp: false}\n" + library_yaml(base) + PROVIDERS)
    await settle(server)
    await show_every_library_to_tvs(server)  # photos and home videos start hidden
    heic = await find(server, "Photos", "2023", "September", "IMG_0042")
    item_id = heic.id.removeprefix("item:")

    copy, original, thumbnail = heic.res
    assert copy.uri == f"{server.url}/dlna/photo/{item_id}.jpg"
    assert copy.protocol_info.startswith("http-get:*:image/jpeg:DLNA.ORG_PN=JPEG_LRG;")
    assert original.uri.endswith(f"/dlna/media/{item_id}.heic")
    assert original.protocol_info.startswith("http-get:*:image/heic:")
    assert "DLNA.ORG_PN=JPEG_TN" in thumbnail.protocol_info
    features = copy.protocol_info.split(":", 3)[3]
    asked = {"getcontentFeatures.dlna.org": "1", "transferMode.dlna.org": "Interactive"}

    async def fetch() -> bytes:
        async with server.session.get(copy.uri, headers=asked) as response:
            assert response.status == 200, await response.text()
            assert response.headers["Content-Type"] == "image/jpeg"
            assert response.headers["transferMode.dlna.org"] == "Interactive"
            assert response.headers["contentFeatures.dlna.org"] == features
            return await response.read()

    first, second = await asyncio.gather(fetch(), fetch())  # as TVs do: one copy made for both
    assert first == second
    image = Image.open(io.BytesIO(first))
    assert image.format == "JPEG" and image.size == (1440, 1920)  # upright, long side 1920
    async with server.session.head(copy.uri) as response:
        assert response.status == 200 and int(response.headers["Content-Length"]) > 0
    async with server.session.get(thumbnail.uri) as response:
        assert response.status == 200
        assert Image.open(io.BytesIO(await response.read())).size == (120, 160)
    for refused, status in (
        ({"transferMode.dlna.org": "Streaming"}, 406),
        ({"Host": "evil.example"}, 403),
    ):
        async with server.session.get(copy.uri, headers=refused) as response:
            assert response.status == status

    beach = await find(server, "Photos", "2024", "July", "beach")  # a JPEG TVs show as it is
    assert [r.uri.split("/dlna/")[1].split("/")[0] for r in beach.res] == ["media", "art"]
    beach_copy = f"{server.url}/dlna/photo/{beach.id.removeprefix('item:')}.jpg"
    async with server.session.get(beach_copy) as response:
        assert response.status == 404

    await server.hub.catalog.write(
        lambda db: db.execute("UPDATE libraries SET online = 0 WHERE name = 'Photos'")
    )
    async with server.session.get(copy.uri) as response:
        assert response.status == 410
    await server.hub.catalog.write(
        lambda db: db.execute(
            "UPDATE libraries SET online = 1, lan_visible = 0 WHERE name = 'Photos'"
        )
    )
    async with server.session.get(copy.uri) as response:
        assert response.status == 404
