"""Only library files leave the box: symbolic links in a real library, on a real server, asked
for through every route that could send a file (core API and DLNA).

Each kind of file that can be served (a media file, a folder of them, a sidecar subtitle, a
poster or fanart, an nfo, a photo) is a link pointing outside the library folders, and its twin
points inside. Outside: never indexed (the reason logged) and 404 everywhere; inside: works. The
race case indexes links pointing inside, then turns every one of them outside without a rescan:
what the scan saw cannot vouch for what a route opens later.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from core.events import LibraryChanged
from tests.conftest import RunningServer, StartServer
from tests.core.media.mediagen import make_photo, make_video
from tests.core.scan.test_scanner import items, settle

PROVIDERS = "filename:\nembedded:\nlocal_artwork:\nnfo:\n"
SUBTITLE = "1\n00:00:00,000 --> 00:00:01,000\nHello from inside\n"
SECRET = "TOP-SECRET-OUTSIDE-THE-LIBRARY"


def library_yaml(base: Path, follow: str | None = None) -> str:
    option = f", follow_symlinks: {follow}" if follow else ""
    return (
        "folders:\n  watch: false\n  libraries:\n"
        f"    - {{name: Movies, kind: movies, paths: ['{base}/Movies']{option}}}\n"
        f"    - {{name: Photos, kind: photos, paths: ['{base}/Photos']}}\n"
        f"    - {{name: Home Videos, kind: videos, paths: ['{base}/Videos']}}\n"
    )


def link(path: Path, target: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_symlink():
        path.unlink()
    path.symlink_to(target)
    return path


def video(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return make_video(path)


def make_outside(outside: Path) -> None:
    """Files that are not in any library: a secret, a picture, a film and a folder of them."""
    outside.mkdir(parents=True)
    (outside / "secret.txt").write_text(SECRET + "\n", encoding="utf-8")
    (outside / "secret.nfo").write_text(f"<movie><title>{SECRET}</title></movie>", encoding="utf-8")
    make_photo(outside / "fanart.jpg", (64, 36))
    make_photo(outside / "photo.heic", (64, 48))
    video(outside / "film.mp4")
    video(outside / "Far Folder (2005)" / "Far Folder (2005).mkv")


def make_library(base: Path, outside: Path, key: Path) -> None:
    """A library whose links point outside (one of each) and inside (their twins)."""
    movies, videos = base / "Movies", base / "Videos"
    family = movies / "Family Film (2002)"
    family.mkdir(parents=True)
    video(family / "Family Film (2002).mkv")
    link(family / "Family Film (2002).en.srt", key)  # the server's own TLS private key
    link(family / "Family Film (2002).de.srt", outside / "secret.txt")
    (videos / "subs").mkdir(parents=True)
    (videos / "subs" / "fr.srt").write_text(SUBTITLE, encoding="utf-8")
    link(family / "Family Film (2002).fr.srt", videos / "subs" / "fr.srt")
    link(family / "fanart.jpg", outside / "fanart.jpg")
    make_photo(videos / "poster-source.jpg", (60, 90))
    link(family / "poster.jpg", videos / "poster-source.jpg")
    link(family / "movie.nfo", outside / "secret.nfo")
    link(movies / "Outside Film (2001).mp4", outside / "film.mp4")
    video(videos / "clip.mp4")
    link(movies / "Linked Film (2004).mp4", videos / "clip.mp4")
    link(movies / "Far Folder (2005)", outside / "Far Folder (2005)")
    video(videos / "Trip" / "Near Folder (2006).mkv")
    link(movies / "Near Folder (2006)", videos / "Trip")
    (base / "Photos" / "2024").mkdir(parents=True)
    make_photo(base / "Photos" / "2024" / "beach.jpg")


async def library_server(
    start_server: StartServer, tmp_path: Path, follow: str | None = None
) -> tuple[RunningServer, Path, Path]:
    base, outside = tmp_path / "media", tmp_path / "outside"
    make_outside(outside)
    make_library(base, outside, tmp_path / "data" / "tls" / "key.pem")
    server = await start_server("dlna: {ssdp: false}\n" + library_yaml(base, follow) + PROVIDERS)
    await settle(server)
    await tv_sees_everything(server)
    return server, base, outside


async def tv_sees_everything(server: RunningServer) -> None:
    """Every library TV-visible (photos are not by default), so DLNA routes can be asked."""
    await server.hub.catalog.write(lambda db: db.execute("UPDATE libraries SET lan_visible = 1"))
    ids = await server.hub.catalog.read(
        lambda db: db.execute("SELECT id FROM libraries").fetchall()
    )
    for (library_id,) in ids:
        server.hub.bus.publish(LibraryChanged(library_id))
    await server.hub.bus.drain()


async def item_ids(server: RunningServer, kind: str) -> dict[str, str]:
    return {i["title"]: i["id"] for i in await items(server, kind=kind)}


async def fetch(server: RunningServer, path: str, **headers: str) -> tuple[int, bytes]:
    async with server.session.get(server.url + path, headers=headers) as response:
        return response.status, await response.read()


def file_routes(item_id: str) -> list[str]:
    """Every route that sends an item's file, or hands it to ffmpeg."""
    return [
        f"/api/items/{item_id}/stream",
        f"/api/items/{item_id}/transcode.ts",
        f"/api/items/{item_id}/hls/master.m3u8",
        f"/dlna/media/{item_id}",
        f"/dlna/transcode/{item_id}.ts",
    ]


