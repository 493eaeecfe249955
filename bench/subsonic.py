"""Music apps' API on a big library: p50/p95 of the Subsonic calls apps make on every start, and
`stream` throughput against the core's direct-play route for the same file.

Why: a phone app opened on a 100k-track library asks for the artist list, the index, the newest
albums and searches before anything else; the issue's goal is every p95 <= 50 ms on this box
and `stream` >= 0.9x the core's `/api/items/{id}/stream` (both send the file the same way, so a
gap would be the API's own overhead). The library is `bench/mediagen.py`'s music tree (hardlinks
to one short sample, so it takes seconds to make), with the samples' tags removed so the
scanner takes artist, album and title from the folder and file names (shared tags would make
one album of everything), plus one real 10-minute MP3 for the stream figures. The server is
`hearth run` bound to 127.0.0.1 with mDNS off; one client, sequential calls, keep-alive, token
auth with an app password as most apps sign in. Answers kept per catalog version are measured
as apps meet them (the same call again); a search is also measured with a new word each call.
`--work DIR` keeps the tree and the scanned catalog, so later runs skip the first scan.
Usage: .venv/bin/python bench/subsonic.py [--tracks 100000] [--calls 100] [--work DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import random
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import mediagen  # noqa: E402

HEARTH = str(ROOT / ".venv" / "bin" / "hearth")
PORT = 18473
PASSWORD = "benchmark-password"
LONG = ("Bench Stream", "Long Play (2024)", "01 - Long Play.mp3")
STREAM_SECONDS = 600  # 320 kbit/s: a 24 MB file, like a long FLAC track
COMMON_WORD = mediagen.ADJECTIVES[0]  # one title in ~40 has it


class _Copies(dict[str, Path]):
    """The samples, with a fresh copy of a track sample every `LINKS` uses: ext4 allows 65,000
    hardlinks to one file."""

    LINKS = 50_000

    def __init__(self, samples: dict[str, Path]) -> None:
        super().__init__(samples)
        self.uses: dict[str, int] = {}

    def __getitem__(self, name: str) -> Path:
        path = super().__getitem__(name)
        used = self.uses[name] = self.uses.get(name, 0) + 1
        copy = used // self.LINKS
        if not name.startswith("track.") or copy == 0:
            return path
        numbered = path.with_name(f"{copy}-{path.name}")
        if not numbered.exists():
            shutil.copyfile(path, numbered)
        return numbered


def make_tree(tree: Path, tracks: int) -> None:
    """The music tree: untagged hardlinked tracks in Artist/Album (Year)/NN - Title, and one
    long real file for the stream figures."""
    from mutagen.flac import FLAC
    from mutagen.id3 import ID3

    samples = mediagen.make_samples(tree / mediagen.SAMPLES, 1)
    ID3(samples["track.mp3"]).delete()
    flac = FLAC(samples["track.flac"])
    flac.delete()
    flac.save()
    rng = random.Random("1-tracks")
    mediagen._tracks(mediagen._Tree(tree), _Copies(samples), rng, tracks)
    long = tree / "Music" / LONG[0] / LONG[1]
    long.mkdir(parents=True)
    mediagen._ffmpeg(
        *("-f", "lavfi", "-i", f"anoisesrc=d={STREAM_SECONDS}:c=pink:r=44100:a=0.3"),
        *("-c:a", "libmp3lame", "-b:a", "320k", "-map_metadata", "-1"),
        str(long / LONG[2]),
    )


def write_config(work: Path) -> Path:
    config = work / "config"
    config.mkdir(exist_ok=True)
    (config / "configuration.yaml").write_text(
        f"hearth:\n  data_dir: {work / 'data'}\n  http: {{host: 127.0.0.1, port: {PORT}}}\n"
        "  network: {interfaces: [127.0.0.1], mdns: false}\n"
        "folders:\n  watch: false\n  libraries:\n"
        f"    - {{name: Music, kind: music, paths: ['{work / 'tree' / 'Music'}']}}\n"
        "filename:\nlocal_artwork:\nsubsonic:\n"
    )
    if not (work / "data").exists():
        subprocess.run(
            [
                HEARTH,
                "user",
                "add",
                "bench",
                "--role",
                "owner",
                "--password-stdin",
                "-c",
                str(config),
            ],
            input=PASSWORD + "\n",
            text=True,
            check=True,
            capture_output=True,
        )
    return config


@contextmanager
def hearth(config: Path) -> Iterator[None]:
    """`hearth run` until the block ends."""
    # the benchmark runs as root, like the others; the server itself is bound to 127.0.0.1
    command = [HEARTH, "run", "--allow-root", "-c", str(config)]
    server = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        log = server.stderr
        assert log is not None
        said = []
        for line in log:
            said.append(line)
            if re.search(r"serving on port", line):
                break
        else:
            raise RuntimeError("hearth exited before serving:\n" + "".join(said[-10:]))
        # keep reading the log: a full pipe would block the server's logging, and its loop
        threading.Thread(target=lambda: [None for _ in log], daemon=True).start()
        yield
    finally:
        server.terminate()
        server.wait(timeout=30)


class Client:
    """One keep-alive connection, as an app holds one."""

    def __init__(self) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=120)
        self.token = ""

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, bytes]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        self.conn.request(method, path, body=data, headers=headers)
        reply = self.conn.getresponse()
        return reply.status, reply.read()

    def json(self, method: str, path: str, body: Any = None) -> Any:
        status, data = self.request(method, path, body)
        if status >= 300:
            raise RuntimeError(f"{method} {path}: {status} {data[:200]!r}")
        return json.loads(data)

    def download(self, path: str, token: str | None = None) -> int:
        """Read a whole answer in 256 KiB reads; its size."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.conn.request("GET", path, headers=headers)
        reply = self.conn.getresponse()
        size = 0
        while chunk := reply.read(256 * 1024):
            size += len(chunk)
        if reply.status != 200:
            raise RuntimeError(f"GET {path}: {reply.status}")
        return size


