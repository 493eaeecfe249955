"""Which HLS session a request without a sign-in session belongs to (a principal made without
one: an app password, a LAN device). Through the relay every connection arrives on the same
socket, so the socket's address says nothing: two people with the same browser must still get
two sessions, and the same person on two phones too (the origin check vouches for each phone's
own address)."""

from __future__ import annotations

from aiohttp.test_utils import make_mocked_request

from core.http.origin import CLIENT_ADDRESS
from core.people.access import Principal
from core.people.middleware import PRINCIPAL
from core.playback.hls_api import client_key

BROWSER = {"User-Agent": "Mozilla/5.0 (Android 14) Chrome/131"}


def key(principal: Principal | None, address: str) -> str:
    request = make_mocked_request("GET", "/api/items/x/hls/master.m3u8", headers=BROWSER)
    if principal is not None:
        request[PRINCIPAL] = principal
    request[CLIENT_ADDRESS] = address
    return client_key(request)


def test_two_people_behind_one_tunnel_never_share_a_session() -> None:
    alice, bob = Principal(1, "alice", "member"), Principal(2, "bob", "member")
    assert key(alice, "100.64.0.7") != key(bob, "100.64.0.7")


def test_one_person_on_two_phones_gets_two_sessions() -> None:
    alice = Principal(1, "alice", "member")
    assert key(alice, "100.64.0.7") != key(alice, "100.64.0.8")
    assert key(alice, "100.64.0.7") == key(alice, "100.64.0.7")


def test_a_sign_in_session_is_its_own_key() -> None:
    signed_in = Principal(1, "alice", "member", session_id=42)
    assert key(signed_in, "100.64.0.7") == key(signed_in, "198.18.0.9") == "session:42"
