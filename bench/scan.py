"""Library scan benchmark: `hearth scan` against MiniDLNA on the same synthetic tree.

Why: the media-library issue sets targets that only a measurement can check — a full scan of 10k
items no slower than MiniDLNA (the lean C server people run on a Pi), a no-change rescan of 100k
items within 10 s, at most 150 MB peak RSS while scanning 100k, and no bytes written by a
no-change rescan (SD cards wear out; "idle means zero writes").

For each size the tree comes from bench/mediagen.py (hardlinks to a few real files, so the page
cache is warm for both tools after the first read: this measures CPU, syscalls and database work).
- Hearth: `hearth scan -c CONFIG --wait` on a fresh data dir (full scan), then again (no-change
  rescan). Peak RSS is the sum over the process and its children, polled every 50 ms; writes are
  judged twice: every file under data/ is compared (size, sha256, mtime) before and after the
  rescan, and /proc/<pid>/io is summed over the process tree: write_bytes minus
  cancelled_write_bytes (SQLite creates a 32 KB -shm file and deletes it on close: dirty pages
  that are cancelled never reach the card), gross shown too; what is left may not exceed the
  -shm file itself (see SHM_BYTES: the kernel writes some of its pages back before it is
  deleted), and a bare sqlite3 open of the catalog held as long as the rescan ran is measured
  beside it. Children are polled, so one that exits between two polls loses its last few ms of
  accounting. Output goes to pipes, not files, so the process's own
  logging is not counted as writes. Summed RSS counts pages shared between worker processes
  once per process, so the summed PSS (each shared page split between its users) is shown beside
  it: the honest footprint of a multi-process scanner.
- MiniDLNA: `minidlnad -S` in a private network namespace (its SSDP multicast stays inside), on a
  fresh db_dir; done when its log says the playlist pass (the scanner's last step, after the
  search index) finished and no scanner child is left. Installed when missing (as root), with
  service start-up denied by policy-rc.d and the service disabled afterwards.

Two libraries by default (--libraries): mediagen's own tree (a few tiny samples) and its mixed
one (--realistic, bench/mediamix.py: real-sized photos with EXIF, music with varied tags and
covers, a 200 MB movie, more hostile names and broken files), each timed against MiniDLNA in the
same run, run by run, so a shared box's load falls on both alike; the target is 0.7x on both.

The trees carry mediagen's hostile files except the directory symlink loop, unless --dir-loop:
MiniDLNA 1.3.0 follows `again -> ..` until the path is too long (10k items: ~8 min, 82k rows,
a 434 MB db), which would turn the baseline into a measurement of that bug.

Usage (as root):  .venv/bin/python bench/scan.py [--sizes 10000,100000] [--only minidlna|hearth]
                  [--repeat N] [--work-dir DIR] [--no-hostile] [--settled RUNS [--settle S]]
                  [--libraries bench,mixed]
--settled prints the settled server's RSS/PSS after a live first scan and after a restart
(bench/settled.py, on the same generated tree). HEARTH_BENCH_NETNS starts the names of the
namespaces it makes (MiniDLNA's and the settled server's), so benches run side by side tell theirs
apart. Each run also shows the CPU time (user + system) of the whole process tree beside the wall
time: on a box other work shares, the wall times of both tools swing with the load, the CPU times
hardly do (Hearth spreads its CPU over a worker per core, MiniDLNA scans in one thread).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import re
import resource
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import mediagen, settled  # noqa: E402
from bench.debian import install_without_starting  # noqa: E402
from tests import netns  # noqa: E402

HEARTH = ROOT / ".venv" / "bin" / "hearth"
POLL = 0.05
MB = 1024 * 1024
# Library name, Hearth kind, MiniDLNA media type (V video, A audio, P pictures), folder
LIBRARIES = (
    ("Movies", "movies", "V", "Movies"),
    ("TV", "shows", "V", "TV"),
    ("Music", "music", "A", "Music"),
    ("Photos", "photos", "P", "Photos"),
    ("Home Videos", "videos", "V", "Videos"),
)
TARGET_RESCAN_S = 10.0
TARGET_RATIO = 0.7  # a full 10k scan, Hearth's time over MiniDLNA's in the same run
TARGET_RSS_MB = 150.0


class Unavailable(Exception):
    """A tool cannot be benchmarked here; the message says why and what to do."""


@dataclass
class Sample:
    """One measured run of one command."""

    seconds: float
    peak_rss: int
    peak_pss: int
    write_bytes: int  # net of cancelled writes: what can reach the storage
    gross_write_bytes: int
    returncode: int | None
    output: str = ""
    changed: list[str] = field(default_factory=list)  # files under data/ changed by the run
    indexed: int | None = None
    cpu_seconds: float | None = None  # user + system of the whole process tree


# --- measuring a process tree ------------------------------------------------------------------


def _drain(stream: IO[bytes], into: list[bytes]) -> None:
    """Read a pipe to its end in a thread, so a chatty child never blocks on a full pipe."""
    for chunk in iter(lambda: stream.read(65536), b""):
        into.append(chunk)


def measure(
    command: list[str],
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    done: Callable[[psutil.Process, list[psutil.Process]], bool] | None = None,
    timeout: float = 3600,
) -> Sample:
    """Run `command`, polling its process tree; finished when it exits or `done(...)` says so.

    A process that is still running when `done` is satisfied is stopped (SIGTERM, then SIGKILL),
    and so are its remaining children — by pid, and only the ones this run started.
    """
    # Every descendant is waited for by its parent (Hearth's workers, MiniDLNA's scanner) and
    # this process waits for the command, so the tree's CPU time adds up in RUSAGE_CHILDREN:
    # unlike wall time, it hardly moves when other work shares the box
    cpu_before = _children_cpu()
    began = time.perf_counter()
    popen = subprocess.Popen(
        command,
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    chunks: list[bytes] = []
    reader = threading.Thread(target=_drain, args=(popen.stdout, chunks), daemon=True)
    reader.start()
    main = psutil.Process(popen.pid)
    seen: dict[int, psutil.Process] = {}
    writes: dict[int, tuple[int, int]] = {}
    peak = peak_pss = 0
    try:
        while True:
            tree = [main]
            with contextlib.suppress(psutil.Error):
                tree += main.children(recursive=True)
            rss = pss = 0
            for proc in tree:
                seen.setdefault(proc.pid, proc)
                with contextlib.suppress(psutil.Error):
                    rss += proc.memory_info().rss
                pss += _pss(proc.pid)
                writes[proc.pid] = _io(proc.pid) or writes.get(proc.pid, (0, 0))
            peak, peak_pss = max(peak, rss), max(peak_pss, pss)
            if popen.poll() is not None:
                break
            if done is not None and done(main, tree[1:]):
                break
            if time.perf_counter() - began > timeout:
                raise TimeoutError(f"{command[0]} ran longer than {timeout:.0f} s")
            time.sleep(POLL)
        seconds = time.perf_counter() - began
    finally:
        _stop(popen, seen)
        reader.join(timeout=5)
    cpu = _children_cpu() - cpu_before
    return Sample(
        seconds=seconds,
        peak_rss=peak,
        peak_pss=peak_pss,
        write_bytes=sum(w - c for w, c in writes.values()),
        gross_write_bytes=sum(w for w, _ in writes.values()),
        returncode=popen.returncode,
        output=b"".join(chunks).decode(errors="replace"),
        cpu_seconds=cpu,
    )


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _io(pid: int) -> tuple[int, int] | None:
    """(write_bytes, cancelled_write_bytes) from /proc/<pid>/io, None once the process is gone."""
    try:
        text = Path(f"/proc/{pid}/io").read_text()
    except OSError:
        return None
    fields = dict(line.split(": ") for line in text.splitlines())
    return int(fields["write_bytes"]), int(fields["cancelled_write_bytes"])


def _pss(pid: int) -> int:
    """Proportional set size in bytes (smaps_rollup is cheap to read), 0 if unavailable."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def _stop(popen: subprocess.Popen[bytes], started: dict[int, psutil.Process]) -> None:
    """Stop what `measure` started: the process, then any of its children still alive."""
    if popen.poll() is None:
        popen.send_signal(signal.SIGTERM)
        try:
            popen.wait(timeout=15)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait(timeout=5)
    for pid, proc in started.items():
        if pid != popen.pid and proc.is_running():  # is_running also checks the create time
            with contextlib.suppress(psutil.Error):
                proc.kill()


