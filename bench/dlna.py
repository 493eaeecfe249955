"""DLNA browsing benchmark: Hearth's ContentDirectory against MiniDLNA's, on the same tree.

Why: TVs page through big folders 100 objects at a time and some walk a whole library to build
their own index; the DLNA issue's target is a Browse p95 no worse than MiniDLNA's (the lean C
server people run on a Pi) for 100-item pages of a 5,000-child container, with a full walk of a
10k-item library measured beside it.

The tree: bench/mediagen.py's synthetic library (hardlinks to a few real files; its hostile
files except the directory loop, which MiniDLNA follows for minutes) plus one flat folder,
Videos/Flat, of `--flat` clips, so the whole tree holds `--items` media files. Both servers run
inside one private network namespace (SSDP multicast stays inside; nothing reaches a real
interface), bound to its veth address, each with a fresh database, scanned one after the other:
- MiniDLNA: `minidlnad -S`, installed from Debian when missing (as root, service start-up
  denied; see bench/scan.py), ready once its log says the scan finished.
- Hearth: `python -m core run` with `dlna: {ssdp: false}` and the shipped log level, ready once
  every library logged its scan, the playback engine finished calibrating and /api/health says
  the DLNA plugin has prepared every item's XML (plugins/dlna/fragments.py: like MiniDLNA's
  scan-time DLNA profiles, it is made after each scan; Browse builds items itself until then).
  An owner session is made in its catalog before it starts: the health detail needs it, and
  libraries hidden from TVs by default (home videos, photos) are ticked for TVs through the API
  as the owner would, since MiniDLNA shows every folder it is given.
The client runs inside the namespace too (this script again, with --client): plain aiohttp SOAP
POSTs, one at a time, timed from request to last byte (DIDL parsing is not counted). The two
servers are measured turn about, request by request, so a busy machine slows both alike.
- Pages: BrowseDirectChildren of the flat folder (found by title under each server's folder
  view), 100 per request, once with Filter "*" and once with Home Assistant's list (dlna_dms's
  DLNA_BROWSE_FILTER; TVs such as Sony's send lists too), the two in turn, page by page.
  "First read" is each page's first request with that Filter after the scan; "read again" is
  `--rounds` further passes (Hearth answers a repeated page from memory while what TVs may see
  and the SystemUpdateID are unchanged; MiniDLNA from a warm SQLite cache).
- Walks: every container reachable from the root "0" (all of each server's own views, so the
  object counts differ), and the folder views alone (the same files and folders on both),
  500 objects per request.

Usage (as root):  .venv/bin/python bench/dlna.py [--items 10000] [--flat 5000] [--rounds 3]
                  [--only hearth|minidlna] [--work-dir DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import mediagen  # noqa: E402
from bench.scan import FINISHED, LIBRARIES, Unavailable, minidlna_version, minidlnad  # noqa: E402
from tests import netns  # noqa: E402

ADDRESS = netns.LAN_ADDRESS
HEARTH_PORT, MINIDLNA_PORT = 18201, 18200
PAGE, WALK_PAGE = 100, 500
# Home Assistant's dlna_dms (DLNA_BROWSE_FILTER): what it asks for every page it shows.
HA_FILTER = "id,upnp:class,dc:title,res,@childCount,upnp:albumArtURI"
FILTERS = {"*": "*", "ha": HA_FILTER}
TOKEN_VARIABLE = "HEARTH_BENCH_TOKEN"  # the owner session, handed to the client
CD = "urn:schemas-upnp-org:service:ContentDirectory:1"
DIDL = "{urn:schemas-upnp-org:metadata-1-0/DIDL-Lite/}"
TITLE = "{http://purl.org/dc/elements/1.1/}title"
SERVERS = {
    "hearth": {
        "control": f"http://{ADDRESS}:{HEARTH_PORT}/dlna/control/ContentDirectory",
        "flat": ["0", "Home Videos", "Folders", "Flat"],
        "api": f"http://{ADDRESS}:{HEARTH_PORT}/api",
    },
    "minidlna": {
        "control": f"http://{ADDRESS}:{MINIDLNA_PORT}/ctl/ContentDir",
        "flat": ["64", "Videos", "Flat"],
    },
}


# --- the client (runs inside the namespace) ----------------------------------------------------


def _envelope(action: str, args: dict[str, str]) -> str:
    inner = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in args.items())
    return (
        '<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" '
        's:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body>'
        f'<u:{action} xmlns:u="{CD}">{inner}</u:{action}></s:Body></s:Envelope>'
    )


async def _call(http: Any, control: str, action: str, args: dict[str, str]) -> bytes:
    headers = {"Content-Type": 'text/xml; charset="utf-8"', "SOAPAction": f'"{CD}#{action}"'}
    async with http.post(control, data=_envelope(action, args), headers=headers) as r:
        body: bytes = await r.read()
        if r.status != 200:
            raise RuntimeError(f"{action} {args} answered {r.status}: {body[:300]!r}")
    return body


async def _browse(
    http: Any, control: str, object_id: str, start: int, count: int, flt: str = "*"
) -> tuple[float, bytes]:
    """(seconds to the last byte, body) of one BrowseDirectChildren."""
    args = {
        "ObjectID": object_id,
        "BrowseFlag": "BrowseDirectChildren",
        "Filter": flt,
        "StartingIndex": str(start),
        "RequestedCount": str(count),
        "SortCriteria": "",
    }
    began = time.perf_counter()
    body = await _call(http, control, "Browse", args)
    return time.perf_counter() - began, body


BROKEN = dict.fromkeys(SERVERS, 0)  # answers that were not UTF-8 (MiniDLNA copies names raw)


def _objects(body: bytes, control: str) -> tuple[list[tuple[str, str, bool]], int]:
    """[(id, title, is_container)] of a Browse answer, and TotalMatches."""
    from defusedxml import ElementTree

    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        BROKEN[next(n for n, server in SERVERS.items() if server["control"] == control)] += 1
        body = body.decode("utf-8", errors="replace").encode()
    envelope = ElementTree.fromstring(body)
    result = envelope.findtext(".//Result") or ""
    total = int(envelope.findtext(".//TotalMatches") or 0)
    found = []
    for element in ElementTree.fromstring(result) if result else []:
        is_container = element.tag == f"{DIDL}container"
        found.append((element.get("id", ""), element.findtext(TITLE) or "", is_container))
    return found, total


async def _children(
    http: Any, control: str, object_id: str
) -> tuple[list[tuple[str, str, bool]], int]:
    """Every child of a container, WALK_PAGE at a time; and how many requests that took."""
    found: list[tuple[str, str, bool]] = []
    requests = 0
    while True:
        _, body = await _browse(http, control, object_id, len(found), WALK_PAGE)
        requests += 1
        page, total = _objects(body, control)
        found += page
        if not page or len(found) >= total:
            return found, requests


async def _walk(http: Any, control: str, roots: list[str]) -> dict[str, float]:
    began = time.perf_counter()
    queue, objects, requests, containers = list(roots), 0, 0, 0
    while queue:
        children, used = await _children(http, control, queue.pop())
        requests += used
        objects += len(children)
        containers += sum(1 for c in children if c[2])
        queue += [c[0] for c in children if c[2]]
    return {
        "seconds": time.perf_counter() - began,
        "objects": objects,
        "requests": requests,
        "containers": containers,
    }


async def _find(http: Any, control: str, path: list[str]) -> str:
    object_id = path[0]
    for title in path[1:]:
        children, _ = await _children(http, control, object_id)
        match = [c[0] for c in children if c[1] == title]
        if not match:
            raise RuntimeError(f"no {title!r} under {object_id}: {[c[1] for c in children][:20]}")
        object_id = match[0]
    return object_id


async def _wait_for_hearth(http: Any, api: str) -> None:
    """Until the server answers, its playback engine has calibrated (a CPU-heavy encode) and
    the DLNA plugin has prepared every item's XML (what it does after each scan)."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            async with http.get(f"{api}/health") as response:
                data = await response.json()
                calibrated = (data.get("playback") or {}).get("transcodes", {}).get(
                    "source"
                ) not in (None, "until calibrated")
                dlna = next(p for p in data["plugins"] if p["domain"] == "dlna")
                if calibrated and dlna.get("detail", {}).get("pages_prepared"):
                    return
        await asyncio.sleep(0.5)
    raise RuntimeError("Hearth never finished calibrating and preparing its DLNA pages")


