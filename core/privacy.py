"""The privacy report: what may leave this box, what did, and what is stored about each person.

One document serves `GET /api/privacy` (owners only) and `hearth privacy report` (`--json`):
the egress ledger (newest first, bounded) and per plugin what it sent (requests, bytes each
way, purposes and hosts), the destinations the owner enabled per plugin, every
configured plugin's declared network scope, hosts and reason, and how many rows each table
holds about each person. The tables are found from the schema's foreign keys to users, so a
table added later is counted without anyone remembering to list it here. It shows counts, never
anyone's viewing itself, and it never writes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from core.catalog import Catalog
from core.catalog.database import Database
from core.egress import enabled_hosts
from core.egress_ledger import ledger_count_blocking, ledger_rows_blocking
from core.http.errors import ApiError
from core.http.routes import Param, RouteSpec
from core.people.middleware import principal_of
from core.people.watch import stamp

if TYPE_CHECKING:
    from core.configuration import Configuration
    from core.egress_ledger import EgressLedger

LEDGER_LIMIT = 200


def plugin_reach(config: Configuration) -> list[dict[str, Any]]:
    """Every configured plugin's network scope as its manifest declares it, and what the owner
    enabled of it (hosts enabled but not declared are `ignored`: the gate refuses them)."""
    reach = []
    configured = config.plugins  # (the architecture test greps core for the package name)
    for domain, entry in configured.items():
        manifest = entry.spec.manifest
        chosen = config.hearth.egress.get(domain, ())
        enabled = enabled_hosts(manifest, config.hearth.egress)
        reach.append(
            {
                "domain": domain,
                "name": manifest.name,
                "kind": manifest.kind,
                "scope": manifest.network.scope,
                # `*` (the relay): its hosts are the ones the owner named
                "hosts": list(enabled if "*" in manifest.network.hosts else manifest.network.hosts),
                "reason": manifest.network.reason,
                "enabled_hosts": list(enabled),
                "ignored_hosts": [h for h in chosen if h not in {e.lower() for e in enabled}],
            }
        )
    return sorted(reach, key=lambda p: (p["scope"] == "none", p["domain"]))


@dataclass(frozen=True, slots=True)
class UserTable:
    """A table holding rows about a person: by its own column pointing at users(id), or through
    a parent table that has one (playlist items through their playlist)."""

    table: str
    column: str
    parent: str | None = None
    parent_key: str = ""
    parent_user: str = ""

    @property
    def label(self) -> str:
        return (
            self.table if self.column == "user_id" or self.parent else f"{self.table}.{self.column}"
        )

    def count_sql(self) -> str:
        """user id and row count, per person."""
        if self.parent is None:
            return (
                f"SELECT {self.column}, count(*) FROM {self.table} "
                f"WHERE {self.column} IS NOT NULL GROUP BY 1"
            )
        return (
            f"SELECT parent.{self.parent_user}, count(*) FROM {self.table} JOIN {self.parent} "
            f"AS parent ON parent.{self.parent_key} = {self.table}.{self.column} GROUP BY 1"
        )


def user_tables_blocking(db: Database) -> list[UserTable]:
    """Every table about people, found from the schema's foreign keys."""
    names = [
        str(r[0])
        for r in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    # foreign_key_list rows: id, seq, table, from, to, on_update, on_delete, match
    keys = {t: [tuple(r) for r in db.execute(f"PRAGMA foreign_key_list('{t}')")] for t in names}
    direct = [UserTable(t, str(k[3])) for t in names for k in keys[t] if k[2] == "users"]
    found = list(direct)
    for table in names:
        for key in keys[table]:
            for parent in direct:
                if key[2] == parent.table and parent.table not in ("users", table):
                    found.append(
                        UserTable(table, str(key[3]), parent.table, str(key[4]), parent.column)
                    )
    return found


def stored_counts_blocking(db: Database) -> dict[int, dict[str, int]]:
    """user id -> {label: rows}; labels are table names (with the column when not user_id)."""
    counts: dict[int, dict[str, int]] = {}
    for found in user_tables_blocking(db):
        for user_id, count in db.execute(found.count_sql()):
            counts.setdefault(int(user_id), {})[found.label] = int(count)
    return counts


def sent_by_plugin_blocking(db: Database) -> dict[str, dict[str, Any]]:
    """Per plugin, from the ledger rows kept: requests let out and refused, bytes each way, and
    how many requests each purpose and host accounted for (what an online provider sent)."""
    summary: dict[str, dict[str, Any]] = {}
    rows = db.execute(
        "SELECT plugin, host, purpose, allowed, count(*), sum(bytes_in), sum(bytes_out) "
        "FROM egress_ledger GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3"
    )
    for plugin, host, purpose, allowed, count, bytes_in, bytes_out in rows:
        entry = summary.setdefault(
            plugin,
            {"requests": 0, "refused": 0, "bytes_in": 0, "bytes_out": 0, "purposes": {}},
        )
        entry["requests" if allowed else "refused"] += count
        entry["bytes_in"] += bytes_in or 0
        entry["bytes_out"] += bytes_out or 0
        key = f"{purpose} ({host})"
        entry["purposes"][key] = entry["purposes"].get(key, 0) + count
    return summary


def people_blocking(db: Database) -> list[dict[str, Any]]:
    counts = stored_counts_blocking(db)
    rows = db.execute(
        "SELECT id, username, role, created_at, history_paused FROM users ORDER BY username"
    ).fetchall()
    return [
        {
            "id": r[0],
            "username": r[1],
            "role": r[2],
            "created_at": r[3],
            "history_paused": bool(r[4]),
            "stored": dict(sorted(counts.get(r[0], {}).items())),
        }
        for r in rows
    ]


async def build_report(catalog: Catalog, config: Configuration, limit: int) -> dict[str, Any]:
    def read(db: Database) -> dict[str, Any]:
        return {
            "ledger": {
                "total": ledger_count_blocking(db),
                "entries": ledger_rows_blocking(db, limit),
            },
            "sent": sent_by_plugin_blocking(db),
            "people": people_blocking(db),
        }

    stored = await catalog.read(read)
    plugins = plugin_reach(config)
    return {
        "generated_at": stamp(),
        "server": config.hearth.name,
        "egress": {p["domain"]: p["enabled_hosts"] for p in plugins if p["enabled_hosts"]},
        "plugins": plugins,
        **stored,
    }


def render_text(report: dict[str, Any]) -> str:
    """The report for a person at a terminal."""
    lines = [f"Privacy report for {report['server']} ({report['generated_at']})", ""]
    lines.append("What each plugin may reach:")
    for p in report["plugins"]:
        lines.append(f"  {p['domain']:<16} {p['scope']:<9} {p['reason']}".rstrip())
        for host in p["hosts"]:
            state = "enabled" if host in p["enabled_hosts"] else "not enabled"
            lines.append(f"  {'':<16} {'':<9} {host} ({state})")
        for host in p["ignored_hosts"]:
            lines.append(f"  {'':<16} {'':<9} {host} (enabled but not declared: refused)")
    ledger = report["ledger"]
    if report["sent"]:
        lines += ["", "What each plugin sent (ledger rows kept):"]
    for plugin, sent in report["sent"].items():
        lines.append(
            f"  {plugin:<16} {sent['requests']} requests, {sent['refused']} refused, "
            f"in {sent['bytes_in']} B, out {sent['bytes_out']} B"
        )
        lines += [f"  {'':<16} {n} x {purpose}" for purpose, n in sent["purposes"].items()]
    lines += ["", f"Outbound attempts ({len(ledger['entries'])} newest of {ledger['total']}):"]
    if not ledger["entries"]:
        lines.append("  none: nothing has left this box")
    for e in ledger["entries"]:
        verdict = "allowed" if e["allowed"] else "REFUSED"
        lines.append(
            f"  {e['at']}  {e['plugin']:<14} {verdict:<8} {e['host']}  "
            f"in {e['bytes_in']} B, out {e['bytes_out']} B  {e['purpose']}"
            + (f"  [{e['detail']}]" if e["detail"] else "")
        )
    lines += ["", "Stored about each person (rows):"]
    for person in report["people"]:
        stored = ", ".join(f"{k} {v}" for k, v in person["stored"].items()) or "nothing else"
        paused = "; history paused" if person["history_paused"] else ""
        lines.append(f"  {person['username']} ({person['role']}{paused}): {stored}")
    return "\n".join(lines)


# -- GET /api/privacy ----------------------------------------------------------------------------
def privacy_routes(
    catalog: Catalog, config: Configuration, ledger: EgressLedger
) -> list[RouteSpec]:
    """GET /api/privacy, from the catalog, the configuration and the egress ledger."""

    async def get_privacy(request: web.Request) -> web.Response:
        """The privacy report (owners only)."""
        if not principal_of(request).is_owner:
            raise ApiError(403, "Only an owner may see the privacy report.", "forbidden")
        raw = request.query.get("limit") or str(LEDGER_LIMIT)
        if not raw.isdigit() or not 1 <= int(raw) <= 10_000:
            raise ApiError(400, "'limit' must be a number from 1 to 10000", "bad_parameter")
        await ledger.flush()  # what was just attempted is shown, not a moment later
        return web.json_response(await build_report(catalog, config, int(raw)))

    spec = RouteSpec(
        "GET",
        "/api/privacy",
        get_privacy,
        "What may leave the box, what did, and what is stored about each person",
        tags=("privacy",),
        admin=True,
        query=(Param("limit", "ledger rows, newest first", "integer"),),
    )
    return [spec]


# -- `hearth privacy report` ----------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    report = sub.add_parser("report", help="print the privacy report")
    report.add_argument("--json", action="store_true", help="print it as JSON")
    report.add_argument("--limit", type=int, default=LEDGER_LIMIT, help="ledger rows to show")
    report.add_argument("-c", "--config", default=argparse.SUPPRESS, help="configuration folder")


def run_privacy(config: Configuration, args: argparse.Namespace) -> int:
    """Read the catalog directly (with or without a server running) and print the report."""

    async def read() -> dict[str, Any]:
        catalog = await Catalog.open(config.hearth.data_dir)
        try:
            return await build_report(catalog, config, max(1, args.limit))
        finally:
            await catalog.close()

    report = asyncio.run(read())
    text = json.dumps(report, indent=2, ensure_ascii=False) if args.json else render_text(report)
    sys.stdout.write(text + "\n")
    return 0