def snapshot(folder: Path) -> dict[str, tuple[int, str, int]]:
    """Size, sha256 and mtime of every file under `folder`, to prove a run wrote nothing (the
    mtime catches a file written again with the same bytes)."""
    found: dict[str, tuple[int, str, int]] = {}
    for path in sorted(folder.rglob("*")) if folder.exists() else []:
        if path.is_file():
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            info = path.stat()
            found[str(path.relative_to(folder))] = (info.st_size, digest, info.st_mtime_ns)
    return found


def changes(
    before: dict[str, tuple[int, str, int]], after: dict[str, tuple[int, str, int]]
) -> list[str]:
    """`name (+/-bytes)` for each file added, removed or changed."""
    out = []
    for name in sorted(before.keys() | after.keys()):
        old, new = before.get(name), after.get(name)
        if old != new:
            delta = (new[0] if new else 0) - (old[0] if old else 0)
            out.append(f"{name} ({delta:+d} B)" if old and new else f"{name} (+{delta} B new)")
    return out


# --- Hearth ------------------------------------------------------------------------------------


def hearth_available() -> None:
    """Raise Unavailable unless `hearth scan` exists (it is being written alongside this)."""
    if not HEARTH.exists():
        raise Unavailable(f"{HEARTH} is missing: pip install -e . in the venv first")
    probe = subprocess.run([str(HEARTH), "scan", "--help"], capture_output=True, timeout=60)
    if probe.returncode != 0:
        last = (probe.stderr or probe.stdout).decode(errors="replace").strip().splitlines()
        raise Unavailable(
            "`hearth scan` does not exist yet (`hearth scan --help` exited "
            f"{probe.returncode}: {last[-1] if last else 'no output'}); skipping Hearth"
        )


