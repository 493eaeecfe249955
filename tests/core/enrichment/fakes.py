"""Stand-ins for TMDB, MusicBrainz, the Cover Art Archive and archive.org, for tests.

Small aiohttp apps answering the documented JSON shapes of the real APIs (TMDB v3 search,
movie, tv and season; MusicBrainz WS/2 release and artist lookups and searches; the Cover Art
Archive's `front-500` redirect to archive.org) for a handful of made-up titles. Each records
every request (time, path, query, User-Agent) so tests can check what left the box and how
fast. `trouble` makes a title answer 500 or hang a given number of times.
"""

from __future__ import annotations

import asyncio
import io
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from PIL import Image

API_KEY = "test-tmdb-key"
RADIOHEAD = "a74b1b7f-71a5-4011-9441-d0b5e4122711"
OK_COMPUTER = "b1392450-e666-3926-a536-22c65f834433"
PORTISHEAD = "8f6bd1e4-fbe1-4f50-aa9b-94c450ec0f11"
DUMMY = "76df3287-6cda-33eb-8e9a-044b5e15ffdd"
THIRD = "f3b6b8a1-8b7e-4b8e-9a51-3c1c2a0e7d11"
STORAGE_NODE = "ia800100.us.archive.org"
"""Where archive.org sends a download on to: a host no manifest can list in advance."""