async def _show_every_library(http: Any, api: str, control: str) -> None:
    """Tick every library for TVs, as the owner does in the web app, and wait until the DLNA
    plugin has taken each change in (SystemUpdateID) and prepared its pages again."""
    async with http.get(f"{api}/libraries") as response:
        libraries = (await response.json())["libraries"]
    hidden = [library["id"] for library in libraries if not library["lan_visible"]]
    if not hidden:
        return
    before = await _update_id(http, control)
    for library_id in hidden:
        body = {"lan_visible": True}
        async with http.patch(f"{api}/libraries/{library_id}", json=body) as response:
            if response.status != 200:
                raise RuntimeError(f"cannot show library {library_id}: {await response.text()}")
    deadline = time.monotonic() + 60
    while await _update_id(http, control) < before + len(hidden):
        if time.monotonic() > deadline:
            raise RuntimeError("the DLNA plugin never saw the libraries change")
        await asyncio.sleep(0.2)
    await _wait_for_hearth(http, api)


async def _update_id(http: Any, control: str) -> int:
    from defusedxml import ElementTree

    body = await _call(http, control, "GetSystemUpdateID", {})
    return int(ElementTree.fromstring(body).findtext(".//Id") or 0)


async def _prepare(http: Any, name: str) -> tuple[str, str, int, list[str]]:
    """(control URL, flat folder id, its child count, folder-view roots) of one server."""
    server = SERVERS[name]
    control = str(server["control"])
    if "api" in server:
        await _wait_for_hearth(http, str(server["api"]))
        await _show_every_library(http, str(server["api"]), control)
    flat = await _find(http, control, list(server["flat"]))
    _, total = _objects((await _browse(http, control, flat, 0, 1))[1], control)
    roots = ["64"]
    if name == "hearth":
        libraries, _ = await _children(http, control, "0")
        roots = [await _find(http, control, [lib[0], "Folders"]) for lib in libraries]
    return control, flat, total, roots