def hearth_config(work: Path, tree: Path) -> Path:
    """A config dir whose catalog lives in `work/data` and whose libraries cover the tree."""
    config = work / "hearth-config"
    config.mkdir(parents=True, exist_ok=True)
    lines = [
        "hearth:",
        f"  data_dir: {work / 'data'}",
        "  http: {host: 127.0.0.1, port: 0}",
        "  network: {interfaces: [127.0.0.1], mdns: false}",
        "folders:",
        "  libraries:",
    ]
    for name, kind, _, folder in LIBRARIES:
        lines.append(f"    - {{name: {name}, kind: {kind}, paths: [{tree / folder}]}}")
    (config / "configuration.yaml").write_text("\n".join(lines) + "\n")
    return config


# What SQLite itself writes on opening a WAL database: its shared-memory index, the 32 KB -shm
# file (an ftruncate, one byte per 4 KB page, then mmap), deleted on close. Pages the kernel
# writes back before the delete are not "cancelled" in /proc/<pid>/io, so a run that wrote
# nothing else still shows 0-24 KB net; strace of a no-change rescan shows no other file written.
SHM_BYTES = 32 * 1024
# A bare open of the same catalog, held as long as the rescan ran, shown beside it.
OPEN_ONLY = (
    "import sqlite3, sys, time; db = sqlite3.connect(sys.argv[1]); "
    "db.execute('SELECT count(*) FROM files').fetchone(); time.sleep(float(sys.argv[2])); "
    "db.close()"
)


