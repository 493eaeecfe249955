"""The relay benchmark's printed report: medians per case, and each case against its reference.

Why: the relay issue's goals are ratios (the box's tunnel against a plain OpenSSH `ssh -R` on
the same path, >= 0.8x; added time to first byte against direct, <= 15 ms): they are printed
here from bench/relay.py's medians so nobody does the arithmetic by hand. Nothing is measured
here.
"""

from __future__ import annotations

import os
import statistics
from typing import Any

import psutil

# what each measured case is held against: (reference, what the comparison says); the first
# line is the goal's like-for-like reference (the same Hearth, file and TLS; only the tunnel
# differs), the others are context: the Python origin serves faster than Hearth's asyncio TLS,
# so a ratio against it mixes the tunnel's cost with the origin's speed
AGAINST = {
    "Hearth relay plugin": [
        ("Hearth via plain ssh -R", "plain ssh -R to Hearth's own HTTPS, goal >= 0.8x"),
        ("OpenSSH ssh -R, aes128-gcm", "plain ssh -R (aes128-gcm) to the Python origin"),
        ("OpenSSH ssh -R, default cipher", "plain ssh -R (default cipher) to the Python origin"),
        ("Hearth direct (no relay)", "Hearth's own HTTPS direct"),
        ("direct (no relay)", "direct HTTPS (Python origin)"),
    ],
    "Hearth via plain ssh -R": [("Hearth direct (no relay)", "Hearth's own HTTPS direct")],
    "OpenSSH ssh -R, default cipher": [("direct (no relay)", "direct HTTPS")],
    "OpenSSH ssh -R, aes128-gcm": [("direct (no relay)", "direct HTTPS")],
}
TTFB_AGAINST = {
    "Hearth relay plugin": "Hearth direct (no relay)",
    "Hearth via plain ssh -R": "Hearth direct (no relay)",
    "OpenSSH ssh -R, default cipher": "direct (no relay)",
    "OpenSSH ssh -R, aes128-gcm": "direct (no relay)",
}


def report(results: dict[str, list[dict[str, float]]], idle: dict[str, float], args: Any) -> None:
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"\nRelay bench: {args.size_mb} MB file, medians of {args.runs} runs, "
          f"{psutil.cpu_count()} CPUs ({' '.join(os.uname()[2:3])}), "
          f"load average {load} (1, 5, 15 min; the box is shared)")  # fmt: skip
    medians = {
        name: {key: statistics.median(run[key] for run in runs) for key in runs[0]}
        for name, runs in results.items()
    }
    keys = list(next(iter(medians.values()))) if medians else []
    print(f"{'':34}" + "".join(f"{key:>18}" for key in keys))
    for name, figures in medians.items():
        print(f"{name:34}" + "".join(f"{figures[key]:>18.1f}" for key in keys))
    for name, figures in medians.items():
        lines = []
        for reference, said in AGAINST.get(name, []):
            if reference in medians:
                base = medians[reference]
                one = figures["1 stream MB/s"] / base["1 stream MB/s"]
                many = next(k for k in figures if k.endswith("streams MB/s"))
                ratio = figures[many] / base[many]
                lines.append(f"  {one:.2f}x {said} ({ratio:.2f}x with {many[:-5]})")
        if name in TTFB_AGAINST and TTFB_AGAINST[name] in medians:
            base = medians[TTFB_AGAINST[name]]
            p50 = figures["TTFB p50 ms"] - base["TTFB p50 ms"]
            p95 = figures["TTFB p95 ms"] - base["TTFB p95 ms"]
            lines.append(f"  time to first byte +{p50:.1f} ms p50, +{p95:.1f} ms p95 "
                         f"against {TTFB_AGAINST[name]}")  # fmt: skip
        home = "Hearth direct (no relay)" if name.startswith("Hearth") else "direct (no relay)"
        if figures.get("relay CPU s/GB", 0) > 0 and home in medians:
            added = figures["home CPU s/GB"] - medians[home]["home CPU s/GB"]
            lines.append(f"  home CPU {figures['home CPU s/GB']:.1f} s/GB "
                         f"(+{added:.1f} s/GB for the tunnel); one relay CPU like this one "
                         f"carries ~{8000 / figures['relay CPU s/GB']:.0f} Mbit/s")  # fmt: skip
        if lines:
            print(f"{name}:")
            print("\n".join(lines))
    for key, value in idle.items():
        print(f"idle: {key}: {value:.0f}")
