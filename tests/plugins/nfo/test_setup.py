"""The nfo and local_artwork plugins on a real server: registered, answering, released."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.configuration import load_configuration
from core.errors import ConfigError
from core.kinds import MetadataProvider, MetadataRequest
from core.registry import Registry
from tests.conftest import StartServer, core_yaml, write_config

MOVIE_NFO = """<?xml version="1.0" encoding="UTF-8"?>
<movie>
  <title>Blade Runner</title>
  <year>1982</year>
  <mpaa>Rated R</mpaa>
  <uniqueid type="imdb" default="true">tt0083658</uniqueid>
</movie>
"""


def provider(registry: Registry[MetadataProvider], name: str) -> MetadataProvider:
    found = registry.get(name)
    assert found is not None, registry.names()
    return found


async def test_setup_registers_providers_that_answer_then_releases_them(
    tmp_path: Path, start_server: StartServer
) -> None:
    movie = tmp_path / "media" / "Blade Runner (1982)"
    movie.mkdir(parents=True)
    video = movie / "Blade Runner (1982).mkv"
    video.write_bytes(b"\x1a\x45\xdf\xa3")
    (movie / "Blade Runner (1982).nfo").write_text(MOVIE_NFO, encoding="utf-8")
    (movie / "poster.jpg").write_bytes(b"\xff\xd8\xff")

    server = await start_server("nfo:\nlocal_artwork:\n  embedded: false\n")
    providers = server.hub.providers
    assert set(providers.names()) >= {"nfo", "local_artwork"}
    assert providers.owner_of("nfo") == "nfo"
    assert providers.owner_of("local_artwork") == "local_artwork"

    request = MetadataRequest("movie", video, {"title": "Blade Runner"})
    nfo = await provider(providers, "nfo").lookup(request)
    art = await provider(providers, "local_artwork").lookup(request)
    assert nfo is not None and art is not None
    assert nfo.provider == "nfo"
    assert nfo.fields == {
        "title": "Blade Runner",
        "year": 1982,
        "content_rating": "R",
        "external_ids": {"imdb": "tt0083658"},
    }
    assert art.provider == "local_artwork"
    assert art.fields == {"artwork": {"poster": str(movie / "poster.jpg")}}

    nothing = MetadataRequest("movie", tmp_path / "media" / "Unknown.mkv")
    assert await provider(providers, "nfo").lookup(nothing) is None
    assert await provider(providers, "local_artwork").lookup(nothing) is None

    await server.hub.stop()
    assert not {"nfo", "local_artwork"} & set(providers.names())


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        ("nfo:\n  strict: true\n", "configuration.yaml:6: nfo: 'strict' is not an option here"),
        ("nfo: [1]\n", "configuration.yaml:5: nfo: expected a mapping of options, got a list"),
        (
            "local_artwork:\n  embedded: maybe\n",
            "configuration.yaml:6: local_artwork -> embedded: expected true or false, got 'maybe'",
        ),
    ],
)
def test_a_wrong_option_is_reported_with_its_line(
    tmp_path: Path, yaml_text: str, expected: str
) -> None:
    folder = write_config(tmp_path / "config", core_yaml(tmp_path / "data", yaml_text))
    with pytest.raises(ConfigError) as caught:
        load_configuration(folder)
    assert caught.value.problems == [expected]