def run_hearth(work: Path, tree: Path, source: Path | None = None) -> tuple[Sample, Sample, Sample]:
    """A full scan into a fresh catalog, then a no-change rescan of the same tree, then the
    bare open-read-close of the catalog that the rescan's writes are judged against.
    `source`: another checkout of Hearth to run instead of this one (--baseline)."""
    config = hearth_config(work, tree)
    data = work / "data"
    shutil.rmtree(data, ignore_errors=True)
    command = [str(HEARTH), "scan", "-c", str(config), "--wait"]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    if source is not None:  # found before the editable install (its finder comes last)
        env["PYTHONPATH"] = str(source)
    # Not from the checkout's folder: its workers (`python -m core.scan.worker`) would import
    # the `core` there before PYTHONPATH's, so a --baseline would probe with this checkout's code
    full = measure(command, env=env, cwd=work)
    _check(full, "hearth scan (full)")
    before = snapshot(data)
    rescan = measure(command, env=env, cwd=work)
    _check(rescan, "hearth scan (no-change rescan)")
    rescan.changed = changes(before, snapshot(data))
    hold = f"{rescan.seconds:.3f}"
    opened = measure([sys.executable, "-c", OPEN_ONLY, str(data / "catalog.db"), hold], env=env)
    _check(opened, "sqlite3 open-read-close")
    return full, rescan, opened


def _check(sample: Sample, what: str) -> None:
    if sample.returncode != 0:
        tail = "\n".join(sample.output.strip().splitlines()[-15:])
        raise RuntimeError(f"{what} exited {sample.returncode}:\n{tail}")


# --- MiniDLNA ----------------------------------------------------------------------------------


def minidlnad() -> str:
    """The MiniDLNA binary, installed from the Debian package if missing (root only)."""
    found = shutil.which("minidlnad") or shutil.which("minidlnad", path="/usr/sbin:/usr/bin")
    if found:
        return found
    if os.geteuid() != 0:
        raise Unavailable("minidlna is not installed; run as root, or apt-get install minidlna")
    print("installing minidlna (service start-up denied, service disabled afterwards)…")
    install_without_starting("minidlna")
    _stop_packaged_service()
    found = shutil.which("minidlnad", path="/usr/sbin:/usr/bin")
    if not found:
        raise Unavailable("apt-get installed minidlna but no minidlnad binary was found")
    return found


def _stop_packaged_service() -> None:
    """Stop and disable the service the package may have started: a LAN-wide DLNA announcer."""
    if shutil.which("systemctl"):
        if Path("/run/systemd/system").exists():
            state = subprocess.run(["systemctl", "is-active", "minidlna"], capture_output=True)
            if state.stdout.strip() == b"active":
                subprocess.run(["systemctl", "stop", "minidlna"], check=False)
        # Works offline too: removes the multi-user.target.wants link postinst made
        subprocess.run(["systemctl", "disable", "minidlna"], capture_output=True, check=False)
    pid_file = Path("/run/minidlna/minidlna.pid")
    if pid_file.exists():
        with contextlib.suppress(ValueError, psutil.Error):
            proc = psutil.Process(int(pid_file.read_text().split()[0]))
            if proc.name() == "minidlnad":
                print(f"stopping the minidlnad the package started (pid {proc.pid})")
                proc.terminate()
                proc.wait(timeout=10)
    if shutil.which("update-rc.d"):
        subprocess.run(["update-rc.d", "minidlna", "disable"], capture_output=True, check=False)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def minidlna_config(run_dir: Path, tree: Path) -> Path:
    """A private config: fresh db and log dirs, no inotify, announcing only inside the netns."""
    for sub in ("db", "log"):
        (run_dir / sub).mkdir(parents=True, exist_ok=True)
    lines = [f"media_dir={kind},{tree / folder}" for _, _, kind, folder in LIBRARIES]
    lines += [
        f"db_dir={run_dir / 'db'}",
        f"log_dir={run_dir / 'log'}",
        "log_level=general,artwork,database,inotify,scanner,metadata,http,ssdp,tivo=warn",
        f"port={_free_port()}",
        "network_interface=lo",
        "friendly_name=hearth-bench",
        "inotify=no",
        "notify_interval=86400",
        "album_art_names=Cover.jpg/cover.jpg/Folder.jpg/folder.jpg/poster.jpg",
        "enable_tivo=no",
    ]
    conf = run_dir / "minidlna.conf"
    conf.write_text("\n".join(lines) + "\n")
    return conf


