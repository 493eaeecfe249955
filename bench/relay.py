"""Relay benchmark: what the SNI relay (HAProxy + sshd, scripts/relay) costs and carries.

Why: the relay issue asks how many homes and Mbit/s a small VPS carries, and sets goals for the
box's own tunnel against a plain OpenSSH `ssh -R` on the same path (throughput >= 0.8x, added
time to first byte p95 <= 15 ms). This measures the reference: a 200 MB file phone -> relay ->
home through `ssh -R` (OpenSSH's default cipher, and aes128-gcm), and the same file direct
(phone -> home routed by the relay namespace's kernel, no relay software on the path); and
the box itself (bench/relay_box.py): Hearth with its `relay:` block streaming the same file
through /api/items/{id}/stream with a session token, direct and through the relay plugin.

The goal's reference is `Hearth via plain ssh -R`: a plain `ssh -R` (the plugin's cipher
order) forwarding the relay's port to Hearth's own HTTPS port, so the same Hearth serves the
same file over the same TLS and the tunnel is the only difference. The Python-origin cases
stay as context, but their ratio mixes the tunnel's cost with the origin's speed: Python's
http.server writes TLS from threads straight into its socket (measured ~1.5x Hearth's
asyncio TLS direct on this box), so the relay against them reads low even when its tunnel
costs nothing. HAProxy sends the `plain` name no PROXY header (an extra backend in this
bench's own haproxy.cfg), since Hearth's HTTPS port takes TLS from the first byte; every
other name gets one, as scripts/relay/setup writes it.

Where: tests/relay/topology.py's three namespaces (home, relay, phone); the relay is
scripts/relay/setup --root + run, whose HAProxy starts each connection with a PROXY v2
header (send-proxy-v2, as every relay does; the reference origin reads it off first). The
home's HTTPS server (the "origin") is Python's http.server over TLS, serving the 200 MB file
(a WAV header over random bytes) and a small one, or Hearth. The phone is this file run as
`relay.py client ...` in the phone namespace: HTTP/1.1 GETs over TLS with the case's SNI,
read in 1 MiB buffers; it reports its own CPU time. Each case's file is checked once per
bench (SHA-256, untimed) to arrive byte for byte.

Measured per case, `--runs` times (cases alternate, medians printed; the box is shared):
- MB/s for one download and for `--streams` concurrent downloads of the file;
- time to first byte p50/p95: `--ttfb` fresh connections (TCP + TLS + GET of the small file);
- CPU seconds per GB on each side: relay (haproxy, sshd and its box sessions), home (origin and
  tunnel processes; for Hearth its one process), phone (client). Kernel network time is not
  counted anywhere.
Then the idle cost: `--idle-boxes` extra boxes connected for `--idle-seconds` (relay memory
(PSS) per connected box, and keepalive bytes per box per hour on the relay's home link), and
Hearth's alone for `--box-idle-seconds` (keepalive bytes per hour, RSS the plugin adds).

Adding a case (the box's own tunnel, later): write an `Origin` (how the home's HTTPS server
starts: port, paths, headers, the PIDs whose CPU counts) and/or a `HomeEnd` (what carries the
relay's connections for the enrolled box home, up when it yields, yielding its PIDs), and add
a `Case` to `cases()`.

Usage (as root): .venv/bin/python bench/relay.py [--runs 3] [--size-mb 200] [--streams 4]
                 [--ttfb 50] [--idle-boxes 20] [--idle-seconds 30] [--box-idle-seconds 90]
                 [--only NAME,...] [--work-dir DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.debian import install_without_starting  # noqa: E402
from bench.relay_box import FILE, PLAIN, PUBLIC, HearthBox, link_pids, write_wav  # noqa: E402
from bench.relay_box import HTTPS_PORT as HEARTH_HTTPS_PORT  # noqa: E402
from bench.relay_box import idle_cost as box_idle_cost  # noqa: E402
from bench.relay_report import report  # noqa: E402
from plugins.relay.link import cipher_order_blocking  # noqa: E402
from tests.relay import topology as net  # noqa: E402
from tests.relay.peers import read_proxy_header  # noqa: E402
from tests.relay.world import (  # noqa: E402
    DOMAIN,
    HTTPS_PORT,
    RelayWorld,
    make_certificate,
)

NAME = "bench"
SNI = f"{NAME}.{DOMAIN}"
ORIGIN_PORT = 8444
MB = 1_000_000


# --- the phone (runs inside the phone namespace) ------------------------------------------------


def fetch(
    host: str, port: int, sni: str, path: str, headers: list[str], digest: Any = None
) -> tuple[int, float, float]:
    """GET path over a fresh TLS connection: (body bytes, seconds to first byte, seconds).
    The body goes through `digest` (a hashlib object) when one is given."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    start = time.perf_counter()
    raw = socket.create_connection((host, port), timeout=60)
    with context.wrap_socket(raw, server_hostname=sni) as tls:
        head = "".join(f"{h}\r\n" for h in [f"Host: {sni}", "Connection: close", *headers])
        tls.sendall(f"GET {path} HTTP/1.1\r\n{head}\r\n".encode())
        buffer = bytearray(1 << 20)
        received = tls.recv_into(buffer)
        first = time.perf_counter() - start
        data = bytes(buffer[:received])
        while b"\r\n\r\n" not in data:
            data += tls.recv(65536)
        header, _, body = data.partition(b"\r\n\r\n")
        if header.split(b" ", 2)[1:2] != [b"200"]:
            raise OSError(f"answered {header.splitlines()[0].decode()}")
        length = next(
            int(line.split(b":")[1])
            for line in header.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        got = len(body)
        if digest is not None:
            digest.update(body)
        while got < length and (n := tls.recv_into(buffer)):
            got += n
            if digest is not None:
                digest.update(memoryview(buffer)[:n])
    if got != length:
        raise OSError(f"short body: {got} of {length}")
    return got, first, time.perf_counter() - start


def client(args: argparse.Namespace) -> None:
    headers = json.loads(args.headers)
    cpu = time.process_time()
    where = (args.host, args.port, args.sni, args.path, headers)
    if args.mode == "verify":
        digest = hashlib.sha256()
        size = fetch(*where, digest)[0]
        result: dict[str, Any] = {"bytes": size, "sha256": digest.hexdigest()}
    elif args.mode == "ttfb":
        result = {"ttfb": [fetch(*where)[1] for _ in range(args.count)]}
    else:
        results: list[tuple[int, float, float]] = []
        start = time.perf_counter()
        threads = [
            threading.Thread(target=lambda: results.append(fetch(*where)))
            for _ in range(args.count)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if len(results) != args.count:
            raise SystemExit("a download failed")
        result = {"bytes": sum(r[0] for r in results), "seconds": time.perf_counter() - start}
    result["cpu"] = time.process_time() - cpu
    print(json.dumps(result), flush=True)


# --- the home's HTTPS server (runs inside the home namespace) ----------------------------------


def origin(args: argparse.Namespace) -> None:
    import functools
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *values: Any) -> None:
            pass

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)

    class Server(ThreadingHTTPServer):
        def get_request(self) -> tuple[socket.socket, Any]:
            """A connection through the relay starts with its PROXY v2 header (read off
            here); a direct one with TLS. The handshake is the handler thread's."""
            conn, address = self.socket.accept()
            if conn.recv(12, socket.MSG_PEEK | socket.MSG_WAITALL) == b"\r\n\r\n\x00\r\nQUIT\n":
                read_proxy_header(conn)
            tls = context.wrap_socket(conn, server_side=True, do_handshake_on_connect=False)
            return tls, address

    handler = functools.partial(Quiet, directory=args.folder)
    server = Server(("0.0.0.0", args.port), handler)
    print("ready", flush=True)
    server.serve_forever()


