"""Guessing is slowed per (account, address) with growing delays and paused per account only
from outside the home; nobody can lock the owner out from the home network. And the routes
anyone may post to take JSON only, so a web page elsewhere cannot post to them cross-site.
The same rules from real LAN and remote addresses: test_sign_in_sources.py."""

from __future__ import annotations

import pytest

from core.people.throttle import AttemptLimiter
from tests.conftest import PASSWORD, RunningServer, StartServer
from tests.core.people.household import Clock, call, error_code

OWNER = "user:owner"
KITCHEN, HALL, PHONE_ON_4G = "198.18.0.20", "198.18.0.21", "100.64.0.7"


def test_delays_grow_per_account_and_address_and_spare_everyone_else() -> None:
    clock = Clock(0.0)
    limiter = AttemptLimiter(clock=clock)
    for _ in range(5):
        assert limiter.wait(OWNER, KITCHEN, "lan") == 0
        limiter.failed(OWNER, KITCHEN, "lan")
    waits = []
    for _ in range(12):
        waits.append(limiter.wait(OWNER, KITCHEN, "lan"))
        clock.now += waits[-1]
        assert limiter.wait(OWNER, KITCHEN, "lan") == 0
        limiter.failed(OWNER, KITCHEN, "lan")
    assert waits == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 600, 600]  # capped at 10 min
    # the owner at the hall tablet, and the kitchen at another account, are not slowed
    assert limiter.wait(OWNER, HALL, "lan") == 0
    assert limiter.wait("user:sam", KITCHEN, "lan") == 0
    assert limiter.wait(OWNER, "127.0.0.1", "loopback") == 0
    limiter.succeeded(OWNER, KITCHEN)
    assert limiter.wait(OWNER, KITCHEN, "lan") == 0


def test_an_address_guessing_at_many_accounts_slows_itself() -> None:
    clock = Clock(0.0)
    limiter = AttemptLimiter(clock=clock)
    for n in range(20):
        limiter.failed(f"user:u{n}", KITCHEN, "lan")
    assert limiter.wait("user:someone-else", KITCHEN, "lan") == 1
    assert limiter.wait("user:someone-else", HALL, "lan") == 0


def test_failures_are_forgotten_after_an_hour_of_quiet() -> None:
    clock = Clock(0.0)
    limiter = AttemptLimiter(clock=clock)
    for _ in range(4):
        limiter.failed(OWNER, KITCHEN, "lan")
    clock.now += 3601
    limiter.failed(OWNER, KITCHEN, "lan")
    assert limiter.wait(OWNER, KITCHEN, "lan") == 0  # one failure, not five


def test_many_remote_addresses_hit_the_accounts_hard_limit_but_not_the_home() -> None:
    clock = Clock(0.0)
    limiter = AttemptLimiter(clock=clock)
    for n in range(10):  # ten addresses, one guess each: no per-address delay at all
        address = f"100.64.1.{n}"
        assert limiter.wait(OWNER, address, "remote") == 0
        limiter.failed(OWNER, address, "remote")
    assert limiter.wait(OWNER, PHONE_ON_4G, "remote") == 900  # the owner's phone, outside
    assert limiter.wait(OWNER, KITCHEN, "lan") == 0  # home is not affected
    assert limiter.wait(OWNER, "127.0.0.1", "loopback") == 0
    assert limiter.wait("user:sam", PHONE_ON_4G, "remote") == 0  # nor other accounts
    limiter.succeeded(OWNER, KITCHEN)  # signing in at home does not reopen guessing
    assert limiter.wait(OWNER, PHONE_ON_4G, "remote") == 900
    clock.now += 900
    assert limiter.wait(OWNER, PHONE_ON_4G, "remote") == 0


def test_lan_failures_never_count_toward_the_remote_pause() -> None:
    limiter = AttemptLimiter(clock=Clock(0.0))
    for n in range(50):
        limiter.failed(OWNER, f"198.18.0.{n + 2}", "lan")
    assert limiter.wait(OWNER, PHONE_ON_4G, "remote") == 0


def test_invites_are_not_paused_per_account() -> None:
    limiter = AttemptLimiter(clock=Clock(0.0))
    for n in range(30):
        limiter.failed("invite", f"100.64.2.{n}", "remote", guard_account=False)
    assert limiter.wait("invite", PHONE_ON_4G, "remote", guard_account=False) == 0


@pytest.fixture
async def server(start_server: StartServer) -> RunningServer:
    return await start_server()


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/auth/login", '{"username": "owner", "password": "wrong password"}'),
        ("/api/setup", '{"code": "00000000", "username": "x", "password": "long enough"}'),
        ("/api/invites/redeem", '{"code": "hi_x", "username": "x", "password": "long enough"}'),
    ],
)
@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data", None]
)
async def test_unauthenticated_posts_take_json_only(
    server: RunningServer, path: str, body: str, content_type: str | None
) -> None:
    """What a page on another site can send without a CORS preflight is refused before it
    is read, and does not count as a failure: a hundred of them leave the owner unslowed."""
    headers = {"Content-Type": content_type} if content_type else {}
    for _ in range(6):
        status, answer = await call(server, "POST", path, headers=headers, data=body)
        assert status == 415, answer
        assert answer["error"] == {
            "code": "unsupported_media_type",
            "message": "Send the body as JSON, with the header Content-Type: application/json.",
        }
    status, answer = await call(
        server, "POST", "/api/auth/login", json={"username": "owner", "password": PASSWORD}
    )
    assert status == 200, answer


async def test_the_json_content_type_is_accepted_with_a_charset(server: RunningServer) -> None:
    status, answer = await call(
        server,
        "POST",
        "/api/auth/login",
        headers={"Content-Type": "application/json; charset=utf-8"},
        data=f'{{"username": "owner", "password": "{PASSWORD}"}}',
    )
    assert status == 200 and answer["token"].startswith("hs_")
    status, answer = await call(
        server, "POST", "/api/auth/login", json={"username": "owner", "password": "nope"}
    )
    assert (status, error_code(answer)) == (401, "bad_credentials")