# With several media_dirs, 1.3.0 logs no "Scanning … finished" line (only for a parentless root);
# the playlist pass that ends start_scanner() is logged at warn level either way.
FINISHED = re.compile(r"Finished parsing playlists|Playlist creation disabled")


def run_minidlna(binary: str, run_dir: Path, tree: Path) -> Sample:
    """One full MiniDLNA scan into a fresh db, inside its own network namespace."""
    conf = minidlna_config(run_dir, tree)
    log = run_dir / "log" / "minidlna.log"

    seen = {"text": "", "offset": 0}

    def done(_: psutil.Process, children: list[psutil.Process]) -> bool:
        # The playlist pass is the scanner's last step; the forked scanner must also have exited
        if log.exists():
            with log.open("rb") as f:  # read only what is new: the log can grow large
                f.seek(seen["offset"])
                new = f.read()
            seen["offset"] += len(new)
            seen["text"] = (seen["text"] + new.decode(errors="replace"))[-4096:]
        return not children and FINISHED.search(seen["text"]) is not None

    with netns.network_namespace(prefix=settled.NETNS_PREFIX) as ns:
        command = [*ns.prefix, binary, "-f", str(conf), "-P", str(run_dir / "pid"), "-S"]
        sample = measure(command, done=done)
    text = log.read_text(errors="replace") if log.exists() else sample.output
    if not FINISHED.search(text):
        tail = "\n".join(text.strip().splitlines()[-15:])
        raise RuntimeError(f"minidlnad stopped before finishing its scan:\n{tail}")
    with contextlib.closing(
        sqlite3.connect(f"file:{run_dir / 'db' / 'files.db'}?mode=ro", uri=True)
    ) as db:
        (sample.indexed,) = db.execute(
            "SELECT COUNT(*) FROM DETAILS WHERE MIME IS NOT NULL"
        ).fetchone()
    return sample


def minidlna_version(binary: str) -> str:
    """`minidlnad -V`, asked inside a namespace like every other start of it."""
    with netns.network_namespace(prefix=settled.NETNS_PREFIX) as ns:
        out = subprocess.run([*ns.prefix, binary, "-V"], capture_output=True, timeout=30)
    return (out.stdout or out.stderr).decode(errors="replace").strip()


# --- the benchmark -----------------------------------------------------------------------------


