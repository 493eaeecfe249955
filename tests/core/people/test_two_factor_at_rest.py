"""Second factors survive restarts and copies the right way: a used code stays used after a
restart, a catalog copied off the box holds no TOTP secret (they are sealed with
data/secret.key, 0600), secrets an older version stored in plain text are sealed at start
without anyone losing their second factor, and `hearth user 2fa --setup` seals too."""

from __future__ import annotations

import asyncio
import contextlib
import re
import stat
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pyotp
import pytest

from core.configuration import load_configuration
from core.hub import Hub
from core.secret_box import SecretBox, SecretBoxError
from tests.conftest import RunningServer, core_yaml, make_user, seed_measurements, write_config
from tests.core.people.household import Clock, login, sign_in

T0 = 1_900_000_020.0  # the start of a 30-second TOTP step
REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(autouse=True)
def measurements(measured: Path, tmp_path: Path) -> None:
    seed_measurements(measured, tmp_path / "data")  # no test encodes on every start


@contextlib.asynccontextmanager
async def running(tmp_path: Path, clock: Clock) -> AsyncIterator[RunningServer]:
    """A server over tmp_path/data (the same data on every start), its TOTP clock `clock`."""
    config = write_config(tmp_path / "config", core_yaml(tmp_path / "data"))
    hub = Hub(load_configuration(config))
    await hub.start()
    hub.auth_api.clock = clock
    session = aiohttp.ClientSession()
    try:
        yield RunningServer(hub, session)
    finally:
        await session.close()
        await hub.stop()


async def enable(server: RunningServer, clock: Clock) -> str:
    token = (await login(server, "owner"))["token"]
    async with server.session.post(
        server.url + "/api/auth/2fa/setup", headers={"Authorization": f"Bearer {token}"}
    ) as reply:
        secret = str((await reply.json())["secret"])
    async with server.session.post(
        server.url + "/api/auth/2fa/enable",
        json={"otp": pyotp.TOTP(secret).at(clock.now)},
        headers={"Authorization": f"Bearer {token}"},
    ) as reply:
        assert reply.status == 200
    return secret


def catalog_bytes(data: Path) -> bytes:
    """The catalog as a copy would take it: the database and its WAL."""
    return b"".join(p.read_bytes() for p in sorted(data.glob("catalog.db*")))


async def test_a_used_code_stays_used_after_a_restart(tmp_path: Path) -> None:
    clock = Clock(T0)
    async with running(tmp_path, clock) as server:
        await make_user(server.hub, "owner", "owner")
        secret = await enable(server, clock)
        clock.now = T0 + 60
        code = pyotp.TOTP(secret).at(clock.now)
        assert (await sign_in(server, otp=code))[0] == 200
    async with running(tmp_path, clock) as server:
        assert await sign_in(server, otp=code) == (401, "bad_otp")  # seen on the wire: dead
        clock.now = T0 + 90
        assert (await sign_in(server, otp=pyotp.TOTP(secret).at(clock.now)))[0] == 200


async def test_a_copied_catalog_holds_no_totp_secret(tmp_path: Path) -> None:
    clock = Clock(T0)
    data = tmp_path / "data"
    async with running(tmp_path, clock) as server:
        await make_user(server.hub, "owner", "owner")
        secret = await enable(server, clock)
        stored = await server.hub.catalog.read(
            lambda db: db.execute("SELECT totp_secret FROM users").fetchone()[0]
        )
        assert secret.encode() not in catalog_bytes(data)
    assert secret.encode() not in catalog_bytes(data)
    assert stored.startswith("v1.") and secret not in stored
    key = data / "secret.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and len(key.read_bytes()) == 32
    assert SecretBox(data).open_blocking(stored, "totp:1") == secret
    with pytest.raises(SecretBoxError, match="does not open"):
        SecretBox(data).open_blocking(stored, "totp:2")  # moved to another person's row
    elsewhere = tmp_path / "another box"
    elsewhere.mkdir()
    with pytest.raises(SecretBoxError, match="is missing"):
        SecretBox(elsewhere).open_blocking(stored, "totp:1")


async def test_plain_secrets_from_an_older_version_are_sealed_at_start(tmp_path: Path) -> None:
    clock = Clock(T0)
    legacy = pyotp.random_base32()
    async with running(tmp_path, clock) as server:
        await make_user(server.hub, "owner", "owner")
        await server.hub.catalog.write(  # as the version before sealing stored it
            lambda db: db.execute(
                "UPDATE users SET totp_secret = ?, totp_enabled = 1 WHERE username = 'owner'",
                [legacy],
            )
        )
    assert not (tmp_path / "data" / "secret.key").exists()
    async with running(tmp_path, clock) as server:
        stored = await server.hub.catalog.read(
            lambda db: db.execute("SELECT totp_secret FROM users").fetchone()[0]
        )
        assert stored.startswith("v1.")
        assert (await sign_in(server, otp=pyotp.TOTP(legacy).at(clock.now)))[0] == 200
    assert legacy.encode() not in catalog_bytes(tmp_path / "data")


async def test_the_command_line_setup_seals_the_secret_too(tmp_path: Path) -> None:
    clock = Clock(T0)
    async with running(tmp_path, clock) as server:
        await make_user(server.hub, "owner", "owner")
    command = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "core", "user", "2fa", "owner", "--setup"),
        *("-c", str(tmp_path / "config")),
        cwd=REPO,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert command.stdout is not None and command.stdin is not None
    first = (await command.stdout.readline()).decode()
    found = re.match(r"Secret: ([A-Z2-7]+)$", first.strip())
    assert found, first
    secret = found[1]
    command.stdin.write(f"{pyotp.TOTP(secret).now()}\n".encode())
    out, err = await command.communicate()
    assert command.returncode == 0, err.decode()
    assert "Two-factor is on" in out.decode()
    assert secret.encode() not in catalog_bytes(tmp_path / "data")
    clock.now = time.time() + 30  # the code typed above is used up
    async with running(tmp_path, clock) as server:
        assert (await sign_in(server, otp=pyotp.TOTP(secret).at(clock.now)))[0] == 200
