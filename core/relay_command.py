"""`hearth relay key|status`: the box's side of remote access, from its own shell.

`key` makes the box's SSH key once (core.relay_identity) and prints the public line to give the
relay's operator for `scripts/relay/enrol`. `status` asks the running server, as an owner (with
the same short-lived key `hearth scan` uses), what its relay plugin reports: state, public URL,
bytes carried, last error. It never changes the configuration and never reaches the relay.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import urllib.error
import urllib.request
from typing import Any

from core.configuration import Configuration
from core.relay_identity import IdentityError, identity_blocking


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "action",
        choices=("key", "status"),
        help="key: print the box's public SSH key (made once) for the relay's enrol; "
        "status: what the running server's relay is doing",
    )
    parser.add_argument("--json", action="store_true", help="status: print the report as JSON")


def run_relay(config: Configuration, args: argparse.Namespace) -> int:
    if args.action == "key":
        return _key(config)
    return _status(config, args.json)


def _key(config: Configuration) -> int:
    try:
        identity = identity_blocking(config.hearth.data_dir)
    except (IdentityError, OSError) as err:
        print(err, file=sys.stderr)
        return 1
    print(identity.public_key)
    print(
        f"({identity.fingerprint}; the relay's operator enrols it with: "
        f"scripts/relay/enrol NAME '{identity.public_key}')",
        file=sys.stderr,
    )
    return 0


def _relay_entry(config: Configuration) -> str | None:
    """The configured relay plugin's domain, found by its kind (the core names no plugin)."""
    configured = config.plugins  # (the architecture test greps core for the package name)
    for domain, entry in configured.items():
        if entry.spec.manifest.kind == "relay":
            return domain
    return None


def _status(config: Configuration, as_json: bool) -> int:
    from core.scan.command import _cli_key, _server_url

    domain = _relay_entry(config)
    if domain is None:
        print("No relay is configured (a relay: block in configuration.yaml).", file=sys.stderr)
        return 1
    url = _server_url(config)
    if url is None:
        print("The server is not running here; start it to see the relay.", file=sys.stderr)
        return 1
    key = asyncio.run(_cli_key(config))
    if key is None:
        print("No owner account yet: finish the first-run setup first.", file=sys.stderr)
        return 1
    try:
        request = urllib.request.Request(
            f"{url}/api/health", headers={"Authorization": f"Bearer {key[1]}"}
        )
        with urllib.request.urlopen(request, timeout=10) as reply:
            health = json.load(reply)
    except (OSError, urllib.error.URLError, ValueError) as err:
        print(f"The server at {url} did not answer: {err}", file=sys.stderr)
        return 1
    finally:
        asyncio.run(_cli_key(config, revoke=key[0]))
    plugins: list[dict[str, Any]] = health.get("plugins", [])
    plugin = next((p for p in plugins if p["domain"] == domain), {})
    report = {
        "plugin_state": plugin.get("state"),
        "plugin_error": plugin.get("error"),
        **(plugin.get("detail") or {}),
        "tls": health.get("tls"),
    }
    print(json.dumps(report, indent=2) if as_json else render_text(report))
    return 0


def _size(count: Any) -> str:
    value = float(count or 0)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return ""  # unreachable


def render_text(report: dict[str, Any]) -> str:
    """The report for a person at a terminal."""
    if report.get("plugin_state") != "running":
        why = f": {report['plugin_error']}" if report.get("plugin_error") else ""
        return f"Relay plugin {report.get('plugin_state')}{why}"
    lines = [
        f"Relay:       {report.get('state')} ({report.get('server')})",
        f"Public URL:  {report.get('url')}",
        f"Carried:     {_size(report.get('bytes_in'))} in, {_size(report.get('bytes_out'))} out, "
        f"{report.get('connections', 0)} connection(s), {report.get('open', 0)} open now",
    ]
    if report.get("max_mbps"):
        lines.append(f"Remote cap:  {report['max_mbps']} Mbit/s")
    if report.get("last_error"):
        lines.append(f"Last error:  {report['last_error']}")
    tls = report.get("tls") or {}
    certificate = report.get("certificate") or {}  # the public name's, by ACME
    if certificate.get("source") == "acme":
        lines.append(
            f"Certificate: from {certificate['issuer']} until {certificate['not_after']} "
            f"(renewed from {certificate['renews_at']}); phones trust it, nothing to pin"
        )
    elif tls.get("source") == "generated":
        lines.append(f"Certificate: self-signed; phones pin SHA-256 {tls['fingerprint_sha256']}")
    if certificate.get("last_error"):
        lines.append(f"ACME:        {certificate['state']}: {certificate['last_error']}")
    return "\n".join(lines)
