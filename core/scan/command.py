"""`hearth scan`: scan libraries from the command line, with or without a running server.

With a server running on this box it asks the server to scan (one writer for the catalog) and
follows its progress; without one it scans straight into the catalog, through the catalog, scans
and sources of a one-shot hub the command line opens (core.cli), and exits when done. It shows a
progress bar and a summary of counts and errors. It never starts HTTP or discovery.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from core.configuration import Configuration
from core.library.queries import libraries_blocking, scan_errors_blocking

if TYPE_CHECKING:
    from core.catalog import Catalog
    from core.kinds import LibrarySource
    from core.registry import Registry
    from core.scan.manager import ScanManager

ScanHere = Callable[[Configuration, str | None], Coroutine[Any, Any, int]]
"""Scan with no server running: opens what `scan_here` needs, calls it, closes them (core.cli)."""

POLL = 0.5


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--library", help="scan only the library with this name")
    parser.add_argument(
        "--wait", action="store_true", help="with a server running: wait until the scan is done"
    )


def _server_url(config: Configuration) -> str | None:
    """The local server's URL if one answers on the configured port."""
    port = config.hearth.http.port
    if port == 0:
        return None
    host = config.hearth.http.host
    host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    url = f"http://{host}:{port}"
    try:
        with urllib.request.urlopen(f"{url}/api/health", timeout=1.0) as reply:
            return url if reply.status == 200 else None
    except (OSError, urllib.error.URLError):
        return None


def _bar(progress: dict[str, Any]) -> str:
    total = progress.get("to_probe") or 0
    done = progress.get("probed") or 0
    width = 24
    filled = int(width * done / total) if total else (width if progress["state"] == "done" else 0)
    eta = progress.get("eta_seconds")
    return (
        f"{progress['library'][:16]:<16} [{'#' * filled}{'.' * (width - filled)}] "
        f"seen {progress['seen']}, probed {done}/{total}, {progress['rate']:.0f} files/s"
        + (f", ETA {eta:.0f} s" if eta is not None else "")
    )


class ProgressPrinter:
    """A redrawn line on a terminal; a line every few seconds in a log."""

    def __init__(self) -> None:
        self._tty = sys.stderr.isatty()
        self._last = 0.0

    def show(self, progress: dict[str, Any] | None) -> None:
        if progress is None:
            return
        now = time.monotonic()
        if self._tty:
            sys.stderr.write("\r" + _bar(progress)[:120].ljust(120))
            sys.stderr.flush()
        elif now - self._last >= 5:
            print(_bar(progress), file=sys.stderr)
            self._last = now

    def done(self) -> None:
        if self._tty:
            sys.stderr.write("\n")


def _summary(
    libraries: list[dict[str, Any]], errors: list[dict[str, Any]], wanted: str | None
) -> int:
    shown = [lib for lib in libraries if wanted is None or lib["name"] == wanted]
    for library in shown:
        counts = ", ".join(f"{n} {k}s" for k, n in sorted(library["counts"].items())) or "empty"
        state = "" if library["online"] else " (offline)"
        print(f"{library['name']}{state}: {counts}")
    relevant = [e for e in errors if wanted is None or e["library"] == wanted]
    if relevant:
        print(f"{len(relevant)} file(s) could not be read:")
        for error in relevant[:20]:
            print(f"  {error['path']}: {error['error']}")
    return 0


async def _cli_key(config: Configuration, revoke: int | None = None) -> tuple[int, str] | None:
    """A short-lived device key of an owner, made in the catalog this command can read anyway
    (same box, same files): how the command proves itself to the running server. With
    `revoke`, deletes that key instead."""
    from core.catalog import Catalog
    from core.people.accounts import create_session_blocking

    catalog = await Catalog.open(config.hearth.data_dir)
    try:
        if revoke is not None:
            await catalog.write(
                lambda db: db.execute("DELETE FROM sessions WHERE id = ?", [revoke])
            )
            return None
        owner = await catalog.read(
            lambda db: db.execute(
                "SELECT id FROM users WHERE role IN ('owner', 'admin') ORDER BY role = 'admin', id"
            ).fetchone()
        )
        if owner is None:
            return None
        key = await catalog.write(
            lambda db: create_session_blocking(
                db, owner[0], "api_key", "hearth scan (command line)", None, "local", days=1 / 24
            )
        )
        return key.id, key.token
    finally:
        await catalog.close()


def _remote(url: str, library: str | None, wait: bool, token: str) -> int:
    body = json.dumps({"library": library} if library else {}).encode()
    auth = {"Authorization": f"Bearer {token}"}
    request = urllib.request.Request(
        f"{url}/api/scan",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", **auth},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            queued = json.load(reply)["queued"]
    except urllib.error.HTTPError as err:
        print(json.load(err)["error"]["message"], file=sys.stderr)
        return 1
    print(f"The server at {url} is scanning: {', '.join(queued)}", file=sys.stderr)
    if not wait:
        return 0
    printer = ProgressPrinter()
    seen_busy = False
    while True:
        with urllib.request.urlopen(
            urllib.request.Request(f"{url}/api/scan", headers=auth), timeout=10
        ) as reply:
            status = json.load(reply)
        printer.show(status["current"])
        busy = status["state"] != "idle" or bool(status["queued"])
        seen_busy = seen_busy or busy
        if not busy:
            break
        time.sleep(POLL)
    printer.done()
    with urllib.request.urlopen(
        urllib.request.Request(f"{url}/api/libraries", headers=auth), timeout=10
    ) as reply:
        libraries = json.load(reply)["libraries"]
    return _summary(libraries, status["errors"], library)


async def scan_here(
    catalog: Catalog, scans: ScanManager, sources: Registry[LibrarySource], library: str | None
) -> int:
    """Scan straight into the catalog (no server runs), showing progress; the exit status."""
    printer = ProgressPrinter()
    scans.run_alone()  # no server: the scan may use every core
    if library is None:
        scans.request_all()
    else:
        matches = [s for s in sources.values() if s.library.name == library]
        if not matches:
            names = ", ".join(s.library.name for s in sources.values())
            print(f"No library named {library!r} (have: {names})", file=sys.stderr)
            return 1
        for source in matches:
            scans.request(source.source_id)
    idle = asyncio.ensure_future(scans.wait_idle())
    while not idle.done():
        printer.show(scans.current.as_dict() if scans.current else None)
        await asyncio.wait([idle], timeout=POLL)
    printer.done()
    libraries = await catalog.read(libraries_blocking)
    errors = await catalog.read(scan_errors_blocking)
    failed = [p for p in scans.last.values() if p.state == "failed"]
    for progress in failed:
        print(f"{progress.library}: scan failed: {progress.message}", file=sys.stderr)
    return _summary(libraries, errors, library) or (1 if failed else 0)


def run_scan(config: Configuration, args: argparse.Namespace, here: ScanHere) -> int:
    """The command's body; `here` scans when no server answers on this box."""
    url = _server_url(config)
    if url is None:
        return asyncio.run(here(config, args.library))
    key = asyncio.run(_cli_key(config))
    if key is None:
        print(
            "The server is running but has no owner yet; finish the first-run step "
            "or run `hearth user add NAME --role owner` first.",
            file=sys.stderr,
        )
        return 1
    try:
        return _remote(url, args.library, args.wait, key[1])
    finally:
        asyncio.run(_cli_key(config, revoke=key[0]))
