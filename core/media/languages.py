"""Turning the language hints found in files and names into one form: ISO 639-2/B codes.

Stream tags say `eng`, `ger` or `deu`; subtitle file names say `en`, `pt-BR` or `English`. The
catalog wants one spelling so that "the English audio" and "the English subtitles" match, and
639-2/B is what Matroska stores, so most stream tags need no change at all.

Only ISO 639-1 and 639-2 codes, IETF tags built on them, and language names are recognised —
never the thousands of ISO 639-3 codes, because those collide with ordinary words in file names
(`sdh` is Southern Kurdish, `hdr` and `dts` are not far off). Never guesses from text content.
"""

from __future__ import annotations

from functools import lru_cache

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
    # babelfish's tables cost ~3 MB: loaded by the first tag that needs them, not by the server
    import babelfish  # type: ignore[import-untyped]

    converters = {2: ("alpha2",), 3: ("alpha3b", "alpha3t")}.get(len(token), ("name",))
    for converter in converters:
        code = token.capitalize() if converter == "name" else token
        try:
            language = babelfish.Language.fromcode(code, converter)
            return str(language.alpha3b)
        except (ValueError, KeyError, babelfish.Error):
            continue
    return None