# --- the cases ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Served:
    """The home's HTTPS server as the phone sees it."""

    port: int  # on every address of the home namespace
    sni: str  # the name the phone asks for (SNI and Host)
    big: str  # path of the file to download
    small: str  # path of a small answer (time to first byte)
    headers: tuple[str, ...]  # sent with every request (a session token, say)
    pids: tuple[int, ...]  # whose CPU counts for the home


@dataclass
class Bench:
    world: RelayWorld
    folder: Path
    size_mb: int
    key: Path  # the enrolled box's private key
    port: int  # its loopback port on the relay
    plain: tuple[Path, int]  # key and port of the name HAProxy sends no PROXY header (PLAIN)
    relay_pid: int
    box: HearthBox  # the real box, enrolled under its own name
    sha256: str  # of the file every case serves


Origin = Callable[[Bench], AbstractContextManager[Served]]
HomeEnd = Callable[[Bench, Served], AbstractContextManager[tuple[int, ...]]]


@dataclass(frozen=True)
class Case:
    name: str
    origin: Origin
    home_end: HomeEnd | None  # None: direct, phone -> home without the relay


@contextlib.contextmanager
def python_origin(bench: Bench) -> Iterator[Served]:
    world = bench.world
    certificate = make_certificate(bench.folder, SNI)
    process = world.topology.start(
        world.topology.home,
        [sys.executable, str(Path(__file__).resolve()), "origin", str(bench.folder / "www"),
         str(ORIGIN_PORT), str(certificate.cert), str(certificate.key)],
        log=bench.folder / "origin.log",
    )  # fmt: skip
    assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    try:
        yield Served(ORIGIN_PORT, SNI, f"/{FILE}", "/small.txt", (), (process.pid,))
    finally:
        world.topology.stop(process)


