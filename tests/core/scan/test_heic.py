"""iPhone photos end to end: a real HEIC scanned by the worker processes, then shown through the
artwork endpoint the web app's photo view uses (`?size=1080`)."""

from __future__ import annotations

import io
import json
from datetime import datetime
from pathlib import Path

from PIL import Image

from tests.conftest import RunningServer, StartServer
from tests.core.media.mediagen import make_photo
from tests.core.scan.test_scanner import items, settle

# Stored 1600x1200 with EXIF orientation 6, as a phone held upright writes it: seen 1200x1600.
TAKEN = datetime(2024, 5, 6, 7, 8, 9)


async def heic_server(start_server: StartServer, base: Path) -> RunningServer:
    photos = base / "Photos" / "iPhone"
    photos.mkdir(parents=True)
    make_photo(photos / "IMG_0001.HEIC", (1600, 1200), exif_date=TAKEN, orientation=6)
    server = await start_server(
        "folders:\n  watch: false\n  libraries:\n"
        f"    - {{name: Photos, kind: photos, paths: ['{base}/Photos']}}\n"
        "local_artwork:\n"
    )
    await settle(server)
    return server


async def test_a_heic_is_scanned_as_a_photo_with_its_date_and_upright_size(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = await heic_server(start_server, tmp_path / "media")

    status = await server.get_json("/api/scan")
    assert status["errors"] == []
    [photo] = await items(server, kind="photo")
    assert photo["title"] == "IMG_0001"
    assert photo["taken_at"] == TAKEN.isoformat()
    assert photo["year"] == 2024
    probe = await server.hub.catalog.read(
        lambda db: json.loads(db.execute("SELECT probe FROM files").fetchone()[0])
    )
    assert probe["container"] == "heif"
    assert probe["photo"]["width"] == 1200 and probe["photo"]["height"] == 1600
    assert probe["photo"]["orientation"] in (1, None)  # already applied by the reader

    async with server.session.get(f"{server.url}{photo['artwork']['thumb']}?size=1080") as reply:
        assert reply.status == 200, await reply.text()
        assert reply.headers["Content-Type"] == "image/jpeg"
        image = Image.open(io.BytesIO(await reply.read()))
    assert image.format == "JPEG"
    assert image.size == (810, 1080)  # upright, fitted into the 1080 box
