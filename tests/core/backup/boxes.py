"""Small boxes for the backup tests: a configuration folder and a data folder with a real,
migrated catalog holding people, and the box's sealing key; no server, no media."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from core.backup.envelope import KdfParams
from core.catalog import Catalog
from core.catalog.migrations import Migration, available
from core.people.accounts import create_session_blocking, create_user_blocking
from core.secret_box import SecretBox

FAST = KdfParams(time_cost=1, memory_kib=8 * 1024, lanes=1)  # tests need not resist guessing
PASSPHRASE = "a long and memorable passphrase"
SECRET = "only-in-secrets-yaml-8832"


@dataclass(frozen=True)
class Box:
    config: Path
    data: Path
    token: str  # a session token a leak would show


async def add_person(data: Path, name: str, migrations: list[Migration] | None = None) -> str:
    catalog = await Catalog.open(data, migrations)
    try:

        def add(db: object) -> str:
            user = create_user_blocking(db, name, "member", "correct horse battery", None, None)  # type: ignore[arg-type]
            return create_session_blocking(db, user, "session", "tests", None, None).token  # type: ignore[arg-type]

        return await catalog.write(add)
    finally:
        await catalog.close()


def make_box(base: Path, migrations: list[Migration] | None = None) -> Box:
    """A box with one person (`bartholomew`), a session, secrets.yaml and a sealing key."""
    config, data = base / "config", base / "data"
    config.mkdir(parents=True)
    (config / "configuration.yaml").write_text(
        f"hearth:\n  data_dir: {data}\n  http: {{host: 127.0.0.1, port: 0, https_port: 0}}\n"
    )
    (config / "secrets.yaml").write_text(f"relay_token: {SECRET}\n")
    token = asyncio.run(add_person(data, "bartholomew", migrations))
    SecretBox(data).seal_blocking("x", "test")  # makes data/secret.key
    return Box(config, data, token)


def schema_6() -> list[Migration]:
    """What an older Hearth shipped: the catalog before stars (0007) and play queues (0008)."""
    return available()[:6]
