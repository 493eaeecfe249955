"""Playback benchmark: Hearth's direct play and HLS start against nginx and bare ffmpeg.

Why: the playback issue sets targets only a measurement can check, against references measured
in the same run on the same box: (a) direct-play throughput of a 258 MB file at least 0.9 times
nginx's sendfile, with 1 and 8 clients; (b) first byte of small Range requests p95 <= 10 ms;
(c) first HLS segment (1080p H.264 to 720p) within 1.2 times bare ffmpeg making the same 4 s
segment with the same preset; (d) CPU seconds per GB sent (server process tree, psutil
cpu_times before/after each download run).

Everything networked runs inside a private network namespace (tests/netns.py): Hearth (still
configured for 127.0.0.1 with mDNS off), nginx twice (worker_processes auto as Debian ships it,
and 1 worker like Hearth's single process; temp config with sendfile, tcp_nopush, no access
log) and every client. The clients are this file run as `playback.py client KIND …` inside the
namespace, the same code against every server: whole-file GETs on keep-alive connections read
into a 1 MiB buffer (wrk reads 8 KiB at a time and was the bottleneck at ~1 GB/s), bounded by
count and by 60 s. Each run measures every server back to back; on a shared, noisy box the
paired per-run ratio (median) is the figure to trust, the medians of each side are shown too.
The source (1080p30 H.264 CBR 32 Mbit/s + AAC, 64 s) is made once with ffmpeg lavfi and kept in
--cache-dir. Needs root (namespaces); installs nginx with apt-get if missing, without letting the
package start (or keep enabled) a system nginx.
Usage: .venv/bin/python bench/playback.py [--runs 5] [--downloads 3] [--ranges 200]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import platform
import random
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.debian import install_without_starting  # noqa: E402
from core.playback.ffmpeg_args import NICENESS  # noqa: E402
from tests import netns  # noqa: E402

HEARTH = ROOT / ".venv" / "bin" / "hearth"
PYTHON = ROOT / ".venv" / "bin" / "python"
FFMPEG, NGINX = "/usr/bin/ffmpeg", "/usr/sbin/nginx"
PORTS = {"hearth": 18480, "nginx": 18481, "nginx-1w": 18482}
GB = 1e9
# Hearth's own choice (core/playback/engine.py `_preset`): a Pi's cores need the fastest preset
PRESET = "ultrafast" if platform.machine() in ("aarch64", "armv7l") else "veryfast"
Client = Callable[..., Any]


# --- clients: run inside the namespace as `playback.py client KIND …`, one JSON line out -------


def _request(conn: http.client.HTTPConnection, path: str, token: str, **kw: Any) -> bytes:
    headers = {"Authorization": f"Bearer {token}", **kw.pop("headers", {})}
    conn.request(kw.pop("method", "GET"), path, headers=headers, **kw)
    response = conn.getresponse()
    body = response.read()
    if response.status >= 300:
        raise RuntimeError(f"{path}: {response.status} {body[:300]!r}")
    return body


def _download(port: int, path: str, token: str, times: int, deadline: float) -> int:
    """Whole-file GETs on one keep-alive connection, read with recv_into; stops at `deadline`."""
    request = f"GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n".encode()
    view = memoryview(bytearray(1 << 20))
    total = 0
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        for _ in range(times):
            sock.sendall(request)
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = sock.recv(65536)
                if not chunk:
                    raise RuntimeError("connection closed before the headers")
                head += chunk
            header, _, rest = head.partition(b"\r\n\r\n")
            found = re.search(rb"(?i)\r\ncontent-length: *(\d+)", header)
            if not header.startswith(b"HTTP/1.1 200") or found is None:
                raise RuntimeError(f"unexpected answer: {header[:200]!r}")
            remaining = int(found.group(1)) - len(rest)
            while remaining > 0:
                n = sock.recv_into(view[: min(remaining, len(view))])
                if n == 0:
                    raise RuntimeError("connection closed mid-body")
                remaining -= n
            total += int(found.group(1))
            if time.monotonic() > deadline:
                break
    return total


def client_download(port: int, path: str, token: str, clients: int, times: int) -> dict[str, float]:
    """`clients` connections at once, each downloading the whole file `times` times."""
    results: list[int] = []
    deadline = time.monotonic() + 60
    began = time.perf_counter()
    threads = [
        threading.Thread(
            target=lambda: results.append(_download(port, path, token, times, deadline))
        )
        for _ in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began
    if len(results) != clients:
        raise RuntimeError("a download failed")
    used = resource.getrusage(resource.RUSAGE_SELF)
    return {"bytes": sum(results), "seconds": seconds, "cpu": used.ru_utime + used.ru_stime}


def client_ttfb(port: int, path: str, token: str, count: int, size: int) -> dict[str, float]:
    """Range requests of `size` bytes at random offsets on one keep-alive connection: request
    sent -> status line and headers parsed, after 20 unmeasured warm-up requests."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("HEAD", path, headers={"Authorization": f"Bearer {token}"})
    head = conn.getresponse()
    head.read()
    length, rng, times = int(head.headers["Content-Length"]), random.Random(7), []
    for n in range(count + 20):
        start = rng.randrange(0, length - size)
        headers = {"Authorization": f"Bearer {token}", "Range": f"bytes={start}-{start + size - 1}"}
        began = time.perf_counter()
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        first = time.perf_counter()
        if response.status != 206 or len(response.read()) != size:
            raise RuntimeError(f"a range request was answered {response.status}")
        if n >= 20:
            times.append((first - began) * 1000)
    return {"p50": statistics.median(times), "p95": statistics.quantiles(times, n=20)[-1]}


