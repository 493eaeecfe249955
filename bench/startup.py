"""How long `hearth run` takes to serve /api/health: first start (new catalog) and restarts.

Run as root: it makes its own network namespace, so the default configuration's mDNS
announcement stays inside. The reference is Python's own `http.server` answering its first
request, started the same way: the floor for any Python server on this box.
Usage: .venv/bin/python bench/startup.py [--runs 7]
"""

from __future__ import annotations

import argparse
import os
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


def time_to_serve(
    prefix: list[str], command: list[str], url: str, env: dict[str, str], cwd: Path | None = None
) -> float:
    """Seconds from spawning `command` until `url` answers 200; then the process is stopped."""
    began = time.perf_counter()
    process = subprocess.Popen(
        [*prefix, *command],
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while time.perf_counter() - began < 30:
            probe = subprocess.run(
                [*prefix, sys.executable, "-c", PROBE, url], capture_output=True, timeout=5
            )
            if probe.returncode == 0:
                return float(probe.stdout) - began
            time.sleep(0.005)
        raise RuntimeError(f"{command} did not serve {url} within 30 s")
    finally:
        process.terminate()
        process.wait(timeout=10)


# A loop inside the namespace that polls quickly and prints when the first 200 arrived
PROBE = """
import sys, time, urllib.request
deadline = time.perf_counter() + 30
while time.perf_counter() < deadline:
    try:
        with urllib.request.urlopen(sys.argv[1], timeout=1) as r:
            if r.status == 200:
                print(time.perf_counter()); sys.exit(0)
    except OSError:
        time.sleep(0.01)
sys.exit(1)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    reason = netns.unavailable_reason()
    if reason:
        sys.exit(f"cannot benchmark safely: {reason}")
    _ = urllib  # the probe runs in a child; keep the import for readers of PROBE
    work = Path(tempfile.mkdtemp(prefix="hearth-bench-"))
    config = work / "config"
    shutil.copytree(ROOT / "config", config)
    text = (config / "configuration.yaml").read_text()
    (config / "configuration.yaml").write_text(text.replace("./data", str(work / "data")))
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    hearth = [str(ROOT / ".venv" / "bin" / "hearth"), "run", "-c", str(config)]
    health = "http://127.0.0.1:8440/api/health"
    reference = [sys.executable, "-m", "http.server", "8441", "--bind", "127.0.0.1"]
    try:
        with netns.network_namespace() as ns:
            first = time_to_serve(ns.prefix, hearth, health, env, work)
            again = [time_to_serve(ns.prefix, hearth, health, env, work) for _ in range(args.runs)]
            floor = [
                time_to_serve(ns.prefix, reference, "http://127.0.0.1:8441/", env)
                for _ in range(args.runs)
            ]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    median, ref = statistics.median(again), statistics.median(floor)
    print(f"first start (new catalog):        {first:.3f} s")
    print(f"second+ start, median of {args.runs}:      {median:.3f} s  (target < 1.5 s)")
    print(f"  min / max:                      {min(again):.3f} / {max(again):.3f} s")
    print(f"reference python -m http.server:  {ref:.3f} s")
    print(f"ratio hearth / reference:         {median / ref:.2f}x")


if __name__ == "__main__":
    main()