def openssh(*options: str) -> HomeEnd:
    @contextlib.contextmanager
    def start(bench: Bench, served: Served) -> Iterator[tuple[int, ...]]:
        key, port = bench.plain if served.sni == PLAIN else (bench.key, bench.port)
        tunnel = bench.world.start_tunnel(
            key, port, target=served.port,
            options=("-o", "ServerAliveInterval=15", *options),
        )  # fmt: skip
        try:
            yield (tunnel.pid,)
        finally:
            bench.world.topology.stop(tunnel)

    return start


def hearth_origin(sni: str) -> Origin:
    """Hearth with its relay: block (link up), the file as a track, an owner's session; the
    phone asks for `sni` (PUBLIC: through the plugin; PLAIN: through a plain ssh -R)."""

    @contextlib.contextmanager
    def start(bench: Bench) -> Iterator[Served]:
        box = bench.box
        pid = box.start(relay=True)
        try:
            yield Served(
                HEARTH_HTTPS_PORT, sni, f"/api/items/{box.item}/stream", "/api/auth/me",
                (f"Authorization: Bearer {box.token}",), (pid,),
            )  # fmt: skip
        finally:
            box.stop()

    return start


@contextlib.contextmanager
def relay_plugin(bench: Bench, served: Served) -> Iterator[tuple[int, ...]]:
    """The plugin runs in Hearth's process (counted as the origin's), its link in Hearth's
    child `ssh` (counted here): the link is up."""
    yield tuple(link_pids(served.pids[0]))


def cases() -> list[Case]:
    same_ciphers = ("-o", f"Ciphers={','.join(cipher_order_blocking())}")  # as the plugin's
    return [
        Case("direct (no relay)", python_origin, None),
        Case("OpenSSH ssh -R, default cipher", python_origin, openssh()),
        Case("OpenSSH ssh -R, aes128-gcm", python_origin, openssh("-c", "aes128-gcm@openssh.com")),
        Case("Hearth direct (no relay)", hearth_origin(PUBLIC), None),
        Case("Hearth via plain ssh -R", hearth_origin(PLAIN), openssh(*same_ciphers)),
        Case("Hearth relay plugin", hearth_origin(PUBLIC), relay_plugin),
    ]


def send_no_proxy_header(world: RelayWorld, sni: str) -> None:
    """This bench's relay passes connections for `sni` on without the PROXY v2 header (a
    second backend in its haproxy.cfg, before the relay starts): a plain `ssh -R` to Hearth's
    HTTPS port delivers exactly the phone's TLS, as it would to any HTTPS server."""
    cfg = world.root / "haproxy.cfg"
    text = cfg.read_text()
    backend = text[text.index("\nbackend boxes\n") + 1 :].splitlines()
    rules = [line for line in backend if line.strip().startswith("tcp-request content set-dst")]
    plain = "\n".join(["backend plain", *rules, "    server box 0.0.0.0:0"])  # no send-proxy
    route = f"    use_backend plain if {{ req.ssl_sni -i {sni} }}\n    default_backend boxes\n"
    text = text.replace("    default_backend boxes\n", route)
    cfg.write_text(f"{text}\n{plain}\n")


