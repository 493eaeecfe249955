"""`*.domain` in a manifest and in `hearth: egress:`: every name below the domain, for services
that redirect to numbered storage nodes (the Cover Art Archive's pictures come from
`ia800100.us.archive.org`). Both lists must say it; the domain itself and look-alike names are
not covered."""

from __future__ import annotations

import pytest

from core.egress_policy import EgressRefused, check_host
from core.manifest import Manifest, NetworkScope

COVERS = Manifest(
    "covers",
    "Covers",
    "1",
    "metadata",
    (),
    (),
    NetworkScope("internet", ("coverartarchive.org", "*.us.archive.org"), "test"),
)


async def resolve(host: str, port: int) -> list[str]:
    return ["203.0.113.7"]  # never contacted: only the check runs


async def check(host: str, enabled: tuple[str, ...]) -> str:
    destination = await check_host(COVERS, host, 443, {"covers": frozenset(enabled)}, resolve)
    return destination.host


async def test_a_storage_node_below_a_listed_domain_is_reachable() -> None:
    assert await check("ia800100.us.archive.org", ("*.us.archive.org",)) == (
        "ia800100.us.archive.org"
    )
    assert await check("IA801.US.archive.org.", ("*.us.archive.org",)) == "ia801.us.archive.org"


@pytest.mark.parametrize(
    ("host", "enabled", "why"),
    [
        ("us.archive.org", ("*.us.archive.org",), "not listed in the covers manifest"),
        ("evilus.archive.org", ("*.us.archive.org",), "not listed in the covers manifest"),
        ("ia1.us.archive.org.evil.net", ("*.us.archive.org",), "not listed"),
        ("ia800100.us.archive.org", ("coverartarchive.org",), "not enabled by the owner"),
        ("ia800100.us.archive.org", ("us.archive.org",), "not enabled by the owner"),
    ],
)
async def test_only_names_below_the_domain_and_only_when_both_lists_say_so(
    host: str, enabled: tuple[str, ...], why: str
) -> None:
    with pytest.raises(EgressRefused, match=why):
        await check(host, enabled)