async def test_links_out_of_the_library_are_not_indexed_and_links_inside_work(
    start_server: StartServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server, base, outside = await library_server(start_server, tmp_path)
    movies = await item_ids(server, "movie")
    assert set(movies) == {"Family Film", "Linked Film", "Near Folder"}
    skipped = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Skipping ")]
    for name, target in (
        ("Outside Film (2001).mp4", outside / "film.mp4"),
        ("Far Folder (2005)", outside / "Far Folder (2005)"),
        ("Family Film (2002)/Family Film (2002).de.srt", outside / "secret.txt"),
        ("Family Film (2002)/fanart.jpg", outside / "fanart.jpg"),
    ):
        reason = f"Skipping {base / 'Movies' / name}: it links to {target}, outside every library"
        assert sum(m.startswith(reason) for m in skipped) == 1, skipped
    assert all(r.levelno == logging.INFO for r in caplog.records if "Skipping" in r.getMessage())

    family = await server.get_json(f"/api/items/{movies['Family Film']}")
    assert family["title"] == "Family Film"  # the nfo leading outside was not read
    assert [s["name"] for s in family["subtitles"]] == ["Family Film (2002).fr.srt"]  # type: ignore[union-attr]
    assert set(family["artwork"]) == {"poster"}  # type: ignore[arg-type]
    assert SECRET not in str(family)

    item = movies["Family Film"]
    for name in ("Family Film (2002).en.srt", "Family Film (2002).de.srt"):
        status, body = await fetch(server, f"/dlna/subtitle/{item}/{quote(name)}")
        assert status == 404 and b"PRIVATE KEY" not in body and SECRET.encode() not in body
    status, body = await fetch(
        server, f"/dlna/subtitle/{item}/{quote('Family Film (2002).fr.srt')}"
    )
    assert (status, body) == (200, SUBTITLE.encode())
    assert (await fetch(server, f"/api/items/{item}/artwork/fanart"))[0] == 404
    assert (await fetch(server, f"/api/items/{item}/artwork/poster"))[0] == 200
    assert (await fetch(server, f"/dlna/art/{item}"))[0] == 200

    clip = (base / "Videos" / "clip.mp4").read_bytes()
    for title in ("Linked Film", "Near Folder"):
        for path in (f"/api/items/{movies[title]}/stream", f"/dlna/media/{movies[title]}"):
            status, body = await fetch(server, path)
            assert status == 200, path
            if title == "Linked Film":
                assert body == clip


async def test_a_link_turned_outside_after_the_scan_is_refused_by_every_route(
    start_server: StartServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """What the scan saw cannot vouch for what is opened later: each route opens, then checks."""
    server, base, outside = await library_server(start_server, tmp_path)
    movies = await item_ids(server, "movie")
    family, linked, near = movies["Family Film"], movies["Linked Film"], movies["Near Folder"]
    beach = (await item_ids(server, "photo"))["beach"]
    fr = f"/dlna/subtitle/{family}/{quote('Family Film (2002).fr.srt')}"
    for path in (fr, f"/api/items/{family}/artwork/poster", f"/api/items/{beach}/artwork/thumb"):
        assert (await fetch(server, path))[0] == 200, path  # thumbnails now cached

    heic = link(base / "Photos" / "2024" / "phone.heic", base / "Videos" / "phone.heic")
    make_photo(base / "Videos" / "phone.heic", (64, 48))
    server.hub.scans.request_all()
    await settle(server)
    await tv_sees_everything(server)
    phone = (await item_ids(server, "photo"))["phone"]
    assert (await fetch(server, f"/dlna/photo/{phone}.jpg"))[0] == 200

    family_dir = base / "Movies" / "Family Film (2002)"
    link(family_dir / "Family Film (2002).fr.srt", tmp_path / "data" / "tls" / "key.pem")
    link(family_dir / "poster.jpg", outside / "fanart.jpg")
    link(base / "Movies" / "Linked Film (2004).mp4", outside / "film.mp4")
    link(base / "Movies" / "Near Folder (2006)", outside / "Far Folder (2005)")
    shutil.copy(outside / "Far Folder (2005)" / "Far Folder (2005).mkv",
                outside / "Far Folder (2005)" / "Near Folder (2006).mkv")  # fmt: skip
    beach_file = base / "Photos" / "2024" / "beach.jpg"
    beach_file.unlink()
    link(beach_file, outside / "fanart.jpg")
    link(heic, outside / "photo.heic")

    refused = [fr, f"/api/items/{family}/artwork/poster", f"/dlna/art/{family}"]
    refused += [f"/api/items/{beach}/artwork/thumb", f"/dlna/art/{beach}"]
    refused += [f"/dlna/media/{beach}", f"/dlna/photo/{phone}.jpg", f"/dlna/media/{phone}"]
    refused += file_routes(linked) + file_routes(near)
    for path in refused:
        status, body = await fetch(server, path)
        assert status == 404, f"{path}: {status}"
        assert b"PRIVATE KEY" not in body and SECRET.encode() not in body
    warnings = [r for r in caplog.records if r.getMessage().startswith("Refused to open ")]
    assert warnings and all(r.levelno == logging.WARNING for r in warnings)
    opened = {r.getMessage().split(":")[0] for r in warnings}
    assert len(opened) == len(warnings)  # once per path, however often a TV retries
    assert f"Refused to open {base / 'Movies' / 'Linked Film (2004).mp4'}" in opened


async def test_follow_symlinks_all_serves_what_the_owner_linked_in(
    start_server: StartServer, tmp_path: Path
) -> None:
    """`all` is the owner's informed choice: links out of that library are indexed and served
    (the folder's writers can then expose any file the server can read)."""
    server, _, outside = await library_server(start_server, tmp_path, follow="all")
    movies = await item_ids(server, "movie")
    assert {"Outside Film", "Far Folder"} <= set(movies)
    status, body = await fetch(server, f"/api/items/{movies['Outside Film']}/stream")
    assert (status, body) == (200, (outside / "film.mp4").read_bytes())
    assert (await fetch(server, f"/dlna/media/{movies['Far Folder']}"))[0] == 200


async def test_follow_symlinks_false_indexes_no_link_at_all(
    start_server: StartServer, tmp_path: Path
) -> None:
    server, _, _ = await library_server(start_server, tmp_path, follow="false")
    movies = await item_ids(server, "movie")
    assert set(movies) == {"Family Film"}
    family = await server.get_json(f"/api/items/{movies['Family Film']}")
    assert family["subtitles"] == [] and family["artwork"] == {}


async def test_a_range_of_the_last_zero_bytes_is_416_on_every_file_route(
    start_server: StartServer, tmp_path: Path
) -> None:
    """`bytes=-0` asks for nothing: 416, not the whole file (DLNA answered 206 and all of it,
    and so did the artwork routes, through aiohttp's FileResponse)."""
    server, base, _ = await library_server(start_server, tmp_path)
    item = (await item_ids(server, "movie"))["Family Film"]
    size = (base / "Movies" / "Family Film (2002)" / "Family Film (2002).mkv").stat().st_size
    subtitle = f"/dlna/subtitle/{item}/{quote('Family Film (2002).fr.srt')}"
    totals = {
        f"/api/items/{item}/stream": size,
        f"/dlna/media/{item}": size,
        subtitle: len(SUBTITLE),
        f"/api/items/{item}/artwork/poster": None,  # a cached thumbnail: its own size
        f"/dlna/art/{item}": None,
    }
    for path, total in totals.items():
        async with server.session.get(server.url + path) as whole:
            length = len(await whole.read())
        async with server.session.get(server.url + path, headers={"Range": "bytes=-0"}) as got:
            assert got.status == 416, path
            assert got.headers["Content-Range"] == f"bytes */{total or length}"
            body: Any = await got.json()
            assert body["error"]["code"] == "range_not_satisfiable"


def test_a_wrong_follow_symlinks_value_is_a_clear_configuration_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from core.cli import main
    from tests.conftest import write_config

    folder = write_config(
        tmp_path / "config",
        "folders:\n  libraries:\n"
        f"    - name: Movies\n      kind: movies\n      paths: ['{tmp_path}']\n"
        "      follow_symlinks: yes\n",
    )
    assert main(["check-config", "-c", str(folder)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "configuration.yaml:6: folders -> libraries -> 0 -> follow_symlinks: expected one of "
        "false, inside, all, got True"
    ]
