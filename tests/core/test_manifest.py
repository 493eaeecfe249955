"""Manifests are checked strictly: a manifest we half-understand must not be half-believed."""

from __future__ import annotations

import pytest

from core.errors import ManifestError
from core.manifest import parse_manifest

BASE = {"domain": "tv", "name": "TV", "kind": "target"}


def test_minimal_manifest_defaults_to_no_network() -> None:
    manifest = parse_manifest(BASE, "m.json")
    assert manifest.network.scope == "none"
    assert manifest.dependencies == () and manifest.requirements == ()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"colour": "red"}, "m.json: unknown keys colour"),
        ({"kind": "gadget"}, "kind must be one of source, metadata, target, relay, hardware"),
        ({"domain": "Bad-Name"}, "domain 'Bad-Name' must be lower_snake_case"),
        ({"network": {"scope": "internet", "reason": "art"}}, "must list the exact hosts"),
        ({"network": {"scope": "lan"}}, "must say why"),
        ({"network": {"scope": "moon"}}, "network scope must be one of none, lan, internet"),
        ({"dependencies": "alpha"}, "'dependencies' must be a list of text"),
    ],
)
def test_bad_manifests_are_refused_with_the_reason(change: dict[str, object], message: str) -> None:
    with pytest.raises(ManifestError, match=message):
        parse_manifest({**BASE, **change}, "m.json")


def test_internet_plugin_lists_hosts_and_reason() -> None:
    manifest = parse_manifest(
        {**BASE, "network": {"scope": "internet", "hosts": ["api.example.org"], "reason": "art"}},
        "m.json",
    )
    assert manifest.network.hosts == ("api.example.org",)
