"""Search over everything Browse shows, made-up containers included: a real scanned library,
asked through async_upnp_client's DmsDevice the way Home Assistant's dlna_dms asks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from async_upnp_client.profiles.dlna import DmsDevice
from didl_lite import didl_lite

from plugins.dlna.criteria import may_match_class, parse_criteria, pinned_parent
from plugins.dlna.objects import FOLDER, GENRE
from plugins.dlna.service import DlnaService
from tests.conftest import RunningServer, StartServer
from tests.plugins.dlna.dms import dms, library_server

Listing = dict[str, list[didl_lite.DidlObject]]
HA_PATH_FILTER = "id,upnp:class,dc:title"


def esc(text: str) -> str:
    """A value quoted for SearchCriteria, as Home Assistant's _esc_quote does."""
    return text.replace("\\", "\\\\").replace('"', '\\"')


async def listing(device: DmsDevice) -> Listing:
    """Every container's children, browsed from the root down."""
    found: Listing = {}
    todo = ["0"]
    while todo:
        object_id = todo.pop()
        result = await device.async_browse_direct_children(object_id)
        found[object_id] = [o for o in result.result if isinstance(o, didl_lite.DidlObject)]
        todo += [
            o.id
            for o in found[object_id]
            if isinstance(o, didl_lite.Container) and o.id not in found and o.id not in todo
        ]
    return found


def reached(tree: Listing, object_id: str) -> set[str]:
    """The ids of everything browsing from this container reaches."""
    seen: set[str] = set()
    todo = [object_id]
    while todo:
        for child in tree.get(todo.pop(), []):
            if child.id not in seen:
                seen.add(child.id)
                todo.append(child.id)
    return seen


async def search(
    device: DmsDevice, container: str, criteria: str, **kwargs: object
) -> list[didl_lite.DidlObject]:
    result = await device.async_search_directory(container, criteria, **kwargs)  # type: ignore[arg-type]
    objects = [o for o in result.result if isinstance(o, didl_lite.DidlObject)]
    if not kwargs.get("requested_count"):
        assert result.total_matches == len(objects) == result.number_returned
    return objects


async def scanned(start_server: StartServer, tmp_path: Path) -> tuple[RunningServer, DmsDevice]:
    server = await library_server(start_server, tmp_path / "media")
    return server, await dms(server)


async def test_every_object_is_found_the_way_home_assistant_resolves_a_path(
    start_server: StartServer, tmp_path: Path
) -> None:
    """`@parentID="C" and dc:title="T"` searched in C, for every child of every container:
    libraries under "0", views, genres, months, folders and catalog items alike."""
    _, device = await scanned(start_server, tmp_path)
    tree = await listing(device)
    checked = 0
    for parent, children in tree.items():
        for child in children:
            twins = [c for c in children if c.title.lower() == child.title.lower()]
            result = await device.async_search_directory(
                parent,
                f'@parentID="{esc(parent)}" and dc:title="{esc(child.title)}"',
                metadata_filter=HA_PATH_FILTER,
                requested_count=1,
            )
            assert result.total_matches == len(twins), (parent, child.title)
            found = result.result[0]
            assert isinstance(found, didl_lite.DidlObject)
            assert found.parent_id == parent
            if len(twins) == 1:
                assert found.id == child.id and found.title == child.title
            checked += 1
    assert checked >= 45
    assert [o.title for o in await search(device, "0", '@parentID="0" and dc:title="movies"')] == [
        "Movies"
    ]


async def test_a_search_looks_at_exactly_what_browsing_reaches(
    start_server: StartServer, tmp_path: Path
) -> None:
    """Search "*" in any container answers what browsing from it reaches: a view of albums
    holds albums and tracks (never the artists), a folder its subfolders and files."""
    _, device = await scanned(start_server, tmp_path)
    tree = await listing(device)
    for children in tree.values():  # each container's count, wherever it is listed
        for child in children:
            if isinstance(child, didl_lite.Container):
                assert int(child.child_count) == len(tree[child.id]), child.id
    for container in tree:
        found = await search(device, container, "*")
        assert {o.id for o in found} == reached(tree, container), container
        assert len(found) == len({o.id for o in found}), container  # each object once
    music = next(o.id for o in tree["0"] if o.title == "Music")
    albums = next(o.id for o in tree[music] if o.title == "Albums")
    classes = {o.upnp_class for o in await search(device, albums, "*")}
    assert classes == {"object.container.album.musicAlbum", "object.item.audioItem.musicTrack"}


