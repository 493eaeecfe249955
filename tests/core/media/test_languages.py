"""normalize_language: one ISO 639-2/B spelling for tags, codes and names."""

from __future__ import annotations

import pytest

from core.media.languages import normalize_language


@pytest.mark.parametrize(
    ("tag", "code"),
    [
        ("en", "eng"),
        ("eng", "eng"),
        ("ENG", "eng"),
        ("English", "eng"),
        ("de", "ger"),
        ("deu", "ger"),
        ("ger", "ger"),
        ("Deutsch", "ger"),
        ("fra", "fre"),
        ("Français", "fre"),
        ("pt-BR", "por"),
        ("pt_BR", "por"),
        ("zh-Hans", "chi"),
        ("es-419", "spa"),
        ("jp", "jpn"),
        ("und", None),
        ("", None),
        ("sdh", None),  # ISO 639-3 Southern Kurdish, but in file names a flag
        ("forced", None),
        ("1080p", None),
    ],
)
def test_normalize_language(tag: str, code: str | None) -> None:
    assert normalize_language(tag) == code
