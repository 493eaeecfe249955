"""The browsing API on a real scanned library: filters, search, paging, one item in full,
artwork, recently added, scans, and clear 400s for bad parameters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.conftest import RunningServer, StartServer
from tests.core.scan.library import build_library, library_yaml, video
from tests.core.scan.test_scanner import library_ids, settle


@pytest.fixture
async def server(start_server: StartServer, tmp_path: Path) -> RunningServer:
    base = tmp_path / "media"
    build_library(base)
    Image.new("RGB", (600, 900), "red").save(base / "Movies/Blade Runner (1982)/poster.jpg")
    (base / "Movies/Blade Runner (1982)/Blade Runner (1982).en.srt").write_text(
        "1\n00:00:00,000 --> 00:00:01,000\nHello\n"
    )
    (base / "Movies/Blade Runner (1982)/movie.nfo").write_text(
        "<movie><title>Blade Runner</title><plot>Replicants.</plot><mpaa>Rated R</mpaa>"
        "<genre>Science Fiction</genre><genre>Noir</genre>"
        "<actor><name>Harrison Ford</name><role>Deckard</role></actor></movie>"
    )
    running = await start_server(
        library_yaml(base) + "nfo:\nembedded:\nfilename:\nlocal_artwork:\n"
    )
    await settle(running)
    return running


async def page(server: RunningServer, query: str) -> dict[str, Any]:
    return await server.get_json(f"/api/items?{query}")


async def test_lists_answer_items_and_total_with_paging(server: RunningServer) -> None:
    ids = await library_ids(server)
    first = await page(server, f"library={ids['TV']}&kind=episode&limit=2&sort=title")
    second = await page(server, f"library={ids['TV']}&kind=episode&limit=2&offset=2&sort=title")
    assert first["total"] == second["total"] == 4
    names = [i["title"] for i in first["items"] + second["items"]]  # type: ignore[operator]
    assert names == ["Blooper Reel", "Double", "The Dundies", "Pilot"]  # "The" does not count
    for item in first["items"]:  # type: ignore[attr-defined]
        assert {"id", "kind", "title", "library_id", "parent_id", "online"} <= set(item)


async def test_filters_by_genre_year_and_kind(server: RunningServer) -> None:
    jazz = await page(server, "genre=jazz&kind=track")
    assert jazz["total"] == 3
    noir = await page(server, "genre=Noir")
    assert [i["title"] for i in noir["items"]] == ["Blade Runner"]  # type: ignore[attr-defined]
    old = await page(server, "year=1979&kind=movie")
    assert [i["title"] for i in old["items"]] == ["Alien"]  # type: ignore[attr-defined]


async def test_text_search_covers_titles_people_artists_and_albums(server: RunningServer) -> None:
    assert {i["title"] for i in (await page(server, "q=harrison"))["items"]} == {"Blade Runner"}  # type: ignore[attr-defined]
    by_artist = {i["kind"] for i in (await page(server, "q=miles"))["items"]}  # type: ignore[attr-defined]
    assert {"artist", "track"} <= by_artist
    by_album = await page(server, "q=kind%20of&kind=track")
    assert by_album["total"] == 3
    assert (await page(server, "q=dund"))["items"][0]["title"] == "The Dundies"  # type: ignore[index]
    assert (await page(server, "q=%22%29%28*"))["total"] == 0  # FTS syntax is not passed through


async def test_one_item_in_full_with_metadata_streams_subtitles_and_artwork(
    server: RunningServer,
) -> None:
    movie = (await page(server, "q=blade&kind=movie"))["items"][0]  # type: ignore[index]
    full = await server.get_json(f"/api/items/{movie['id']}")
    assert full["content_rating"] == "R"
    meta = full["metadata"]
    assert meta["plot"] == "Replicants."  # type: ignore[index]
    assert meta["genres"] == ["Science Fiction", "Noir"]  # type: ignore[index]
    assert full["artwork"] == {"poster": f"/api/items/{movie['id']}/artwork/poster"}
    kinds = [s["kind"] for s in full["streams"]]  # type: ignore[attr-defined]
    assert "video" in kinds and "audio" in kinds
    assert full["subtitles"] == [
        {
            "name": "Blade Runner (1982).en.srt",
            "format": "srt",
            "language": "eng",
            "forced": False,
            "sdh": False,
        }
    ]
    assert full["file"]["name"] == "Blade Runner (1982).mkv"  # type: ignore[index]


async def test_artwork_is_resized_cached_and_revalidated(server: RunningServer) -> None:
    movie = (await page(server, "q=blade&kind=movie"))["items"][0]  # type: ignore[index]
    url = f"{server.url}/api/items/{movie['id']}/artwork/poster?size=300"
    async with server.session.get(url) as reply:
        assert reply.status == 200
        assert reply.headers["Content-Type"] == "image/jpeg"
        etag = reply.headers["ETag"]
        data = await reply.read()
    import io

    width, height = Image.open(io.BytesIO(data)).size
    assert height == 320 and abs(width - 213) <= 1  # 300 rounds up to 320; 2:3 kept
    async with server.session.get(url, headers={"If-None-Match": etag}) as reply:
        assert reply.status == 304
    async with server.session.get(f"{server.url}/api/items/{movie['id']}/artwork/banner") as reply:
        assert reply.status == 404
        assert (await reply.json())["error"]["code"] == "artwork_not_found"


async def test_episodes_fall_back_to_their_shows_poster(
    server: RunningServer, tmp_path: Path
) -> None:
    show = tmp_path / "media/TV/The Office (2005)"
    Image.new("RGB", (400, 600), "blue").save(show / "poster.jpg")
    server.hub.scans.request_all()
    await settle(server)
    episode = (await page(server, "q=pilot&kind=episode"))["items"][0]  # type: ignore[index]
    async with server.session.get(f"{server.url}/api/items/{episode['id']}/artwork/poster") as r:
        assert r.status == 200


async def test_recently_added_per_library(server: RunningServer) -> None:
    recent = await server.get_json("/api/recent?limit=5")
    by_name = {lib["name"]: lib["items"] for lib in recent["libraries"]}  # type: ignore[attr-defined]
    assert {i["kind"] for i in by_name["TV"]} == {"episode"}
    assert {i["kind"] for i in by_name["Music"]} == {"album"}
    assert len(by_name["Movies"]) == 2


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("limit=0", "'limit' must be between 1 and 500"),
        ("limit=abc", "'limit' must be a whole number"),
        ("kind=film", "'kind' must be one of"),
        ("sort=random", "'sort' must be one of"),
        ("year=99999", "'year' must be between"),
    ],
)
async def test_bad_parameters_get_a_clear_400(
    server: RunningServer, query: str, message: str
) -> None:
    async with server.session.get(f"{server.url}/api/items?{query}") as reply:
        assert reply.status == 400
        body = await reply.json()
    assert body["error"]["code"] == "bad_parameter"
    assert message in body["error"]["message"]


async def test_unknown_item_is_404(server: RunningServer) -> None:
    async with server.session.get(f"{server.url}/api/items/deadbeef") as reply:
        assert reply.status == 404
        assert (await reply.json())["error"]["code"] == "item_not_found"


async def test_post_scan_queues_and_get_scan_reports(server: RunningServer, tmp_path: Path) -> None:
    video(tmp_path / "media/Movies", "Heat (1995).mkv")
    async with server.session.post(f"{server.url}/api/scan", json={"library": "Movies"}) as reply:
        assert reply.status == 202
        assert (await reply.json())["queued"] == ["folders:Movies"]
    await settle(server)
    status = await server.get_json("/api/scan")
    assert status["state"] == "idle"
    assert status["last"]["Movies"]["new"] == 1  # type: ignore[index]
    async with server.session.post(f"{server.url}/api/scan", json={"library": "Nope"}) as reply:
        assert reply.status == 404
    async with server.session.post(f"{server.url}/api/scan", data=b"{not json") as reply:
        assert reply.status == 400


async def test_an_nfo_added_later_updates_the_item_in_place(
    server: RunningServer, tmp_path: Path
) -> None:
    before = (await page(server, "q=alien&kind=movie"))["items"][0]  # type: ignore[index]
    (tmp_path / "media/Movies/Alien (1979).nfo").write_text(
        "<movie><title>Alien</title><plot>In space no one can hear you scream.</plot>"
        "<mpaa>R</mpaa></movie>"
    )
    server.hub.scans.request_all()
    await settle(server)
    after = await server.get_json(f"/api/items/{before['id']}")
    assert after["metadata"]["plot"] == "In space no one can hear you scream."  # type: ignore[index]
    assert after["content_rating"] == "R"
