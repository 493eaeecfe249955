"""Browsing and searching a real scanned library with the real async_upnp_client DmsDevice, the
client Home Assistant's dlna_dms uses: every level of every library kind, paging through a
container of 1,100 children, sorting, Search and SystemUpdateID."""

from __future__ import annotations

from pathlib import Path

import pytest
from async_upnp_client.exceptions import UpnpActionError
from async_upnp_client.profiles.dlna import DmsDevice
from didl_lite import didl_lite

from core.events import LibraryChanged
from tests.conftest import StartServer
from tests.plugins.dlna.dms import MANY, dms, library_server

HA_FILTER = "id,upnp:class,dc:title,res,@childCount,upnp:albumArtURI"
HA_SORT = "+upnp:class,+upnp:originalTrackNumber,+dc:title"


async def children(
    device: DmsDevice, object_id: str, **kwargs: object
) -> list[didl_lite.DidlObject]:
    result = await device.async_browse_direct_children(object_id, **kwargs)  # type: ignore[arg-type]
    assert result.number_returned == len(result.result)
    objects = [o for o in result.result if isinstance(o, didl_lite.DidlObject)]
    if not kwargs.get("requested_count"):
        assert result.total_matches == len(objects)
    return objects


def by_title(objects: list[didl_lite.DidlObject]) -> dict[str, didl_lite.DidlObject]:
    return {o.title: o for o in objects}


async def check_movies(device: DmsDevice, library: didl_lite.DidlObject) -> None:
    movies = by_title(await children(device, library.id))
    assert list(movies) == ["Folders", "Alien", "Blade Runner"]
    alien = movies["Alien"]
    assert alien.upnp_class == "object.item.videoItem.movie"
    assert alien.parent_id == library.id
    assert alien.album_art_uri.endswith(".jpg") and "/dlna/art/" in alien.album_art_uri
    assert alien.res[0].protocol_info.startswith(
        "http-get:*:video/mp4:DLNA.ORG_PN=AVC_MP4_HP_HD_AAC;"
    )
    assert alien.res[0].duration == "0:00:02.000" and alien.res[0].resolution == "64x48"
    assert int(alien.res[0].size) > 0 and "/dlna/media/" in alien.res[0].uri
    blade = movies["Blade Runner"]  # matroska: the file, then an MPEG-TS transcode
    assert blade.res[0].protocol_info.startswith("http-get:*:video/x-matroska:DLNA.ORG_OP=01")
    transcode = blade.res[1]
    assert transcode.uri.endswith(f"/dlna/transcode/{blade.id.removeprefix('item:')}.ts")
    assert transcode.protocol_info.startswith("http-get:*:video/mpeg:DLNA.ORG_OP=11;DLNA.ORG_CI=1")
    assert int(transcode.size) % 188 == 0  # a constant-rate stream: seekable by bytes too
    folders = by_title(await children(device, movies["Folders"].id))
    assert list(folders) == ["Blade Runner (1982)", "Alien"]
    inner = await children(device, folders["Blade Runner (1982)"].id)
    assert [o.title for o in inner] == ["Blade Runner"]
    meta = await device.async_browse_metadata(folders["Blade Runner (1982)"].id)
    assert meta.parent_id == movies["Folders"].id and meta.child_count == "1"


async def check_tv(device: DmsDevice, library: didl_lite.DidlObject) -> None:
    tv = by_title(await children(device, library.id))
    assert list(tv) == ["Folders", "The Office"]
    seasons = await children(device, tv["The Office"].id)
    assert [s.title for s in seasons] == ["Specials", "Season 1", "Season 2"]
    episodes = await children(device, seasons[1].id)
    assert [e.title for e in episodes] == ["Pilot", "Double"]
    assert episodes[0].upnp_class == "object.item.videoItem"
    assert (await device.async_browse_metadata(episodes[0].id)).parent_id == seasons[1].id


