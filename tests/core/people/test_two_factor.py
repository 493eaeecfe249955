"""Two-factor sign-in with a controlled clock: codes from the current step or one either side,
never a code twice, recovery codes once each, and no way to turn it off or replace it without
the password."""

from __future__ import annotations

import pyotp
import pytest

from tests.conftest import PASSWORD, RunningServer, StartServer
from tests.core.people.household import Clock, call, error_code, login, sign_in

T0 = 1_900_000_020.0  # the start of a 30-second TOTP step


@pytest.fixture
async def server(start_server: StartServer) -> RunningServer:
    return await start_server()


async def enable_totp(server: RunningServer, token: str, clock: Clock) -> tuple[str, list[str]]:
    server.hub.auth_api.clock = clock
    status, setup = await call(server, "POST", "/api/auth/2fa/setup", token)
    assert status == 200 and setup["uri"].startswith("otpauth://totp/Hearth:owner?")
    secret = setup["secret"]
    status, enabled = await call(
        server, "POST", "/api/auth/2fa/enable", token, {"otp": pyotp.TOTP(secret).at(clock.now)}
    )
    assert status == 200 and enabled["enabled"] is True
    return secret, enabled["recovery_codes"]


async def test_totp_with_a_controlled_clock(server: RunningServer) -> None:
    clock = Clock(T0)
    token = (await login(server, "owner"))["token"]
    secret, codes = await enable_totp(server, token, clock)
    totp = pyotp.TOTP(secret)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert await sign_in(server) == (401, "otp_required")
    assert await sign_in(server, otp=totp.at(T0)) == (401, "bad_otp")  # used to turn it on
    clock.now = T0 + 60
    assert (await sign_in(server, otp=totp.at(T0 + 60)))[0] == 200
    assert await sign_in(server, otp=totp.at(T0 + 60)) == (401, "bad_otp")  # no replays
    assert (await sign_in(server, otp=totp.at(T0 + 90)))[0] == 200  # a phone 30 s ahead
    clock.now = T0 + 300
    assert await sign_in(server, otp=totp.at(T0 + 210)) == (401, "bad_otp")  # too old
    window = {totp.at(T0 + 300 + d) for d in (-30, 0, 30)}
    wrong = next(c for c in ("000000", "111111", "222222", "333333") if c not in window)
    assert await sign_in(server, otp=wrong) == (401, "bad_otp")
    assert (await sign_in(server, otp=totp.at(T0 + 300)))[0] == 200


async def test_recovery_codes_work_once_each(server: RunningServer) -> None:
    token = (await login(server, "owner"))["token"]
    _, codes = await enable_totp(server, token, Clock(T0))
    assert (await sign_in(server, recovery_code=codes[0].upper()))[0] == 200
    assert await sign_in(server, recovery_code=codes[0]) == (401, "bad_otp")
    assert (await sign_in(server, recovery_code=codes[1]))[0] == 200
    assert await sign_in(server, recovery_code="aaaaa-bbbbb") == (401, "bad_otp")


async def test_two_factor_cannot_be_turned_off_or_replaced_without_the_password(
    server: RunningServer,
) -> None:
    clock = Clock(T0)
    token = (await login(server, "owner"))["token"]
    await enable_totp(server, token, clock)
    status, body = await call(server, "POST", "/api/auth/2fa/setup", token)
    assert (status, error_code(body)) == (401, "bad_credentials")
    status, body = await call(server, "POST", "/api/auth/2fa/disable", token, {"password": "no"})
    assert (status, error_code(body)) == (401, "bad_credentials")
    clock.now = T0 + 30
    assert (await sign_in(server))[1] == "otp_required"  # still on
    status, body = await call(
        server, "POST", "/api/auth/2fa/disable", token, {"password": PASSWORD}
    )
    assert (status, body) == (200, {"enabled": False})
    assert (await sign_in(server))[0] == 200