async def measure(names: list[str], rounds: int) -> dict[str, dict[str, Any]]:
    """Both servers measured turn about, request by request (and walk by walk), so a noisy
    machine slows both alike; the two Filters take turns leading, page by page."""
    import aiohttp

    token = os.environ.get(TOKEN_VARIABLE, "")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession(headers=headers) as http:
        ready = {name: await _prepare(http, name) for name in names}
        # each page's first read with a Filter, and the same pages again: by server and Filter
        first: dict[tuple[str, str], list[float]] = {
            (n, label): [] for n in names for label in FILTERS
        }
        again: dict[tuple[str, str], list[float]] = {key: [] for key in first}
        total = min(found[2] for found in ready.values())
        for round_number in range(rounds + 1):
            for number, start in enumerate(range(0, total, PAGE)):
                labels = list(FILTERS) if number % 2 == 0 else list(FILTERS)[::-1]
                for label in labels:
                    turn = names if number % 2 == 0 else names[::-1]
                    for name in turn:
                        control, flat, _, _ = ready[name]
                        seconds, _ = await _browse(http, control, flat, start, PAGE, FILTERS[label])
                        (again if round_number else first)[name, label].append(seconds)
        walks: dict[str, dict[str, dict[str, float]]] = {name: {} for name in names}
        for kind in ("walk_folders", "walk_all"):
            for name in names:
                control, _, _, roots = ready[name]
                walks[name][kind] = await _walk(
                    http, control, roots if kind == "walk_folders" else ["0"]
                )
    return {
        name: {
            "children": ready[name][2],
            "reads": {
                label: {
                    "first": _summary(first[name, label]),
                    "again": _summary(again[name, label]),
                }
                for label in FILTERS
            },
            **walks[name],
            "not_utf8": BROKEN[name],
        }
        for name in names
    }


def _summary(samples: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return {
        "n": len(samples),
        "p50_ms": statistics.median(samples) * 1000,
        "p95_ms": cuts[94] * 1000,
        "max_ms": max(samples) * 1000,
    }


# --- the servers (started inside the namespace, stopped by pid) --------------------------------


class LogWatch:
    """Reads a child's stderr to its end in a thread (so its logging never blocks on a full
    pipe), counting the lines that contain `marker`."""

    def __init__(self, stream: IO[bytes], marker: bytes) -> None:
        self.seen = 0
        self._marker = marker
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[bytes]) -> None:
        for line in iter(stream.readline, b""):
            if self._marker in line:
                self.seen += 1


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _wait(check: Any, seconds: float, what: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if process.poll() is not None:
            raise RuntimeError(f"{what}: the server exited ({process.returncode})")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} took longer than {seconds:.0f} s")
        time.sleep(0.2)


