"""Downloads over HTTP: a phone-sized copy is H.264/AAC MP4 within its size with the index
first and resumes by Range; grants and rating limits apply when asking and when fetching;
"check my downloads" says delete once access ends; a revoked session gets 401 and loses its
rows; copies nobody waits for any more are deleted."""

from __future__ import annotations

import json
import struct
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.conftest import RunningServer, StartServer, make_user
from tests.core.playback.films import FFPROBE, make_film
from tests.core.scan.test_scanner import settle


@pytest.fixture(scope="module")
def films(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("download-films")
    make_film(base / "Movies/Tall Film (2020)/Tall Film (2020).mp4", 6, size=(1280, 720))
    make_film(base / "Kids/Small Film (2019)/Small Film (2019).mkv", 4)
    for number, title in ((2, "Two"), (1, "One")):
        episode = f"TV/Quiet Show (2021)/Season 01/Quiet Show - S01E0{number} - {title}.mp4"
        make_film(base / episode, 2)
    (base / "Movies/Tall Film (2020)/movie.nfo").write_text(
        "<movie><title>Tall Film</title><mpaa>PG-13</mpaa></movie>"
    )
    return base


@pytest.fixture
async def server(start_server: StartServer, films: Path) -> AsyncIterator[RunningServer]:
    running = await start_server(
        "folders:\n  watch: false\n  libraries:\n"
        f"    - {{name: Movies, kind: movies, paths: ['{films}/Movies']}}\n"
        f"    - {{name: Kids, kind: movies, paths: ['{films}/Kids']}}\n"
        f"    - {{name: TV, kind: shows, paths: ['{films}/TV']}}\nnfo:\n"
    )
    await settle(running)
    yield running


async def ids(server: RunningServer) -> dict[str, Any]:
    films = (await server.get_json("/api/items?kind=movie"))["items"]
    libraries = (await server.get_json("/api/libraries"))["libraries"]
    found: dict[str, Any] = {f["title"]: f["id"] for f in films}  # type: ignore[union-attr]
    found.update({lib["name"]: lib["id"] for lib in libraries})  # type: ignore[union-attr]
    return found


async def call(
    session: aiohttp.ClientSession, method: str, url: str, status: int, **kwargs: Any
) -> Any:
    async with session.request(method, url, **kwargs) as response:
        body = await response.read()
        assert response.status == status, body
        return json.loads(body) if "json" in response.content_type else (body, response.headers)


def top_level_boxes(data: bytes) -> list[str]:
    """The MP4 boxes at the top of a file, in order."""
    boxes, at = [], 0
    while at + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[at : at + 8])
        if size == 1:
            size = struct.unpack(">Q", data[at + 8 : at + 16])[0]
        boxes.append(kind.decode("latin-1"))
        at += size if size else len(data)
    return boxes


def probe(path: Path) -> dict[str, Any]:
    done = subprocess.run(
        [FFPROBE, "-v", "error", "-show_streams", "-of", "json", str(path)],
        capture_output=True, check=True, text=True, timeout=30,
    )  # fmt: skip
    return {s["codec_type"]: s for s in json.loads(done.stdout)["streams"]}


async def test_phone_sized_copy_is_h264_aac_moov_first_and_resumes_by_range(
    server: RunningServer, tmp_path: Path
) -> None:
    film = (await ids(server))["Tall Film"]
    url = f"{server.url}/api/downloads"
    asked = await call(server.session, "POST", url, 200, json={"item": film, "quality": "480p"})
    [download] = asked["downloads"]
    assert (download["item"], download["quality"]) == (film, "480p")
    assert download["state"] in ("queued", "waiting", "making", "ready")
    maker = server.hub.downloads.maker  # type: ignore[union-attr]
    for job in maker.jobs():
        await job.done.wait()
    shown = await call(server.session, "GET", f"{url}/{download['id']}", 200)
    assert (shown["state"], shown["progress"]) == ("ready", 1.0)
    whole, headers = await call(server.session, "GET", f"{server.url}{shown['url']}", 200)
    assert len(whole) == shown["size"] and headers["Accept-Ranges"] == "bytes"
    copy = tmp_path / "copy.mp4"
    copy.write_bytes(whole)
    streams = probe(copy)
    assert streams["video"]["codec_name"] == "h264" and streams["audio"]["codec_name"] == "aac"
    assert streams["video"]["height"] <= 480
    boxes = top_level_boxes(whole)
    assert boxes.index("moov") < boxes.index("mdat")
    # a download cut after 1000 bytes goes on from there
    tail, headers = await call(
        server.session, "GET", f"{server.url}{shown['url']}", 206,
        headers={"Range": "bytes=1000-", "If-Range": headers["ETag"]},
    )  # fmt: skip
    assert whole[:1000] + tail == whole
    assert headers["Content-Range"] == f"bytes 1000-{len(whole) - 1}/{len(whole)}"
    # stored on the device: nobody else waits for the copy, so it is deleted
    await call(server.session, "POST", f"{url}/{download['id']}/stored", 200)
    assert not any(maker.folder.iterdir())
    listed = await call(server.session, "GET", f"{url}/{download['id']}", 200)
    assert listed["stored"] and not maker.jobs()  # listing it does not make it again


