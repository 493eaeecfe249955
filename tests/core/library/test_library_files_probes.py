"""Only library files are read, even when a file turns into a link between its check and its read.

The scanner's walk looks at a file (a link out of the library is not followed), and a moment
later a probe worker reads it; HLS and a DLNA seek read a film's keyframe index a moment after
its real path was checked. Both used to open the file again by name: a link put at that path in
that moment was read, and an outside file's tags became a catalog entry. Now the probe opens the
file once, checks the opened file is a library file (core.library.roots) and reads only that
descriptor; the keyframe index opens the checked real path as ffmpeg's runs do
(ffmpeg_args.open_source_blocking). The swap is made in that very moment here, by hand.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from core.http.errors import ApiError
from core.library.roots import LibraryRoot, LibraryRoots
from core.media.facts import AudioTags
from core.playback.hls import keyframe_index_blocking
from core.playback.seek import stream_start_blocking
from core.scan.analysis import Analysis
from core.scan.pool import ProbePool
from tests.conftest import StartServer
from tests.core.media.mediagen import make_audio, make_video
from tests.core.playback.test_hls import copy_plan
from tests.core.scan.test_scanner import items, settle

SECRET = "OUTSIDE SECRET"


async def test_a_song_swapped_for_a_link_out_before_its_probe_is_not_indexed(
    start_server: StartServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    music, outside = tmp_path / "Music", tmp_path / "outside"
    album = music / "Artist" / "Album"
    album.mkdir(parents=True)
    outside.mkdir()
    secret = make_audio(outside / "secret.flac", tags=AudioTags(title=SECRET, album="Private"))
    tags = AudioTags(title="Library Song", artists=("Artist",), album="Album", track_number=1)
    song = make_audio(album / "01 - Library Song.flac", tags=tags)
    other = AudioTags(title="Other Song", artists=("Artist",), album="Album", track_number=2)
    make_audio(album / "02 - Other Song.flac", tags=other)
    analyse = ProbePool.analyse

    async def swapped_first(pool: ProbePool, *args: Any) -> list[Analysis]:
        """The walk saw a regular file; before the worker reads it, it links outside."""
        if not song.is_symlink():
            song.unlink()
            song.symlink_to(secret)
        return await analyse(pool, *args)

    monkeypatch.setattr(ProbePool, "analyse", swapped_first)
    server = await start_server(
        "folders:\n  watch: false\n  libraries:\n"
        f"    - {{name: Music, kind: music, paths: ['{music}']}}\nfilename:\nembedded:\n"
    )
    await settle(server)

    assert song.is_symlink()  # the swap happened
    probes = await server.hub.catalog.read(
        lambda db: db.execute("SELECT probe FROM files").fetchall()
    )
    assert len(probes) == 2 and not any(SECRET in (probe or "") for (probe,) in probes)
    assert {a["title"] for a in await items(server, kind="album")} == {"Album"}  # not "Private"
    assert {t["title"] for t in await items(server, kind="track")} == {"Other Song"}
    status = await server.get_json("/api/scan")
    errors = {e["path"]: e["error"] for e in status["errors"]}  # type: ignore[attr-defined]
    assert errors == {str(song): f"leads to {secret}, outside every library folder"}
    assert server.hub.scans.last["Music"].errors == 1


def test_a_keyframe_index_never_reads_a_link_put_at_the_checked_path(tmp_path: Path) -> None:
    """HLS and a DLNA seek read the index after the item's file was checked (its real path is
    what they are given); a link put at that path since leads outside: 404, nothing read."""
    library, outside = tmp_path / "Movies", tmp_path / "outside"
    library.mkdir()
    outside.mkdir()
    secret = make_video(outside / "secret.mkv", 4.0)
    film = make_video(library / "Film (2001).mkv", 4.0)
    checked = LibraryRoots([LibraryRoot(str(library))]).real_path_blocking(film)
    assert keyframe_index_blocking(checked, None) is not None  # the library's own film: read
    film.unlink()
    film.symlink_to(secret)
    with pytest.raises(ApiError) as caught:
        keyframe_index_blocking(checked, None)
    assert (caught.value.status, caught.value.code) == (404, "file_missing")
    with pytest.raises(ApiError) as seeking:  # a progressive stream asked to start at 2 s
        stream_start_blocking(checked, copy_plan(), 2.0)
    assert (seeking.value.status, seeking.value.code) == (404, "file_missing")
    assert os.path.realpath(film) == str(secret)
