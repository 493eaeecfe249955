"""Turning the language hints found in files and names into one form: ISO 639-2/B codes.

Stream tags say `eng`, `ger` or `deu`; subtitle file names say `en`, `pt-BR` or `English`. The
catalog wants one spelling so that "the English audio" and "the English subtitles" match, and
639-2/B is what Matroska stores, so most stream tags need no change at all.

Only ISO 639-1 and 639-2 codes, IETF tags built on them, and language names are recognised —
never the thousands of ISO 639-3 codes, because those collide with ordinary words in file names
(`sdh` is Southern Kurdish, `hdr` and `dts` are not far off). Never guesses from text content.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

# Tags that say "no particular language": treated as no hint rather than as a language.
_NO_LANGUAGE = frozenset({"", "und", "unk", "unknown", "zxx", "none", "xx"})

# Names in the language itself that people put in file names; English names come from babelfish.
_NATIVE_NAMES = {
    "deutsch": "ger",
    "francais": "fre",
    "français": "fre",
    "espanol": "spa",
    "español": "spa",
    "castellano": "spa",
    "italiano": "ita",
    "portugues": "por",
    "português": "por",
    "brazilian": "por",
    "nederlands": "dut",
    "svenska": "swe",
    "norsk": "nor",
    "dansk": "dan",
    "suomi": "fin",
    "polski": "pol",
    "cesky": "cze",
    "čeština": "cze",
    "magyar": "hun",
    "turkce": "tur",
    "türkçe": "tur",
    "русский": "rus",
    "日本語": "jpn",
    "jp": "jpn",  # a common mistake for `ja`, never a valid code itself
    "中文": "chi",
    "한국어": "kor",
}


@lru_cache(maxsize=1024)
def normalize_language(tag: str) -> str | None:
    """The ISO 639-2/B code for a language tag, code or name; None when it names no language.

    Cached because a library repeats the same handful of tags thousands of times; the cache is
    per process and rebuilt lazily, so workers need no set-up.
    """
    token = tag.strip().casefold().replace("_", "-")
    if token in _NO_LANGUAGE:
        return None
    if token in _NATIVE_NAMES:
        return _NATIVE_NAMES[token]
    if "-" in token:
        # IETF tags (`pt-BR`, `zh-Hans`, `es-419`): the primary subtag carries the language.
        primary = token.split("-", 1)[0]
        return normalize_language(primary) if len(primary) in (2, 3) else None
    tables = _tables()
    converters = {2: ("alpha2",), 3: ("alpha3b", "alpha3t")}.get(len(token), ("name",))
    for converter in converters:
        # names are matched ignoring case, as babelfish's name converter does
        code = token.capitalize().lower() if converter == "name" else token
        if code in tables[converter]:
            return tables[converter][code]
    return None


@lru_cache(maxsize=1)
def _tables() -> dict[str, dict[str, str]]:
    """alpha2, alpha3b, alpha3t and (lower-case) name -> ISO 639-2/B, read from babelfish's copy
    of the ISO 639-3 table without importing babelfish: its 7,900 language tuples and converters
    stay in a server's memory for good (~7 MB), for the few hundred codes that have a 639-2/B.
    Same answers as `babelfish.Language.fromcode(code, converter).alpha3b`: a code whose
    language has no 639-2/B code answers nothing, and of two languages with one name the last
    in the table wins."""
    spec = importlib.util.find_spec("babelfish")  # finds the package without running it
    assert spec is not None and spec.submodule_search_locations is not None
    table = Path(next(iter(spec.submodule_search_locations))) / "data" / "iso-639-3.tab"
    rows = [line.split("\t") for line in table.read_text("utf-8").splitlines()[1:]]
    # columns: Id (639-3), Part2B, Part2T, Part1 (alpha2), Scope, Language_Type, Ref_Name
    to_b = {row[0]: row[1] for row in rows if row[1]}
    columns = {"alpha3b": 1, "alpha3t": 2, "alpha2": 3, "name": 6}
    tables: dict[str, dict[str, str]] = {}
    for converter, column in columns.items():
        key = str.lower if converter == "name" else str
        by_symbol = {key(row[column]): row[0] for row in rows if row[column]}
        tables[converter] = {s: to_b[a3] for s, a3 in by_symbol.items() if a3 in to_b}
    return tables