async def test_a_member_without_the_grant_gets_404_at_download_time(
    server: RunningServer,
) -> None:
    found = await ids(server)
    token = await make_user(server.hub, "mia", "member", libraries=[found["Movies"]])
    url = f"{server.url}/api/downloads"
    owners = await call(server.session, "POST", url, 200, json={"item": found["Small Film"]})
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as mia:
        refused = await call(mia, "POST", url, 404, json={"item": found["Small Film"]})
        assert refused["error"]["message"] == "No such item, or it is not yours to download."
        file_url = f"{server.url}{owners['downloads'][0]['url']}"
        await call(mia, "GET", file_url, 404)  # another device's download is not hers
        mine = await call(mia, "POST", url, 200, json={"item": found["Tall Film"]})
        assert [d["title"] for d in mine["downloads"]] == ["Tall Film"]


async def test_the_check_says_delete_once_the_grant_or_rating_allows_no_more(
    server: RunningServer,
) -> None:
    found = await ids(server)
    libraries = [found["Movies"], found["Kids"]]
    token = await make_user(server.hub, "kim", "member", libraries=libraries)
    url = f"{server.url}/api/downloads"
    users = (await server.get_json("/api/users"))["users"]
    kim = next(u["id"] for u in users if u["username"] == "kim")  # type: ignore[union-attr, index]
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as device:
        small = await call(device, "POST", url, 200, json={"item": found["Small Film"]})
        tall = await call(device, "POST", url, 200, json={"item": found["Tall Film"]})
        small_id, tall_id = small["downloads"][0]["id"], tall["downloads"][0]["id"]
        original, _ = await call(device, "GET", f"{url}/{small_id}/file", 200)
        part, _ = await call(
            device, "GET", f"{url}/{small_id}/file", 206, headers={"Range": "bytes=100-"}
        )
        assert original[100:] == part
        check = f"{url}/check?ids={small_id},{tall_id},unknown"
        verdicts = (await call(device, "GET", check, 200))["downloads"]
        assert verdicts == {small_id: "keep", tall_id: "keep", "unknown": "delete"}
        user = f"{server.url}/api/users/{kim}"
        await call(server.session, "PATCH", user, 200, json={"libraries": [found["Movies"]]})
        verdicts = (await call(device, "GET", check, 200))["downloads"]
        assert verdicts == {small_id: "delete", tall_id: "keep", "unknown": "delete"}
        await call(device, "GET", f"{url}/{small_id}/file", 404)
        await call(server.session, "PATCH", user, 200, json={"max_rating": "PG"})
        verdicts = (await call(device, "GET", check, 200))["downloads"]
        assert verdicts[tall_id] == "delete"
        assert (await call(device, "GET", url, 200))["downloads"] == []


async def test_a_revoked_session_gets_401_on_its_check_and_its_downloads_are_forgotten(
    server: RunningServer,
) -> None:
    found = await ids(server)
    token = await make_user(server.hub, "lee", "member", libraries=[found["Movies"]])
    url = f"{server.url}/api/downloads"
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as device:
        held = await call(device, "POST", url, 200, json={"item": found["Tall Film"]})
        sessions = (await call(device, "GET", f"{server.url}/api/auth/sessions", 200))["sessions"]
        current = next(s["id"] for s in sessions if s["current"])
        await call(server.session, "DELETE", f"{server.url}/api/auth/sessions/{current}", 200)
        answer = await call(device, "GET", f"{url}/check?ids={held['downloads'][0]['id']}", 401)
        assert answer["error"]["code"] == "unauthorized"
    left = await server.hub.catalog.read(
        lambda db: db.execute("SELECT count(*) FROM downloads").fetchone()[0]
    )
    assert left == 0


async def test_a_season_or_a_playlist_is_downloaded_as_its_items_in_order(
    server: RunningServer,
) -> None:
    found = await ids(server)
    seasons = (await server.get_json("/api/items?kind=season"))["items"]
    season = seasons[0]["id"]  # type: ignore[index]
    url = f"{server.url}/api/downloads"
    asked = await call(server.session, "POST", url, 200, json={"item": season, "quality": "720p"})
    assert [(d["title"], d["quality"]) for d in asked["downloads"]] == [
        ("One", "720p"),
        ("Two", "720p"),
    ]
    again = await call(server.session, "POST", url, 200, json={"item": season, "quality": "720p"})
    assert [d["id"] for d in again["downloads"]] == [d["id"] for d in asked["downloads"]]
    films = [found["Small Film"], found["Tall Film"]]
    made = await call(
        server.session,
        "POST",
        f"{server.url}/api/playlists",
        201,
        json={"name": "Trip", "items": films},
    )
    listed = await call(server.session, "POST", url, 200, json={"playlist": made["id"]})
    assert [d["title"] for d in listed["downloads"]] == ["Small Film", "Tall Film"]
    mine = (await call(server.session, "GET", url, 200))["downloads"]
    assert len(mine) == 4


async def test_a_revoked_device_key_loses_its_downloads_too(server: RunningServer) -> None:
    found = await ids(server)
    url = f"{server.url}/api/downloads"
    body = {"name": "Tablet", "scope": "full"}
    key = await call(server.session, "POST", f"{server.url}/api/auth/keys", 201, json=body)
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {key['key']}"}) as tablet:
        held = await call(tablet, "POST", url, 200, json={"item": found["Small Film"]})
        mine = (await call(server.session, "GET", url, 200))["downloads"]
        assert mine == []  # held by the tablet, not by the owner's other sign-ins
        await call(server.session, "DELETE", f"{server.url}/api/auth/sessions/{key['id']}", 200)
        check = f"{url}/check?ids={held['downloads'][0]['id']}"
        assert (await call(tablet, "GET", check, 401))["error"]["code"] == "unauthorized"
