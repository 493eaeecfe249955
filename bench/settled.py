"""What a settled `hearth run` holds in memory over a library: after a first scan done by the
running server, and after a restart (its no-change rescan done).

Why: the lean-core issue asks for <= 80 MB RSS at 100k items in both states (Navidrome idles at
~55 MB, MiniDLNA at 58 MB). The server runs with the shipped plugins (web, DLNA, Play to TV,
folders, USB, the local metadata providers) in its own network namespace (SSDP stays inside),
on a fresh data folder for the live scan, then again on the same folder for the restart. "Done"
is the log's `Scanned <library>` line for every library, and then everything the scans set off
finished too (the TVs' prepared pages, the stills job): no child process left and the server
using under QUIET_CPU of a core for QUIET_SECONDS. Then it settles for `--settle` seconds and
/proc/<pid>/smaps_rollup is read for the server and for each child it still has (shown apart:
a child alive then is a worker that did not end when its work did).

Usage (as root): .venv/bin/python bench/settled.py --tree TREE [--runs 3] [--settle 30]
                 [--data DATA]   (TREE holds Movies, TV, Music, Photos and Videos folders, as
                 bench/mediagen.py makes; DATA: an already scanned data folder to copy, which
                 skips the live scan)
bench/scan.py --settled runs this on the tree it generated.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import netns  # noqa: E402

HEARTH = str(Path(sys.executable).parent / "hearth")
LIBRARIES = (
    ("Movies", "movies", "Movies"),
    ("TV", "shows", "TV"),
    ("Music", "music", "Music"),
    ("Photos", "photos", "Photos"),
    ("Home Videos", "videos", "Videos"),
)
TARGET_MB = 80.0
KB = 1024
NETNS_PREFIX = os.environ.get("HEARTH_BENCH_NETNS", "hearth-st")  # a helper's own prefix
QUIET_CPU = 0.02  # of one core: what an idle server uses (its timers, the SSDP listener)
QUIET_SECONDS = 10.0


@dataclass(frozen=True)
class Settled:
    """Resident memory of a settled server (KiB): the main process, and its children summed."""

    rss: int
    pss: int
    anonymous: int
    children_rss: int
    children_pss: int


def configuration(work: Path, tree: Path, data: Path) -> Path:
    """The shipped plugins over the tree's libraries, loopback only, mDNS off."""
    libraries = "".join(
        f"    - {{name: {name}, kind: {kind}, paths: [{tree / folder}]}}\n"
        for name, kind, folder in LIBRARIES
        if (tree / folder).is_dir()
    )
    config = work / "config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "configuration.yaml").write_text(
        "hearth:\n"
        f"  data_dir: {data}\n"
        "  http: {port: 8440, https_port: 8443}\n"
        "  network: {interfaces: [lo], mdns: false}\n"
        "web:\ndlna:\ndlna_renderer:\n"
        f"folders:\n  libraries:\n{libraries}"
        "usb:\nnfo:\nembedded:\nfilename:\nlocal_artwork:\n"
    )
    return config


def _rollup(pid: int) -> dict[str, int]:
    values = {}
    with open(f"/proc/{pid}/smaps_rollup") as file:
        for line in file:
            key, _, rest = line.partition(":")
            if rest.strip().endswith("kB"):
                values[key] = int(rest.split()[0])
    return values


def _children(pid: int) -> list[int]:
    found = []
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/children") as file:
                found += [int(x) for x in file.read().split()]
        except OSError:
            continue
    return found


def measure_tree(pid: int) -> Settled:
    main = _rollup(pid)
    todo, rss, pss = _children(pid), 0, 0
    while todo:
        child = todo.pop()
        try:
            values = _rollup(child)
            todo += _children(child)
        except OSError:  # it exited between the listing and the reading
            continue
        rss, pss = rss + values["Rss"], pss + values["Pss"]
    return Settled(main["Rss"], main["Pss"], main["Anonymous"], rss, pss)


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as file:
        fields = file.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def wait_until_quiet(pid: int, timeout: float) -> float:
    """Until the server has no child and used under QUIET_CPU for QUIET_SECONDS: the prepared
    pages, the stills and whatever else the scans set off are done. Returns the seconds taken."""
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        before = _cpu_seconds(pid)
        time.sleep(QUIET_SECONDS)
        if not _children(pid) and _cpu_seconds(pid) - before < QUIET_CPU * QUIET_SECONDS:
            return time.monotonic() - began - QUIET_SECONDS
    raise TimeoutError(f"the server was still busy {timeout:.0f} s after its scans")