def sign_in(client: Client, work: Path) -> str:
    """The owner's session token, once the first scan is over; then the app password (one,
    kept in `work`: every app password of a person is tried on each call)."""
    client.token = client.json(
        "POST", "/api/auth/login", {"username": "bench", "password": PASSWORD}
    )["token"]
    while True:
        status = client.json("GET", "/api/scan")
        if status["state"] == "idle" and not status["queued"]:
            break
        time.sleep(1.0)
    kept = work / "app-password"
    if not kept.exists():
        made = client.json("POST", "/api/me/app-passwords", {"name": "bench"})
        kept.write_text(made["password"])
    return kept.read_text()


def rest_path(method: str, secret: str, **params: str) -> str:
    salt = secrets.token_hex(6)
    token = hashlib.md5((secret + salt).encode()).hexdigest()
    query = {"u": "bench", "t": token, "s": salt, "v": "1.16.1", "c": "bench", "f": "json"}
    return f"/rest/{method}.view?" + urllib.parse.urlencode({**query, **params})


def rest(client: Client, method: str, secret: str, **params: str) -> dict[str, Any]:
    answer: dict[str, Any] = client.json("GET", rest_path(method, secret, **params))[
        "subsonic-response"
    ]
    if answer["status"] != "ok":
        raise RuntimeError(f"{method}: {answer}")
    return answer


def timed(client: Client, method: str, secret: str, calls: int, **params: str) -> list[float]:
    for _ in range(3):  # warm: the first call of a kind fills SQLite's page cache
        rest(client, method, secret, **params)
    timings = []
    for _ in range(calls):
        path = rest_path(method, secret, **params)
        began = time.perf_counter()
        status, _ = client.request("GET", path)
        timings.append((time.perf_counter() - began) * 1000)
        assert status == 200
    return timings


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 20 else max(values)