@dataclass
class Result:
    """Every sample of one size of one library, by measurement name."""

    size: int
    library: str = "bench"
    items: int = 0
    generate_s: float = 0.0
    samples: dict[str, list[Sample]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(self, name: str, sample: Sample) -> None:
        self.samples.setdefault(name, []).append(sample)

    def median(self, name: str, attr: str) -> float | None:
        values = [getattr(s, attr) for s in self.samples.get(name, [])]
        values = [v for v in values if v is not None]
        return statistics.median(values) if values else None


@contextlib.contextmanager
def workspace(parent: str | None) -> Iterator[Path]:
    """A temp dir for one size (the tree may hold 100k+ links); removed afterwards. A named
    parent is made when missing, before the bench has spent its time on MiniDLNA's setup."""
    if parent is not None:
        Path(parent).mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix="hearth-scan-bench-", dir=parent))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def bench_size(
    size: int, args: argparse.Namespace, tools: dict[str, object], library: str = "bench"
) -> Result:
    """Generate one tree (`library`: bench = mediagen's default, mixed = its --realistic one),
    then run each available tool `repeat` times on it."""
    result = Result(size, library)
    repeat = args.repeat or (3 if size <= 10_000 else 1)
    with workspace(args.work_dir) as work:
        manifest = mediagen.generate(
            work / "tree",
            size,
            seed=args.seed,
            hostile=not args.no_hostile,
            dir_loop=args.dir_loop,
            realistic=library == "mixed",
        )
        result.items, result.generate_s = manifest.total_items, manifest.seconds
        print(
            f"\n{size} items, {library} library: tree generated in {manifest.seconds:.1f} s "
            f"({work / 'tree'}, load average {_load()})"
        )
        for run in range(1, repeat + 1):
            if "hearth" in tools and args.baseline:
                try:
                    base, _, _ = run_hearth(work / f"base-{run}", manifest.root, args.baseline)
                except (RuntimeError, TimeoutError) as err:
                    result.notes.append(f"baseline run {run}: {err}")
                    print(f"  baseline run {run}: FAILED — {err}")
                else:
                    result.add("baseline full", base)
                    print(
                        f"  baseline run {run}: full {base.seconds:.2f} s "
                        f"(CPU {_fmt(base.cpu_seconds, '.1f')} s; {args.baseline})"
                    )
                shutil.rmtree(work / f"base-{run}", ignore_errors=True)
            if "hearth" in tools:
                try:
                    full, rescan, opened = run_hearth(work / f"hearth-{run}", manifest.root)
                except (RuntimeError, TimeoutError) as err:
                    result.notes.append(f"hearth run {run}: {err}")
                    print(f"  hearth run {run}: FAILED — {err}")
                else:
                    result.add("hearth full", full)
                    result.add("hearth rescan", rescan)
                    result.add("sqlite open", opened)
                    print(
                        f"  hearth run {run}: full {full.seconds:.2f} s "
                        f"(CPU {_fmt(full.cpu_seconds, '.1f')} s, load {_load()}), "
                        f"rescan {rescan.seconds:.2f} s, peak RSS {full.peak_rss / MB:.0f} MB "
                        f"(PSS {full.peak_pss / MB:.0f} MB), rescan wrote {rescan.write_bytes} B "
                        f"net ({rescan.gross_write_bytes} B gross; a bare sqlite3 open of the "
                        f"catalog as long: {opened.write_bytes} B net), "
                        f"changed in data/: {', '.join(rescan.changed) or 'nothing'}"
                    )
                shutil.rmtree(work / f"hearth-{run}", ignore_errors=True)
            if "minidlna" in tools:
                try:
                    sample = run_minidlna(
                        str(tools["minidlna"]), work / f"minidlna-{run}", manifest.root
                    )
                except (RuntimeError, TimeoutError, sqlite3.Error) as err:
                    result.notes.append(f"minidlna run {run}: {err}")
                    print(f"  minidlna run {run}: FAILED — {err}")
                else:
                    result.add("minidlna full", sample)
                    print(
                        f"  minidlna run {run}: full {sample.seconds:.2f} s "
                        f"(CPU {_fmt(sample.cpu_seconds, '.1f')} s, load {_load()}), "
                        f"peak RSS {sample.peak_rss / MB:.0f} MB "
                        f"(PSS {sample.peak_pss / MB:.0f} MB), {sample.indexed} files in its db"
                    )
                shutil.rmtree(work / f"minidlna-{run}", ignore_errors=True)
        if args.settled and "hearth" in tools and library == "bench":  # memory once idle
            print(f"  settled `hearth run` over the {size}-item tree:")
            settled.run(manifest.root, args.settled, args.settle, None)
    return result


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def _fmt(value: float | None, pattern: str) -> str:
    return "—" if value is None else format(value, pattern)