async def check_music(device: DmsDevice, library: didl_lite.DidlObject) -> None:
    music = by_title(await children(device, library.id))
    assert list(music) == ["Artists", "Albums", "Genres", "All tracks", "Folders"]
    assert music["All tracks"].child_count == "4"
    artists = by_title(await children(device, music["Artists"].id))
    assert set(artists) == {"Miles Davis", "Various Artists"}
    assert artists["Miles Davis"].upnp_class == "object.container.person.musicArtist"
    albums = await children(device, artists["Miles Davis"].id)
    assert [a.title for a in albums] == ["Kind of Blue"]
    assert albums[0].upnp_class == "object.container.album.musicAlbum"
    assert "/dlna/art/" in albums[0].album_art_uri
    tracks = await children(device, albums[0].id)
    assert [t.title for t in tracks] == ["So What", "Freddie Freeloader", "Bonus"]
    so_what = tracks[0]
    assert so_what.upnp_class == "object.item.audioItem.musicTrack"
    assert so_what.artist == "Miles Davis" and so_what.album == "Kind of Blue"
    assert so_what.genre == "Jazz" and so_what.original_track_number == "1"
    assert so_what.res[0].protocol_info.startswith("http-get:*:audio/mpeg:DLNA.ORG_PN=MP3;")
    assert so_what.res[0].sample_frequency == "48000" and so_what.res[0].nr_audio_channels == "2"
    assert "/dlna/art/" in so_what.album_art_uri  # the album's cover
    assert len(await children(device, music["Albums"].id)) == 2
    genres = await children(device, music["Genres"].id)
    assert [(g.title, g.upnp_class) for g in genres] == [
        ("Jazz", "object.container.genre.musicGenre")
    ]
    assert len(await children(device, genres[0].id)) == 3
    assert len(await children(device, music["All tracks"].id)) == 4
    music_folders = by_title(await children(device, music["Folders"].id))
    assert set(music_folders) == {"Compilations", "Miles Davis"}
    davis = await children(device, music_folders["Miles Davis"].id)
    album = by_title(await children(device, davis[0].id))
    assert list(album) == ["CD2", "So What", "Freddie Freeloader"]  # folders, then by file name
    cd2 = await device.async_browse_metadata(album["CD2"].id)
    assert cd2.parent_id == davis[0].id and cd2.child_count == "1"
    assert (await children(device, cd2.id))[0].title == "Bonus"


async def check_photos(device: DmsDevice, library: didl_lite.DidlObject) -> None:
    photos = by_title(await children(device, library.id))
    assert list(photos) == ["2024", "Folders"]
    months = await children(device, photos["2024"].id)
    assert [m.title for m in months] == ["July"]
    beach = (await children(device, months[0].id))[0]
    assert beach.upnp_class == "object.item.imageItem.photo" and beach.title == "beach"
    assert beach.res[0].protocol_info.startswith("http-get:*:image/jpeg:DLNA.ORG_PN=JPEG_SM;")
    assert beach.res[0].protocol_info.endswith("DLNA.ORG_FLAGS=00F00000000000000000000000000000")
    assert (await device.async_browse_metadata(beach.id)).parent_id == months[0].id


async def check_videos(device: DmsDevice, library: didl_lite.DidlObject) -> None:
    videos = by_title(await children(device, library.id))
    assert list(videos) == ["Folders", "2019-07-04 Fireworks"]
    assert videos["2019-07-04 Fireworks"].upnp_class == "object.item.videoItem"


