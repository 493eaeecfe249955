"""Online metadata end to end: TMDB, MusicBrainz and the Cover Art Archive (fakes answering the
real APIs' shapes) reached by their real host names inside a private network namespace.

One run of world.py (a real server, a real scan of real files, the fakes) is judged by each
test here: what items gained, what local metadata kept, how MusicBrainz was paced, how a
provider answering 500 or hanging was retried, "Fix match" and lock, the ledger, and that
nothing about people or files left. Needs root and `ip` (skipped otherwise).
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from core import __version__
from tests import netns
from tests.core.enrichment import fakes

MISSING = netns.unavailable_reason()
pytestmark = pytest.mark.skipif(MISSING is not None, reason=str(MISSING))
ROOT = Path(__file__).resolve().parents[3]
HOSTS = "api.themoviedb.org image.tmdb.org musicbrainz.org coverartarchive.org archive.org"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, measured: Path) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("online")
    with netns.network_namespace("hI-meta") as ns:
        etc = Path("/etc/netns") / ns.name
        etc.mkdir(parents=True, exist_ok=True)
        (etc / "hosts").write_text(f"127.0.0.1 localhost\n{netns.PEER_ADDRESS} {HOSTS}\n")
        try:
            done = subprocess.run(
                [
                    *ns.prefix,
                    sys.executable,
                    "-m",
                    "tests.core.enrichment.world",
                    str(folder),
                    str(measured),
                ],
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=300,
                env={**os.environ, "HEARTH_ALLOW_ROOT": "1"},
            )
        finally:
            shutil.rmtree(etc, ignore_errors=True)
    assert done.returncode == 0, done.stderr[-4000:]
    result: dict[str, Any] = json.loads((folder / "result.json").read_text())
    api = result["api_ms"]
    if api["p95"] is None:
        print(f"API while enriching: not measured ({api['count']} requests)")
    else:
        print(
            f"API while enriching: {api['count']} requests, p50 {api['p50']:.1f} ms, "
            f"p95 {api['p95']:.1f} ms"
        )
    return result


def meta(result: dict[str, Any], phase: str, key: str) -> dict[str, Any]:
    found: dict[str, Any] = result[phase][key]["metadata"]
    return found


def test_a_movie_gains_plot_poster_backdrop_cast_and_the_owners_certification(
    world: dict[str, Any],
) -> None:
    matrix = meta(world, "first", "movie:The Matrix")
    assert matrix["plot"] == "A hacker learns what the Matrix is."
    assert matrix["content_rating"] == "R"  # the US one (the default country), not DE's 16
    assert matrix["original_title"] == "The Matrix"
    assert matrix["premiered"] == "1999-03-30"
    assert {"name": "Keanu Reeves", "role": "actor", "character": "Neo"} in matrix["people"]
    assert {"name": "Lana Wachowski", "role": "director"} in matrix["people"]
    assert matrix["external_ids"] == {"tmdb": "603", "imdb": "tt0133093"}
    assert sorted(matrix["artwork"]) == ["fanart", "poster"]
    assert all(ref.startswith("online:") for ref in matrix["artwork"].values())
    assert world["poster"] == [200, "image/jpeg"]


def test_nfo_values_win_and_online_fills_only_what_is_missing(world: dict[str, Any]) -> None:
    heat = meta(world, "first", "movie:Heat")
    assert heat["plot"] == "Our own plot of Heat."  # movie.nfo, not TMDB's
    assert heat["tagline"] == "Heat: the tagline"  # the nfo has none
    assert heat["artwork"]["poster"].startswith("online:")


def test_a_show_with_two_seasons_gains_season_posters_and_its_episode_guide(
    world: dict[str, Any],
) -> None:
    show = meta(world, "first", "show:Night Shift")
    assert show["plot"] == "Doctors on the night shift."
    assert show["content_rating"] == "TV-14"
    assert show["artwork"]["poster"].startswith("online:")
    for number in (1, 2):
        season = meta(world, "first", f"season:{number}")
        assert season["plot"] == f"Season {number} overview."
        assert season["artwork"]["poster"].startswith("online:")
    titles = {key: world["first"][key]["title"] for key in world["first"] if "episode" in key}
    assert titles == {
        "episode:S1E1": "Pilot",
        "episode:S1E2": "Second Shift",
        "episode:S2E1": "Back on Duty",
        "episode:S2E2": "Overtime",
    }
    overtime = meta(world, "first", "episode:S2E2")
    assert overtime["plot"] == "Overview of Overtime."
    assert overtime["premiered"] == "2015-03-08"
    assert overtime["artwork"]["thumb"].startswith("online:")
    guides = [r["path"] for r in world["requests"]["tmdb"] if "/season/" in r["path"]]
    assert sorted(guides) == ["/3/tv/1399/season/1", "/3/tv/1399/season/2"]  # one per season


def test_albums_with_and_without_mbids_gain_covers_dates_and_artist_sort_names(
    world: dict[str, Any],
) -> None:
    ok = meta(world, "first", "album:OK Computer")
    dummy = meta(world, "first", "album:Dummy")
    assert ok["premiered"] == "1997-05-21" and dummy["premiered"] == "1994-08-22"
    assert ok["external_ids"]["musicbrainz_album"] == fakes.OK_COMPUTER
    assert dummy["external_ids"]["musicbrainz_album"] == fakes.DUMMY
    assert ok["artwork"]["poster"].startswith("online:")
    assert dummy["artwork"]["poster"].startswith("online:")
    assert meta(world, "first", "artist:Radiohead")["sort_title"] == "Radiohead"
    paths = [r["path"] for r in world["requests"]["musicbrainz"]]
    searches = [
        r["query"]["query"] for r in world["requests"]["musicbrainz"] if "query" in r["query"]
    ]
    assert f"/ws/2/release/{fakes.OK_COMPUTER}" in paths  # straight from the tags' MBID
    assert f"/ws/2/artist/{fakes.RADIOHEAD}" in paths
    assert searches == [
        'artist:"Portishead"',
        'release:"Dummy" AND artist:"Portishead"',
        'release:"Third" AND artist:"Portishead"',
    ]
    first = world["first_requests"]
    covers = [r["path"] for r in world["requests"]["caa"][: first["caa"]]]
    assert sorted(covers) == sorted(
        f"/release/{m}/front-500" for m in (fakes.OK_COMPUTER, fakes.DUMMY, fakes.THIRD)
    )
    assert first["archive"] == 3  # the redirect was followed, through the gate


def test_a_cover_redirected_to_a_host_the_owner_did_not_enable_is_skipped_not_a_fault(
    world: dict[str, Any],
) -> None:
    third = meta(world, "first", "album:Third")
    assert third["external_ids"]["musicbrainz_album"] == fakes.THIRD
    assert third["premiered"] == "2008-04-28"
    assert "poster" not in third.get("artwork", {})
    refused = [e for e in world["privacy"]["ledger"]["entries"] if not e["allowed"]]
    assert [(e["plugin"], e["host"], e["purpose"]) for e in refused] == [
        ("musicbrainz", fakes.STORAGE_NODE, "cover for an album")
    ]
    assert (
        f"WARNING hearth.egress: Refused {fakes.STORAGE_NODE} for the musicbrainz plugin: "
        f"{fakes.STORAGE_NODE} is not enabled by the owner (hearth: egress: musicbrainz)"
    ) in world["warnings"]
    assert world["status"]["musicbrainz"]["failed"] == 0


def test_musicbrainz_gets_at_most_one_request_a_second_naming_hearth(world: dict[str, Any]) -> None:
    requests = world["requests"]["musicbrainz"]
    times = [r["at"] for r in requests]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    rate = (len(times) - 1) / (times[-1] - times[0])
    print(f"MusicBrainz: {len(times)} requests, {rate:.2f}/s, shortest gap {min(gaps):.3f} s")
    assert len(requests) == 8
    # sends are spaced by 1 s; what arrives may be a little late or early on a busy box
    assert times[-1] - times[0] >= 0.9 * (len(times) - 1)
    assert min(gaps) >= 0.5  # and never two at once
    agent = f"Hearth/{__version__} ( a self-hosted home media server )"
    assert {r["agent"] for r in requests} == {agent}


def test_a_provider_answering_500_or_timing_out_is_retried_later_and_catches_up(
    world: dict[str, Any],
) -> None:
    tmdb = world["status"]["tmdb"]
    # two 500s and one timeout (a busy box may time out another lookup: it is retried too)
    assert tmdb["failed"] >= 3 and tmdb["state"] == "idle"
    assert meta(world, "first", "movie:Broken")["external_ids"]["tmdb"] == "710"
    assert meta(world, "first", "movie:Slow")["external_ids"]["tmdb"] == "711"
    details = [e["detail"] for e in world["privacy"]["ledger"]["entries"]]
    assert details.count("GET -> 500 via 198.18.0.2") == 2
    assert "cancelled" in details  # the hung request, given up after `timeout: 2`
    assert (
        "WARNING hearth.enrichment: Metadata provider tmdb failed "
        "(api.themoviedb.org answered 500); trying again later"
    ) in world["warnings"]
    assert world["status"]["musicbrainz"]["failed"] == 0  # the other provider never waited


def test_fix_match_picks_another_result_and_lock_keeps_local_metadata(
    world: dict[str, Any],
) -> None:
    status, found = world["search"]
    assert status == 200
    assert [(r["match_id"], r["title"]) for r in found["results"]] == [
        ("603", "The Matrix"),
        ("604", "The Matrix Reloaded"),
    ]
    picked = world["picked"][1]["matches"]
    assert picked == [
        {
            "provider": "tmdb",
            "state": "matched",
            "match_id": "604",
            "confidence": 1.0,
            "locked": True,
            "failures": 0,
            "error": None,
        }
    ]
    matrix = meta(world, "second", "movie:The Matrix")
    assert matrix["plot"] == "Neo and the rebels fight on."
    assert matrix["external_ids"]["tmdb"] == "604"
    assert "fanart" not in matrix["artwork"]  # the old match's backdrop went with it
    assert world["locked"][1]["matches"][0]["state"] == "local"
    heat = meta(world, "second", "movie:Heat")
    assert heat == {"plot": "Our own plot of Heat.", "title": "Heat", "year": 1995}
    assert world["tmdb_requests_after_rescan"] == 0  # matched and locked items are not asked again


def test_pictures_lost_from_the_cache_are_fetched_again_without_asking_the_api(
    world: dict[str, Any],
) -> None:
    assert world["pictures_missing"] == []
    assert world["pictures_fetched_again"] >= 10  # posters, backdrops, stills of what stayed
    assert world["tmdb_requests_after_rescan"] == 0


def test_a_rescan_where_nothing_changed_writes_and_asks_nothing(world: dict[str, Any]) -> None:
    assert world["idle_changes"] == []  # catalog, its WAL, caches, pictures: untouched


def test_the_ledger_lists_every_request_with_host_purpose_and_bytes(world: dict[str, Any]) -> None:
    ledger = world["privacy"]["ledger"]
    received = sum(len(requests) for requests in world["requests"].values())
    assert ledger["total"] == received + 1  # and the refused storage node
    entries = ledger["entries"]
    assert {e["host"] for e in entries} == {*HOSTS.split(), fakes.STORAGE_NODE}
    purposes = {(e["plugin"], e["host"], e["purpose"]) for e in entries}
    assert ("tmdb", "image.tmdb.org", "poster for a movie") in purposes
    assert ("tmdb", "image.tmdb.org", "still for an episode") in purposes
    assert ("tmdb", "api.themoviedb.org", "episode guide of a season") in purposes
    assert ("musicbrainz", "coverartarchive.org", "cover for an album") in purposes
    assert ("musicbrainz", "archive.org", "cover for an album") in purposes
    assert all(e["bytes_in"] > 0 for e in entries if e["detail"].startswith("GET -> 200"))
    assert all(e["purpose"] and e["plugin"] in ("tmdb", "musicbrainz") for e in entries)
    by_plugin = world["privacy"]["sent"]
    music = sum(len(world["requests"][n]) for n in ("musicbrainz", "caa", "archive"))
    assert by_plugin["tmdb"]["refused"] == 0 and by_plugin["musicbrainz"]["requests"] == music
    assert by_plugin["musicbrainz"]["refused"] == 1
    archive = len(world["requests"]["archive"])
    assert by_plugin["musicbrainz"]["purposes"]["cover for an album (archive.org)"] == archive


def test_only_titles_years_and_ids_leave_never_paths_people_or_addresses(
    world: dict[str, Any],
) -> None:
    sent = json.dumps([[r["path"], r["query"]] for rs in world["requests"].values() for r in rs])
    for secret in (".mkv", ".mp3", "/tmp", "media", "owner", "127.0.0.1", "Season 0"):
        assert secret not in sent
    tmdb_keys = {key for r in world["requests"]["tmdb"] for key in r["query"]}
    assert tmdb_keys <= {
        "api_key",
        "language",
        "query",
        "year",
        "first_air_date_year",
        "include_adult",
        "append_to_response",
    }


def test_the_web_app_shows_the_online_pictures_and_plots(world: dict[str, Any]) -> None:
    """Screenshots in test-artifacts/web/online-*.png (where Chromium is available)."""
    if not world["screens"]:
        pytest.skip("Playwright or Chromium is not available to take the screenshots")
    assert world["screens"] == [
        f"online-{n}.png" for n in ("home", "movie", "show", "season", "album")
    ]