def report(results: list[Result]) -> None:
    """One row per size and measurement (medians), then each target with its verdict."""
    print(
        f"\n{'items':>7}  {'library':<7} {'run':<15} {'n':>2} {'seconds':>8} {'CPU s':>7} "
        f"{'files/s':>8} "
        f"{'RSS (sum)':>9} {'PSS':>7} {'net writes':>11}  data/ changed"
    )
    for r in results:
        for name, samples in r.samples.items():
            seconds, cpu = r.median(name, "seconds"), r.median(name, "cpu_seconds")
            rss, pss = r.median(name, "peak_rss"), r.median(name, "peak_pss")
            writes = r.median(name, "write_bytes")
            changed = ""
            if name == "hearth rescan":
                changed = f"{sum(bool(s.changed) for s in samples)}/{len(samples)} runs"
            print(
                f"{r.items:>7}  {r.library:<7} {name:<15} {len(samples):>2} "
                f"{_fmt(seconds, '8.2f')} {_fmt(cpu, '7.1f')} "
                f"{_fmt(r.items / seconds if seconds else None, '8.0f')} "
                f"{_fmt(rss / MB if rss else None, '6.0f')} MB "
                f"{_fmt(pss / MB if pss else None, '4.0f')} MB {_fmt(writes, '9.0f')} B  {changed}"
            )
    print(
        "(medians; CPU = user + system of the process tree; RSS summed over the process tree, "
        "PSS = shared pages split between users)"
    )
    print("\ntargets")
    by_size = {r.size: r for r in results if r.library == "bench"}

    def verdict(ok: bool | None) -> str:
        return "n/a " if ok is None else ("PASS" if ok else "FAIL")

    for small in [r for r in results if r.size == 10_000]:
        hearth_full = small.median("hearth full", "seconds")
        mini_full = small.median("minidlna full", "seconds")
        ratio = hearth_full / mini_full if hearth_full and mini_full else None
        ratios = _paired_ratios(small)
        base = small.median("baseline full", "seconds")
        if base and mini_full:
            print(
                f"         baseline ({small.library} library): {base:.2f} s = "
                f"{base / mini_full:.2f}x (run by run: {_paired_ratios(small, 'baseline full')})"
            )
        print(
            f"  [{verdict(None if ratio is None else ratio <= TARGET_RATIO)}] full scan of 10k "
            f"({small.library} library) ≤ {TARGET_RATIO}x MiniDLNA's: "
            f"hearth {_fmt(hearth_full, '.2f')} s / minidlna {_fmt(mini_full, '.2f')} s "
            f"= {_fmt(ratio, '.2f')}x (run by run: {ratios or '—'})"
        )
        hearth_cpu = small.median("hearth full", "cpu_seconds")
        mini_cpu = small.median("minidlna full", "cpu_seconds")
        if hearth_cpu and mini_cpu:  # what a busy box changes least; Hearth uses every core
            print(
                f"         CPU time: hearth {hearth_cpu:.1f} s / minidlna {mini_cpu:.1f} s "
                f"= {hearth_cpu / mini_cpu:.2f}x on {os.cpu_count()} cores "
                f"(load average at the end: {_load()})"
            )
    for r in results:
        h, m = r.median("hearth full", "seconds"), r.median("minidlna full", "seconds")
        if r.size != 10_000 and h and m:
            print(f"         ({r.items} items, {r.library}: hearth/minidlna = {h / m:.2f}x)")
    big = by_size.get(100_000)
    rescan = big.median("hearth rescan", "seconds") if big else None
    print(
        f"  [{verdict(None if rescan is None else rescan <= TARGET_RESCAN_S)}] no-change rescan "
        f"of 100k ≤ {TARGET_RESCAN_S:.0f} s: {_fmt(rescan, '.2f')} s"
    )
    rss = big.median("hearth full", "peak_rss") if big else None
    pss = big.median("hearth full", "peak_pss") if big else None
    print(
        f"  [{verdict(None if rss is None else rss / MB <= TARGET_RSS_MB)}] peak RSS of a 100k "
        f"scan ≤ {TARGET_RSS_MB:.0f} MB: {_fmt(rss / MB if rss else None, '.0f')} MB summed "
        f"(PSS {_fmt(pss / MB if pss else None, '.0f')} MB)"
    )
    rescans = [s for r in results for s in r.samples.get("hearth rescan", [])]
    opens = [s for r in results for s in r.samples.get("sqlite open", [])]
    # Nothing under data/ may change (size, bytes, mtime), and the process tree may not write
    # more than SQLite's own -shm index (SHM_BYTES) or a bare open held as long (OPEN_ONLY).
    allowance = max([SHM_BYTES, *(s.write_bytes for s in opens)])
    quiet = (
        None if not rescans else all(s.write_bytes <= allowance and not s.changed for s in rescans)
    )
    print(
        f"  [{verdict(quiet)}] 0 bytes written by a no-change rescan: "
        + (
            "—"
            if not rescans
            else f"{sum(bool(s.changed) for s in rescans)}/{len(rescans)} rescans changed data/; "
            f"io writes max {max(s.write_bytes for s in rescans)} B net "
            f"({max(s.gross_write_bytes for s in rescans)} B gross) against "
            f"SQLite's {SHM_BYTES} B -shm index (a bare sqlite3 open held as long: "
            f"{max((s.write_bytes for s in opens), default=0)} B net)"
        )
    )
    for r in results:
        for note in r.notes:
            print(f"  note ({r.size}): {note.splitlines()[0]}")


