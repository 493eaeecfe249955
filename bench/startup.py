"""How fast Hearth starts: `hearth run` to /api/health and to the first page of items, on a
first start (new catalog) and on restarts, and `hearth version`'s wall time.

Run as root: it makes its own network namespace, so the configuration's mDNS and SSDP stay
inside. The references are Python's own `http.server` answering its first request, started the
same way (the floor for any Python server on this box), and `python -c pass` for the CLI.

Bytecode is cached under the bench's work folder (PYTHONPYCACHEPREFIX), as an installed package
has it compiled: the first start compiles, restarts do not, and the source tree stays clean.
With `--config DIR` the restarts run on that configuration as it is (a library already scanned,
e.g. 100k items: its data folder is written to as by any start, so pass a copy); without it, a
copy of config/ with an empty data folder. The first item page is `GET /api/items?limit=50` with
the token of an owner the bench adds (`hearth user add`), timed from the spawn like health.
Usage: .venv/bin/python bench/startup.py [--runs 7] [--config DIR] [--netns-prefix hearth-su]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import netns  # noqa: E402

HEARTH = str(Path(sys.executable).parent / "hearth")  # the venv's console script, as installed
USER, PASSWORD = "bench", "startup-bench-password"
ITEMS = "/api/items?limit=50"
TARGET_RESTART_S, TARGET_VERSION_S = 1.0, 0.25

# A loop inside the namespace: prints when each URL first answered 200 (perf_counter is the
# system's monotonic clock, so it compares with the parent's), the second with the token.
PROBE = """
import sys, time, urllib.request
deadline = time.perf_counter() + 60
for url, token in zip(sys.argv[1::2], sys.argv[2::2]):
    headers = {"Authorization": "Bearer " + token} if token != "-" else {}
    while True:
        if time.perf_counter() > deadline:
            sys.exit(1)
        try:
            request = urllib.request.Request(url, headers=headers)
            with urllib.request.urlopen(request, timeout=1) as r:
                if r.status == 200:
                    r.read()
                    print(time.perf_counter(), flush=True)
                    break
        except OSError:
            time.sleep(0.005)
"""


def time_to_serve(
    prefix: list[str],
    command: list[str],
    probes: list[tuple[str, str]],
    env: dict[str, str],
    cwd: Path | None = None,
    log: Path | None = None,
) -> list[float]:
    """Seconds from spawning `command` until each (url, token) answered 200; then it is
    stopped (SIGTERM, waited for). Its log (stderr) goes to `log` when given."""
    began = time.perf_counter()
    with open(log or os.devnull, "wb") as stderr:
        process = subprocess.Popen(
            [*prefix, *command], env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=stderr
        )
    try:
        args = [part for pair in probes for part in pair]
        probe = subprocess.run(
            [*prefix, sys.executable, "-c", PROBE, *args], capture_output=True, timeout=90
        )
        if probe.returncode != 0:
            raise RuntimeError(f"{command} did not serve {probes} within 60 s")
        return [float(line) - began for line in probe.stdout.split()]
    finally:
        process.terminate()
        process.wait(timeout=30)


def hub_start(log: Path) -> float | None:
    """What the hub logged as its own start ("started in 0.31 s"): from opening the catalog to
    listening, without the interpreter's start and the imports before it."""
    found = re.search(r"started in (\d+\.\d+) s", log.read_text(errors="replace"))
    return float(found[1]) if found else None


def version_wall(command: list[str], env: dict[str, str], runs: int) -> list[float]:
    """Wall seconds of `command` (a CLI call), each run on its own."""
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        subprocess.run(command, env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - began)
    return times


def prepared_config(work: Path, given: str | None) -> tuple[Path, int]:
    """The configuration folder to start (a copy of config/ with its own data folder unless one
    is given) and its HTTP port."""
    if given:
        config = Path(given)
    else:
        config = work / "config"
        shutil.copytree(ROOT / "config", config)
        text = (config / "configuration.yaml").read_text()
        (config / "configuration.yaml").write_text(text.replace("./data", str(work / "data")))
    found = re.search(r"^\s+port:\s*(\d+)", (config / "configuration.yaml").read_text(), re.M)
    return config, int(found[1]) if found else 8440