async def test_every_level_of_every_library_kind_browses_like_home_assistant_does(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = await library_server(start_server, tmp_path / "media")
    device = await dms(server)
    await device.async_update()
    assert device.has_search_directory
    assert "dc:title" in device.search_capabilities
    assert "upnp:originalTrackNumber" in device.sort_capabilities

    root = await device.async_browse_metadata("0")
    assert root.upnp_class == "object.container.storageFolder" and root.child_count == "5"
    libraries = by_title(
        await children(device, "0", metadata_filter=HA_FILTER, sort_criteria=HA_SORT)
    )
    assert set(libraries) == {"Home Videos", "Movies", "Music", "Photos", "TV"}
    for name, check in (
        ("Movies", check_movies),
        ("TV", check_tv),
        ("Music", check_music),
        ("Photos", check_photos),
        ("Home Videos", check_videos),
    ):
        await check(device, libraries[name])


async def test_a_container_of_1100_children_pages_and_sorts(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = await library_server(start_server, tmp_path / "media", many=MANY)
    device = await dms(server)
    library = next(o for o in await children(device, "0") if o.title == "Home Videos")
    folders = (await children(device, library.id))[0]
    many = next(o for o in await children(device, folders.id) if o.title == "Many")
    assert many.child_count == str(MANY)
    seen: list[str] = []
    start = 0
    while True:
        page = await device.async_browse_direct_children(
            many.id, starting_index=start, requested_count=250, sort_criteria="-dc:title"
        )
        assert page.total_matches == MANY
        seen += [o.title for o in page.result]  # type: ignore[union-attr]
        start += page.number_returned
        if page.number_returned < 250:
            break
    assert len(seen) == MANY and len(set(seen)) == MANY
    assert seen == sorted(seen, reverse=True)
    everything = await device.async_browse_direct_children(many.id, requested_count=0)
    assert everything.number_returned == MANY
    beyond = await device.async_browse_direct_children(many.id, starting_index=5000)
    assert beyond.number_returned == 0 and beyond.total_matches == MANY
    with pytest.raises(UpnpActionError) as bad_sort:
        await device.async_browse_direct_children(many.id, sort_criteria="+upnp:rating")
    assert bad_sort.value.error_code == 709


async def test_search_matches_titles_artists_classes_and_scopes(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = await library_server(start_server, tmp_path / "media")
    device = await dms(server)

    async def search(criteria: str, container: str = "0") -> list[str]:
        result = await device.async_search_directory(container, criteria, sort_criteria="+dc:title")
        assert result.total_matches == len(result.result)
        return [o.title for o in result.result]  # type: ignore[union-attr]

    assert await search('dc:title contains "so wh"') == ["So What"]
    assert await search(
        'upnp:artist = "miles davis" and upnp:class derivedfrom "object.item.audioItem"'
    ) == [
        "Bonus",
        "Freddie Freeloader",
        "So What",
    ]
    assert await search('upnp:album = "Now 1" or dc:title startsWith "Blade"') == [
        "Blade Runner (1982)",  # its folder: made-up containers come first, as in Browse
        "Blade Runner",
        "Hit",
        "Now 1",  # the album itself
    ]
    assert await search('upnp:class = "object.container.album.musicAlbum"') == [
        "Kind of Blue",
        "Now 1",
    ]
    assert await search('upnp:genre contains "jazz" and (upnp:originalTrackNumber = "2")') == [
        "Freddie Freeloader"
    ]
    assert await search(
        'upnp:class derivedfrom "object.item.videoItem" and dc:title doesNotContain "e"'
    ) == ["Pilot"]
    libraries = {o.title: o.id for o in await children(device, "0")}
    assert await search('upnp:class derivedfrom "object.item"', libraries["Photos"]) == ["beach"]
    office = (await children(device, libraries["TV"]))[1]
    assert len(await search("*", office.id)) == 3 + 4  # seasons and episodes below the show
    season = (await children(device, office.id))[1]
    # Home Assistant resolves paths with @parentID and dc:title
    assert await search(f'@parentID="{season.id}" and dc:title="Pilot"') == ["Pilot"]
    for bad in ("dc:title contains", 'upnp:rating = "5"', "((((", 'dc:title = "a" and', "x" * 3000):
        with pytest.raises(UpnpActionError) as fault:
            await device.async_search_directory("0", bad)
        assert fault.value.error_code == 708, bad
    with pytest.raises(UpnpActionError) as fault:
        await device.async_search_directory("lib:999", "*")
    assert fault.value.error_code == 710


async def test_system_update_id_moves_when_a_library_changes(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = await start_server("dlna: {ssdp: false}\n")
    device = await dms(server)
    await device.async_update()
    before = device.system_update_id
    assert before is not None
    server.hub.bus.publish(LibraryChanged(1))
    await server.hub.bus.drain()
    await device.async_update()
    assert device.system_update_id == before + 1
    result = await device.async_browse_direct_children("0")
    assert result.update_id == before + 1 and result.total_matches == 0
    with pytest.raises(UpnpActionError) as fault:
        await device.async_browse_metadata("item:nonexistent")
    assert fault.value.error_code == 701


async def test_only_the_configured_libraries_are_shown_to_tvs(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = await library_server(
        start_server,
        tmp_path / "media",
        dlna="{ssdp: false, libraries: [Music], friendly_name: Lounge}",
    )
    async with server.session.get(f"{server.url}/dlna/description.xml") as response:
        assert "<friendlyName>Lounge</friendlyName>" in await response.text()
    device = await dms(server)
    assert [o.title for o in await children(device, "0")] == ["Music"]
    movies = await server.get_json("/api/items?kind=movie")
    alien = next(m for m in movies["items"] if m["title"] == "Alien")  # type: ignore[index]
    for hidden in (f"item:{alien['id']}", "lib:1", "lib:1:f"):
        with pytest.raises(UpnpActionError) as fault:
            await device.async_browse_metadata(hidden)
        assert fault.value.error_code == 701
    result = await device.async_search_directory("0", 'dc:title contains "a"')
    titles = {o.title for o in result.result}  # type: ignore[union-attr]
    assert titles == {"Miles Davis", "Freddie Freeloader", "So What", "Various Artists"} | {
        "Artists",  # and the made-up containers: views, a genre, a folder
        "Albums",
        "All tracks",
        "Jazz",
        "Compilations",
    }
    for path in (f"/dlna/media/{alien['id']}.mp4", f"/dlna/art/{alien['id']}.jpg"):
        async with server.session.get(server.url + path) as response:
            assert response.status == 404, path