async def owner_token(data_dir: Path) -> str:
    """An owner and a session in a fresh catalog, made before the server opens it."""
    from core.catalog import Catalog
    from core.people.accounts import create_session_blocking, create_user_blocking

    catalog = await Catalog.open(data_dir)
    try:

        def create(db: Any) -> str:
            password = secrets.token_urlsafe(24)
            user = create_user_blocking(db, "owner", "owner", password, None, None)
            return create_session_blocking(db, user, "session", "bench", None, None).token

        token: str = await catalog.write(create)
        return token
    finally:
        await catalog.close()


@contextlib.contextmanager
def hearth(ns: netns.NetNs, work: Path, tree: Path) -> Iterator[float]:
    """A scanned Hearth serving DLNA on the namespace address; yields its scan time."""
    config = work / "hearth-config"
    config.mkdir(parents=True)
    lines = [
        "hearth:",
        "  name: hearth-bench",
        f"  data_dir: {work / 'hearth-data'}",
        f"  http: {{host: {ADDRESS}, port: {HEARTH_PORT}, https_port: 0}}",
        "  network: {interfaces: [hv0], mdns: false}",
        "dlna: {ssdp: false}",
        "filename:\nembedded:\nlocal_artwork:",
        "folders:\n  watch: false\n  libraries:",
    ]
    lines += [f"    - {{name: {n}, kind: {k}, paths: ['{tree / d}']}}" for n, k, _, d in LIBRARIES]
    (config / "configuration.yaml").write_text("\n".join(lines) + "\n")
    began = time.monotonic()
    command = [*ns.prefix, sys.executable, "-m", "core", "run", "--allow-root", "-c", str(config)]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        assert process.stderr is not None
        log = LogWatch(process.stderr, b"Scanned ")
        _wait(lambda: log.seen >= len(LIBRARIES), 900, "Hearth's scan", process)
        yield time.monotonic() - began
    finally:
        _stop(process)


@contextlib.contextmanager
def minidlna(ns: netns.NetNs, binary: str, work: Path, tree: Path) -> Iterator[float]:
    """A scanned MiniDLNA on the namespace's veth; yields its scan time."""
    run = work / "minidlna"
    for sub in ("db", "log"):
        (run / sub).mkdir(parents=True)
    lines = [f"media_dir={kind},{tree / folder}" for _, _, kind, folder in LIBRARIES]
    lines += [
        f"db_dir={run / 'db'}",
        f"log_dir={run / 'log'}",
        f"port={MINIDLNA_PORT}",
        "network_interface=hv0",
        "friendly_name=minidlna-bench",
        "inotify=no",
        "notify_interval=86400",
        "enable_tivo=no",
        "log_level=general,artwork,database,inotify,scanner,metadata,http,ssdp,tivo=warn",
        "album_art_names=Cover.jpg/cover.jpg/Folder.jpg/folder.jpg/poster.jpg",
    ]
    (run / "minidlna.conf").write_text("\n".join(lines) + "\n")
    log = run / "log" / "minidlna.log"
    began = time.monotonic()
    command = [*ns.prefix, binary, "-f", str(run / "minidlna.conf"), "-P", str(run / "pid"), "-S"]
    process = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:

        def finished() -> bool:
            return log.exists() and FINISHED.search(log.read_text(errors="replace")) is not None

        _wait(finished, 900, "MiniDLNA's scan", process)
        yield time.monotonic() - began
    finally:
        _stop(process)


def client(ns: netns.NetNs, names: list[str], rounds: int, token: str) -> dict[str, dict[str, Any]]:
    """Run the measuring client inside the namespace; its JSON answer."""
    command = [*ns.prefix, sys.executable, __file__, "--client", ",".join(names)]
    command += ["--rounds", str(rounds)]
    environment = {**os.environ, TOKEN_VARIABLE: token}
    done = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=3600, env=environment
    )
    if done.returncode != 0:
        raise RuntimeError(f"the client failed:\n{done.stderr[-2000:]}")
    result: dict[str, dict[str, Any]] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def make_tree(root: Path, items: int, flat: int, seed: int) -> int:
    """mediagen's tree of `items - flat` files plus Videos/Flat of `flat` clips; total items."""
    manifest = mediagen.generate(root, items - flat, seed=seed, hostile=True, dir_loop=False)
    folder = root / "Videos" / "Flat"
    folder.mkdir(parents=True)
    sample = root / mediagen.SAMPLES / "video.mp4"
    for number in range(flat):
        os.link(sample, folder / f"clip {number:05d}.mp4")
    return manifest.total_items + flat