def _paired_ratios(result: Result, name: str = "hearth full") -> str:
    """Hearth over MiniDLNA for each run (the two ran back to back, under the same load)."""
    pairs = zip(result.samples.get(name, []), result.samples.get("minidlna full", []), strict=False)
    return ", ".join(f"{h.seconds / m.seconds:.2f}" for h, m in pairs)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes", default="10000,100000", help="comma-separated item counts (default %(default)s)"
    )
    parser.add_argument("--only", choices=("hearth", "minidlna"), help="run just one tool")
    parser.add_argument(
        "--repeat", type=int, help="runs per size (default: 3 up to 10k items, else 1)"
    )
    parser.add_argument("--work-dir", help="where the temp trees go (default: the system temp)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--baseline",
        type=Path,
        help="also time the full scans of another checkout of Hearth (e.g. `git archive` of an "
        "older commit) in the same runs, with this venv",
    )
    parser.add_argument(
        "--libraries",
        default="bench,mixed",
        help="which trees, comma-separated: bench (mediagen's default: a few tiny samples) and "
        "mixed (mediagen --realistic: real-sized photos and music, a 200 MB movie, more "
        "hostile files); default %(default)s",
    )
    parser.add_argument("--no-hostile", action="store_true", help="leave out the hostile files")
    parser.add_argument(
        "--dir-loop",
        action="store_true",
        help="add the directory symlink loop too (MiniDLNA follows it: minutes, 400+ MB db)",
    )
    parser.add_argument(
        "--settled",
        type=int,
        default=0,
        metavar="RUNS",
        help="also measure a settled `hearth run` RUNS times: after its live first scan and "
        "after a restart (bench/settled.py)",
    )
    parser.add_argument("--settle", type=float, default=30.0, help="seconds to settle (--settled)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]

    tools: dict[str, object] = {}
    if args.only in (None, "hearth"):
        try:
            hearth_available()
            tools["hearth"] = HEARTH
        except Unavailable as err:
            print(f"HEARTH: {err}")
    if args.only in (None, "minidlna"):
        try:
            reason = netns.unavailable_reason()
            if reason:
                raise Unavailable(f"MiniDLNA must run in a network namespace: {reason}")
            binary = minidlnad()
            print(f"MiniDLNA: {minidlna_version(binary)} ({binary})")
            tools["minidlna"] = binary
        except (Unavailable, subprocess.CalledProcessError) as err:
            print(f"MINIDLNA: {err}")
    if not tools:
        sys.exit("nothing to benchmark")
    libraries = [name.strip() for name in args.libraries.split(",") if name.strip()]
    unknown = set(libraries) - {"bench", "mixed"}
    if unknown:
        sys.exit(f"unknown --libraries {', '.join(sorted(unknown))}: expected bench, mixed")
    results = [bench_size(size, args, tools, library) for size in sizes for library in libraries]
    report(results)


if __name__ == "__main__":
    main()