def owner_token(ns: netns.NetNs, config: Path, env: dict[str, str], base: str) -> str:
    """Add the bench's owner (once) and sign in on a running server: a token for the item page."""
    subprocess.run(
        [HEARTH, "user", "add", USER, "--role", "owner", "--password-stdin", "-c", str(config)],
        input=f"{PASSWORD}\n",
        text=True,
        env=env,
        capture_output=True,  # exists already on a second bench run: fine
    )
    process = subprocess.Popen(
        [*ns.prefix, HEARTH, "run", "-c", str(config)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    login = (
        "import json, sys, time, urllib.request\n"
        "body = json.dumps({'username': sys.argv[2], 'password': sys.argv[3]}).encode()\n"
        "for _ in range(600):\n"
        "    try:\n"
        "        request = urllib.request.Request(sys.argv[1] + '/api/auth/login', data=body,\n"
        "            headers={'Content-Type': 'application/json'}, method='POST')\n"
        "        with urllib.request.urlopen(request, timeout=5) as reply:\n"
        "            print(json.load(reply)['token']); break\n"
        "    except OSError:\n"
        "        time.sleep(0.1)\n"
    )
    try:
        result = subprocess.run(
            [*ns.prefix, sys.executable, "-c", login, base, USER, PASSWORD],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return result.stdout.strip()
    finally:
        process.terminate()
        process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--config", help="start this configuration (pass a copy: it is used)")
    parser.add_argument(
        "--netns-prefix", default="hearth-su", help="the namespace's name starts with this"
    )
    args = parser.parse_args()
    reason = netns.unavailable_reason()
    if reason:
        sys.exit(f"cannot benchmark safely: {reason}")
    work = Path(tempfile.mkdtemp(prefix="hearth-bench-"))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")  # compiled once, like an install
    env["HEARTH_ALLOW_ROOT"] = "1"  # the bench runs as root to make its namespace
    _ = urllib, json  # the probes run in children; kept for readers of PROBE
    try:
        config, port = prepared_config(work, args.config)
        hearth = [HEARTH, "run", "-c", str(config)]
        base = f"http://127.0.0.1:{port}"
        reference = [sys.executable, "-m", "http.server", "8441", "--bind", "127.0.0.1"]
        with netns.network_namespace(prefix=args.netns_prefix) as ns:
            first = time_to_serve(ns.prefix, hearth, [(base + "/api/health", "-")], env, work)[0]
            token = owner_token(ns, config, env, base)
            probes = [(base + "/api/health", "-"), (base + ITEMS, token)]
            logs = [work / f"restart{n}.log" for n in range(args.runs)]
            again = [time_to_serve(ns.prefix, hearth, probes, env, work, log) for log in logs]
            own = [hub_start(log) for log in logs]
            floor = [
                time_to_serve(ns.prefix, reference, [("http://127.0.0.1:8441/", "-")], env)[0]
                for _ in range(args.runs)
            ]
        version = version_wall([HEARTH, "version"], env, args.runs)
        bare = version_wall([sys.executable, "-c", "pass"], env, args.runs)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    health = [times[0] for times in again]
    page = [times[1] for times in again]
    median, ref = statistics.median(health), statistics.median(floor)
    v, b = statistics.median(version), statistics.median(bare)
    load = os.getloadavg()[0]
    print(f"first start (compiles; new catalog unless --config): {first:.3f} s")
    print(
        f"restart to health, median of {args.runs}:   {median:.3f} s  "
        f"(target <= {TARGET_RESTART_S} s: {'met' if median <= TARGET_RESTART_S else 'NOT met'})"
    )
    print(f"  min / max:                          {min(health):.3f} / {max(health):.3f} s")
    if all(seconds is not None for seconds in own):
        print(
            f"  of which the hub's own start (its log), median: "
            f"{statistics.median(s for s in own if s is not None):.3f} s "
            "(the rest: interpreter, imports, configuration)"
        )
    print(f"restart to first item page, median:   {statistics.median(page):.3f} s  ({ITEMS})")
    print(f"reference python -m http.server:      {ref:.3f} s  (ratio {median / ref:.2f}x)")
    print(
        f"hearth version wall, median of {args.runs}:  {v:.3f} s  "
        f"(target <= {TARGET_VERSION_S} s: {'met' if v <= TARGET_VERSION_S else 'NOT met'}; "
        f"python -c pass {b:.3f} s)"
    )
    print(f"load average while measured:          {load:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
