"""What TVs may see: only libraries the owner marked LAN-visible, and nothing rated above the
plugin's `max_rating` — gone from Browse, Search, folders and every file route alike, at once
(no remembered answer outlives a change)."""

from __future__ import annotations

from pathlib import Path

import pytest
from async_upnp_client.exceptions import UpnpActionError

from tests.conftest import StartServer
from tests.core.scan.library import library_yaml
from tests.core.scan.test_scanner import settle
from tests.plugins.dlna.dms import PROVIDERS, dms, make_library, show_every_library_to_tvs
from tests.plugins.dlna.test_browse import by_title, children


async def test_an_r_rated_film_and_a_library_kept_off_the_lan_are_invisible_to_tvs(
    start_server: StartServer, tmp_path: Path
) -> None:
    base = tmp_path / "media"
    make_library(base)
    (base / "Movies" / "Blade Runner (1982)" / "movie.nfo").write_text(
        "<movie><title>Blade Runner</title><mpaa>R</mpaa></movie>"
    )
    server = await start_server(
        "dlna: {ssdp: false, max_rating: PG}\n" + library_yaml(base) + "nfo:\n" + PROVIDERS
    )
    await settle(server)
    await show_every_library_to_tvs(server)  # photos and home videos start hidden
    await server.hub.catalog.write(
        lambda db: db.execute("UPDATE libraries SET lan_visible = 0 WHERE name = 'TV'")
    )
    movies = await server.get_json("/api/items?kind=movie")  # the owner still sees both
    ids = {m["title"]: m["id"] for m in movies["items"]}  # type: ignore[index]
    blade = ids["Blade Runner"]
    episodes = await server.get_json("/api/items?kind=episode")
    pilot = next(e["id"] for e in episodes["items"] if e["title"] == "Pilot")  # type: ignore[index]

    device = await dms(server)
    root = by_title(await children(device, "0"))
    assert set(root) == {"Home Videos", "Movies", "Music", "Photos"}
    assert (await device.async_browse_metadata("0")).child_count == "4"
    library = by_title(await children(device, root["Movies"].id))
    assert list(library) == ["Folders", "Alien"]
    assert root["Movies"].child_count == "2"
    folders = await children(device, library["Folders"].id)
    assert [f.title for f in folders] == ["Alien"]  # Blade Runner's folder holds nothing shown
    found = await device.async_search_directory("0", 'dc:title contains "r"')
    titles = {o.title for o in found.result}  # type: ignore[union-attr]
    assert "Blade Runner" not in titles and "Pilot" not in titles and "Freddie Freeloader" in titles
    for hidden in (f"item:{blade}", f"item:{pilot}"):
        with pytest.raises(UpnpActionError) as fault:
            await device.async_browse_metadata(hidden)
        assert fault.value.error_code == 701

    for item in (blade, pilot):
        for path in (
            f"/dlna/media/{item}.mkv",
            f"/dlna/transcode/{item}.ts",
            f"/dlna/art/{item}.jpg",
            f"/dlna/subtitle/{item}/x.srt",
        ):
            async with server.session.get(server.url + path) as response:
                assert response.status == 404, path
    async with server.session.get(f"{server.url}/dlna/media/{ids['Alien']}.mp4") as response:
        assert response.status == 200

    # Answers are remembered, but never across a change of what TVs may see.
    await server.hub.catalog.write(
        lambda db: db.execute("UPDATE libraries SET lan_visible = 0 WHERE name = 'Music'")
    )
    assert set(by_title(await children(device, "0"))) == {"Home Videos", "Movies", "Photos"}