def report(results: dict[str, dict[str, Any]], scans: dict[str, float]) -> None:
    print(
        f"\n{'server':<9} {'filter':<6} {'scan s':>6}  {'first read p50/p95/max ms':>25}  "
        f"{'read again p50/p95/max ms':>25}  {'walk all':>19}  {'walk folders':>19}"
    )
    for name, r in results.items():
        walks = [
            f"{w['seconds']:5.2f} s {int(w['objects']):>6} obj"
            for w in (r["walk_all"], r["walk_folders"])
        ]
        for number, label in enumerate(FILTERS):
            reads = [
                f"{x['p50_ms']:6.2f} {x['p95_ms']:7.2f} {x['max_ms']:7.2f}"
                for x in (r["reads"][label]["first"], r["reads"][label]["again"])
            ]
            columns = f"{reads[0]:>25}  {reads[1]:>25}"
            if number == 0:
                columns += f"  {walks[0]:>19}  {walks[1]:>19}"
            print(f"{name:<9} {label:<6} {scans[name]:6.1f}  {columns}")
    some = next(iter(results.values()))["reads"]["*"]
    print(
        f"(pages of {PAGE} from a {next(iter(results.values()))['children']}-child folder: "
        f"{some['first']['n']} first reads and {some['again']['n']} repeated reads per Filter; "
        f'"ha" is Home Assistant\'s Filter {HA_FILTER}; walks ask {WALK_PAGE} objects a time)'
    )
    for name, r in results.items():
        if r["not_utf8"]:
            print(f"  {name} sent {r['not_utf8']} Browse answers that are not UTF-8 XML")
    if {"hearth", "minidlna"} <= results.keys():
        h, m = results["hearth"]["reads"], results["minidlna"]["reads"]
        for label in FILTERS:
            for read, kind in (("first read", "first"), ("read again", "again")):
                ratio = h[label][kind]["p95_ms"] / m[label][kind]["p95_ms"]
                verdict = "PASS" if ratio <= 1.0 else "FAIL"
                print(
                    f"  [{verdict}] Browse p95, Filter {label}, {read}, <= 1.0x MiniDLNA's: "
                    f"{ratio:.2f}x ({h[label][kind]['p95_ms']:.2f} vs "
                    f"{m[label][kind]['p95_ms']:.2f} ms)"
                )
        for kind in ("walk_all", "walk_folders"):
            ratio = results["hearth"][kind]["seconds"] / results["minidlna"][kind]["seconds"]
            print(f"         {kind}: hearth/minidlna = {ratio:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=10_000, help="media files in all")
    parser.add_argument("--flat", type=int, default=5_000, help="clips in the flat folder")
    parser.add_argument("--rounds", type=int, default=3, help="timed passes over the folder")
    parser.add_argument("--only", choices=tuple(SERVERS))
    parser.add_argument("--work-dir", help="where the temp tree goes (default: system temp)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--netns-prefix", default="hearth-t", help="start of the network namespace's name"
    )
    parser.add_argument("--client", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        print(json.dumps(asyncio.run(measure(args.client.split(","), args.rounds))))
        return
    reason = netns.unavailable_reason()
    if reason:
        sys.exit(f"this benchmark runs both servers in a network namespace: {reason}")
    names = [args.only] if args.only else list(SERVERS)
    binary = ""
    if "minidlna" in names:
        try:
            binary = minidlnad()
            print(f"MiniDLNA: {minidlna_version(binary)} ({binary})")
        except Unavailable as err:
            sys.exit(f"MiniDLNA: {err}")
    work = Path(tempfile.mkdtemp(prefix="hearth-dlna-bench-", dir=args.work_dir))
    scans: dict[str, float] = {}
    try:
        total = make_tree(work / "tree", args.items, args.flat, args.seed)
        print(f"tree: {total} media files, {args.flat} of them in Videos/Flat ({work / 'tree'})")
        token = asyncio.run(owner_token(work / "hearth-data")) if "hearth" in names else ""
        namespace = netns.network_namespace(args.netns_prefix)
        with namespace as ns, contextlib.ExitStack() as running:
            for name in names:  # one at a time, so neither scan slows the other
                starter = (
                    hearth(ns, work, work / "tree")
                    if name == "hearth"
                    else minidlna(ns, binary, work, work / "tree")
                )
                scans[name] = running.enter_context(starter)
                print(f"{name}: scanned in {scans[name]:.1f} s", flush=True)
            print("measuring both, turn about…", flush=True)
            results = client(ns, names, args.rounds, token)
        report(results, scans)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