def client_hls(port: int, item: str, token: str) -> dict[str, float]:
    """master.m3u8?quality=720p -> index -> all of segment 0, timed; then the session is
    deleted as a player would, so the next run starts ffmpeg afresh."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    base = f"/api/items/{item}/hls/"
    began = time.perf_counter()
    master = _request(conn, base + "master.m3u8?quality=720p", token).decode()
    variant = next(ln for ln in master.splitlines() if ln and not ln.startswith("#"))
    after_master = time.perf_counter()
    index = _request(conn, base + variant, token).decode()
    segment = next(ln for ln in index.splitlines() if ln and not ln.startswith("#"))
    body = _request(conn, base + variant.rsplit("/", 1)[0] + "/" + segment, token)
    seconds = time.perf_counter() - began
    _request(conn, base + variant.split("/", 1)[0], token, method="DELETE")
    return {"seconds": seconds, "master": after_master - began, "bytes": len(body)}


def client_main(argv: list[str]) -> None:
    kind, port, path, token, *rest = argv
    if kind == "json":
        conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=30)
        json_body = {"Content-Type": "application/json"}
        post = {"method": "POST", "body": rest[0], "headers": json_body} if rest else {}
        result = json.loads(_request(conn, path, token, **post))
    elif kind == "download":
        result = client_download(int(port), path, token, int(rest[0]), int(rest[1]))
    elif kind == "ttfb":
        result = client_ttfb(int(port), path, token, int(rest[0]), int(rest[1]))
    else:
        result = client_hls(int(port), path, token)
    print(json.dumps(result))


def client_runner(ns: netns.NetNs) -> Client:
    """Runs one client inside the namespace and returns its JSON answer."""

    def run(kind: str, port: int, path: str, token: str, *rest: str | int) -> Any:
        command = [*ns.prefix, str(PYTHON), __file__, "client", kind, str(port), path, token]
        out = subprocess.run(
            [*command, *map(str, rest)], capture_output=True, text=True, timeout=300
        )
        if out.returncode != 0:
            raise RuntimeError(f"client {kind} {path} failed:\n{out.stderr[-2000:]}")
        return json.loads(out.stdout.strip().splitlines()[-1])

    return run


# --- set-up ------------------------------------------------------------------------------------


def ensure_nginx() -> None:
    """nginx from Debian when missing; the package must not leave a system nginx running."""
    if Path(NGINX).exists():
        return
    if os.geteuid() != 0:
        sys.exit("nginx is missing: run as root, or apt-get install nginx")
    install_without_starting("nginx")
    pid_file = Path("/run/nginx.pid")  # only the daemon the package's PID file names
    if pid_file.exists():
        with contextlib.suppress(ValueError, psutil.Error):
            proc = psutil.Process(int(pid_file.read_text().split()[0]))
            if proc.name() == "nginx" and proc.exe() == NGINX:
                print(f"stopping the nginx the package started (pid {proc.pid})")
                proc.terminate()
                proc.wait(timeout=10)
    for command in (["systemctl", "disable", "nginx"], ["update-rc.d", "nginx", "disable"]):
        if shutil.which(command[0]):
            subprocess.run(command, capture_output=True, check=False)


def make_source(cache: Path) -> Path:
    """1080p30 H.264 (CBR 32 Mbit/s, filler keeps the rate) + AAC, 64 s: ~258 MB, made once."""
    path = cache / "playback-1080p-h264.mp4"
    if path.exists() and path.stat().st_size > 200e6:
        return path
    cache.mkdir(parents=True, exist_ok=True)
    print(f"making {path} once (about a minute)…", flush=True)
    partial = path.with_suffix(".part.mp4")
    subprocess.run(
        [FFMPEG, "-hide_banner", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=30:duration=64",
         "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=64",
         "-c:v", "libx264", "-preset", "ultrafast", "-g", "60", "-pix_fmt", "yuv420p",
         "-b:v", "32M", "-minrate", "32M", "-maxrate", "32M", "-bufsize", "16M",
         "-x264-params", "nal-hrd=cbr", "-c:a", "aac", "-b:a", "128k", "-ac", "2", str(partial)],
        check=True,
    )  # fmt: skip
    partial.rename(path)
    return path


class Server:
    """A server process started inside the namespace; stderr drained, its tail kept."""

    def __init__(self, command: list[str], ready: str | None = None) -> None:
        self.popen = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
        self.tail: deque[str] = deque(maxlen=30)
        self._ready, self._pattern = threading.Event(), ready
        threading.Thread(target=self._drain, daemon=True).start()
        if ready is not None and not self._ready.wait(120):
            self.stop()
            raise RuntimeError(f"{command} did not start:\n" + "\n".join(self.tail))

    def _drain(self) -> None:
        assert self.popen.stderr is not None
        for raw in self.popen.stderr:
            self.tail.append(raw.decode(errors="replace").rstrip())
            if self._pattern and re.search(self._pattern, self.tail[-1]):
                self._ready.set()

    def cpu_seconds(self) -> float:
        """user + system of the process and its live children (nginx's workers)."""
        main = psutil.Process(self.popen.pid)
        total = 0.0
        for proc in [main, *main.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                times = proc.cpu_times()
                total += times.user + times.system
        return total

    def stop(self) -> None:
        """Stop this server by its own PID (`ip netns exec` execs, so it is the server's)."""
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=5)


def nginx_config(work: Path, media: Path, name: str, workers: str) -> Path:
    conf = work / f"{name}.conf"
    temps = "".join(f"{k}_temp_path {work / name}-{k}; " for k in ("client_body", "proxy"))
    temps += "".join(f"{k}_temp_path {work / name}-{k}; " for k in ("fastcgi", "uwsgi", "scgi"))
    conf.write_text(
        f"worker_processes {workers}; daemon off; pid {work / name}.pid;\n"
        f"error_log {work / name}-error.log warn; events {{ worker_connections 256; }}\n"
        "http { access_log off; sendfile on; tcp_nopush on; tcp_nodelay on;\n"
        f"  keepalive_requests 100000; types {{ video/mp4 mp4; }} {temps}\n"
        f"  server {{ listen 127.0.0.1:{PORTS[name]}; root {media}; }} }}\n"
    )
    return conf


@contextlib.contextmanager
def servers(ns: netns.NetNs, work: Path, source: Path) -> Iterator[dict[str, Any]]:
    """Hearth (the source in a Movies library, scanned, calibrated, signed in) and both nginx."""
    media, config = work / "media", work / "config"
    folder = media / "Bench Movie (2024)"
    folder.mkdir(parents=True)
    target = folder / "Bench Movie (2024).mp4"
    try:
        os.link(source, target)
    except OSError:
        shutil.copy(source, target)
    config.mkdir()
    (config / "configuration.yaml").write_text(
        f"hearth:\n  data_dir: {work / 'data'}\n"
        f"  http: {{host: 127.0.0.1, port: {PORTS['hearth']}}}\n"
        "  network: {interfaces: [127.0.0.1], mdns: false}\nfolders:\n  watch: false\n"
        f"  libraries:\n    - {{name: Movies, kind: movies, paths: ['{media}']}}\n"
    )
    subprocess.run(
        [HEARTH, "user", "add", "bench", "--role", "owner", "--password-stdin", "-c", config],
        input="benchmark-password\n", text=True, check=True, capture_output=True,
    )  # fmt: skip
    run = client_runner(ns)
    started: dict[str, Server] = {}
    try:
        hearth = [str(HEARTH), "run", "--allow-root", "-c", str(config)]
        started["hearth"] = Server(
            [*ns.prefix, "env", "PYTHONDONTWRITEBYTECODE=1", *hearth], "serving on port"
        )
        for name, workers in (("nginx", "auto"), ("nginx-1w", "1")):
            conf = nginx_config(work, media, name, workers)
            log = str(work / f"{name}-error.log")
            started[name] = Server([*ns.prefix, NGINX, "-p", str(work), "-c", str(conf), "-e", log])
        login = json.dumps({"username": "bench", "password": "benchmark-password"})
        token = run("json", PORTS["hearth"], "/api/auth/login", "", login)["token"]
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:  # the scan has finished and the transcoder calibrated
            scan = run("json", PORTS["hearth"], "/api/scan", token)
            health = run("json", PORTS["hearth"], "/api/health", token)
            source_of_limit = ((health.get("playback") or {}).get("transcodes") or {}).get("source")
            if (
                scan["state"] == "idle"
                and not scan["queued"]
                and source_of_limit != "until calibrated"
            ):
                break
            time.sleep(0.5)
        found = run("json", PORTS["hearth"], "/api/items?kind=movie&limit=5", token)["items"]
        static = "/" + urllib.parse.quote(str(target.relative_to(media)))
        paths = {
            "hearth": f"/api/items/{found[0]['id']}/stream",
            "nginx": static,
            "nginx-1w": static,
        }
        time.sleep(2)  # let start-up work settle
        yield {
            "servers": started,
            "token": token,
            "item": found[0]["id"],
            "run": run,
            "paths": paths,
        }
    finally:
        for server in reversed(started.values()):
            server.stop()


# --- measurements ------------------------------------------------------------------------------


def bare_ffmpeg_segment(source: Path, out: Path, niceness: int) -> float:
    """Seconds for ffmpeg alone to make segment 0 as Hearth's HLS run makes it (same scale,
    preset, rate cap, forced keyframes, audio copied, MPEG-TS), from process start to exit.
    Hearth nices its ffmpeg (NICENESS): on a busy box that alone costs time, so the reference
    is run both at that niceness (the like-for-like ratio) and at 0."""
    began = time.perf_counter()
    process = subprocess.Popen(
        [FFMPEG, "-hide_banner", "-nostdin", "-nostats", "-loglevel", "error", "-y",
         "-i", str(source), "-map", "0:v:0", "-vf", "scale=1280:720,format=yuv420p",
         "-c:v", "libx264", "-preset", PRESET, "-profile:v", "high", "-crf", "23",
         "-maxrate", "3000000", "-bufsize", "6000000",
         "-force_key_frames", "expr:gte(t,n_forced*4)", "-map", "0:a:0", "-c:a", "copy",
         "-t", "4", "-f", "mpegts", str(out)],
    )  # fmt: skip
    os.setpriority(os.PRIO_PROCESS, process.pid, niceness)  # as FfmpegProcess.start does
    if process.wait(timeout=120) != 0:
        raise RuntimeError("bare ffmpeg failed")
    return time.perf_counter() - began


class Figures:
    """Every sample by name; medians and paired (same-run) ratios."""

    def __init__(self) -> None:
        self.samples: dict[str, list[float]] = {}

    def add(self, name: str, value: float) -> float:
        self.samples.setdefault(name, []).append(value)
        return value

    def median(self, name: str) -> float:
        return statistics.median(self.samples[name])

    def paired(self, over: str, under: str) -> float:
        return statistics.median(
            a / b for a, b in zip(self.samples[over], self.samples[under], strict=True)
        )


def one_run(run: int, s: dict[str, Any], f: Figures, args: argparse.Namespace, source: Path) -> str:
    """All four measurements once; servers alternate order from run to run."""
    names = ["hearth", "nginx", "nginx-1w"]
    order = names if run % 2 else names[::-1]
    line = []
    for clients in (1, 8):
        for name in order:
            server: Server = s["servers"][name]
            before = server.cpu_seconds()
            port, path = PORTS[name], s["paths"][name]
            got = s["run"]("download", port, path, s["token"], clients, args.downloads)
            gigabytes = got["bytes"] / GB
            f.add(f"cpu {name} {clients}", (server.cpu_seconds() - before) / gigabytes)
            f.add(f"client cpu {name} {clients}", got["cpu"] / gigabytes)
            rate = f.add(f"rate {name} {clients}", gigabytes / got["seconds"])
            line.append(f"{name} {clients}c {rate:.2f}")
    for name in ("hearth", "nginx") if run % 2 else ("nginx", "hearth"):
        got = s["run"]("ttfb", PORTS[name], s["paths"][name], s["token"], args.ranges, 4096)
        f.add(f"ttfb p95 {name}", got["p95"])
        f.add(f"ttfb p50 {name}", got["p50"])
    hls = s["run"]("hls", PORTS["hearth"], s["item"], s["token"])
    f.add("hls master", hls["master"])
    f.add("hls", hls["seconds"])
    out = Path(tempfile.gettempdir()) / "hearth-bare.ts"
    f.add("bare", bare_ffmpeg_segment(source, out, NICENESS))
    f.add("bare nice 0", bare_ffmpeg_segment(source, out, 0))
    return (
        f"run {run}: GB/s "
        + ", ".join(line)
        + f"; TTFB p95 {f.samples['ttfb p95 hearth'][-1]:.2f}/{f.samples['ttfb p95 nginx'][-1]:.2f}"
        + f" ms; HLS {f.samples['hls'][-1]:.2f} s, bare {f.samples['bare'][-1]:.2f} s"
    )


def report(f: Figures, args: argparse.Namespace, header: str) -> None:
    print(f"\n{header}")
    for clients in (1, 8):
        rate = {n: f.median(f"rate {n} {clients}") for n in PORTS}
        print(
            f"(a) direct play, {clients} client(s): Hearth {rate['hearth']:.2f} GB/s, "
            f"nginx {rate['nginx']:.2f}, nginx 1 worker {rate['nginx-1w']:.2f}; "
            f"Hearth/nginx {f.paired(f'rate hearth {clients}', f'rate nginx {clients}'):.2f}x "
            f"(1 worker: {f.paired(f'rate hearth {clients}', f'rate nginx-1w {clients}'):.2f}x)"
            "  target >= 0.90x"
        )
    print(
        f"(b) first byte, 4 KiB ranges x{args.ranges}: p95 Hearth "
        f"{f.median('ttfb p95 hearth'):.2f} ms (p50 {f.median('ttfb p50 hearth'):.2f}), nginx "
        f"{f.median('ttfb p95 nginx'):.2f} ms (p50 {f.median('ttfb p50 nginx'):.2f})"
        "  target p95 <= 10 ms"
    )
    print(
        f"(c) first HLS segment, 1080p -> 720p {PRESET}: Hearth {f.median('hls'):.2f} s "
        f"(master.m3u8 {f.median('hls master') * 1000:.0f} ms), bare ffmpeg at nice "
        f"{NICENESS} like Hearth's {f.median('bare'):.2f} s: {f.paired('hls', 'bare'):.2f}x"
        f"  target <= 1.20x\n    (bare ffmpeg at nice 0 {f.median('bare nice 0'):.2f} s: "
        f"{f.paired('hls', 'bare nice 0'):.2f}x)"
    )
    for clients in (1, 8):
        cpu = {n: f.median(f"cpu {n} {clients}") for n in PORTS}
        print(
            f"(d) server CPU per GB, {clients} client(s): Hearth {cpu['hearth']:.3f} s, "
            f"nginx {cpu['nginx']:.3f} s, nginx 1 worker {cpu['nginx-1w']:.3f} s; "
            f"Hearth/nginx {f.paired(f'cpu hearth {clients}', f'cpu nginx {clients}'):.2f}x "
            f"(client: {f.median(f'client cpu hearth {clients}'):.3f} s/GB)"
        )


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "client":
        client_main(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--downloads", type=int, default=3, help="whole-file GETs per client")
    parser.add_argument("--ranges", type=int, default=200, help="Range requests per TTFB run")
    parser.add_argument("--cache-dir", default="/var/tmp/hearth-bench")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root: nginx and every client run inside a private network namespace")
    ensure_nginx()
    source = make_source(Path(args.cache_dir))
    work = Path(tempfile.mkdtemp(prefix="hearth-playback-bench-"))
    work.chmod(0o755)  # nginx's workers run as nobody and must reach the media folder
    figures = Figures()
    try:
        with netns.network_namespace() as ns:
            version = subprocess.run([*ns.prefix, NGINX, "-v"], capture_output=True, text=True)
            with servers(ns, work, source) as s:
                for name, port in PORTS.items():  # warm-up, unmeasured: page cache, first request
                    s["run"]("download", port, s["paths"][name], s["token"], 1, 1)
                for run in range(1, args.runs + 1):
                    print(one_run(run, s, figures, args, source), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        Path(tempfile.gettempdir(), "hearth-bare.ts").unlink(missing_ok=True)
    size = source.stat().st_size / 1e6
    header = (
        f"Playback, medians of {args.runs} runs ({size:.0f} MB file, {args.downloads} downloads"
        f" per client; {version.stderr.strip()}; {os.cpu_count()} CPUs; ratios are medians of"
        " same-run ratios)"
    )
    report(figures, args, header)


if __name__ == "__main__":
    main()