def throughput(client: Client, path: str, token: str | None, times: int) -> float:
    """MB/s over `times` whole downloads."""
    began = time.perf_counter()
    size = sum(client.download(path, token) for _ in range(times))
    return size / (time.perf_counter() - began) / 1e6


def measure(args: argparse.Namespace, work: Path) -> None:
    if not (work / "tree").exists():
        began = time.perf_counter()
        make_tree(work / "tree", args.tracks)
        print(f"made {args.tracks} tracks in {time.perf_counter() - began:.0f} s", flush=True)
    config = write_config(work)
    began = time.perf_counter()
    with hearth(config):
        client = Client()
        secret = sign_in(client, work)
        print(f"server ready (scan included) in {time.perf_counter() - began:.0f} s", flush=True)
        songs = rest(client, "search3", secret, query="Long Play", songCount="1")
        song_id = songs["searchResult3"]["song"][0]["id"]
        count = sum(
            len(i["artist"]) for i in rest(client, "getArtists", secret)["artists"]["index"]
        )
        print(f"{count} artists; {args.calls} calls each, one client, keep-alive, token auth")
        cases = [
            ("getAlbumList2 newest 500", "getAlbumList2", {"type": "newest", "size": "500"}),
            (f"search3 {COMMON_WORD!r}", "search3", {"query": COMMON_WORD}),
            ("getArtists", "getArtists", {}),
            ("getIndexes", "getIndexes", {}),
        ]
        for label, method, params in cases:
            timings = timed(client, method, secret, args.calls, **params)
            print(
                f"  {label:26} p50 {statistics.median(timings):7.1f} ms"
                f"  p95 {p95(timings):7.1f} ms  (goal p95 <= 50 ms)",
                flush=True,
            )
        # searches are kept per catalog version: this line asks each word once, never kept
        words = [w for w in (*mediagen.ADJECTIVES, *mediagen.NOUNS) if w != COMMON_WORD]
        fresh = []
        for word in words:
            path = rest_path("search3", secret, query=word)
            began = time.perf_counter()
            status, _ = client.request("GET", path)
            fresh.append((time.perf_counter() - began) * 1000)
            assert status == 200
        print(
            f"  {'search3, new word each':26} p50 {statistics.median(fresh):7.1f} ms"
            f"  p95 {p95(fresh):7.1f} ms  ({len(words)} words, each once)",
            flush=True,
        )
        core_path = f"/api/items/{song_id}/stream"
        throughput(client, core_path, client.token, 1)  # warm the page cache
        core, sonic = [], []
        for _ in range(args.rounds):  # alternate, so load from neighbours hits both alike
            core.append(throughput(client, core_path, client.token, 3))
            sonic.append(throughput(client, rest_path("stream", secret, id=song_id), None, 3))
        # each round's pair ran back to back: their ratio cancels most of a shared box's noise
        ratio = statistics.median(s / c for s, c in zip(sonic, core, strict=True))
        print(
            f"  stream, 24 MB file: Subsonic {statistics.median(sonic):7.0f} MB/s,"
            f" core route {statistics.median(core):7.0f} MB/s: {ratio:.2f}x (goal >= 0.9x)"
        )
        # the box is shared: say how busy it was, since latencies follow it
        print("  load average (1, 5, 15 min): " + ", ".join(f"{v:.1f}" for v in os.getloadavg()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tracks", type=int, default=100_000)
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=25, help="stream rounds of 3 downloads")
    parser.add_argument("--work", type=Path, help="kept and reused (tree and catalog)")
    args = parser.parse_args()
    if args.work is not None:
        args.work.mkdir(parents=True, exist_ok=True)
        measure(args, args.work)
        return
    work = Path(tempfile.mkdtemp(prefix="hearth-subsonic-bench-"))
    try:
        measure(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