@dataclass
class Seen:
    """Requests one fake received."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    trouble: dict[str, list[str]] = field(default_factory=dict)  # query word -> ["500", "hang"]

    def note(self, request: web.Request) -> None:
        self.requests.append(
            {
                "at": time.monotonic(),
                "path": request.path,
                "query": dict(request.query),
                "agent": request.headers.get("User-Agent", ""),
                "host": request.host,
            }
        )

    async def troubled(self, word: str) -> web.Response | None:
        plan = self.trouble.get(word)
        if not plan:
            return None
        step = plan.pop(0)
        if step == "hang":
            await asyncio.sleep(30)
        return web.json_response(
            {"status_code": 11, "status_message": "Internal error."}, status=500
        )


def jpeg(colour: tuple[int, int, int], size: tuple[int, int] = (300, 450)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG")
    return out.getvalue()


def _crew() -> dict[str, Any]:
    return {
        "cast": [{"id": 6384, "name": "Keanu Reeves", "character": "Neo", "order": 0}],
        "crew": [
            {"id": 9340, "name": "Lana Wachowski", "job": "Director", "department": "Directing"}
        ],
    }


MOVIES: dict[int, dict[str, Any]] = {
    603: {
        "title": "The Matrix",
        "release_date": "1999-03-30",
        "poster_path": "/matrix.jpg",
        "backdrop_path": "/matrix-bg.jpg",
        "overview": "A hacker learns what the Matrix is.",
        "imdb_id": "tt0133093",
        "cert": "R",
    },
    604: {
        "title": "The Matrix Reloaded",
        "release_date": "2003-05-15",
        "poster_path": "/reloaded.jpg",
        "backdrop_path": None,
        "overview": "Neo and the rebels fight on.",
        "imdb_id": "tt0234215",
        "cert": "R",
    },
    949: {
        "title": "Heat",
        "release_date": "1995-12-15",
        "poster_path": "/heat.jpg",
        "backdrop_path": "/heat-bg.jpg",
        "overview": "TMDB's plot of Heat.",
        "imdb_id": "tt0113277",
        "cert": "R",
    },
    710: {
        "title": "Broken",
        "release_date": "2001-01-01",
        "poster_path": "/broken.jpg",
        "backdrop_path": None,
        "overview": "A film whose lookup fails at first.",
        "imdb_id": None,
        "cert": "PG",
    },
    711: {
        "title": "Slow",
        "release_date": "2002-02-02",
        "poster_path": "/slow.jpg",
        "backdrop_path": None,
        "overview": "A film whose lookup hangs at first.",
        "imdb_id": None,
        "cert": "PG-13",
    },
}
SHOW_ID = 1399
EPISODES = {
    1: [("Pilot", "2014-05-27"), ("Second Shift", "2014-06-03")],
    2: [("Back on Duty", "2015-03-01"), ("Overtime", "2015-03-08")],
}


def tmdb_app(seen: Seen) -> web.Application:
    """api.themoviedb.org/3: search/movie, search/tv, movie/{id}, tv/{id}, tv/{id}/season/{n}."""

    async def guard(request: web.Request) -> web.Response | None:
        seen.note(request)
        if request.query.get("api_key") != API_KEY:
            return web.json_response(
                {
                    "status_code": 7,
                    "status_message": "Invalid API key: You must be granted a valid key.",
                    "success": False,
                },
                status=401,
            )
        return None

    def movie_summary(movie_id: int) -> dict[str, Any]:
        m = MOVIES[movie_id]
        return {
            "id": movie_id,
            "title": m["title"],
            "original_title": m["title"],
            "release_date": m["release_date"],
            "overview": m["overview"],
            "poster_path": m["poster_path"],
            "backdrop_path": m["backdrop_path"],
            "genre_ids": [28],
        }

    async def search_movie(request: web.Request) -> web.Response:
        if (refused := await guard(request)) is not None:
            return refused
        query = request.query.get("query", "").casefold()
        if (trouble := await seen.troubled(query)) is not None:
            return trouble
        hits = [i for i, m in MOVIES.items() if query and query in m["title"].casefold()]
        results = [movie_summary(i) for i in hits]
        return web.json_response(
            {"page": 1, "results": results, "total_pages": 1, "total_results": len(results)}
        )

    async def movie(request: web.Request) -> web.Response:
        if (refused := await guard(request)) is not None:
            return refused
        movie_id = int(request.match_info["id"])
        if movie_id not in MOVIES:
            return web.json_response({"status_code": 34, "success": False}, status=404)
        m = MOVIES[movie_id]
        body = {
            **movie_summary(movie_id),
            "tagline": f"{m['title']}: the tagline",
            "genres": [{"id": 28, "name": "Action"}],
            "vote_average": 8.2,
            "imdb_id": m["imdb_id"],
            "runtime": 136,
            "production_companies": [{"id": 79, "name": "Village Roadshow Pictures"}],
            "credits": _crew(),
            "release_dates": {
                "results": [
                    {"iso_3166_1": "DE", "release_dates": [{"certification": "16", "type": 3}]},
                    {
                        "iso_3166_1": "US",
                        "release_dates": [{"certification": m["cert"], "type": 3}],
                    },
                ]
            },
        }
        return web.json_response(body)

    async def search_tv(request: web.Request) -> web.Response:
        if (refused := await guard(request)) is not None:
            return refused
        hit = "night shift" in request.query.get("query", "").casefold()
        results = (
            [
                {
                    "id": SHOW_ID,
                    "name": "Night Shift",
                    "original_name": "Night Shift",
                    "first_air_date": "2014-05-27",
                    "overview": "Doctors on the night shift.",
                    "poster_path": "/show.jpg",
                    "backdrop_path": "/show-bg.jpg",
                }
            ]
            if hit
            else []
        )
        return web.json_response(
            {"page": 1, "results": results, "total_pages": 1, "total_results": len(results)}
        )

    async def tv(request: web.Request) -> web.Response:
        if (refused := await guard(request)) is not None:
            return refused
        seasons = [
            {
                "season_number": n,
                "name": f"Season {n}",
                "poster_path": f"/s{n}.jpg",
                "episode_count": 2,
                "air_date": EPISODES[n][0][1],
            }
            for n in EPISODES
        ]
        return web.json_response(
            {
                "id": SHOW_ID,
                "name": "Night Shift",
                "original_name": "Night Shift",
                "first_air_date": "2014-05-27",
                "overview": "Doctors on the night shift.",
                "poster_path": "/show.jpg",
                "backdrop_path": "/show-bg.jpg",
                "seasons": seasons,
                "genres": [{"id": 18, "name": "Drama"}],
                "networks": [{"id": 6, "name": "NBC"}],
                "credits": _crew(),
                "vote_average": 7.1,
                "content_ratings": {"results": [{"iso_3166_1": "US", "rating": "TV-14"}]},
            }
        )

    async def season(request: web.Request) -> web.Response:
        if (refused := await guard(request)) is not None:
            return refused
        number = int(request.match_info["n"])
        if int(request.match_info["id"]) != SHOW_ID or number not in EPISODES:
            return web.json_response({"status_code": 34, "success": False}, status=404)
        episodes = [
            {
                "id": number * 100 + i,
                "episode_number": i,
                "season_number": number,
                "name": name,
                "overview": f"Overview of {name}.",
                "air_date": date,
                "still_path": f"/e{number}{i}.jpg",
                "vote_average": 7.0,
                "crew": [],
                "guest_stars": [],
            }
            for i, (name, date) in enumerate(EPISODES[number], start=1)
        ]
        return web.json_response(
            {
                "_id": f"s{number}",
                "id": number,
                "season_number": number,
                "name": f"Season {number}",
                "overview": f"Season {number} overview.",
                "air_date": EPISODES[number][0][1],
                "poster_path": f"/s{number}.jpg",
                "episodes": episodes,
            }
        )

    app = web.Application()
    app.router.add_get("/3/search/movie", search_movie)
    app.router.add_get("/3/search/tv", search_tv)
    app.router.add_get("/3/movie/{id}", movie)
    app.router.add_get("/3/tv/{id}", tv)
    app.router.add_get("/3/tv/{id}/season/{n}", season)
    return app


def images_app(seen: Seen, prefix: str, onward: dict[str, str] | None = None) -> web.Application:
    """An image host: any `{prefix}/...jpg` is a small JPEG (archive.org, image.tmdb.org), but
    a path holding a key of `onward` is redirected (302) to that host, as archive.org sends
    some downloads on to one of its storage nodes."""

    async def picture(request: web.Request) -> web.Response:
        seen.note(request)
        for key, host in (onward or {}).items():
            if key in request.path:
                raise web.HTTPFound(f"http://{host}{request.path}")
        shade = sum(request.path.encode()) % 200
        return web.Response(body=jpeg((shade, 80, 120)), content_type="image/jpeg")

    app = web.Application()
    app.router.add_get(prefix + "/{tail:.*}", picture)
    return app


RELEASES = {
    OK_COMPUTER: ("OK Computer", "1997-05-21", RADIOHEAD, "Radiohead"),
    DUMMY: ("Dummy", "1994-08-22", PORTISHEAD, "Portishead"),
    THIRD: ("Third", "2008-04-28", PORTISHEAD, "Portishead"),
}
ARTISTS = {RADIOHEAD: ("Radiohead", "Radiohead"), PORTISHEAD: ("Portishead", "Portishead")}


def _release(mbid: str, score: int | None = None) -> dict[str, Any]:
    title, date, artist, name = RELEASES[mbid]
    body: dict[str, Any] = {
        "id": mbid,
        "title": title,
        "date": date,
        "status": "Official",
        "country": "GB",
        "artist-credit": [
            {
                "name": name,
                "joinphrase": "",
                "artist": {"id": artist, "name": name, "sort-name": ARTISTS[artist][1]},
            }
        ],
        "release-group": {"id": f"rg-{mbid[:8]}", "primary-type": "Album", "title": title},
    }
    if score is not None:
        body["score"] = score
    else:
        body["genres"] = [
            {"name": "alternative rock" if mbid == OK_COMPUTER else "trip hop", "count": 3}
        ]
        body["cover-art-archive"] = {"artwork": True, "count": 1, "front": True, "back": False}
    return body


def musicbrainz_app(seen: Seen) -> web.Application:
    """musicbrainz.org/ws/2: release and artist lookups (by MBID) and searches, fmt=json."""

    def quoted(query: str, field_name: str) -> str:
        part = query.split(f"{field_name}:", 1)[1] if f"{field_name}:" in query else ""
        return part.split('"')[1].casefold() if part.count('"') >= 2 else ""

    async def release(request: web.Request) -> web.Response:
        seen.note(request)
        mbid = request.match_info["mbid"]
        if mbid not in RELEASES:
            return web.json_response({"error": "Not Found"}, status=404)
        return web.json_response(_release(mbid))

    async def search_release(request: web.Request) -> web.Response:
        seen.note(request)
        title = quoted(request.query.get("query", ""), "release")
        hits = [_release(m, 100) for m, r in RELEASES.items() if r[0].casefold() == title]
        return web.json_response(
            {
                "created": "2026-01-01T00:00:00.000Z",
                "count": len(hits),
                "offset": 0,
                "releases": hits,
            }
        )

    async def artist(request: web.Request) -> web.Response:
        seen.note(request)
        mbid = request.match_info["mbid"]
        if mbid not in ARTISTS:
            return web.json_response({"error": "Not Found"}, status=404)
        name, sort = ARTISTS[mbid]
        return web.json_response({"id": mbid, "name": name, "sort-name": sort, "type": "Group"})

    async def search_artist(request: web.Request) -> web.Response:
        seen.note(request)
        name = quoted(request.query.get("query", ""), "artist")
        hits = [
            {"id": m, "score": 100, "name": a[0], "sort-name": a[1]}
            for m, a in ARTISTS.items()
            if a[0].casefold() == name
        ]
        return web.json_response(
            {
                "created": "2026-01-01T00:00:00.000Z",
                "count": len(hits),
                "offset": 0,
                "artists": hits,
            }
        )

    app = web.Application()
    app.router.add_get("/ws/2/release/{mbid}", release)
    app.router.add_get("/ws/2/release", search_release)
    app.router.add_get("/ws/2/release/", search_release)
    app.router.add_get("/ws/2/artist/{mbid}", artist)
    app.router.add_get("/ws/2/artist", search_artist)
    app.router.add_get("/ws/2/artist/", search_artist)
    return app


def cover_art_app(seen: Seen, archive: str) -> web.Application:
    """coverartarchive.org: `/release/{mbid}/front-500` redirects (307) to archive.org."""

    async def front(request: web.Request) -> web.Response:
        seen.note(request)
        mbid = request.match_info["mbid"]
        if mbid not in RELEASES:
            return web.Response(status=404, text="Not Found")
        target = f"{archive}/download/mbid-{mbid}/mbid-{mbid}-1_thumb500.jpg"
        raise web.HTTPTemporaryRedirect(target)

    app = web.Application()
    app.router.add_get("/release/{mbid}/front-500", front)
    return app
