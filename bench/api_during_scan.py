"""Browsing latency while a scan runs: p50/p95 of API calls during a 10k-item first scan,
against the same calls on the idle server afterwards (the reference, in the same run).

Why: a household browses from the TV while the Pi is still scanning a new drive; the issue's
target is p95 ≤ 50 ms during a scan. The server listens on 127.0.0.1 with mDNS off (no
multicast leaves the box); the load is one client at a bounded rate for a bounded time.
Usage: .venv/bin/python bench/api_during_scan.py [--items 10000] [--rate 20]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import mediagen  # noqa: E402

HEARTH = str(ROOT / ".venv" / "bin" / "hearth")
PATHS = ("/api/items?limit=50&sort=added", "/api/libraries", "/api/items?q=show&limit=20")


def call(url: str, token: str) -> float:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    began = time.perf_counter()
    with urllib.request.urlopen(request, timeout=10) as reply:
        reply.read()
    return (time.perf_counter() - began) * 1000


def sample(base: str, token: str, rate: float, seconds: float, until: object = None) -> list[float]:
    """Calls at `rate` per second for `seconds` (or while `until()` is true)."""
    timings: list[float] = []
    began = time.monotonic()
    n = 0
    while time.monotonic() - began < seconds and (until is None or until()):  # type: ignore[operator]
        timings.append(call(base + PATHS[n % len(PATHS)], token))
        n += 1
        time.sleep(max(0.0, began + n / rate - time.monotonic()))
    return timings


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 20 else max(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=10000)
    parser.add_argument("--rate", type=float, default=20.0)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hearth-api-bench-"))
    try:
        mediagen.generate(work / "tree", args.items, hostile=False, dir_loop=False)
        config = work / "config"
        config.mkdir()
        tree = work / "tree"
        libraries = "".join(
            f"    - {{name: {n}, kind: {k}, paths: ['{tree / n}']}}\n"
            for n, k in (
                ("Movies", "movies"),
                ("TV", "shows"),
                ("Music", "music"),
                ("Photos", "photos"),
            )
        )
        (config / "configuration.yaml").write_text(
            f"hearth:\n  data_dir: {work / 'data'}\n  http: {{host: 127.0.0.1, port: 18471}}\n"
            "  network: {interfaces: [127.0.0.1], mdns: false}\n"
            f"folders:\n  watch: false\n  libraries:\n{libraries}"
            "nfo:\nembedded:\nfilename:\nlocal_artwork:\n"
        )
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
            input="benchmark-password\n",
            text=True,
            check=True,
            capture_output=True,
        )
        server = subprocess.Popen(
            [HEARTH, "run", "--allow-root", "-c", str(config)], stderr=subprocess.PIPE, text=True
        )
        try:
            assert server.stderr is not None
            for line in server.stderr:
                if re.search(r"serving on port", line):
                    break
            # keep reading the log: a full pipe would block the server's logging, and its loop
            threading.Thread(target=lambda: [None for _ in server.stderr], daemon=True).start()
            base = "http://127.0.0.1:18471"
            login = urllib.request.Request(
                base + "/api/auth/login",
                method="POST",
                data=json.dumps({"username": "bench", "password": "benchmark-password"}).encode(),
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(login, timeout=10) as reply:
                token = json.load(reply)["token"]

            def scanning() -> bool:
                request = urllib.request.Request(
                    base + "/api/scan", headers={"Authorization": f"Bearer {token}"}
                )
                with urllib.request.urlopen(request, timeout=10) as reply:
                    status = json.load(reply)
                return status["state"] != "idle" or bool(status["queued"])

            during = sample(base, token, args.rate, 300, scanning)
            idle = sample(base, token, args.rate, 10)
        finally:
            server.terminate()
            server.wait(timeout=15)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"API latency, {args.items} items, {args.rate:.0f} req/s, paths: {', '.join(PATHS)}")
    print(
        f"  during the first scan: n={len(during)}  p50 {statistics.median(during):6.1f} ms"
        f"  p95 {p95(during):6.1f} ms  (target p95 ≤ 50 ms)"
    )
    print(
        f"  idle (reference):      n={len(idle)}  p50 {statistics.median(idle):6.1f} ms"
        f"  p95 {p95(idle):6.1f} ms"
    )
    print(f"  ratio p95 scan/idle:   {p95(during) / p95(idle):.2f}x")


if __name__ == "__main__":
    main()
