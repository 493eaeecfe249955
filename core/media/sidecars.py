"""Finding the subtitle files that sit beside a video, and what their names say about them.

Plex and Jellyfin agree on `Movie.srt`, `Movie.en.srt`, `Movie.eng.forced.srt`,
`Movie.English.SDH.srt` and `Movie.pt-BR.default.srt`; people also write `Movie_eng.srt` or
`Movie - English.srt`. The tokens after the video's own name give the language (normalised to
ISO 639-2/B, as embedded streams are) and the forced / hearing-impaired / default flags; tokens
not understood become a label ("Commentary"). A `.sub` with an `.idx` beside it is one VobSub
track. A subtitle goes to the video with the longest matching name, so `Movie 2.srt` is not
offered for `Movie.mkv` when `Movie 2.mkv` is there too.

A pure function over names already listed by the walker: never lists directories, never opens
the subtitle files (their encoding and content are the player's business).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from core.media.classify import SUBTITLE_EXTENSIONS, VIDEO_EXTENSIONS
from core.media.languages import normalize_language

_FORCED = frozenset({"forced", "foreign"})
_SDH = frozenset({"sdh", "cc", "hi", "hearing impaired"})
_DEFAULT = frozenset({"default"})
# After a bare `.`, anything may follow (`Movie.Commentary.srt`); after other separators only
# words that are understood, or `Movie - Part 2.srt` would be taken for `Movie.mkv`'s.
_SEPARATORS = re.compile(r"[\s_-]+")
_BITMAP_FORMATS = frozenset({"vobsub", "sup"})


@dataclass(frozen=True, slots=True)
class SidecarSubtitle:
    """One external subtitle file of a video, as its name describes it."""

    name: str
    format: str
    language: str | None = None
    forced: bool = False
    sdh: bool = False
    default: bool = False
    label: str | None = None

    @property
    def text_based(self) -> bool:
        """Text can be converted for any player; VobSub and PGS pictures must be burnt in."""
        return self.format not in _BITMAP_FORMATS


def find_sidecar_subtitles(
    video_name: str, sibling_names: Iterable[str]
) -> tuple[SidecarSubtitle, ...]:
    """The subtitle files among `sibling_names` (names in the video's folder) that belong to it."""
    siblings = sorted(set(sibling_names))
    video_stem = _split(video_name)[0].casefold()
    video_stems = {
        stem.casefold()
        for stem, extension in map(_split, siblings)
        if extension in VIDEO_EXTENSIONS
    }
    video_stems.add(video_stem)
    lower_names = {name.casefold() for name in siblings}
    found: list[SidecarSubtitle] = []
    for name in siblings:
        stem, extension = _split(name)
        if extension not in SUBTITLE_EXTENSIONS or not stem.casefold().startswith(video_stem):
            continue
        owner = max((s for s in video_stems if _belongs(stem.casefold(), s)), key=len, default="")
        if owner != video_stem:
            continue
        if extension == "sub" and f"{stem}.idx".casefold() in lower_names:
            continue  # the .idx entry stands for the pair
        described = _describe(stem[len(video_stem) :])
        if described is None:
            continue
        subtitle_format = "vobsub" if extension == "idx" else extension
        found.append(SidecarSubtitle(name, subtitle_format, *described))
    return tuple(found)


def _split(name: str) -> tuple[str, str]:
    stem, dot, extension = name.rpartition(".")
    return (stem, extension.casefold()) if dot and stem else (name, "")


def _belongs(stem: str, video_stem: str) -> bool:
    """True if `stem` is the video's stem, alone or followed by a separator."""
    return stem == video_stem or (stem.startswith(video_stem) and stem[len(video_stem)] in "._- ")


def _describe(suffix: str) -> tuple[str | None, bool, bool, bool, str | None] | None:
    """Language, forced, SDH, default and label from what follows the video's name.

    None when the suffix does not start with a separator or, past a non-dot separator, holds
    words that mean nothing here.
    """
    if suffix and suffix[0] not in "._- ":
        return None
    strict = bool(suffix) and suffix[0] != "."
    words: list[str] = []
    for raw in suffix.split("."):
        part = raw.strip(" _-")
        if not part:
            continue
        if normalize_language(part) or part.casefold() in _FORCED | _SDH | _DEFAULT:
            words.append(part)  # whole: `pt-BR`, `hearing impaired`
        else:
            words.extend(_SEPARATORS.split(part))
    flags = {word.casefold() for word in words}
    languages = [word for word in words if word.casefold() not in _FORCED | _SDH | _DEFAULT]
    codes = [code for word in languages if (code := normalize_language(word))]
    language = codes[0] if codes else None
    if language is None and "hi" in flags:
        language, flags = "hin", flags - {"hi"}  # `.hi.` alone: Hindi, not hearing-impaired
    others = [word for word in languages if not normalize_language(word)]
    if strict and others:
        return None
    return (
        language,
        bool(flags & _FORCED),
        bool(flags & _SDH),
        bool(flags & _DEFAULT),
        " ".join(others) or None,
    )