# --- measuring ---------------------------------------------------------------------------------


def cpu_of(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        with contextlib.suppress(psutil.NoSuchProcess):
            times = psutil.Process(pid).cpu_times()
            total += times.user + times.system
    return total


def relay_pids(bench: Bench) -> list[int]:
    run = psutil.Process(bench.relay_pid)
    return [bench.relay_pid, *(child.pid for child in run.children(recursive=True))]


def phone(bench: Bench, served: Served, via_relay: bool, mode: str, count: int) -> dict[str, Any]:
    host, port = (net.RELAY_PHONE_SIDE, HTTPS_PORT) if via_relay else (net.HOME, served.port)
    path = served.small if mode == "ttfb" else served.big
    done = subprocess.run(
        [*bench.world.topology.phone.prefix, sys.executable, str(Path(__file__).resolve()),
         "client", mode, host, str(port), served.sni, path, str(count),
         json.dumps(list(served.headers))],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"the phone failed ({mode} {path}):\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def measure(bench: Bench, case: Case, streams: int, ttfb: int, verify: bool) -> dict[str, float]:
    with case.origin(bench) as served:
        home_end = case.home_end(bench, served) if case.home_end else contextlib.nullcontext(())
        with home_end as tunnel_pids:
            home = [*served.pids, *tunnel_pids]
            relay = relay_pids(bench) if case.home_end else []
            if verify:  # byte for byte, once per case (hashing would slow the timed phone)
                got = phone(bench, served, case.home_end is not None, "verify", 1)
                if got["sha256"] != bench.sha256:
                    raise RuntimeError(f"{case.name}: the file arrived changed: {got}")
            figures: dict[str, float] = {}
            for label, count in (("1 stream", 1), (f"{streams} streams", streams)):
                before = cpu_of(relay), cpu_of(home)
                got = phone(bench, served, case.home_end is not None, "download", count)
                gigabytes = got["bytes"] / 1e9
                figures[f"{label} MB/s"] = got["bytes"] / MB / got["seconds"]
                if count == 1:
                    figures["relay CPU s/GB"] = (cpu_of(relay) - before[0]) / gigabytes
                    figures["home CPU s/GB"] = (cpu_of(home) - before[1]) / gigabytes
                    figures["phone CPU s/GB"] = got["cpu"] / gigabytes
            firsts = sorted(phone(bench, served, case.home_end is not None, "ttfb", ttfb)["ttfb"])
            figures["TTFB p50 ms"] = 1000 * statistics.median(firsts)
            figures["TTFB p95 ms"] = 1000 * firsts[int(0.95 * (len(firsts) - 1))]
            return figures


def pss_kib(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
    return total


def link_bytes(bench: Bench) -> int:
    relay = bench.world.topology.relay
    total = 0
    for direction in ("rx", "tx"):
        done = subprocess.run(
            [*relay.prefix, "cat", f"/sys/class/net/rv0/statistics/{direction}_bytes"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        total += int(done.stdout)
    return total


def idle_cost(bench: Bench, boxes: int, seconds: float) -> dict[str, float]:
    """Memory on the relay per connected box, and keepalive bytes per box per hour."""
    world = bench.world
    before = pss_kib(relay_pids(bench))
    tunnels = []
    for index in range(boxes):
        key = world.box_key(f"idle{index}")
        port = int(world.enrol(f"idle{index}", key.with_suffix(".pub"))["port"])
        tunnels.append(
            world.start_tunnel(key, port, target=ORIGIN_PORT,
                               options=("-o", "ServerAliveInterval=15"))
        )  # fmt: skip
    time.sleep(1)  # let the sessions settle after their last handshake packets
    memory = (pss_kib(relay_pids(bench)) - before) / boxes
    box_rss = statistics.median(psutil.Process(t.pid).memory_info().rss for t in tunnels) / 1024
    start_bytes, start = link_bytes(bench), time.monotonic()
    time.sleep(seconds)
    carried = (link_bytes(bench) - start_bytes) / boxes / (time.monotonic() - start) * 3600
    for tunnel in tunnels:
        world.topology.stop(tunnel)
    return {
        "relay PSS per box KiB": memory,
        "box ssh RSS KiB": box_rss,
        "keepalive bytes per box per hour": carried,
    }


# --- the run -----------------------------------------------------------------------------------


def prepare(folder: Path, size_mb: int) -> str:
    """The served folder: the big file (a WAV over random bytes) and a small one; the big
    file's SHA-256."""
    www = folder / "www"
    www.mkdir(parents=True, exist_ok=True)
    (www / "small.txt").write_text("hello from home\n")
    samples = folder / "random.bin"
    with open(samples, "wb") as out:
        for _ in range(size_mb):
            out.write(os.urandom(MB))
    write_wav(www / FILE, samples)
    samples.unlink()
    digest = hashlib.sha256()
    with open(www / FILE, "rb") as source:
        while chunk := source.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def main_bench(args: argparse.Namespace) -> None:
    for command, package in (("/usr/sbin/sshd", "openssh-server"), ("haproxy", "haproxy")):
        if not shutil.which(command):
            install_without_starting(package)
    work = Path(args.work_dir or tempfile.mkdtemp(prefix="hearth-relay-bench-"))
    sha256 = prepare(work, args.size_mb)
    chosen = [c for c in cases() if not args.only or any(o in c.name for o in args.only)]
    results: dict[str, list[dict[str, float]]] = {}
    with net.three_namespaces() as topology:
        net.route_directly(topology)
        world = RelayWorld(topology, work)
        send_no_proxy_header(world, PLAIN)
        relay = world.start_relay()
        key = world.box_key(NAME)
        port = int(world.enrol(NAME, key.with_suffix(".pub"))["port"])
        plain_key = world.box_key("plain")
        plain = plain_key, int(world.enrol("plain", plain_key.with_suffix(".pub"))["port"])
        box = HearthBox(world, work / "hearth", work / "www")
        box.folder.mkdir(exist_ok=True)
        box.prepare()
        try:
            bench = Bench(world, work, args.size_mb, key, port, plain, relay.pid, box, sha256)
            for run in range(args.runs):
                for case in chosen:
                    figures = measure(bench, case, args.streams, args.ttfb, verify=run == 0)
                    results.setdefault(case.name, []).append(figures)
                    print(f"run {run + 1} {case.name}: {json.dumps(figures)}", file=sys.stderr)
            idle = idle_cost(bench, args.idle_boxes, args.idle_seconds) if args.idle_boxes else {}
            if args.box_idle_seconds:
                idle |= box_idle_cost(
                    box,
                    args.box_idle_seconds,
                    lambda: link_bytes(bench),
                    lambda: pss_kib(relay_pids(bench)),
                )
        finally:
            box.forget()
    report(results, idle, args)
    if not args.work_dir:
        shutil.rmtree(work)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="role")
    run = sub.add_parser("bench")
    run.add_argument("--runs", type=int, default=3)
    run.add_argument("--size-mb", type=int, default=200)
    run.add_argument("--streams", type=int, default=4)
    run.add_argument("--ttfb", type=int, default=50)
    run.add_argument("--idle-boxes", type=int, default=20)
    run.add_argument("--idle-seconds", type=float, default=30)
    run.add_argument("--box-idle-seconds", type=float, default=90)
    run.add_argument(
        "--only", type=lambda text: text.split(","), help="cases whose names contain these"
    )
    run.add_argument("--work-dir")
    each = sub.add_parser("client")
    for name in ("mode", "host", "port", "sni", "path", "count", "headers"):
        each.add_argument(name, type=int if name in ("port", "count") else str)
    serve = sub.add_parser("origin")
    for name in ("folder", "port", "cert", "key"):
        serve.add_argument(name, type=int if name == "port" else str)
    argv = sys.argv[1:]
    if not argv or argv[0] not in sub.choices:
        argv = ["bench", *argv]
    args = parser.parse_args(argv)
    {"bench": main_bench, "client": client, "origin": origin}[args.role](args)


if __name__ == "__main__":
    main()