async def test_made_up_containers_match_by_title_class_and_parent(
    start_server: StartServer, tmp_path: Path
) -> None:
    _, device = await scanned(start_server, tmp_path)
    tree = await listing(device)
    genres = await search(device, "0", 'upnp:class = "object.container.genre.musicGenre"')
    assert [(g.title, g.parent_id.endswith(":genres")) for g in genres] == [("Jazz", True)]
    views = await search(device, "0", 'dc:title = "albums"')
    music = next(o.id for o in tree["0"] if o.title == "Music")
    assert [(v.id, v.parent_id) for v in views] == [(f"{music}:albums", music)]
    seasons = await search(
        device, "0", 'upnp:class derivedfrom "object.container" and dc:title startsWith "season"'
    )
    assert sorted(o.title for o in seasons) == ["Season 01", "Season 02", "Season 1", "Season 2"]
    # A photo's parent is its month, as Browse says: matched with and without the shortcut
    photos = next(o.id for o in tree["0"] if o.title == "Photos")
    year = next(o for o in tree[photos] if o.title == "2024")
    month = tree[year.id][0]
    for criteria, expected in (
        (f'@parentID="{month.id}"', [("beach", month.id)]),
        (f'@parentID="{month.id}" or dc:title = "nothing"', [("beach", month.id)]),
        (f'@parentID = "{year.id}" and dc:title = "July"', [("July", year.id)]),
    ):
        found = await search(device, "0", criteria)
        assert [(o.title, o.parent_id) for o in found] == expected, criteria
    assert await search(device, year.id, '@parentID="0" and dc:title="Photos"') == []


async def test_a_search_for_items_never_walks_the_folders(
    start_server: StartServer, tmp_path: Path
) -> None:
    """TVs search the root for every audio or video item: no folder index is built for that."""
    server, device = await scanned(start_server, tmp_path)
    context = server.hub.records["dlna"].context
    assert context is not None
    service: DlnaService = context.state
    built: list[int] = []
    index_of = service.folder_index_blocking

    def counted(db: Any, library_id: int) -> Any:
        built.append(library_id)
        return index_of(db, library_id)

    # counted, not looked for in the cache: a late LibraryChanged may empty the cache at any time
    service.folder_index_blocking = counted
    tracks = await search(device, "0", 'upnp:class derivedfrom "object.item.audioItem"')
    assert len(tracks) == 4
    assert built == []
    folders = await search(device, "0", 'dc:title = "Compilations"')
    assert [o.upnp_class for o in folders] == [FOLDER]
    assert built != []


def test_criteria_say_which_classes_they_can_match_and_which_parent_they_pin() -> None:
    def may(criteria: str, upnp_class: str) -> bool:
        return may_match_class(parse_criteria(criteria), upnp_class)

    assert not may('upnp:class derivedfrom "object.item"', FOLDER)
    assert not may('upnp:class = "object.item.videoItem" and dc:title = "x"', GENRE)
    assert may('upnp:class derivedfrom "object.item" or dc:title = "x"', FOLDER)
    assert may('upnp:class derivedFrom "object.container"', GENRE)
    assert may('upnp:class derivedfrom "OBJECT.container"', FOLDER)  # LIKE ignores case
    assert may('upnp:class != "object.item.audioItem"', FOLDER)
    assert not may('upnp:class contains "item"', FOLDER)
    assert may('dc:title contains "item"', FOLDER)
    assert may("*", GENRE)
    assert pinned_parent(parse_criteria('@parentID="lib:3" and dc:title="Albums"')) == "lib:3"
    assert pinned_parent(parse_criteria('(dc:title="a" and (@parentID = "0"))')) == "0"
    assert pinned_parent(parse_criteria('@parentID="0" or dc:title="Albums"')) is None
    assert pinned_parent(parse_criteria('@parentID contains "lib"')) is None