def serve_and_measure(
    ns: netns.NetNs, config: Path, libraries: int, settle: float, timeout: float = 3600
) -> tuple[Settled, float]:
    """Start the server, wait for every library's `Scanned` line and for the work they set
    off, settle, measure, stop. Returns the memory and the seconds from spawn to quiet."""
    env = {**os.environ, "HEARTH_ALLOW_ROOT": "1"}
    began = time.monotonic()
    process = subprocess.Popen(
        [*ns.prefix, HEARTH, "run", "-c", str(config)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    scanned: set[str] = set()
    done = threading.Event()

    def read_log() -> None:  # and keep reading, so the server never blocks on a full pipe
        assert process.stderr is not None
        for line in process.stderr:
            match = re.search(r"hearth\.scan: Scanned (.+?): \d+ files", line)
            if match:
                scanned.add(match[1])
                if len(scanned) >= libraries:
                    done.set()

    threading.Thread(target=read_log, daemon=True).start()
    try:
        if not done.wait(timeout):
            raise TimeoutError(f"the server did not finish scanning within {timeout:.0f} s")
        wait_until_quiet(process.pid, timeout)  # `ip netns exec` execs the server
        quiet_after = time.monotonic() - began
        time.sleep(settle)  # what settling means: nothing to wait for, only time
        return measure_tree(process.pid), quiet_after
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def mb(kib: float) -> str:
    return f"{kib / KB:6.1f} MB"


def run(tree: Path, runs: int, settle: float, data: Path | None) -> None:
    """Live first scan (unless `data` is given) then restarts; prints each and the medians."""
    libraries = sum((tree / folder).is_dir() for _, _, folder in LIBRARIES)
    work = Path(tempfile.mkdtemp(prefix="hearth-settled-"))
    try:
        with netns.network_namespace(prefix=NETNS_PREFIX) as ns:
            live: list[Settled] = []
            restart: list[Settled] = []
            for number in range(1, runs + 1):
                folder = work / f"data-{number}"
                config = configuration(work / f"run-{number}", tree, folder)
                if data is not None:
                    shutil.copytree(data, folder)
                else:
                    memory, took = serve_and_measure(ns, config, libraries, settle)
                    live.append(memory)
                    print(
                        f"run {number}: after a live first scan (all done in {took:.0f} s): "
                        f"{_line(memory)}"
                    )
                memory, took = serve_and_measure(ns, config, libraries, settle)
                restart.append(memory)
                print(
                    f"run {number}: after a restart (rescan and all done in {took:.0f} s): "
                    f"{_line(memory)}"
                )
                shutil.rmtree(folder, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for name, samples in (("after a live first scan", live), ("after a restart", restart)):
        if samples:
            rss = statistics.median(s.rss for s in samples)
            pss = statistics.median(s.pss for s in samples)
            kids = statistics.median(s.children_rss for s in samples)
            kids_pss = statistics.median(s.children_pss for s in samples)
            tree_rss = statistics.median(s.rss + s.children_rss for s in samples)
            verdict = "met" if tree_rss / KB <= TARGET_MB else "NOT met"
            print(
                f"settled {name}, median of {len(samples)}: tree RSS {mb(tree_rss)} "
                f"(target <= {TARGET_MB:.0f} MB: {verdict}); main RSS {mb(rss)}, PSS {mb(pss)}; "
                f"children RSS {mb(kids)}, PSS {mb(kids_pss)}"
            )
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


def _line(memory: Settled) -> str:
    return (
        f"RSS {mb(memory.rss)}, PSS {mb(memory.pss)}, anonymous {mb(memory.anonymous)}; "
        f"children RSS {mb(memory.children_rss)} (PSS {mb(memory.children_pss)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tree", required=True, help="a tree with Movies, TV, Music, ...")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--settle", type=float, default=30.0, help="seconds after the scans")
    parser.add_argument("--data", help="an already scanned data folder (copied): restarts only")
    args = parser.parse_args()
    reason = netns.unavailable_reason()
    if reason:
        sys.exit(f"cannot benchmark safely: {reason}")
    run(Path(args.tree), args.runs, args.settle, Path(args.data) if args.data else None)


if __name__ == "__main__":
    main()
